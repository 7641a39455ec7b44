"""Torsion-space MadraX Monte Carlo vs Boltzmann reweighting of grown conformers (docs/ensembles.md).

    python scripts/ensemble_mc_vs_reweight.py -o ENS_DATA/mc [--names p532070 ACTR] [--steps 3000] [--chains 8]
        [--scales 1.0 0.1]

For each protein of ../shared/data/idp_rg and energy scale lambda: 8 MC chains started from grown
(lambda = 0) conformers, one-residue moves from the fitted densities, Metropolis on lambda E / RT
(openmm_madrax.ensembles.mc.torsion_mc).  Writes NAME_lamX.npz (Rg and energy per recorded step)
and prints the Rg of the last half of the chains, the acceptance and the time per step.
"""
import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from openmm_madrax.ensembles.mc import torsion_mc

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "idp_rg" / "idp_rg_visible.csv"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--outdir", required=True)
    p.add_argument("--names", nargs="*", default=["p532070", "ACTR"])
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--chains", type=int, default=8)
    p.add_argument("--scales", type=float, nargs="*", default=[1.0, 0.1])
    p.add_argument("--burial", default="foldx")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(1)
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    df = pd.read_csv(DATA).set_index("name")
    for name in args.names:
        row = df.loc[name]
        for lam in args.scales:
            f = out / f"{name}_lam{lam:g}_{args.burial}.npz"
            if f.exists():
                continue
            r = torsion_mc(row.sequence, args.chains, args.steps, temperature=row.temperature_K,
                           ionic_strength=row.ionic_strength_M, energy_scale=lam, burial=args.burial, seed=args.seed)
            np.savez_compressed(f, **{k: v for k, v in r.items() if k != "coords"})
            rg = r["rg_nm"]
            half = rg[len(rg) // 2:]
            print(f"{name} N={len(row.sequence)} lambda={lam:g} {args.burial}: Rg start {np.sqrt((rg[0] ** 2).mean()):.2f} "
                  f"-> last half {np.sqrt((half ** 2).mean()):.2f} nm (exp {row.rg_exp_nm}); E {r['energy'][0].mean():.1f} -> "
                  f"{r['energy'][len(rg) // 2:].mean():.1f}; acceptance {r['accepted'].sum() / (args.chains * r['steps_done']):.2f}, "
                  f"contact rejections {r['clashes'].sum() / (args.chains * r['steps_done']):.2f}; "
                  f"{r['seconds'] / r['steps_done'] / args.chains * 1000:.0f} ms per chain-step", flush=True)


if __name__ == "__main__":
    main()
