"""Research harness for the ΔΔG protocol (issue 17): per-channel ΔΔG tables per protocol variant.

    python scripts/ddg_research.py channels --variant v1 --subset dev      # resumable, appends
    python scripts/ddg_research.py report --variant v0 --variant v1 --subset dev

Variants are protocol settings (see VARIANTS); every table row holds the 11 unweighted channel
ΔΔGs plus diagnostics, so weights can be fitted afterwards without recomputing.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ddg_data  # noqa: E402

OUT = ddg_data.ROOT / "benchmarks" / "out" / "ddg_dev"

#: protocol variants (keyword arguments of the modeller's Protocol)
VARIANTS = {
    "v0": {},  # the old default protocol (madrax burial)
    "v1": {"burial": "foldx"},
    "v2": {"burial": "foldx", "relax_scale": {"clash": 10.0}},
    "v3": {"burial": "foldx", "relax_scale": {"clash": 30.0}},
    "v4": {"burial": "foldx", "shell_radius": 0.0},  # only the site relaxes
    "v5": {"burial": "foldx", "shell_radius": 8.0},
    "v6": {"burial": "foldx", "expand_chi": 15.0},  # rotamers +-15 deg in chi1/chi2
    "v7": {"burial": "foldx", "shell_radius": 0.0, "expand_chi": 15.0},
}


def make_modeller(structure, variant: str):
    from openmm_madrax import ddg as D
    import ddg_research_model as X

    kw = dict(VARIANTS[variant])
    if variant == "v0":
        return D.MutationModeller(structure, protocol=D.Protocol(**kw))
    return X.XModeller(structure, protocol=X.XProtocol(**kw))


def load_structure(path: str):
    import openmm_madrax as omx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return omx.load(path, altloc="occupancy", drop_nonstandard=True, repair=True, quiet=True)


def compute(variant: str, rows: pd.DataFrame, out: Path, progress: bool = True) -> None:
    import torch
    from openmm_madrax.params import CHANNELS

    torch.set_num_threads(1)
    done = set()
    if out.exists() and out.stat().st_size:
        done = set(pd.read_csv(out, usecols=["id"])["id"])
    todo = rows[~rows["id"].isin(done)]
    print(f"{variant}: {len(todo)} of {len(rows)} rows to compute -> {out}", flush=True)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc=variant, unit="mut", mininterval=30)
    for pdb, grp in todo.groupby("pdb", sort=False):
        t0 = time.perf_counter()
        err0 = None
        try:
            modeller = make_modeller(load_structure(grp["pdb_path"].iloc[0]), variant)
        except Exception as exc:  # noqa: BLE001 - recorded per row
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
                for c, v in zip(CHANNELS, res["ddg_channels"]):
                    rec[f"ddg_{c}"] = float(v)
                for k, v in res.get("diagnostics", {}).items():
                    rec[k] = v
            except Exception as exc:  # noqa: BLE001
                rec["status"] = "error"
                rec["error"] = f"{type(exc).__name__}: {exc}"[:300]
            rec["seconds"] = time.perf_counter() - t1
            recs.append(rec)
            if bar is not None:
                bar.update(1)
        df = pd.DataFrame(recs)
        header = not out.exists() or out.stat().st_size == 0
        if not header:  # keep the column order of the file
            cols = list(pd.read_csv(out, nrows=0).columns)
            df = df.reindex(columns=cols + [c for c in df.columns if c not in cols])
            if len(df.columns) > len(cols):
                raise RuntimeError(f"new columns {set(df.columns) - set(cols)} for an existing table {out}")
        df.to_csv(out, mode="a", header=header, index=False)
    if bar is not None:
        bar.close()


def subset(name: str) -> pd.DataFrame:
    d = ddg_data.dataset()
    if name == "dev":
        return ddg_data.dev_subset(d)
    if name == "full":
        return d
    if name == "inc":  # mega-scale size-increasing: 150 per domain (plus the dev rows)
        mega = d[(d["set"] == "megascale") & (d["size_class"] == "increase")]
        dev = ddg_data.dev_subset(d)
        pick = pd.concat([g.sample(n=150, random_state=1) for _, g in mega.groupby("pdb")])
        return mega[mega["id"].isin(set(pick["id"]) | set(dev["id"]))]
    if name == "mega":
        return d[d["set"] == "megascale"]
    if name == "guerois":
        return d[d["set"] == "guerois"]
    raise SystemExit(f"unknown subset {name}")


def table(variant: str, rows: pd.DataFrame) -> pd.DataFrame:
    t = pd.read_csv(OUT / f"{variant}.csv").drop_duplicates("id", keep="last")
    return rows.merge(t, on="id", how="inner")


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("channels")
    c.add_argument("--variant", required=True)
    c.add_argument("--subset", default="dev")
    c.add_argument("--order", default="mega-first", choices=["mega-first", "as-is"])
    r = sub.add_parser("report")
    r.add_argument("--variant", action="append", required=True)
    r.add_argument("--subset", default="dev")
    r.add_argument("--only", default=None, help="guerois or megascale")
    r.add_argument("--rows", default="all,guerois,megascale,size decrease,size similar,size increase,"
                   "megascale increase,guerois increase")
    args = p.parse_args(argv)
    if args.cmd == "report":
        import ddg_fit as F

        rows = subset(args.subset)
        tabs = {v: table(v, rows) for v in args.variant}
        common = set.intersection(*[set(t.loc[t["status"] == "ok", "id"]) for t in tabs.values()])
        for v, t in tabs.items():
            t = t[t["id"].isin(common)].sort_values("id").reset_index(drop=True)
            if args.only:
                t = t[t["set"] == args.only].reset_index(drop=True)
            fold = F.folds_for(t)
            raw = t[F.DDG_COLUMNS].sum(1).to_numpy()
            cal, alphas = F.cv_predict(t, fold)
            so = F.scale_offset_cv(t, fold, raw)
            print(f"=== {v} {VARIANTS[v]}  n={len(t)} (common ok rows), alphas {alphas}")
            keep = args.rows.split(",")
            for name, pred in (("raw sum", raw), ("scale+offset", so), ("calibrated", cal)):
                s = F.summary(t, pred, fold)
                s = s.loc[[k for k in keep if k in s.index]]
                print(f"--- {name}: fold-mean r {s.attrs['fold_r'][0]:.3f} +- {s.attrs['fold_r'][1]:.3f}")
                print(s[["n", "r", "rho", "rmse", "mean_pred", "mean_exp"]].round(3).to_string())
        return 0
    if args.cmd == "channels":
        rows = subset(args.subset)
        if args.order == "mega-first":
            rows = pd.concat([rows[rows["set"] == "megascale"], rows[rows["set"] != "megascale"]])
        OUT.mkdir(parents=True, exist_ok=True)
        compute(args.variant, rows, OUT / f"{args.variant}.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
