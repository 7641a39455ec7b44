"""Trajectory-averaged features of a folded protein: ubiquitin (bundled 1UBI), short MadraX MD.

    python examples/features_folded.py [--ns 0.002] [--outdir features_folded_out] [--trajectory T.dcd --top T.pdb]

By default runs 2 ps of MadraX MD (replace mode, 300 K, a frame every 50 steps; about a minute on
CPU) and extracts the features; with --trajectory/--top it reads an existing trajectory instead
(e.g. from ``openmm-madrax md``).  Writes ubiquitin_features.csv, ubiquitin_protein.csv,
ubiquitin_chains.csv and ubiquitin_profile.png to OUTDIR and prints what the profile shows.
"""
import argparse
import time
from pathlib import Path

import torch

from openmm_madrax.features import compute_features, features_from_simulation, plot_profile, simulate

BUNDLED = Path(__file__).resolve().parents[1] / "openmm_madrax" / "data" / "1ubi.pdb"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", default=str(BUNDLED))
    p.add_argument("--ns", type=float, default=0.002, help="MD length in ns (default 0.002 = 2 ps)")
    p.add_argument("--trajectory", default=None, help="use this trajectory instead of simulating")
    p.add_argument("--top", default=None, help="its topology (PDB)")
    p.add_argument("--stride", type=int, default=1)
    p.add_argument("--outdir", default="features_folded_out")
    args = p.parse_args()
    torch.set_num_threads(1)
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if args.trajectory:
        feats = compute_features(args.trajectory, args.top, stride=args.stride, name="ubiquitin", progress=True)
    else:
        run = simulate(args.input, str(out / "ubiquitin_md"), ns=args.ns, report_interval=50,
                       minimize_iterations=100, seed=7, threads=1)
        feats = features_from_simulation(run, stride=args.stride, name="ubiquitin", progress=True)
    table = feats.residue_table()
    table.to_csv(out / "ubiquitin_features.csv", index=False, float_format="%.6g")
    vec = feats.protein_vector()
    vec.rename("value").rename_axis("name").to_csv(out / "ubiquitin_protein.csv", float_format="%.6g")
    feats.chain_table().to_csv(out / "ubiquitin_chains.csv", index=False, float_format="%.6g")
    plot_profile(feats, str(out / "ubiquitin_profile.png"), title="ubiquitin (1UBI, MadraX MD)")
    print(f"\n{feats.n_frames} frames in {time.perf_counter() - t0:.0f} s; outputs in {out}/")
    print(f"MadraX {vec['madrax_total.total']:.1f} kcal/mol, Rg {vec['rg.mean']:.2f} +- {vec['rg.std']:.2f} A, "
          f"helix {vec['ss_helix.res_mean']:.2f}, strand {vec['ss_strand.res_mean']:.2f}, "
          f"mean burial {vec['burial.res_mean']:.2f}")
    core = table.nlargest(8, "burial_mean")
    print("most buried: " + ", ".join(f"{r.resname}{r.resnum}" for r in core.itertuples()))
    best = table.nsmallest(6, "madrax_total_mean")
    print("most stabilising (kcal/mol): " + ", ".join(f"{r.resname}{r.resnum} {r.madrax_total_mean:.1f}"
                                                    for r in best.itertuples()))


if __name__ == "__main__":
    main()
