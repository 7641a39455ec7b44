"""Tables of docs/llps.md from the output folders of ``openmm-madrax llps cv``.

    python benchmarks/llps_report.py CV_DIR [CV_DIR ...] > report.md

Merges the per-fold metrics of every model found (``metrics_*.csv``), and prints: the AUROC /
Spearman table (mean and 95 % t-interval over the 5 folds), the paired fold-by-fold differences
of the physics variants against the sequence-only network, the learned channel weights and
temperature, what the held-out attributions say, the largest fine-tuned MadraX parameter changes,
and the SIMULATED-c_sat predictions of the hnRNP family regions.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from openmm_madrax.llps.train import TASKS, markdown_table, mean_ci

CHANNELS = ("disulfide", "hbond", "electrostatics", "clash", "solv_polar", "solv_hydrophobic", "vdw",
            "backbone_entropy", "sidechain_entropy", "peptide_bond", "rotamer")
ORDER = ["composition + gradient boosting", "catGRANULE (PyPI catgranule 1.0.1, default route)",
         "catGRANULE (PyPI catgranule 1.0.1, paper route)", "sequence-only", "physics-only", "full",
         "full + fine-tuned MadraX"]


def _name(path: Path) -> str:
    stem = path.stem[len("metrics_"):]
    for n in ORDER:
        if stem == n.replace(" ", "_").replace("+", "plus").replace("/", "_"):
            return n
    return stem


def main(dirs) -> int:
    metrics, params, attrs, oofc = {}, {}, {}, {}
    for d in map(Path, dirs):
        for f in sorted(d.glob("metrics_*.csv")):
            metrics[_name(f)] = pd.read_csv(f)
        if (d / "physics_parameters.json").exists():
            params.update({k: v for k, v in json.loads((d / "physics_parameters.json").read_text()).items()
                           if k != "sequence-only"})
        for f in d.glob("attributions_*.csv"):
            attrs[f.stem[len("attributions_"):]] = pd.read_csv(f)
        for f in d.glob("oof_csat_*.csv"):
            oofc[f.stem[len("oof_csat_"):]] = pd.read_csv(f)
    cols = [t[0] for t in TASKS] + ["csat_spearman"]
    names = [n for n in ORDER if n in metrics] + [n for n in metrics if n not in ORDER]
    rows = []
    for n in names:
        row = {"model": n}
        for c in cols:
            if c in metrics[n]:
                m, h = mean_ci(metrics[n][c].values)
                row[c] = f"{m:.3f} ± {h:.3f}"
            else:
                row[c] = "–"
        rows.append(row)
    print("## Grouped 5-fold CV (mean ± 95 % CI over folds)\n")
    print(markdown_table(pd.DataFrame(rows).rename(columns={"csat_spearman": "c_sat Spearman (simulated)"})))
    if "sequence-only" in metrics:
        print("\n## Paired differences against the sequence-only network (same folds; mean ± 95 % CI)\n")
        rows = []
        base = metrics["sequence-only"]
        for n in names:
            if n in ("sequence-only",) or n not in ("physics-only", "full", "full + fine-tuned MadraX"):
                continue
            row = {"model": n}
            for c in cols:
                d = metrics[n][c].values - base[c].values
                m, h = mean_ci(d)
                sig = "yes" if (m - h > 0) else ("worse" if (m + h < 0) else "no")
                row[c] = f"{m:+.3f} ± {h:.3f} ({sig})"
            rows.append(row)
        print(markdown_table(pd.DataFrame(rows)))
        print("\n(yes = the interval excludes 0 in favour of the model; no = within fold-to-fold noise)")
    if params:
        print("\n## Learned physics parameters (mean ± sd over the 5 fold models)\n")
        rows = []
        for n, folds in params.items():
            wi = np.array([f["w_inter"] for f in folds])
            wa = np.array([f["w_intra"] for f in folds])
            T = np.array([f["temperature"] for f in folds])
            for k, ch in enumerate(CHANNELS):
                rows.append({"model": n, "channel": ch, "w_intra": f"{wa[:, k].mean():.3f} ± {wa[:, k].std():.3f}",
                             "w_inter": f"{wi[:, k].mean():.3f} ± {wi[:, k].std():.3f}"})
            rows.append({"model": n, "channel": "temperature (kcal/mol)", "w_intra": f"{T.mean():.3f} ± {T.std():.3f}",
                         "w_inter": ""})
        print(markdown_table(pd.DataFrame(rows)))
        for n, folds in params.items():
            if "d_vdw" in folds[0]:
                from openmm_madrax.llps.physics import parameter_types

                keys, e0, v0 = parameter_types()
                de = np.mean([f["d_energ"] for f in folds], axis=0)
                dv = np.mean([f["d_vdw"] for f in folds], axis=0)
                print(f"\n### {n}: largest mean parameter changes (kcal/mol per atom; published value in brackets)\n")
                rows = []
                for arr, what, ref in ((de, "enerG", e0), (dv, "VdW", v0)):
                    for i in np.argsort(-np.abs(arr))[:6]:
                        rows.append({"type": f"{keys[i][0]} {keys[i][1]}", "parameter": what,
                                     "change": f"{arr[i]:+.3f}", "published": f"{ref[i]:.2f}"})
                print(markdown_table(pd.DataFrame(rows)))
    for n, a in attrs.items():
        print(f"\n## Held-out attributions, {n} (gradient x input of log p_driver; mean over proteins)\n")
        rows = []
        for cls in ("DE", "CE", "ND", "NP"):
            q = a[a["cls"] == cls]
            if not len(q):
                continue
            row = {"class": cls, "n": len(q)}
            pc = [c for c in a if c.startswith("phys_")]
            tot = q[pc].mean()
            for c in tot.abs().sort_values(ascending=False).index[:6]:
                row[c[5:]] = f"{tot[c]:+.3f}"
            rows.append(row)
        print(markdown_table(pd.DataFrame(rows).fillna("")))
        aa = [c for c in a if c.startswith("aa_")]
        q = a[a["cls"] == "DE"][aa].mean().sort_values()
        print("\nresidue types, summed attribution per DE protein (most negative .. most positive): "
              + ", ".join(f"{c[3:]} {v:+.3f}" for c, v in q.items()))
    for n, o in oofc.items():
        from scipy.stats import spearmanr

        print(f"\n## SIMULATED c_sat, held-out predictions, {n}: hnRNP family regions\n")
        from openmm_madrax.llps.data import csat_table

        t = csat_table()
        o = o.merge(t[["id", "gene"]], on="id", how="left")
        h = o[o["gene"].str.startswith("HNRNP")].sort_values("log10_csat_uM_simulated")
        print(markdown_table(h[["id", "gene", "log10_csat_uM_simulated", "predicted", "fold"]], ".2f"))
        if len(h) > 2:
            print(f"\nSpearman within these {len(h)} regions: "
                  f"{spearmanr(h['predicted'], h['log10_csat_uM_simulated']).correlation:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
