"""Weighted EM of von Mises product mixtures (chi densities) and the omega densities."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from .. import params
from .settings import LOG2PI, PRE_PRO_CLASS


def _log_i0(kappa: np.ndarray) -> np.ndarray:
    from scipy.special import i0e

    kappa = np.asarray(kappa, np.float64)
    return np.log(i0e(kappa)) + kappa


def _kappa_mle(rbar: np.ndarray) -> np.ndarray:
    """Solve A(kappa) = I1/I0 = rbar (Newton from Best & Fisher's approximation)."""
    from scipy.special import i0e, i1e

    r = np.clip(rbar, 1e-8, 1.0 - 1e-10)
    k = np.where(r < 0.53, 2 * r + r ** 3 + 5 * r ** 5 / 6,
                 np.where(r < 0.85, -0.4 + 1.39 * r + 0.43 / (1 - r), 1.0 / (r ** 3 - 4 * r ** 2 + 3 * r)))
    for _ in range(6):
        a = i1e(k) / i0e(k)
        da = 1.0 - a / np.maximum(k, 1e-12) - a * a
        k = np.maximum(k - (a - r) / np.maximum(da, 1e-12), 1e-8)
    return k


@dataclass
class VMMixture:
    """sum_k w_k prod_d vM(m_d x_d; m_d mu_kd, kappa_kd) + w_bg (2 pi)^-n."""

    weight: np.ndarray  # (K,)
    mu: np.ndarray  # (K, n), in the x angle (mu of the doubled angle / 2 for m = 2)
    kappa: np.ndarray  # (K, n)
    freq: np.ndarray  # (n,) 1 or 2
    bg_weight: float

    def component_logpdf(self, x: np.ndarray, features: Optional[Tuple[np.ndarray, np.ndarray]] = None) -> np.ndarray:
        """(N, K + 1) ln [prod_d vM] of every component, the background last.

        kappa (cos m(x - mu) - 1) is expanded as kappa (cos mx cos m mu + sin mx sin m mu) - kappa so
        that all components cost one matrix product (``features`` = (cos mx, sin mx) if precomputed).
        """
        cx, sx = features if features is not None else (np.cos(self.freq[None] * x), np.sin(self.freq[None] * x))
        fm = self.freq[None] * self.mu
        lp = cx @ (self.kappa * np.cos(fm)).T + sx @ (self.kappa * np.sin(fm)).T \
            - (self.kappa + _log_i0(self.kappa) - self.kappa).sum(-1)[None] - x.shape[1] * LOG2PI
        bg = np.full((x.shape[0], 1), -x.shape[1] * LOG2PI)
        return np.concatenate([lp, bg], axis=1)

    def logpdf(self, x: np.ndarray, features: Optional[Tuple[np.ndarray, np.ndarray]] = None) -> np.ndarray:
        lw = np.log(np.concatenate([self.weight, [self.bg_weight]]) + 1e-300)
        return _logsumexp_rows(self.component_logpdf(x, features) + lw[None])


def _logsumexp_rows(a: np.ndarray) -> np.ndarray:
    top = a.max(1)
    return top + np.log(np.exp(a - top[:, None]).sum(1))


def em_vm_mixture(x: np.ndarray, w: np.ndarray, mu0: np.ndarray, kappa0: np.ndarray, freq: np.ndarray,
                  bg_weight: float, *, kappa_max: float, kappa_min: float, min_weight: float,
                  max_iter: int, tol: float, fixed_shape: Optional[np.ndarray] = None,
                  weight0: Optional[np.ndarray] = None) -> Tuple[VMMixture, float]:
    """Weighted EM for a mixture of products of von Mises with a fixed uniform background weight.

    ``fixed_shape`` (K,) bool: components whose mu/kappa are kept (only their weight is fitted);
    ``weight0``: starting weights (default equal).
    Returns the mixture and the weighted log-likelihood.  Components whose weight drops below
    ``min_weight`` are removed.  Deterministic (no random initialisation).
    """
    K = mu0.shape[0]
    fixed = np.zeros(K, bool) if fixed_shape is None else fixed_shape.astype(bool)
    freq = freq.astype(np.float64)
    start = np.full(K, 1.0 / K) if weight0 is None else weight0 / weight0.sum()
    mix = VMMixture((1.0 - bg_weight) * start, mu0.copy(), kappa0.copy(), freq, bg_weight)
    feats = (np.cos(freq[None] * x), np.sin(freq[None] * x))
    W = float(w.sum())
    prev = -np.inf
    for _ in range(max_iter):
        lw = np.log(np.concatenate([mix.weight, [bg_weight]]) + 1e-300)
        lp = mix.component_logpdf(x, feats) + lw[None]
        tot = _logsumexp_rows(lp)
        ll = float((w * tot).sum())
        r = np.exp(lp[:, :-1] - tot[:, None]) * w[:, None]  # (N, K) weighted responsibilities
        nk = r.sum(0)
        keep = nk / W >= min_weight
        if not keep.all() and keep.any():
            mix = VMMixture(mix.weight[keep], mix.mu[keep], mix.kappa[keep], mix.freq, bg_weight)
            fixed = fixed[keep]
            prev = -np.inf
            continue
        if abs(ll - prev) <= tol * W:
            break
        prev = ll
        # M step: weights of the non-background components share 1 - bg_weight
        mix.weight = (1.0 - bg_weight) * nk / max(nk.sum(), 1e-300)
        c = r.T @ feats[0]
        s = r.T @ feats[1]
        rbar = np.sqrt(c * c + s * s) / np.maximum(nk[:, None], 1e-300)
        new_mu = np.arctan2(s, c) / freq[None]
        new_kappa = np.clip(_kappa_mle(rbar), kappa_min, kappa_max)
        mix.mu = np.where(fixed[:, None], mix.mu, new_mu)
        mix.kappa = np.where(fixed[:, None], mix.kappa, new_kappa)
    ll = float((w * mix.logpdf(x, feats)).sum())
    return mix, ll


def _rotamer_inits(x: np.ndarray, w: np.ndarray, freq: np.ndarray, cap: int) -> np.ndarray:
    """Circular means of the most populated rotamer bins (3 per chi: 60, 180, -60 deg; for the
    pi-periodic chis 0, 60, 120 deg), at most ``cap`` of them, heaviest first."""
    n = x.shape[1]
    # bins of 120 deg centred on 60, 180, -60 deg (chi) or, in the doubled angle, on 0, 120, 240 deg
    y = (freq[None] * x + math.pi / 3.0 * (freq[None] == 2)) % (2 * math.pi)
    bins = np.minimum((y / (2 * math.pi / 3)).astype(np.int64), 2)
    code = (bins * (3 ** np.arange(n))[None]).sum(1)
    heavy: Dict[int, float] = {}
    for c, wi in zip(code.tolist(), w.tolist()):
        heavy[c] = heavy.get(c, 0.0) + wi
    order = sorted(heavy, key=lambda c: (-heavy[c], c))[:cap]
    mus = []
    for c in order:
        sel = code == c
        ang = freq[None] * x[sel]
        m = np.arctan2((w[sel, None] * np.sin(ang)).sum(0), (w[sel, None] * np.cos(ang)).sum(0)) / freq
        mus.append(m)
    return np.array(mus, np.float64).reshape(-1, n)


def _cheapest_component(mix: VMMixture, x: np.ndarray, w: np.ndarray, feats) -> int:
    """Index of the component whose removal (other weights rescaled) loses the least log-likelihood."""
    lp = mix.component_logpdf(x, feats)  # (N, K + 1)
    K = mix.weight.shape[0]
    dens = np.exp(lp - lp.max(1, keepdims=True))
    top = lp.max(1)
    comp = dens[:, :K] * mix.weight[None]
    bg = dens[:, K] * mix.bg_weight
    total = comp.sum(1)
    loss = np.zeros(K)
    for k in range(K):
        scale = (1.0 - mix.bg_weight) / max(1.0 - mix.bg_weight - mix.weight[k], 1e-300)
        loss[k] = -float((w * (np.log((total - comp[:, k]) * scale + bg + 1e-300) + top)).sum())
    return int(np.argmin(loss))


def fit_chi_density(x: np.ndarray, w: np.ndarray, freq: np.ndarray, hyper: Dict[str, float]) -> Tuple[VMMixture, Dict]:
    """Mixture of products of von Mises for one residue type, components by BIC.

    EM starts from the populated rotamer bins; then, repeatedly, the component whose removal costs
    the least log-likelihood (weights renormalised, no refit) is removed and EM is rerun from the
    remaining components; the model with the lowest BIC on this path is kept (the path stops after
    ``bic_patience`` consecutive increases).
    """
    n = x.shape[1]
    W = float(w.sum())
    bg = hyper["chi_pseudocount"] / (W + hyper["chi_pseudocount"])
    if W <= 0 or x.shape[0] == 0:
        return VMMixture(np.zeros(0), np.zeros((0, n)), np.zeros((0, n)), freq.astype(np.float64), 1.0), \
            {"n_components": 0, "bic": None, "weight": 0.0}
    cap = int(min(3 ** n, hyper["chi_max_components"]))
    mu0 = _rotamer_inits(x, w, freq, cap)
    em = dict(kappa_max=hyper["chi_kappa_max"], kappa_min=hyper["chi_kappa_min"],
              min_weight=hyper["chi_min_component_weight"], max_iter=int(hyper["em_max_iter"]), tol=hyper["em_tol"])
    mix, ll = em_vm_mixture(x, w, mu0, np.full_like(mu0, 10.0), freq, bg, **em)
    n_eff = max(W, 2.0)

    def bic(m: VMMixture, ll_: float) -> float:
        K = m.weight.shape[0]
        return -2.0 * ll_ + (2 * n * K + max(K - 1, 0)) * math.log(n_eff)

    best, best_bic = mix, bic(mix, ll)
    path = [(mix.weight.shape[0], best_bic)]
    worse = 0
    feats = (np.cos(freq[None] * x), np.sin(freq[None] * x))
    while mix.weight.shape[0] > 1 and worse < hyper["bic_patience"]:
        drop = _cheapest_component(mix, x, w, feats)
        keep = np.arange(mix.weight.shape[0]) != drop
        mix, ll = em_vm_mixture(x, w, mix.mu[keep], mix.kappa[keep], freq, bg, weight0=mix.weight[keep], **em)
        b = bic(mix, ll)
        path.append((mix.weight.shape[0], b))
        if b < best_bic:
            best, best_bic, worse = mix, b, 0
        else:
            worse += 1
    return best, {"n_components": int(best.weight.shape[0]), "bic": float(best_bic), "weight": W,
                  "bic_path": [[int(k), float(b)] for k, b in path]}


def fit_omega_densities(omega: np.ndarray, cls: np.ndarray, w: np.ndarray, n_classes: int,
                        hyper: Dict[str, float]) -> Tuple[List[VMMixture], Dict]:
    """Per class: two trans von Mises (a narrow peak and its heavier tails), one cis von Mises and a
    uniform background, by weighted EM started from the pooled fit of all classes.

    Classes with less than ``omega_min_weight`` keep the pooled shapes (only weights are fitted);
    classes with less than ``omega_cis_min_weight`` cis weight keep the pooled cis shape and get the
    cis fraction (own cis weight + prior x pooled non-proline fraction) / (own weight + prior).
    """
    em = dict(kappa_max=hyper["omega_kappa_max"], kappa_min=hyper["chi_kappa_min"], min_weight=0.0,
              max_iter=int(hyper["em_max_iter"]), tol=hyper["em_tol"])
    one = np.ones(1)
    x = omega[:, None]
    is_cis = np.abs(omega) < math.pi / 2
    mu0 = np.array([[math.pi], [math.pi], [0.0]])
    kappa0 = np.array([[300.0], [30.0], [20.0]])
    W = float(w.sum())
    if W > 0:
        pooled, _ = em_vm_mixture(x, w, mu0, kappa0, one, hyper["omega_pseudocount"] / (W + hyper["omega_pseudocount"]),
                                  **em)
    else:
        pooled = VMMixture(np.array([0.5, 0.5, 0.0]), mu0, kappa0, one, 0.0)
    non_pro = (cls != params.RESIDUE_INDEX["PRO"]) & (cls != PRE_PRO_CLASS)
    f_cis = float((w * (is_cis & non_pro)).sum() / max((w * non_pro).sum(), 1e-12))
    out: List[VMMixture] = []
    info = {"pooled": {"mu": pooled.mu[:, 0].tolist(), "kappa": pooled.kappa[:, 0].tolist(),
                       "w": pooled.weight.tolist()},
            "non_pro_cis_fraction": f_cis, "classes": []}
    prior = hyper["omega_cis_prior"]
    for c in range(n_classes):
        sel = cls == c
        Wc = float(w[sel].sum())
        bg = hyper["omega_pseudocount"] / (Wc + hyper["omega_pseudocount"])
        wc_cis = float((w[sel] * is_cis[sel]).sum())
        frac = (wc_cis + prior * f_cis) / (Wc + prior)
        own_trans = Wc >= hyper["omega_min_weight"]
        own_cis = wc_cis >= hyper["omega_cis_min_weight"]
        if Wc > 0:
            fixed = np.array([not own_trans, not own_trans, not own_cis])
            mix, _ = em_vm_mixture(x[sel], w[sel], pooled.mu.copy(), pooled.kappa.copy(), one, bg, fixed_shape=fixed, **em)
        else:
            mix = VMMixture(pooled.weight.copy(), pooled.mu.copy(), pooled.kappa.copy(), one, bg)
        if not own_cis:  # shrink the cis weight towards the pooled non-proline fraction
            trans = mix.weight[:2] / max(mix.weight[:2].sum(), 1e-300)
            mix.weight = np.concatenate([trans * (1.0 - frac), [frac]]) * (1.0 - bg)
        out.append(mix)
        info["classes"].append({"weight": Wc, "cis_weight": wc_cis, "own_trans_shape": bool(own_trans),
                                "own_cis_shape": bool(own_cis), "w": mix.weight.tolist(),
                                "mu": mix.mu[:, 0].tolist(), "kappa": mix.kappa[:, 0].tolist()})
    return out, info
