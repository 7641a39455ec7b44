"""Rg of the default ensembles (build_ensemble, default settings) vs the 36 experimental values of
../shared/data/idp_rg (docs/ensembles.md, README).

    python scripts/ensemble_rg_validate.py -o docs/ensembles_rg.csv --plot docs/ensembles_rg.png [--n 200]

Per protein: build_ensemble(sequence, n, temperature=T_exp, ionic_strength=I_exp, seed=0) and
its sqrt(<Rg^2>) (heavy atoms, weighted).  Prints the per-protein table (markdown) and the mean
relative error and its sign, next to the random-coil law Rg = 0.254 nm N^0.522 (Bernado &
Blackledge 2009), and the correlation between predicted and experimental deviations from the law.
The defaults were chosen by grouped cross-validation on these proteins
(scripts/ensemble_rg_cv.py), so these are in-sample numbers; the CV error is the validation one.
"""
import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from openmm_madrax.ensembles import build_ensemble

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "idp_rg" / "idp_rg_visible.csv"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--plot", default=None)
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--from-csv", action="store_true", help="only re-print / re-plot an existing OUTPUT table")
    args = p.parse_args()
    torch.set_num_threads(1)
    df = pd.read_csv(args.data)
    rows = []
    for r in ([] if args.from_csv else df.itertuples()):
        t0 = time.perf_counter()
        ens = build_ensemble(r.sequence, args.n, temperature=r.temperature_K, ionic_strength=r.ionic_strength_M,
                             seed=0, name=r.name)
        s = ens.summary()
        N = len(r.sequence)
        rows.append({"name": r.name, "N": N, "T_K": r.temperature_K, "I_M": r.ionic_strength_M,
                     "rg_exp_nm": r.rg_exp_nm, "rg_pred_nm": s["rg_nm"], "rg_sd_nm": s["rg_sd_nm"],
                     "rg_law_nm": 0.254 * N ** 0.522, "nu": s["nu"], "ess": s["ess"], "unique": s["unique"],
                     "rounds": ens.info["rounds"], "time_s": time.perf_counter() - t0})
        print(f"{r.name:12s} N={N:4d} Rg {s['rg_nm']:.2f} (exp {r.rg_exp_nm:.2f}) ESS {s['ess']:.0f} "
              f"{rows[-1]['time_s']:.1f}s", flush=True)
    t = pd.read_csv(args.output) if args.from_csv else pd.DataFrame(rows)
    t["rel_err"] = t.rg_pred_nm / t.rg_exp_nm - 1
    t["rel_err_law"] = t.rg_law_nm / t.rg_exp_nm - 1
    if not args.from_csv:
        t.to_csv(args.output, index=False, float_format="%.4f")
    dev_e = t.rg_exp_nm / t.rg_law_nm - 1
    dev_p = t.rg_pred_nm / t.rg_law_nm - 1
    from scipy.stats import pearsonr, spearmanr

    print("\n| protein | N | T (K) | I (M) | Rg exp (nm) | Rg ensemble (nm) | error | law (nm) | law error |")
    print("|---|---|---|---|---|---|---|---|---|")
    for x in t.sort_values("N").itertuples():
        print(f"| {x.name} | {x.N} | {x.T_K:g} | {x.I_M:g} | {x.rg_exp_nm:.2f} | {x.rg_pred_nm:.2f} | "
              f"{x.rel_err * 100:+.1f} % | {x.rg_law_nm:.2f} | {x.rel_err_law * 100:+.1f} % |")
    print(f"\nensemble: mean |rel err| {t.rel_err.abs().mean() * 100:.1f} %, mean signed {t.rel_err.mean() * 100:+.1f} %; "
          f"law: {t.rel_err_law.abs().mean() * 100:.1f} %, {t.rel_err_law.mean() * 100:+.1f} %")
    print(f"deviation from the law, ensemble vs experiment: Pearson {pearsonr(dev_p, dev_e)[0]:+.2f} "
          f"(p {pearsonr(dev_p, dev_e)[1]:.2g}), Spearman {spearmanr(dev_p, dev_e)[0]:+.2f}; median ESS "
          f"{t.ess.median():.0f}; total {t.time_s.sum():.0f} s")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.5))
        lim = [0.8, 7.0]
        a1.set_xlim(lim)
        a1.set_ylim(lim)
        a1.plot(lim, lim, "k-", lw=0.8)
        a1.scatter(t.rg_exp_nm, t.rg_law_nm, s=14, c="0.6",
                   label=f"random-coil law ({t.rel_err_law.abs().mean() * 100:.1f} %)")
        a1.errorbar(t.rg_exp_nm, t.rg_pred_nm, yerr=t.rg_sd_nm / np.sqrt(t.ess), fmt="o", ms=4, c="tab:blue",
                    label=f"ensemble ({t.rel_err.abs().mean() * 100:.1f} %)")
        a1.set_xlabel("experimental Rg (nm)")
        a1.set_ylabel("predicted Rg (nm)")
        a1.legend(fontsize=8)
        a1.set_title("36 IDPs, experiment's T and I", fontsize=10)
        a2.axhline(0, c="k", lw=0.8)
        a2.axvline(0, c="k", lw=0.8)
        a2.scatter(dev_e * 100, dev_p * 100, s=16)
        for nm, x, y in zip(t.name, dev_e * 100, dev_p * 100):
            a2.annotate(nm, (x, y), fontsize=6)
        a2.set_xlabel("experiment: Rg / law - 1 (%)")
        a2.set_ylabel("ensemble: Rg / law - 1 (%)")
        a2.set_title(f"sequence-specific deviations (Pearson {pearsonr(dev_p, dev_e)[0]:+.2f})", fontsize=10)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)


if __name__ == "__main__":
    main()
