#!/usr/bin/env python
"""Regenerate openmm_madrax/params/ddg_weights_calibrated.json (docs/ddg.md, "Calibration").

    python scripts/ddg_calibrate.py                        # compute (cached, resumable) + fit + write
    python scripts/ddg_calibrate.py --fit-only             # refit from the cache in seconds
    python scripts/ddg_calibrate.py --protocol legacy --no-write   # the old protocol's table

Data (../shared/data, read-only, never shipped): the Guerois set (1,005 mutations, 81 entries)
and the mega-scale cDNA-display subset (3,040 substitutions, 3 domains), see scripts/ddg_data.py.
Per mutation, the library's own protocol (openmm_madrax.ddg.MutationModeller, structures read
as `ddg` reads them by default) gives the 11 channel ΔΔGs and the site-entropy term; they are
cached in benchmarks/out/ddg_calibration/<protocol>.csv.  The fit (scripts/ddg_fit.py) is a
non-negative ridge towards equal weights with the strength chosen by an inner grouped CV,
censored mega-scale rows as lower bounds, each data set weighted equally; the reported numbers
are out-of-fold predictions of folds grouped by protein (sequence cluster / mega-scale domain).
The library only reads the JSON this writes.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ddg_data  # noqa: E402
import ddg_fit as F  # noqa: E402

ROOT = ddg_data.ROOT
OUT = ROOT / "benchmarks" / "out" / "ddg_calibration"
SUBSETS = ("decrease", "similar", "increase")


def protocol_named(name: str):
    from openmm_madrax.ddg import Protocol

    return {"default": Protocol, "fast": Protocol.fast, "legacy": Protocol.legacy}[name]()


def compute(rows: pd.DataFrame, protocol, cache: Path, progress: bool = True) -> None:
    """Channel ΔΔGs of every row not yet in ``cache`` (appended protein by protein)."""
    import torch
    from openmm_madrax.ddg import MutationModeller
    from openmm_madrax.params import CHANNELS

    torch.set_num_threads(1)
    done = set(pd.read_csv(cache, usecols=["id"])["id"]) if cache.exists() and cache.stat().st_size else set()
    todo = rows[~rows["id"].isin(done)]
    print(f"{len(todo)} of {len(rows)} mutations to compute -> {cache}", flush=True)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), unit="mut", mininterval=30)
    for _, grp in todo.groupby("pdb", sort=False):
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                modeller, err0 = MutationModeller(grp["pdb_path"].iloc[0], protocol=protocol), None
        except Exception as exc:  # noqa: BLE001 - every row of the protein gets the error
            modeller, err0 = None, f"{type(exc).__name__}: {exc}"
        setup = time.perf_counter() - t0
        recs = []
        for r in grp.itertuples():
            rec = {"id": r.id, "status": "ok", "error": "", "setup_s": setup}
            t1 = time.perf_counter()
            try:
                if err0:
                    raise RuntimeError(err0)
                if r.mutant.startswith("!"):
                    raise RuntimeError(r.mutant[1:])
                res = modeller.mutant(r.mutant)
                rec.update({f"ddg_{c}": float(v) for c, v in zip(CHANNELS, res["ddg_channels"])})
                rec.update({f"ddg_{t}": float(v) for t, v in res["ddg_terms"].items()})
            except Exception as exc:  # noqa: BLE001 - recorded per row
                rec.update(status="error", error=f"{type(exc).__name__}: {exc}"[:300])
            rec["seconds"] = time.perf_counter() - t1
            recs.append(rec)
            if bar is not None:
                bar.update(1)
        df = pd.DataFrame(recs).reindex(columns=["id", "status", "error", "setup_s", "seconds"] + F.FEATURES)
        df.to_csv(cache, mode="a", header=not cache.exists() or cache.stat().st_size == 0, index=False)
    if bar is not None:
        bar.close()


def evaluate(t: pd.DataFrame, features=None) -> dict:
    """Grouped-CV tables of the raw sum, the scale+offset fit and the calibrated fit, the final fit,
    and the held-out coverage of the uncertainty model."""
    features = features or F.FEATURES
    fold = F.folds_for(t)
    y = t["ddg_exp"].to_numpy(float)
    raw = t[[c for c in F.DDG_COLUMNS]].sum(axis=1).to_numpy(float)
    cal, alphas = F.cv_predict(t, fold, features=features)
    so = F.scale_offset_cv(t, fold, raw)
    base = F.baseline_cv(t, fold)

    def fit_pred(d, f):
        return F.cv_predict(d, f, features=features, alphas=(float(np.median(alphas)),), inner=False)[0]

    sd, _ = F.cv_uncertainty(t, fold, cal, fit_pred)
    tables = {name: F.summary(t, p, fold) for name, p in
              (("raw", raw), ("scale_offset", so), ("calibrated", cal), ("baseline", base))}
    cov = {"all": F.coverage(cal, y, sd)}
    for s in ("guerois", "megascale"):
        m = (t["set"] == s).to_numpy()
        cov[s] = F.coverage(cal[m], y[m], sd[m])
    alpha = F.choose_alpha(t, F.ALPHAS, features=features)
    X = F.feature_matrix(t, features)
    coef, b = F.fit_ridge(X, y, F.set_weights(t), alpha, censored=t["censored"].to_numpy(bool))
    p_all_in = fit_pred(t, fold)  # out-of-fold with the final alpha, for the shipped uncertainty model
    unc = F.fit_uncertainty(p_all_in, y, F.set_weights(t))
    return {"tables": tables, "coverage": cov, "alphas": alphas, "alpha": alpha, "coef": coef, "intercept": b,
            "uncertainty": unc, "fold": fold, "pred": cal, "sd": sd}


def table_md(tables: dict, rows=("all", "guerois", "megascale", "size decrease", "size similar", "size increase",
                                  "megascale increase", "guerois increase")) -> str:
    lines = ["| subset | n | " + " | ".join(f"{k} r / RMSE / mean pred" for k in tables) + " | mean exp |",
             "|---|---|" + "---|" * len(tables) + "---|"]
    first = next(iter(tables.values()))
    for r in rows:
        if r not in first.index:
            continue
        cells = [f"{tab.loc[r, 'r']:.2f} / {tab.loc[r, 'rmse']:.2f} / {tab.loc[r, 'mean_pred']:+.2f}"
                 for tab in tables.values()]
        lines.append(f"| {r} | {int(first.loc[r, 'n'])} | " + " | ".join(cells) + f" | {first.loc[r, 'mean_exp']:+.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python scripts/ddg_calibrate.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--protocol", choices=["default", "fast", "legacy"], default="default")
    p.add_argument("--subset", choices=["full", "dev"], default="full",
                   help="all rows (default) or the development subset of scripts/ddg_data.py")
    p.add_argument("--cache", default=None, help="channel cache CSV (default benchmarks/out/ddg_calibration/<protocol>.csv)")
    p.add_argument("--fit-only", action="store_true", help="do not compute; fit the rows already in the cache")
    p.add_argument("--out", default=str(ROOT / "openmm_madrax" / "params" / "ddg_weights_calibrated.json"))
    p.add_argument("--no-write", action="store_true", help="report only; do not write the weights file")
    args = p.parse_args(argv)
    protocol = protocol_named(args.protocol)
    cache = Path(args.cache) if args.cache else OUT / f"{args.protocol}.csv"
    cache.parent.mkdir(parents=True, exist_ok=True)
    rows = ddg_data.dataset() if args.subset == "full" else ddg_data.dev_subset(ddg_data.dataset())
    if not args.fit_only:
        compute(rows.sort_values("set", ascending=False, kind="stable"), protocol, cache)
    cached = pd.read_csv(cache).drop_duplicates("id", keep="last")
    t = rows.merge(cached, on="id", how="inner")
    skipped = t[t["status"] != "ok"]
    t = t[t["status"] == "ok"].sort_values("id").reset_index(drop=True)
    features = [c for c in F.FEATURES if c in t and t[c].notna().all()]
    res = evaluate(t, features)
    report = [f"# ΔΔG calibration, protocol {args.protocol} ({len(t)} mutations, {t['group'].nunique()} protein groups; "
              f"{len(skipped)} failed)", "", table_md(res["tables"]), "",
              "uncertainty coverage (held-out folds): " + json.dumps({k: {q: round(v, 3) for q, v in c.items()}
                                                                        for k, c in res["coverage"].items()})]
    text = "\n".join(report)
    print(text)
    (OUT / f"report_{args.protocol}.md").write_text(text + "\n")
    if args.no_write:
        return 0
    names = [c[4:] for c in features]
    weights = {n: float(w) for n, w in zip(names, res["coef"]) if not n.startswith(F.TERM_PREFIXES)}
    terms = {n: float(w) for n, w in zip(names, res["coef"]) if n.startswith(F.TERM_PREFIXES)}
    unc = dict(res["uncertainty"])
    unc["coverage_heldout"] = res["coverage"]
    unc["meaning"] = ("ddg_uncertainty = a + b |ddg - center| (kcal/mol); ddg +- 1.645 ddg_uncertainty held "
                      "about 90 % of the experimental values of held-out proteins (coverage_heldout)")
    cv = {name: {r: {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
                 for r, row in tab.to_dict(orient="index").items()} for name, tab in res["tables"].items()}
    out = {"weights": weights, "terms": terms, "intercept": float(res["intercept"]), "alpha": res["alpha"],
           "feature_clip_kcal": F.CLIP, "uncertainty": unc, "protocol": asdict(protocol),
           "cv": {"grouped_by": "protein: Guerois sequence clusters (shared 12-mer) and mega-scale domains",
                  "folds": int(len(np.unique(res["fold"]))), "alphas_chosen": res["alphas"], "tables": cv},
           "n_used": int(len(t)), "n_skipped": int(len(skipped)),
           "skipped": {r.id: f"{r.mutant}: {r.error}" for r in skipped.itertuples()},
           "data": "Guerois et al. 2002 (PMID 12079393) + Tsuboyama et al. 2023 mega-scale subset "
                   "(../shared/data/ddg_megascale, 3 domains); DDG > 0 destabilising",
           "command": f"python scripts/ddg_calibrate.py --protocol {args.protocol}"}
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"weights -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
