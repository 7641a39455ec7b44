"""hnRNPA1 low-complexity-domain (A1-LCD) variants: predicted c_sat ranking (docs/llps.md).

    python benchmarks/llps_hnrnpa1.py [--weights W.pt] [--cache DIR] [-o table.csv]

The A1-LCD is residues 186-320 of hnRNPA1 isoform A1-A, the construct of Martin et al. (Science
367:694, 2020) and Bremer et al. (Nat Chem 14:196, 2022).  It is built here from the PPMC
sequence of P09651 (isoform A1-B, 372 aa, read from ../shared): residues 186-372 without the
52-residue segment that isoform A1-A lacks.  Variants that are unambiguous from their
description are built by substitution over the whole LCD; the experimental direction of the
change of c_sat relative to the wild type (those papers: tyrosine is a stronger sticker than
phenylalanine, arginine than lysine, and removing the aromatic stickers abolishes phase
separation) is listed with each, and the script reports whether the predicted c_sat moves the
same way.  The variants' measured c_sat values are not in ../shared and are not used.
"""
from __future__ import annotations

import argparse
import sys

#: the 52 residues of isoform A1-B that A1-A lacks (alternative exon)
A1B_ONLY = "GYGGGGPGYSGGSRGYGSGGQGYGNQGSGYGGSGSYDSYNNGGGGGFGGGSG"

VARIANTS = (  # name, substitution map, experimental direction of c_sat vs wild type
    ("WT", {}, "reference"),
    ("all F->Y", {"F": "Y"}, "lower (Y stronger sticker than F)"),
    ("all Y->F", {"Y": "F"}, "higher"),
    ("all R->K", {"R": "K"}, "higher (R stronger than K)"),
    ("all F,Y,W->S", {"F": "S", "Y": "S", "W": "S"}, "much higher / no phase separation"),
)


def a1_lcd(full_a1b: str) -> str:
    a1a = full_a1b.replace(A1B_ONLY, "", 1)
    if len(a1a) != 320:
        raise ValueError(f"unexpected hnRNPA1 sequence (A1-A length {len(a1a)}, expected 320)")
    return a1a[185:320]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default=None)
    ap.add_argument("--cache", default=None)
    ap.add_argument("-o", "--output", default=None)
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from openmm_madrax.llps import LLPSPredictor
    from openmm_madrax.llps.data import ppmc_table

    t = ppmc_table()
    wt = a1_lcd(t.loc[t["id"] == "P09651", "sequence"].iloc[0])
    seqs = {name: "".join(m.get(c, c) for c in wt) for name, m, _ in VARIANTS}
    pred = LLPSPredictor.load(a.weights, cache=a.cache)
    df = pred.predict(seqs, progress=False)
    df["experimental_direction"] = [d for _, _, d in VARIANTS]
    ref = float(df.loc[df["id"] == "WT", "log10_csat_uM"].iloc[0])
    df["delta_log10_csat"] = df["log10_csat_uM"] - ref
    ok = []
    for _, r in df.iterrows():
        d = r["experimental_direction"]
        if d == "reference":
            ok.append("")
        elif d.startswith("lower"):
            ok.append("yes" if r["delta_log10_csat"] < 0 else "no")
        else:
            ok.append("yes" if r["delta_log10_csat"] > 0 else "no")
    df["same_direction"] = ok
    cols = ["id", "length", "csat_uM", "delta_log10_csat", "experimental_direction", "same_direction", "p_driver"]
    from openmm_madrax.llps.train import markdown_table

    print(markdown_table(df[cols], ".3g"))
    if a.output:
        df[cols].to_csv(a.output, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
