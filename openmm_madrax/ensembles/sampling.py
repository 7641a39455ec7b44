"""Torsion sampling from the project's fitted densities (``params/torsion_densities.npz``, docs/torsions.md).

* phi/psi: the residue type's (or the pooled pre-proline class's) ln p(phi, psi) -- the periodic
  bicubic spline of :class:`~openmm_madrax.energy.torsion_densities.TorsionDensities` -- tabulated on
  a 1 degree grid; a cell is drawn by inverse CDF and the angle uniformly inside it (the spline
  varies by < 1 % within a cell).
* omega: the class's von Mises mixture (narrow + broad trans, cis).  The uniform background of the
  fit is left out (it would make non-planar peptides); cis is only drawn before a proline, with
  the fitted cis weight of the class (pre-proline class: 5.5 %); elsewhere every peptide is trans
  (the fitted non-proline cis weight, 0.06 %, comes from functional sites of folded proteins).
* chi: the residue type's mixture of von Mises products (doubled angle for the pi-periodic chis),
  uniform background left out; ILE chi2, which the densities do not score, from the measured
  frequencies of its three staggered values (``ILE_CHI2``).

All draws come from one ``numpy.random.Generator``: the same seed gives the same angles.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import params

GRID = 360  # phi/psi table resolution (cells per 2 pi)
GLY = params.RESIDUE_INDEX["GLY"]
PRO = params.RESIDUE_INDEX["PRO"]
#: ILE chi2 (unscored by the densities): staggered values (deg) and their frequencies, measured on
#: the torsion-fit corpus (docs/ensembles.md, ``python -m openmm_madrax.ensembles.measure ile-chi2``)
ILE_CHI2 = ((170.0, 0.81), (-60.0, 0.14), (65.0, 0.05))
MAX_CHI = 5


def restype_index(resnames: Sequence[str]) -> np.ndarray:
    return np.array([params.RESIDUE_INDEX[r] for r in resnames], np.int64)


def backbone_classes(restype: np.ndarray, pre_pro_class: int) -> np.ndarray:
    """Density class of phi/psi and omega per residue: its type, or the pre-proline class for a
    non-GLY, non-PRO residue followed by PRO (as ``TorsionChannels``)."""
    cls = restype.copy()
    if pre_pro_class >= 0 and len(restype) > 1:
        nxt_pro = np.zeros(len(restype), bool)
        nxt_pro[:-1] = restype[1:] == PRO
        cls[nxt_pro & (restype != GLY) & (restype != PRO)] = pre_pro_class
    return cls


class TorsionSampler:
    """Draws (phi, psi, omega, chi) for a sequence from the fitted densities."""

    def __init__(self, path=None):
        from ..energy.torsion_densities import read_npz

        arrays, meta = read_npz(path)
        self.arrays = arrays
        self.pre_pro_class = int(arrays["pre_pro_class"])
        self.n_classes = int(np.asarray(arrays["bb_coef"]).shape[0])
        self._bb = None
        self._omega = self._omega_tables()
        self._chi = self._chi_tables()

    # -- phi / psi --------------------------------------------------------------------------
    @property
    def bb_cdf(self) -> np.ndarray:
        """(classes, GRID*GRID) cumulative probabilities of the phi/psi cells (phi-major)."""
        if self._bb is None:
            self._bb = _bb_tables(self.n_classes)
        return self._bb[1]

    @property
    def bb_logp(self) -> np.ndarray:
        """(classes, GRID, GRID) ln p(phi, psi) at the cell centres (rad^-2)."""
        if self._bb is None:
            self._bb = _bb_tables(self.n_classes)
        return self._bb[0]

    def sample_phi_psi(self, rng: np.random.Generator, cls: np.ndarray, n: int) -> Tuple[np.ndarray, np.ndarray]:
        """(n, L) phi and psi (rad) for residues of density classes ``cls`` (L,)."""
        L = len(cls)
        phi = np.empty((n, L))
        psi = np.empty((n, L))
        u = rng.random((n, L))
        jit = rng.random((2, n, L))
        cdf = self.bb_cdf
        step = 2.0 * math.pi / GRID
        for c in np.unique(cls):
            cols = np.nonzero(cls == c)[0]
            idx = np.searchsorted(cdf[c], u[:, cols], side="right")
            idx = np.minimum(idx, GRID * GRID - 1)
            phi[:, cols] = -math.pi + (idx // GRID + jit[0][:, cols]) * step
            psi[:, cols] = -math.pi + (idx % GRID + jit[1][:, cols]) * step
        return phi, psi

    # -- omega ------------------------------------------------------------------------------
    def _omega_tables(self):
        from scipy.special import i0e

        mu = np.asarray(self.arrays["omega_mu"], np.float64)
        kap = np.asarray(self.arrays["omega_kappa"], np.float64)
        logc = np.asarray(self.arrays["omega_logc"], np.float64)
        # mass of component k: c_k * 2 pi I0(kappa) exp(-kappa)
        mass = np.exp(logc) * 2.0 * math.pi * i0e(kap)
        real = kap > 0.0
        cis = real & (np.abs(np.angle(np.exp(1j * mu))) < 0.5 * math.pi)
        trans = real & ~cis
        return mu, kap, mass, cis, trans

    def cis_fraction(self, cls: int) -> float:
        mu, kap, mass, cis, trans = self._omega
        m = mass[cls]
        return float(m[cis[cls]].sum() / (m[cis[cls]].sum() + m[trans[cls]].sum()))

    def sample_omega(self, rng: np.random.Generator, cls: np.ndarray, next_pro: np.ndarray, n: int,
                     allow_cis: bool = True) -> np.ndarray:
        """(n, L) omega (rad) of the peptide after each residue (the last entry is unused)."""
        mu, kap, mass, cis, trans = self._omega
        L = len(cls)
        out = np.empty((n, L))
        for c in np.unique(cls):
            for pro in (False, True):
                cols = np.nonzero((cls == c) & (next_pro == pro))[0]
                if not len(cols):
                    continue
                ok = trans[c] | (cis[c] if (pro and allow_cis) else False)
                w = np.where(ok, mass[c], 0.0)
                w = w / w.sum()
                comp = rng.choice(len(w), size=(n, len(cols)), p=w)
                out[:, cols] = rng.vonmises(mu[c][comp], kap[c][comp])
        return out

    # -- chi --------------------------------------------------------------------------------
    def _chi_tables(self):
        mu = np.asarray(self.arrays["sc_mu"], np.float64)
        kap = np.asarray(self.arrays["sc_kappa"], np.float64)
        logw = np.asarray(self.arrays["sc_logw"], np.float64)
        freq = np.asarray(self.arrays["sc_freq"], np.float64)
        n_scored = np.zeros(len(params.RESIDUE_ORDER), np.int64)
        for r, rows in params.chi_definitions().items():
            n_scored[params.RESIDUE_INDEX[r]] = sum(int(x["scored_in_channel10"]) for x in rows)
        weights = np.zeros_like(logw)
        for t in range(logw.shape[0]):
            ns = n_scored[t]
            if ns == 0:
                continue
            w = np.exp(logw[t])
            # the uniform background has kappa 0 in every scored dimension
            background = (kap[t, :, :ns] <= 0.0).all(1)
            w = np.where(background | ~np.isfinite(w), 0.0, w)
            weights[t] = w / w.sum()
        return mu, kap, weights, freq, n_scored

    def sample_chi(self, rng: np.random.Generator, restype: np.ndarray, n: int) -> np.ndarray:
        """(n, L, 5) chi angles (rad) in the order of ``params.chi_definitions`` (NaN where the
        residue has no such chi; PRO: NaN, its ring comes from the template)."""
        mu, kap, weights, freq, n_scored = self._chi
        L = len(restype)
        out = np.full((n, L, MAX_CHI), np.nan)
        for t in np.unique(restype):
            ns = int(n_scored[t])
            cols = np.nonzero(restype == t)[0]
            if ns > 0:
                comp = rng.choice(weights.shape[1], size=(n, len(cols)), p=weights[t])
                for k in range(ns):
                    f = freq[t, k]
                    m = mu[t, :, k][comp]
                    kk = kap[t, :, k][comp]
                    draw = rng.vonmises(np.zeros_like(m), np.maximum(kk, 1e-12))
                    if f == 2.0:
                        chi = m + 0.5 * draw + math.pi * rng.integers(0, 2, size=m.shape)
                    else:
                        chi = m + draw
                    out[:, cols, k] = np.angle(np.exp(1j * chi))
            if params.RESIDUE_ORDER[t] == "ILE":
                vals = np.radians([v for v, _ in ILE_CHI2])
                p = np.array([w for _, w in ILE_CHI2])
                out[:, cols, 1] = vals[rng.choice(len(vals), size=(n, len(cols)), p=p / p.sum())]
        return out


@lru_cache(maxsize=2)
def _bb_tables(n_classes: int) -> Tuple[np.ndarray, np.ndarray]:
    """ln p(phi, psi) at the GRID x GRID cell centres of every class, and the cell CDFs.

    The periodic bicubic B-spline of ``TorsionDensities.log_bb`` is separable: with W (GRID x G)
    the spline weights of the cell centres, ln p = W C W^T for the coefficient grid C (G x G)."""
    from ..energy.torsion_densities import read_npz

    arrays, _ = read_npz()
    coef = np.asarray(arrays["bb_coef"], np.float64)
    G = coef.shape[1]
    centres = -math.pi + (np.arange(GRID) + 0.5) * 2.0 * math.pi / GRID
    u = (centres + math.pi) / (2.0 * math.pi / G)
    fu = np.floor(u)
    t = u - fu
    s = 1.0 - t
    w4 = np.stack([s ** 3, 3 * t ** 3 - 6 * t ** 2 + 4, -3 * t ** 3 + 3 * t ** 2 + 3 * t + 1, t ** 3], 1) / 6.0
    W = np.zeros((GRID, G))
    for j, off in enumerate(range(-1, 3)):
        np.add.at(W, (np.arange(GRID), (fu.astype(np.int64) + off) % G), w4[:, j])
    logp = W @ coef[:n_classes] @ W.T
    p = np.exp(logp - logp.max(axis=(1, 2), keepdims=True)).reshape(n_classes, -1)
    cdf = np.cumsum(p, 1)
    cdf /= cdf[:, -1:]
    return logp, cdf


@lru_cache(maxsize=1)
def default_sampler() -> TorsionSampler:
    return TorsionSampler()
