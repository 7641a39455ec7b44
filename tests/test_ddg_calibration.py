"""The ΔΔG calibration tool (scripts/ddg_fit.py, scripts/ddg_data.py; not part of the library):
fitting maths on synthetic data, grouped folds, censoring, the uncertainty model, the data readers."""
from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from helpers import ROOT, shared_path

sys.path.insert(0, str(ROOT / "scripts"))
import ddg_data  # noqa: E402
import ddg_fit as F  # noqa: E402


def _synthetic(n_groups=30, per=12, seed=0, noise=0.3):
    rng = np.random.default_rng(seed)
    n = n_groups * per
    X = rng.normal(size=(n, len(F.FEATURES)))
    w_true = np.zeros(len(F.FEATURES))
    w_true[[1, 3, 5, 11]] = [0.5, 1.0, 0.3, 0.8]
    y = X @ w_true + noise * rng.normal(size=n)
    df = pd.DataFrame(X, columns=F.FEATURES)
    df["ddg_exp"] = y
    df["group"] = [f"g{i // per}" for i in range(n)]
    df["set"] = np.where(np.arange(n) < n // 2, "guerois", "megascale")
    df.loc[df["set"] == "megascale", "group"] = [f"m{i % 3}" for i in range((df["set"] == "megascale").sum())]
    df["id"] = [f"r{i}" for i in range(n)]
    df["censored"] = 0
    df["dv"] = rng.normal(size=n) * 50
    df["size_class"] = [ddg_data.size_class(v) for v in df["dv"]]
    return df, w_true


def test_ridge_recovers_nonnegative_weights_without_intercept():
    df, w_true = _synthetic(noise=0.05)
    X = F.feature_matrix(df, F.FEATURES)
    coef, b = F.fit_ridge(X, df["ddg_exp"].to_numpy(), np.ones(len(df)), alpha=1e-4)
    assert b == 0.0  # no offset: X -> X stays 0 and forward/reverse stay antisymmetric
    assert (coef >= 0).all() and np.allclose(coef, w_true, atol=0.05)
    # a large penalty shrinks to equal weights (the prior), not to zero
    coef_big, _ = F.fit_ridge(X, df["ddg_exp"].to_numpy(), np.ones(len(df)), alpha=1e4)
    assert np.ptp(coef_big) < 0.02 and coef_big.mean() > 0.01


def test_censored_rows_are_lower_bounds():
    df, _ = _synthetic(noise=0.05)
    X = F.feature_matrix(df, F.FEATURES)
    y = df["ddg_exp"].to_numpy().copy()
    cut = np.quantile(y, 0.8)
    yc = np.minimum(y, cut)  # values above the ceiling are recorded at the ceiling
    cen = y > cut
    plain, _ = F.fit_ridge(X, yc, np.ones(len(y)), 1e-4)
    tobit, _ = F.fit_ridge(X, yc, np.ones(len(y)), 1e-4, censored=cen)
    err_plain = np.abs(X @ plain - y).mean()
    err_tobit = np.abs(X @ tobit - y).mean()
    assert err_tobit < err_plain


def test_folds_are_grouped_and_megascale_domains_apart():
    df, _ = _synthetic()
    fold = F.folds_for(df)
    for g, rows in df.groupby("group"):
        assert len(set(fold[rows.index])) == 1, g  # a protein never in two folds
    mega_folds = [fold[df.index[df["group"] == g][0]] for g in ("m0", "m1", "m2")]
    assert len(set(mega_folds)) == 3
    pred, alphas = F.cv_predict(df, fold, features=F.FEATURES)
    assert F.metrics(pred, df["ddg_exp"])["r"] > 0.9 and len(alphas) == len(set(fold))


def test_uncertainty_coverage_on_heldout_folds():
    df, _ = _synthetic(noise=1.0)
    fold = F.folds_for(df)
    pred, _ = F.cv_predict(df, fold, features=F.FEATURES)

    def fit_pred(d, f):
        return F.cv_predict(d, f, features=F.FEATURES, alphas=(0.1,), inner=False)[0]

    sd, models = F.cv_uncertainty(df, fold, pred, fit_pred)
    cov = F.coverage(pred, df["ddg_exp"].to_numpy(), sd)
    assert 0.8 < cov["within_1.645sd"] < 0.97
    assert all(m["a"] > 0 and m["b"] >= 0 for m in models)


def test_size_classes_and_volumes():
    assert ddg_data.size_class(ddg_data.volume_change(["A:A10W"])) == "increase"
    assert ddg_data.size_class(ddg_data.volume_change(["A:L10A"])) == "decrease"
    assert ddg_data.size_class(ddg_data.volume_change(["A:L10I"])) == "similar"
    assert ddg_data.volume_change(["A:W59Q"]) == pytest.approx(-84.0)  # the mega-scale README's value


def test_data_readers():
    shared_path("data", "ddg_train", "guerois.csv")
    shared_path("data", "ddg_megascale", "ddg_megascale.csv")
    d = ddg_data.dataset()
    g = d[d["set"] == "guerois"]
    m = d[d["set"] == "megascale"]
    assert len(g) == 1005 and g["pdb"].nunique() == 81 and len(m) == 3040
    assert g.loc[g["id"] == "G965", "mutant"].item() == "A:G44S"
    assert not g["mutant"].str.startswith("!").any()
    # the T4 lysozyme mutant entries are one protein group
    assert g.loc[g["pdb"].isin(["1L63", "107L", "2LZM"]), "group"].nunique() == 1
    # the README's size classes are reproduced by the Zamyatnin table
    mega = pd.read_csv(ddg_data.MEGA_DIR / "ddg_megascale.csv")
    assert (m["size_class"].to_numpy() == mega["size_class"].to_numpy()).mean() > 0.99
    assert set(m.loc[m["censored"] == 1, "pdb"]) <= {"1GYZ", "1MHN", "2JY8"}
