"""Fitting and grouped cross-validation of ΔΔG channel weights (research + calibration tool; not the library).

Folds: every mega-scale domain is its own group and goes to its own fold (folds 0-2, shuffled);
the Guerois sequence clusters are dealt largest first into the currently smallest fold, so no
protein is in a training and a validation fold.  Every set gets the same total weight in a fit
(rows weighted 1/n_set), so the 3,040 mega-scale rows do not drown the 1,005 Guerois rows.

Censored mega-scale rows (``censored = 1``: lower bounds, see ddg_data.py) are fitted as lower
bounds (no loss when the prediction is above the value; Tobit-like iteration) and counted as
plain rows in every reported metric.
"""
from __future__ import annotations

import math
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import pandas as pd
from scipy.optimize import nnls
from scipy.stats import pearsonr, spearmanr, t as student_t

from openmm_madrax.params import CHANNELS

DDG_COLUMNS = [f"ddg_{c}" for c in CHANNELS]
CLIP = 50.0
#: protocol terms fitted besides the channels (openmm_madrax.ddg.TERMS)
TERM_PREFIXES = ("site_entropy",)
FEATURES = DDG_COLUMNS + [f"ddg_{t}" for t in TERM_PREFIXES]
ALPHAS = (0.01, 0.1, 1.0, 10.0)


def folds_for(df: pd.DataFrame, n_folds: int = 5, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    fold = np.full(len(df), -1)
    mega_groups = sorted(df.loc[df["set"] == "megascale", "group"].unique())
    order = rng.permutation(len(mega_groups))
    size = np.zeros(n_folds)
    for f, gi in enumerate(order):
        m = (df["group"] == mega_groups[gi]).to_numpy()
        fold[m] = f % n_folds
    gue = df[df["set"] != "megascale"].groupby("group").size()
    names = list(gue.index)
    rng.shuffle(names)
    names.sort(key=lambda g: -gue[g])  # stable: ties keep the shuffled order
    for g in names:
        f = int(np.argmin(size))
        size[f] += gue[g]
        fold[(df["group"] == g).to_numpy()] = f
    return fold


def set_weights(df: pd.DataFrame) -> np.ndarray:
    n = df.groupby("set")["id"].transform("size").to_numpy(float)
    w = 1.0 / n
    return w / w.mean()


#: fit an intercept?  No by default: a ΔΔG model must give 0 for X -> X and be antisymmetric
#: (ΔΔG(A->B) = -ΔΔG(B->A)); an offset would break both.
FIT_INTERCEPT = False


def fit_ridge(X: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float, prior: Optional[np.ndarray] = None,
              nonneg: bool = True, censored: Optional[np.ndarray] = None, iters: int = 8,
              intercept: Optional[bool] = None) -> Tuple[np.ndarray, float]:
    """Weighted ridge towards ``prior`` (default: all channels equal, least-squares scale),
    non-negative weights, intercept only if ``intercept`` (default FIT_INTERCEPT); censored rows are
    lower bounds."""
    n, k = X.shape
    y_eff = y.copy()
    use_b = FIT_INTERCEPT if intercept is None else intercept
    for _ in range(iters if censored is not None and censored.any() else 1):
        sw = np.sqrt(w)
        mu_x = (w[:, None] * X).sum(0) / w.sum() if use_b else np.zeros(k)
        mu_y = float((w * y_eff).sum() / w.sum()) if use_b else 0.0
        Xc = (X - mu_x) * sw[:, None]
        yc = (y_eff - mu_y) * sw
        if prior is None:
            tot = Xc.sum(1)
            scale = max(float(tot @ yc) / max(float(tot @ tot), 1e-12), 0.0)
            pr = np.full(k, scale)
        else:
            pr = np.asarray(prior, float)
        lam = math.sqrt(alpha * n)
        A = np.vstack([Xc, lam * np.eye(k)])
        rhs = np.concatenate([yc, lam * pr])
        if nonneg:
            coef, _ = nnls(A, rhs)
        else:
            coef = np.linalg.lstsq(A, rhs, rcond=None)[0]
        b = mu_y - float(mu_x @ coef)
        if censored is None or not censored.any():
            break
        pred = b + X @ coef
        y_new = np.where(censored & (pred > y), pred, y)
        if np.allclose(y_new, y_eff, atol=1e-6):
            break
        y_eff = y_new
    return coef, b


def metrics(pred: np.ndarray, obs: np.ndarray) -> Dict[str, float]:
    pred, obs = np.asarray(pred, float), np.asarray(obs, float)
    if len(obs) < 3 or np.std(pred) == 0:
        r = rho = float("nan")
    else:
        r, rho = float(pearsonr(pred, obs)[0]), float(spearmanr(pred, obs)[0])
    return {"n": int(len(obs)), "r": r, "rho": rho, "rmse": float(np.sqrt(np.mean((pred - obs) ** 2))),
            "mean_pred": float(np.mean(pred)), "mean_exp": float(np.mean(obs))}


def fold_interval(pred, obs, fold) -> Tuple[float, float]:
    """Mean of the per-fold Pearson r and its 95 % t-interval half-width."""
    rs = [pearsonr(pred[fold == f], obs[fold == f])[0] for f in np.unique(fold) if (fold == f).sum() > 2]
    rs = np.array(rs)
    if len(rs) < 2:
        return float(rs.mean()) if len(rs) else float("nan"), float("nan")
    return float(rs.mean()), float(student_t.ppf(0.975, len(rs) - 1) * rs.std(ddof=1) / math.sqrt(len(rs)))


def feature_matrix(df: pd.DataFrame, cols=None) -> np.ndarray:
    """Feature matrix (kcal/mol), clipped to +-CLIP so that a few models with a huge clash do not
    dominate a least-squares fit."""
    return np.clip(df[list(cols or DDG_COLUMNS)].to_numpy(float), -CLIP, CLIP)


def cv_predict(df: pd.DataFrame, fold: np.ndarray, alphas: Sequence[float] = ALPHAS,
               nonneg: bool = True, inner: bool = True, features=None) -> Tuple[np.ndarray, list]:
    """Out-of-fold predictions of the calibrated weights; alpha chosen by an inner grouped CV
    (weighted RMSE) on the training folds only."""
    cols = features
    X = feature_matrix(df, cols)
    y = df["ddg_exp"].to_numpy(float)
    w = set_weights(df)
    cen = df["censored"].to_numpy(bool)
    pred = np.zeros(len(df))
    chosen = []
    for f in np.unique(fold):
        tr = fold != f
        a = choose_alpha(df[tr], alphas, nonneg, features=cols) if inner and len(alphas) > 1 else alphas[0]
        chosen.append(a)
        coef, b = fit_ridge(X[tr], y[tr], w[tr], a, nonneg=nonneg, censored=cen[tr])
        pred[~tr] = b + X[~tr] @ coef
    return pred, chosen


def choose_alpha(df: pd.DataFrame, alphas, nonneg=True, features=None) -> float:
    inner_fold = folds_for(df, n_folds=min(4, df["group"].nunique()), seed=1)
    X = feature_matrix(df, features)
    y = df["ddg_exp"].to_numpy(float)
    w = set_weights(df)
    cen = df["censored"].to_numpy(bool)
    best = None
    for a in alphas:
        pred = np.zeros(len(df))
        for f in np.unique(inner_fold):
            tr = inner_fold != f
            coef, b = fit_ridge(X[tr], y[tr], w[tr], a, nonneg=nonneg, censored=cen[tr])
            pred[~tr] = b + X[~tr] @ coef
        err = censored_sq_error(pred, y, cen)
        score = float((w * err).sum() / w.sum())
        if best is None or score < best[1]:
            best = (a, score)
    return best[0]


def censored_sq_error(pred, y, cen):
    e = pred - y
    return np.where(cen & (e > 0), 0.0, e ** 2)


def scale_offset_cv(df: pd.DataFrame, fold: np.ndarray, col: np.ndarray) -> np.ndarray:
    """Out-of-fold predictions of y ~ b * col (+ a with FIT_INTERCEPT): the raw MadraX sum with only a scale fitted."""
    y = df["ddg_exp"].to_numpy(float)
    w = set_weights(df)
    cen = df["censored"].to_numpy(bool)
    pred = np.zeros(len(df))
    for f in np.unique(fold):
        tr = fold != f
        coef, b = fit_ridge(col[tr, None], y[tr], w[tr], 0.0, nonneg=True, censored=cen[tr])
        pred[~tr] = b + col[~tr] * coef[0]
    return pred


def baseline_cv(df: pd.DataFrame, fold: np.ndarray) -> np.ndarray:
    """A simple baseline on the same folds: ddg ~ a + b |dv| + c dv (side-chain volume change,
    Zamyatnin), fitted like the weights (set-weighted, censored rows as lower bounds)."""
    dv = df["dv"].to_numpy(float) / 100.0
    X = np.vstack([np.abs(dv), dv]).T
    y = df["ddg_exp"].to_numpy(float)
    w = set_weights(df)
    cen = df["censored"].to_numpy(bool)
    pred = np.zeros(len(df))
    for f in np.unique(fold):
        tr = fold != f
        coef, b = fit_ridge(X[tr], y[tr], w[tr], 0.0, nonneg=False, censored=cen[tr], prior=np.zeros(2),
                            intercept=True)
        pred[~tr] = b + X[~tr] @ coef
    return pred


def summary(df: pd.DataFrame, pred: np.ndarray, fold: np.ndarray) -> pd.DataFrame:
    """Rows: all, per set, per size class (all sets), per set x size class."""
    y = df["ddg_exp"].to_numpy(float)
    out = []

    def add(name, m):
        r = metrics(pred[m], y[m])
        r["subset"] = name
        out.append(r)

    allm = np.ones(len(df), bool)
    add("all", allm)
    for s in ("guerois", "megascale"):
        add(s, (df["set"] == s).to_numpy())
    for c in ("decrease", "similar", "increase"):
        add(f"size {c}", (df["size_class"] == c).to_numpy())
    for s in ("guerois", "megascale"):
        for c in ("decrease", "similar", "increase"):
            add(f"{s} {c}", ((df["set"] == s) & (df["size_class"] == c)).to_numpy())
    t = pd.DataFrame(out).set_index("subset")
    mean_r, hw = fold_interval(pred, y, fold)
    t.attrs["fold_r"] = (mean_r, hw)
    return t


# ----------------------------------------------------------------------------------------------
# uncertainty: sd = a + b |pred - center|, fitted on out-of-fold residuals of the training folds

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def fit_uncertainty(pred: np.ndarray, obs: np.ndarray, w: Optional[np.ndarray] = None,
                    target: float = 0.90) -> Dict[str, float]:
    """Heteroscedastic scale: least squares of |residual| on |pred - center| (center = weighted
    mean prediction), turned into an SD by E|e| = sd sqrt(2/pi), then multiplied by the factor
    that makes ``|e| <= 1.645 sd`` hold for ``target`` of the (weighted) rows."""
    w = np.ones(len(obs)) if w is None else w
    center = float((w * pred).sum() / w.sum())
    x = np.abs(pred - center)
    e = np.abs(obs - pred)
    A = np.vstack([np.ones_like(x), x]).T * np.sqrt(w)[:, None]
    coef = np.linalg.lstsq(A, e * np.sqrt(w), rcond=None)[0]
    a, b = max(float(coef[0]), 0.05), max(float(coef[1]), 0.0)
    sd = (a + b * x) / SQRT_2_OVER_PI
    ratio = e / sd
    order = np.argsort(ratio)
    cw = np.cumsum(w[order]) / w.sum()
    q = float(ratio[order][np.searchsorted(cw, target)])
    k = q / 1.6448536
    return {"a": a / SQRT_2_OVER_PI * k, "b": b / SQRT_2_OVER_PI * k, "center": center}


def sd_of(unc: Dict[str, float], pred: np.ndarray) -> np.ndarray:
    return unc["a"] + unc["b"] * np.abs(pred - unc["center"])


def coverage(pred, obs, sd) -> Dict[str, float]:
    z = np.abs(obs - pred) / sd
    return {"within_1sd": float(np.mean(z <= 1.0)), "within_1.645sd": float(np.mean(z <= 1.6448536)),
            "within_1.96sd": float(np.mean(z <= 1.959964)), "mean_sd": float(np.mean(sd))}


def cv_uncertainty(df: pd.DataFrame, fold: np.ndarray, pred: np.ndarray, fit_pred) -> Tuple[np.ndarray, list]:
    """Held-out SDs: for each outer fold, the uncertainty model is fitted on out-of-fold predictions
    made *inside* the training folds (``fit_pred(train_df, inner_fold)`` -> predictions), then
    applied to the outer fold's predictions ``pred``."""
    sd = np.zeros(len(df))
    models = []
    for f in np.unique(fold):
        tr = fold != f
        dtr = df[tr].reset_index(drop=True)
        inner = folds_for(dtr, n_folds=min(4, dtr["group"].nunique()), seed=1)
        p_in = fit_pred(dtr, inner)
        unc = fit_uncertainty(p_in, dtr["ddg_exp"].to_numpy(float), set_weights(dtr))
        models.append(unc)
        sd[~tr] = sd_of(unc, pred[~tr])
    return sd, models
