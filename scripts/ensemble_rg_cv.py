"""Choice of the ensemble weighting knobs by grouped cross-validation, and the Rg validation table.

    python scripts/ensemble_rg_cv.py ENS_DATA [-o docs/ensembles_rg_cv.csv] [--plot docs/ensembles_rg_cv.png]

ENS_DATA: the per-protein pools of scripts/ensemble_rg_data.py.  For every candidate setting
(burial mode x channel set x energy scale lambda) the predicted Rg of a protein is
sqrt(sum_k w_k Rg_k^2) over its pool, w_k ~ exp(-lambda E_k / RT) at the experiment's T and I.

Cross-validation: leave one homology group out (proteins sharing any 10-residue stretch form one
group: the p27 variants, the FATZ1 constructs, ...).  For each held-out group the setting with the
lowest mean |relative error| on the other groups is chosen and applied to the held-out group; the
CV error is the mean over proteins of those held-out errors (95 % interval: bootstrap over
groups).  The in-sample best is printed for reference only.  Baselines on the same proteins:
the random-coil law Rg = 0.254 nm N^0.522 (Bernado & Blackledge 2009, nothing fitted) and the
unweighted ensemble (lambda = 0).
"""
from __future__ import annotations

import argparse
import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd

from openmm_madrax import params

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "idp_rg" / "idp_rg_visible.csv"
R = 0.0019872043
LAMBDAS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
#: exponent of the growth (Rosenbluth) weights: 1 = self-avoiding-chain target, 0 = kinetic growth
ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)
CHANNEL_SETS = {
    "nonlocal": tuple(c for c in params.CHANNELS if c not in ("backbone_entropy", "rotamer")),
    "all": tuple(params.CHANNELS),
    "electrostatics": ("electrostatics",),
    "solvation_vdw": ("solv_polar", "solv_hydrophobic", "vdw"),
    "hbond": ("hbond",),
}


def law(n):
    return 0.254 * np.asarray(n, float) ** 0.522


def homology_groups(seqs, k=10):
    kmers = [set(s[i:i + k] for i in range(len(s) - k + 1)) for s in seqs]
    parent = list(range(len(seqs)))

    def find(a):
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i, j in itertools.combinations(range(len(seqs)), 2):
        if kmers[i] & kmers[j]:
            parent[find(i)] = find(j)
    roots = [find(i) for i in range(len(seqs))]
    ids = {r: k for k, r in enumerate(dict.fromkeys(roots))}
    return np.array([ids[r] for r in roots])


def predictions(df, pools):
    """DataFrame: one row per (protein, setting) with the predicted Rg and the pool's ESS."""
    recs = []
    for row in df.itertuples():
        z = pools[row.name]
        rg2 = z["rg_nm"] ** 2
        lw0 = z["logw_growth"] if "logw_growth" in z else np.zeros(len(rg2))
        for burial in ("madrax", "foldx"):
            E = z[f"E_{burial}"]
            for cs, chans in CHANNEL_SETS.items():
                e = E[:, [params.CHANNELS.index(c) for c in chans]].sum(1)
                for lam in LAMBDAS:
                    for alpha in ALPHAS:
                        a = alpha * lw0 - lam * (e - e.min()) / (R * row.temperature_K)
                        w = np.exp(a - a.max())
                        w /= w.sum()
                        recs.append({"name": row.name, "burial": burial, "channels": cs, "lam": lam, "alpha": alpha,
                                     "rg_pred": math.sqrt(float(np.sum(w * rg2))), "ess": 1.0 / float(np.sum(w * w))})
    return pd.DataFrame(recs)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pools")
    p.add_argument("--data", default=str(DATA))
    p.add_argument("-o", "--output", default=None, help="per-protein CSV (CV predictions)")
    p.add_argument("--plot", default=None)
    p.add_argument("--table", default=None, help="CSV of the in-sample error and ESS of every setting")
    p.add_argument("--channel-sets", nargs="*", default=list(CHANNEL_SETS),
                   help=f"candidate channel sets (default: all of {', '.join(CHANNEL_SETS)})")
    p.add_argument("--burials", nargs="*", default=["madrax", "foldx"])
    p.add_argument("--alphas", type=float, nargs="*", default=list(ALPHAS))
    args = p.parse_args()
    df = pd.read_csv(args.data)
    df["N"] = df.sequence.str.len()
    pools = {}
    for row in df.itertuples():
        f = Path(args.pools) / f"{row.name}.npz"
        if f.exists():
            with np.load(f) as z:
                pools[row.name] = {k: z[k] for k in z.files}
    missing = [n for n in df.name if n not in pools]
    if missing:
        print(f"warning: no pool for {len(missing)} protein(s): {', '.join(missing)} (left out)")
    df = df[df.name.isin(pools)].reset_index(drop=True)
    df["group"] = homology_groups(list(df.sequence))
    pred = predictions(df, pools).merge(df[["name", "rg_exp_nm", "N", "group"]], on="name")
    pred = pred[pred.channels.isin(args.channel_sets) & pred.burial.isin(args.burials)
                & pred.alpha.isin(args.alphas)].reset_index(drop=True)
    pred["rel"] = pred.rg_pred / pred.rg_exp_nm - 1.0
    key = ["burial", "channels", "lam", "alpha"]
    mre = pred.assign(a=pred.rel.abs()).groupby(key).a.mean()
    # leave-one-group-out
    chosen = {}
    cv_rows = []
    for g in sorted(df.group.unique()):
        tr = pred[pred.group != g]
        m = tr.assign(a=tr.rel.abs()).groupby(key).a.mean()
        best = m.idxmin()
        for name in df.name[df.group == g]:
            r = pred[(pred.name == name) & (pred.burial == best[0]) & (pred.channels == best[1]) & (pred.lam == best[2])
                     & (pred.alpha == best[3])].iloc[0]
            chosen[name] = best
            cv_rows.append({"name": name, "group": g, "N": r.N, "rg_exp_nm": r.rg_exp_nm, "rg_cv_nm": r.rg_pred,
                            "ess": r.ess, "burial": best[0], "channels": best[1], "lam": best[2], "alpha": best[3]})
    cv = pd.DataFrame(cv_rows).merge(df[["name", "temperature_K", "ionic_strength_M"]], on="name")
    cv["rel_cv"] = cv.rg_cv_nm / cv.rg_exp_nm - 1.0
    cv["rg_law_nm"] = law(cv.N)
    cv["rel_law"] = cv.rg_law_nm / cv.rg_exp_nm - 1.0
    unw = pred[(pred.lam == 0.0) & (pred.alpha == pred.alpha.max())].groupby("name").rg_pred.first()
    cv["rg_unweighted_nm"] = cv.name.map(unw)
    cv["rel_unweighted"] = cv.rg_unweighted_nm / cv.rg_exp_nm - 1.0

    rng = np.random.default_rng(0)
    groups = cv.group.unique()

    def boot(col):
        vals = []
        for _ in range(2000):
            gs = rng.choice(groups, len(groups))
            sub = pd.concat([cv[cv.group == g] for g in gs])
            vals.append(sub[col].abs().mean())
        return np.quantile(vals, [0.025, 0.975])

    print(f"{len(cv)} proteins in {len(groups)} homology groups")
    for col, label in (("rel_cv", "ensemble, knobs chosen by leave-one-group-out CV"),
                       ("rel_unweighted", "ensemble, no MadraX (lambda = 0, alpha = 1)"), ("rel_law", "random-coil law")):
        lo, hi = boot(col)
        print(f"  {label:52s}: mean |rel err| {cv[col].abs().mean() * 100:5.1f} % (95% CI {lo * 100:.1f}-{hi * 100:.1f}), "
              f"mean signed {cv[col].mean() * 100:+5.1f} %")
    dev_exp = cv.rg_exp_nm / cv.rg_law_nm - 1
    dev_pred = cv.rg_cv_nm / cv.rg_law_nm - 1
    from scipy.stats import pearsonr, spearmanr

    print(f"  deviation from the law, predicted vs experiment: Pearson {pearsonr(dev_pred, dev_exp)[0]:+.2f} "
          f"(p {pearsonr(dev_pred, dev_exp)[1]:.2g}), Spearman {spearmanr(dev_pred, dev_exp)[0]:+.2f}")
    sel = pd.Series([tuple(v) for v in chosen.values()]).value_counts()
    print("  settings chosen in the folds: " + ", ".join(f"{k} x{v}" for k, v in sel.items()))
    print("in-sample mean |rel err| per setting, % (reference only, not a validation number); best 15:")
    print((mre * 100).sort_values().head(15).round(1).to_string())
    print(f"in-sample, {args.burials[-1]} burial, {args.channel_sets[0]} channels (rows alpha, columns lambda):")
    sub = pred[(pred.burial == args.burials[-1]) & (pred.channels == args.channel_sets[0])]
    print((sub.assign(a=sub.rel.abs()).groupby(["alpha", "lam"]).a.mean().unstack("lam") * 100).round(1).to_string())
    print(f"median pool ESS, {args.burials[-1]}/{args.channel_sets[0]}:")
    print(sub.groupby(["alpha", "lam"]).ess.median().unstack("lam").round(0).to_string())
    if args.table:
        out = pred.assign(a=pred.rel.abs()).groupby(key).agg(mre=("a", "mean"), signed=("rel", "mean"),
                                                              median_ess=("ess", "median")).reset_index()
        out.to_csv(args.table, index=False, float_format="%.4f")
    if args.output:
        cv.sort_values("N").to_csv(args.output, index=False, float_format="%.4f")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.5))
        lim = [0.8, 7.0]
        a1.plot(lim, lim, "k-", lw=0.8)
        a1.scatter(cv.rg_exp_nm, cv.rg_law_nm, s=14, c="0.6", label=f"random-coil law ({cv.rel_law.abs().mean() * 100:.1f} %)")
        a1.scatter(cv.rg_exp_nm, cv.rg_cv_nm, s=18, c="tab:blue", label=f"ensemble, CV ({cv.rel_cv.abs().mean() * 100:.1f} %)")
        a1.set_xscale("log")
        a1.set_yscale("log")
        a1.set_xlabel("experimental Rg (nm)")
        a1.set_ylabel("predicted Rg (nm)")
        a1.legend(fontsize=8)
        a2.axhline(0, c="k", lw=0.8)
        a2.axvline(0, c="k", lw=0.8)
        a2.scatter(dev_exp * 100, dev_pred * 100, s=18)
        for r, x, y in zip(cv.name, dev_exp * 100, dev_pred * 100):
            a2.annotate(r, (x, y), fontsize=6)
        a2.set_xlabel("experiment: Rg / law - 1 (%)")
        a2.set_ylabel("ensemble: Rg / law - 1 (%)")
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)


if __name__ == "__main__":
    main()
