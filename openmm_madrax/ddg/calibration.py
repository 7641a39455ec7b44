"""Fitting ΔΔG channel weights on experimental data, cross-validated by protein.

``python scripts/calibrate_ddg.py`` regenerates ``params/ddg_weights_calibrated.json`` with these
functions (the dataset reader and the per-mutation channel cache live here; the script only parses
arguments and paths)."""
from __future__ import annotations

import math
import time
import warnings
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np
import pandas as pd

from .. import mutate as mt
from ..errors import MadraXError, MutationError
from ..params import CHANNELS
from ..structure import load
from ..threads import torch_threads
from . import DDG_COLUMNS
from .protocol import MutationModeller, Protocol


def read_guerois(path) -> pd.DataFrame:
    """The Guerois CSV (``#`` comment header; ``DDG > 0`` = destabilising) as rows with
    ``record, pdb, mutant`` (``A:G44S+...``) and ``ddg_exp``."""
    lines = Path(path).read_text().splitlines()
    header = None
    rows = []
    for line in lines:
        if line.startswith("#RecordID"):
            header = line[1:].split(",")
            continue
        if not line.strip() or line.startswith("#"):
            continue
        rows.append(line.split(","))
    if header is None:
        raise MadraXError(f"{path}: no '#RecordID,...' header line")
    df = pd.DataFrame(rows, columns=header)
    out = pd.DataFrame({
        "record": df["RecordID"].astype(int),
        "pdb": df["PDBFileID"].str.strip(),
        "mutations": df["Mutations"],
        "ddg_exp": df["DDG"].astype(float),
    })
    muts = []
    for m in df["Mutations"]:
        try:
            muts.append("+".join(mt.parse_mutation(p).label for p in m.split("_")))
        except MutationError as exc:
            muts.append(f"!{exc}")
    out["mutant"] = muts
    return out


def compute_channels(data_dir, cache, *, protocol: Optional[Protocol] = None, limit_proteins: Optional[int] = None,
                     progress: bool = True, threads: int = 1) -> pd.DataFrame:
    """Per-channel ΔΔG of every Guerois mutation, appended to the CSV ``cache`` protein by protein
    (a rerun skips records already there).  Structures are read with ``altloc='first',
    drop_nonstandard=True, repair=True``; mutations that cannot be built are kept with their error."""
    data_dir = Path(data_dir)
    table = read_guerois(data_dir / "guerois.csv")
    cache = Path(cache)
    cache.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if cache.exists() and cache.stat().st_size:
        done = set(pd.read_csv(cache)["record"].astype(int))
    protocol = protocol or Protocol()
    pdbs = list(dict.fromkeys(table["pdb"]))
    if limit_proteins:
        pdbs = pdbs[:limit_proteins]
    todo = table[table["pdb"].isin(pdbs) & ~table["record"].isin(done)]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc="guerois", unit="mut")
    for pdb in pdbs:
        with torch_threads(threads):
            _channels_of_protein(pdb, todo[todo["pdb"] == pdb], data_dir, cache, protocol, bar)
    if bar is not None:
        bar.close()
    return pd.read_csv(cache)


def _channels_of_protein(pdb: str, rows_p: pd.DataFrame, data_dir: Path, cache: Path, protocol: Protocol, bar) -> None:
    """Per-channel ΔΔG of the Guerois records of one protein, appended to ``cache``."""
    if rows_p.empty:
        return
    out = []
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = load(data_dir / "pdbs" / f"{pdb}.pdb", altloc="first", drop_nonstandard=True, repair=True,
                     quiet=True)
            modeller = MutationModeller(s, protocol=protocol)
        setup = time.perf_counter() - t0
        err0 = None
    except Exception as exc:  # the whole protein fails: every record gets the error
        modeller, setup, err0 = None, 0.0, f"{type(exc).__name__}: {exc}"
    for _, r in rows_p.iterrows():
        row = {"record": r.record, "pdb": pdb, "mutant": r.mutant, "ddg_exp": r.ddg_exp, "status": "ok",
               "error": "", "seconds": 0.0, "setup_seconds": setup}
        t1 = time.perf_counter()
        try:
            if err0:
                raise MadraXError(err0)
            if r.mutant.startswith("!"):
                raise MutationError(r.mutant[1:])
            res = modeller.mutant(r.mutant)
            for c, v in zip(CHANNELS, res["ddg_channels"]):
                row[f"ddg_{c}"] = float(v)
        except Exception as exc:
            row["status"] = "error"
            row["error"] = f"{type(exc).__name__}: {exc}"
        row["seconds"] = time.perf_counter() - t1
        out.append(row)
        if bar is not None:
            bar.update(1)
    df = pd.DataFrame(out).reindex(columns=["record", "pdb", "mutant", "ddg_exp", "status", "error", "seconds",
                                           "setup_seconds"] + DDG_COLUMNS)
    df.to_csv(cache, mode="a", header=not cache.exists() or cache.stat().st_size == 0, index=False)


def metrics(pred: np.ndarray, obs: np.ndarray) -> Dict[str, float]:
    from scipy.stats import pearsonr, spearmanr

    pred = np.asarray(pred, float)
    obs = np.asarray(obs, float)
    return {"pearson_r": float(pearsonr(pred, obs)[0]), "spearman_rho": float(spearmanr(pred, obs)[0]),
            "rmse": float(np.sqrt(np.mean((pred - obs) ** 2))), "n": int(len(obs))}


def fit_nonneg_ridge(X: np.ndarray, y: np.ndarray, alpha: float = 1.0,
                     prior: Optional[np.ndarray] = None) -> Tuple[np.ndarray, float]:
    """min |y - b - X w|^2 + alpha n |w - prior|^2 subject to w >= 0 (intercept b free).

    The channels are all kcal/mol, so the penalty acts on the raw weights; ``prior`` defaults to
    the MadraX weights (all equal) times the least-squares scale of their sum, so a large alpha
    gives back the default weights (rescaled) and a small one the free non-negative fit."""
    from scipy.optimize import nnls

    n, k = X.shape
    mu_x = X.mean(0)
    mu_y = y.mean()
    Xc = X - mu_x
    if prior is None:
        tot = Xc.sum(1)
        scale = max(float(tot @ (y - mu_y)) / max(float(tot @ tot), 1e-12), 0.0)
        prior = np.full(k, scale)
    lam = math.sqrt(alpha * n)
    A = np.vstack([Xc, lam * np.eye(k)])
    rhs = np.concatenate([y - mu_y, lam * np.asarray(prior, float)])
    w, _ = nnls(A, rhs)
    return w, float(mu_y - mu_x @ w)


def protein_folds(groups: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Fold index of every row: the distinct groups (proteins) shuffled with ``seed`` and dealt
    round-robin into ``n_folds`` folds, so no protein is in two folds."""
    uniq = np.array(sorted(set(groups)))
    np.random.default_rng(seed).shuffle(uniq)
    fold_of = {g: i % n_folds for i, g in enumerate(uniq)}
    return np.array([fold_of[g] for g in groups])


def grouped_cv(X: np.ndarray, y: np.ndarray, groups: np.ndarray, alpha: float, n_folds: int = 5, seed: int = 0) -> np.ndarray:
    """Out-of-fold predictions, folds grouped by protein (no protein in training and validation)."""
    folds = protein_folds(groups, n_folds, seed)
    pred = np.zeros_like(y)
    for f in range(n_folds):
        tr = folds != f
        w, b = fit_nonneg_ridge(X[tr], y[tr], alpha)
        pred[~tr] = b + X[~tr] @ w
    return pred


def calibrate(table: pd.DataFrame, *, alphas=(0.001, 0.01, 0.1, 1.0, 10.0), n_folds: int = 5, seed: int = 0,
              clip: float = 50.0) -> dict:
    """Grouped-CV evaluation of default and calibrated weights and the final fit on all rows.

    Rows with ``status != ok`` are skipped (counted by reason).  The ridge strength is chosen by an
    inner grouped CV on the training folds only (nested), so the reported CV numbers are not tuned
    on their validation proteins."""
    ok = table[table["status"] == "ok"].copy()
    skipped = table[table["status"] != "ok"]
    X = ok[DDG_COLUMNS].to_numpy(float)
    # a few models with a large clash term would dominate a least-squares fit: features clipped
    X = np.clip(X, -clip, clip)
    y = ok["ddg_exp"].to_numpy(float)
    g = ok["pdb"].to_numpy()
    default = X.sum(1)

    def choose_alpha(Xt, yt, gt):
        best = None
        for a in alphas:
            p = grouped_cv(Xt, yt, gt, a, n_folds=min(n_folds, len(set(gt))), seed=seed + 1)
            r = float(np.corrcoef(p, yt)[0, 1])
            if best is None or r > best[1]:
                best = (a, r)
        return best[0]

    folds = protein_folds(g, n_folds, seed)
    pred = np.zeros_like(y)
    pred_scaled = np.zeros_like(y)
    chosen = []
    for f in range(n_folds):
        tr = folds != f
        a = choose_alpha(X[tr], y[tr], g[tr])
        chosen.append(a)
        w, b = fit_nonneg_ridge(X[tr], y[tr], a)
        pred[~tr] = b + X[~tr] @ w
        # default weights with only a scale and offset fitted (the fairest "default" for RMSE)
        A = np.vstack([default[tr], np.ones(tr.sum())]).T
        s, o = np.linalg.lstsq(A, y[tr], rcond=None)[0]
        pred_scaled[~tr] = o + s * default[~tr]
    alpha = choose_alpha(X, y, g)
    w, b = fit_nonneg_ridge(X, y, alpha)
    reasons: Dict[str, int] = {}
    for e in skipped["error"].astype(str):
        key = e.split(":")[0] if e.startswith(("MutationError", "StructureError")) else e[:60]
        reasons[key] = reasons.get(key, 0) + 1
    return {
        "weights": {c: float(v) for c, v in zip(CHANNELS, w)},
        "intercept": b,
        "alpha": alpha,
        "feature_clip_kcal": clip,
        "cv": {"folds": n_folds, "grouped_by": "protein (PDB id)", "seed": seed, "alphas_chosen": chosen,
               "default_madrax": metrics(default, y), "default_madrax_scaled": metrics(pred_scaled, y),
               "calibrated": metrics(pred, y)},
        "fit_all": metrics(b + X @ w, y),
        "n_used": int(len(ok)), "n_proteins": int(len(set(g))), "n_skipped": int(len(skipped)),
        "skipped": {str(r.record): f"{r.mutant}: {r.error}" for r in skipped.itertuples()},
        "skipped_reasons": reasons,
    }
