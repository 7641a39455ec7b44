"""phi/psi densities: von Mises KDE on a periodic grid, bicubic periodic B-splines, kappa by CV."""
from __future__ import annotations

import math
from typing import Dict, Optional, Tuple

import numpy as np

from .settings import LOG2PI



def periodic_bspline_coefficients(values: np.ndarray) -> np.ndarray:
    """Coefficients c of the periodic cubic B-spline interpolating ``values`` on a regular 2-D grid:
    values[j] = (c[j-1] + 4 c[j] + c[j+1]) / 6 along each axis (solved by FFT)."""
    G0, G1 = values.shape
    k0 = (4.0 + 2.0 * np.cos(2 * math.pi * np.arange(G0) / G0)) / 6.0
    k1 = (4.0 + 2.0 * np.cos(2 * math.pi * np.arange(G1) / G1)) / 6.0
    return np.real(np.fft.ifft2(np.fft.fft2(values) / (k0[:, None] * k1[None, :])))


def bspline_weights(t: np.ndarray) -> np.ndarray:
    """Cubic B-spline weights of the 4 coefficients i-1, i, i+1, i+2 for t in [0, 1)."""
    t2 = t * t
    t3 = t2 * t
    return np.stack([(1 - t) ** 3 / 6.0, (3 * t3 - 6 * t2 + 4) / 6.0, (-3 * t3 + 3 * t2 + 3 * t + 1) / 6.0, t3 / 6.0], -1)


def eval_bspline(coef: np.ndarray, phi: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """numpy twin of TorsionDensities.log_bb for one coefficient grid."""
    G = coef.shape[0]
    h = 2 * math.pi / G
    u = (phi + math.pi) / h
    v = (psi + math.pi) / h
    iu = np.floor(u).astype(np.int64)
    iv = np.floor(v).astype(np.int64)
    wu = bspline_weights(u - iu)
    wv = bspline_weights(v - iv)
    ju = (iu[:, None] + np.arange(-1, 3)[None]) % G
    jv = (iv[:, None] + np.arange(-1, 3)[None]) % G
    c = coef[ju[:, :, None], jv[:, None, :]]
    return (wu[:, :, None] * wv[:, None, :] * c).sum((1, 2))


def fit_phipsi_density(phi: np.ndarray, psi: np.ndarray, w: np.ndarray, hyper: Dict[str, float],
                       kappa: Optional[float] = None) -> np.ndarray:
    """ln p spline coefficients (G x G) of one class: von Mises KDE + uniform pseudo-count, normalised."""
    from scipy.special import i0e

    G = int(hyper["bb_grid"])
    kappa = hyper["bb_kappa"] if kappa is None else kappa
    grid = -math.pi + 2 * math.pi * np.arange(G) / G
    W = float(w.sum())
    n0 = hyper["bb_pseudocount"]
    dens = np.full((G, G), n0 / (4 * math.pi ** 2))
    if W > 0:
        norm = 1.0 / (2 * math.pi * i0e(kappa))
        A = np.exp(kappa * (np.cos(grid[None, :] - phi[:, None]) - 1.0)) * norm  # (N, G)
        B = np.exp(kappa * (np.cos(grid[None, :] - psi[:, None]) - 1.0)) * norm
        dens = dens + (A * w[:, None]).T @ B
    dens /= (W + n0)
    coef = periodic_bspline_coefficients(np.log(dens))
    return normalise_bspline(coef, int(hyper["bb_norm_oversample"]))


def select_bb_kappa(phi: np.ndarray, psi: np.ndarray, w: np.ndarray, fold: np.ndarray,
                    hyper: Dict[str, float]) -> Tuple[float, Dict[str, float]]:
    """Kernel concentration of one class by cross-validated log-likelihood over whole sequence clusters.

    Held-out residues are scored with the exact kernel density of the other folds (plus the uniform
    pseudo-count); ties go to the smoother kernel.  Falls back to ``bb_kappa`` with fewer than two
    non-empty folds.
    """
    from scipy.special import i0e

    grid = [float(k) for k in hyper["bb_kappa_grid"]]
    n0 = hyper["bb_pseudocount"]
    folds = sorted(set(fold.tolist()))
    if len(folds) < 2:
        return float(hyper["bb_kappa"]), {}
    score = np.zeros(len(grid))
    for f in folds:
        te = fold == f
        tr = ~te
        Wtr = float(w[tr].sum())
        for start in range(0, int(te.sum()), 512):
            idx = np.nonzero(te)[0][start:start + 512]
            cphi = np.cos(phi[idx, None] - phi[None, tr]) - 1.0
            cpsi = np.cos(psi[idx, None] - psi[None, tr]) - 1.0
            csum = cphi + cpsi
            for k, kappa in enumerate(grid):
                dens = (np.exp(kappa * csum) @ w[tr]) / (2 * math.pi * i0e(kappa)) ** 2
                p = (dens + n0 / (4 * math.pi ** 2)) / (Wtr + n0)
                score[k] += float((w[idx] * np.log(p)).sum())
    best = int(np.argmax(score))
    return grid[best], {f"{k:g}": float(v / max(w.sum(), 1e-300)) for k, v in zip(grid, score)}


def bspline_basis(G: int, x: np.ndarray) -> np.ndarray:
    """(len(x), G) matrix of the periodic cubic B-spline basis on G knots at angles x."""
    u = (x + math.pi) / (2 * math.pi / G)
    i = np.floor(u).astype(np.int64)
    wts = bspline_weights(u - i)
    B = np.zeros((x.shape[0], G))
    for k in range(4):
        np.add.at(B, (np.arange(x.shape[0]), (i + k - 1) % G), wts[:, k])
    return B


def normalise_bspline(coef: np.ndarray, oversample: int) -> np.ndarray:
    """Shift the coefficients so that exp(spline) integrates to 1 on the torus (midpoint rule on a
    grid ``oversample`` times finer than the knots; exponentially accurate for a smooth periodic
    integrand)."""
    G = coef.shape[0]
    M = G * oversample
    x = -math.pi + 2 * math.pi * (np.arange(M) + 0.5) / M
    B = bspline_basis(G, x)
    vals = B @ coef @ B.T
    top = vals.max()
    log_z = float(np.log(np.mean(np.exp(vals - top))) + top + 2 * LOG2PI)
    return coef - log_z
