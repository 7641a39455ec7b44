"""Trajectory-averaged features of hnRNPA1 (two RRMs + a disordered low-complexity domain) from a
short MadraX MD of two copies, end to end on CPU in a few minutes.

    python examples/features_hnrnpa1.py [--ns 0.001] [--copies 2] [--gap 4] [--outdir features_hnrnpa1_out]

Input: the full-length hnRNPA1 model ../shared/data/structures/af_llps/CALVADOS_hnRNPA1S.pdb (read
in place, never copied).  Steps: amber14 bonded terms + MadraX (replace mode), the copies placed
side by side with their closest heavy atoms --gap A apart, minimisation, Langevin MD at 300 K
(2 fs, a frame every 50 steps, checkpointed: rerun to resume / extend), then per-residue features.
Writes OUTDIR/hnrnpa1_features.csv (per residue), hnrnpa1_protein.csv (fixed-length vector),
hnrnpa1_chains.csv (Rg, end-to-end), hnrnpa1_frames.npz (per-frame tensor), hnrnpa1_profile.png.
The same with the CLI:

    openmm-madrax features --simulate ../shared/data/structures/af_llps/CALVADOS_hnRNPA1S.pdb \\
        --ns 0.001 --copies 2 --gap 4 --report-interval 50 --minimize-iterations 50 \\
        -o features_hnrnpa1_out/hnrnpa1_features.csv --plot features_hnrnpa1_out/hnrnpa1_profile.png
"""
import argparse
import sys
import time
from pathlib import Path

import torch

from openmm_madrax.features import features_from_simulation, plot_profile, simulate

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
HNRNPA1 = SHARED / "data" / "structures" / "af_llps" / "CALVADOS_hnRNPA1S.pdb"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", default=str(HNRNPA1), help="structure (default: the hnRNPA1 model in ../shared)")
    p.add_argument("--ns", type=float, default=0.001, help="MD length in ns (default 0.001 = 1 ps)")
    p.add_argument("--copies", type=int, default=2, help="copies of the chain (default 2)")
    p.add_argument("--gap", type=float, default=4.0, help="closest heavy-atom distance between copies, A (default 4)")
    p.add_argument("--report-interval", type=int, default=50, help="steps between frames (default 50)")
    p.add_argument("--minimize-iterations", type=int, default=50)
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--outdir", default="features_hnrnpa1_out")
    args = p.parse_args()
    if not Path(args.input).exists():
        sys.exit(f"{args.input} not found: this example reads the hnRNPA1 model from ../shared (next to the checkout); "
                 "examples/ensemble_hnrnpa1_lcd.py builds the disordered LCD from its sequence and needs nothing else")
    torch.set_num_threads(1)  # small tensors: one thread is fastest and leaves the cores to OpenMM
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    run = simulate(args.input, str(out / "hnrnpa1_md"), ns=args.ns, copies=args.copies, gap=args.gap,
                   report_interval=args.report_interval, minimize_iterations=args.minimize_iterations,
                   seed=args.seed, threads=1)
    t1 = time.perf_counter()
    feats = features_from_simulation(run, name="hnRNPA1", progress=True)
    t2 = time.perf_counter()
    table = feats.residue_table()
    table.to_csv(out / "hnrnpa1_features.csv", index=False, float_format="%.6g")
    vec = feats.protein_vector()
    vec.rename("value").rename_axis("name").to_csv(out / "hnrnpa1_protein.csv", float_format="%.6g")
    feats.chain_table().to_csv(out / "hnrnpa1_chains.csv", index=False, float_format="%.6g")
    feats.save_npz(str(out / "hnrnpa1_frames.npz"))
    plot_profile(feats, str(out / "hnrnpa1_profile.png"), title="hnRNPA1 (2 copies, MadraX MD)")
    t3 = time.perf_counter()

    print(f"\nMD {t1 - t0:.0f} s, features of {feats.n_frames} frames {t2 - t1:.1f} s "
          f"({feats.n_frames / (t2 - t1):.2f} frames/s), tables + plot {t3 - t2:.1f} s; outputs in {out}/")
    print(f"MadraX {vec['madrax_total.total']:.1f} kcal/mol, inter-chain {vec['inter_total.total']:.2f} kcal/mol, "
          f"Rg {vec['rg.mean']:.1f} A, end-to-end {vec['end_to_end.mean']:.1f} A")
    one = table[table["chain_index"] == 0]
    lcd, rrm = one[one["resnum"] >= 190], one[one["resnum"] < 190]
    print(f"chain A: RRMs (1-189) vs LCD (190-{int(one['resnum'].max())}): coil {rrm['ss_coil_mean'].mean():.2f} vs "
          f"{lcd['ss_coil_mean'].mean():.2f}, relative SASA {rrm['rsasa_mean'].mean():.2f} vs "
          f"{lcd['rsasa_mean'].mean():.2f}, contacts {rrm['contacts_mean'].mean():.1f} vs "
          f"{lcd['contacts_mean'].mean():.1f}")
    iface = table[table["inter_total_mean"].abs() > 0.05]
    if len(iface):
        top = iface.reindex(iface["inter_total_mean"].sort_values().index).head(8)
        print("strongest inter-chain residues (kcal/mol): " + ", ".join(
            f"{r.chain}:{r.resname}{r.resnum} {r.inter_total_mean:.2f}" for r in top.itertuples()))


if __name__ == "__main__":
    main()
