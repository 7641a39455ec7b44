"""Per-conformer and per-ensemble observables: Rg, end-to-end distance, scaling exponent,
per-residue helix / PPII fractions, contact maps (all weighted by the ensemble weights)."""
from __future__ import annotations

import math
from typing import Optional, Tuple

import numpy as np

#: phi/psi boxes (deg) of the per-residue conformation classes
ALPHA_BOX = ((-100.0, -30.0), (-80.0, -5.0))  # right-handed helical basin
PPII_BOX = ((-110.0, -50.0), (110.0, 180.0))  # polyproline II basin


def rg_nm(coords: np.ndarray) -> np.ndarray:
    """Radius of gyration (nm) of every conformer, heavy atoms, equal masses; coords in Angstrom."""
    X = np.asarray(coords, np.float64)
    c = X.mean(1, keepdims=True)
    return np.sqrt(((X - c) ** 2).sum(-1).mean(1)) / 10.0


def ree_nm(coords: np.ndarray, first: int, last: int) -> np.ndarray:
    """Distance (nm) between two atoms (default: first and last CA) of every conformer."""
    X = np.asarray(coords, np.float64)
    return np.linalg.norm(X[:, last] - X[:, first], axis=-1) / 10.0


def weighted_mean_sd(x: np.ndarray, w: np.ndarray) -> Tuple[float, float]:
    w = np.asarray(w, np.float64) / np.sum(w)
    m = float(np.sum(w * x))
    return m, float(math.sqrt(max(np.sum(w * (x - m) ** 2), 0.0)))


def ensemble_rg_nm(rg: np.ndarray, w: np.ndarray) -> float:
    """Ensemble Rg as SAXS sees it: sqrt(<Rg^2>)."""
    return float(math.sqrt(np.sum(np.asarray(w) / np.sum(w) * np.asarray(rg) ** 2)))


def internal_distances(ca: np.ndarray, w: np.ndarray) -> np.ndarray:
    """sqrt(<R_ij^2>) averaged over pairs with the same |i - j|, (L,) in nm (index = |i - j|)."""
    X = np.asarray(ca, np.float64) / 10.0
    n, L, _ = X.shape
    w = np.asarray(w, np.float64) / np.sum(w)
    out = np.zeros(L)
    for s in range(1, L):
        d2 = ((X[:, s:] - X[:, :-s]) ** 2).sum(-1).mean(1)
        out[s] = math.sqrt(float(np.sum(w * d2)))
    return out


def scaling_exponent(ca: np.ndarray, w: np.ndarray, min_sep: int = 5) -> Tuple[float, float]:
    """Apparent scaling exponent nu and prefactor R0 (nm) from sqrt(<R_ij^2>) = R0 |i - j|^nu,
    fitted in log-log over min_sep <= |i - j| <= L - min_sep (needs L >= 3 min_sep; NaN otherwise)."""
    L = ca.shape[1]
    if L < 3 * min_sep:
        return float("nan"), float("nan")
    r = internal_distances(ca, w)
    s = np.arange(min_sep, L - min_sep + 1)
    slope, icpt = np.polyfit(np.log(s), np.log(r[s]), 1)
    return float(slope), float(math.exp(icpt))


def _in_box(phi, psi, box) -> np.ndarray:
    (p0, p1), (q0, q1) = box
    return (phi >= p0) & (phi <= p1) & (psi >= q0) & (psi <= q1)


def basin_fractions(phi_deg: np.ndarray, psi_deg: np.ndarray, w: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per-residue weighted fractions of conformers in the helical and PPII phi/psi basins (L,);
    terminal residues (phi or psi undefined) get NaN."""
    w = np.asarray(w, np.float64) / np.sum(w)
    a = (_in_box(phi_deg, psi_deg, ALPHA_BOX) * w[:, None]).sum(0)
    p = (_in_box(phi_deg, psi_deg, PPII_BOX) * w[:, None]).sum(0)
    a[0] = a[-1] = p[0] = p[-1] = np.nan
    return a, p


def helicity_dssp(traj, w: np.ndarray) -> np.ndarray:
    """Per-residue weighted fraction of DSSP helix (H, G, I) conformers (mdtraj DSSP)."""
    import mdtraj

    ss = mdtraj.compute_dssp(traj, simplified=True)  # 'H' helix, 'E' strand, 'C' coil
    w = np.asarray(w, np.float64) / np.sum(w)
    return ((ss == "H") * w[:, None]).sum(0)


def contact_map(ca: np.ndarray, w: np.ndarray, cutoff_nm: float = 0.8, chunk: int = 64) -> np.ndarray:
    """Weighted probability that CA atoms i and j are closer than ``cutoff_nm`` (L, L)."""
    X = np.asarray(ca, np.float64) / 10.0
    w = np.asarray(w, np.float64) / np.sum(w)
    L = X.shape[1]
    out = np.zeros((L, L))
    for k in range(0, X.shape[0], chunk):
        x = X[k:k + chunk]
        d = np.linalg.norm(x[:, :, None] - x[:, None, :], axis=-1)
        out += np.einsum("n,nij->ij", w[k:k + chunk], (d < cutoff_nm).astype(np.float64))
    return out


def effective_sample_size(w: np.ndarray) -> float:
    w = np.asarray(w, np.float64)
    s = w.sum()
    return float(s * s / np.sum(w * w)) if s > 0 else 0.0
