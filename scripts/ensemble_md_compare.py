"""Rg of short MadraX MD of disordered proteins vs the ensemble and the experiment (docs/ensembles.md).

    nice -n 10 python scripts/ensemble_md_compare.py -o ENS_DATA/md --names ACTR p532070 --ps 20 \\
        [--modes replace add:0.5] [--starts 1]

Per protein of ../shared/data/idp_rg: a MadraX-weighted ensemble (build_ensemble at the
experiment's T and I, 100 conformers); MD starts from the conformer whose Rg is closest to the
ensemble's sqrt(<Rg^2>) (so a drift shows which way the MD force field pulls); amber14 bonded
terms + MadraX (``replace``: MadraX is the whole non-bonded force field; ``add:S``: amber14 +
GBn2 implicit solvent + S x MadraX), HBonds constraints, 2 fs, Langevin 1/ps at the experiment's
temperature, 100 minimisation steps first.  Heavy-atom Rg every 0.5 ps.  MD's MadraX force uses
MadraX's own constants (298 K, 0.05 M) -- the ensemble's energies use the experiment's.
Writes NAME_MODE_rg.csv (time, Rg) and prints a table row per run.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from openmm_madrax.ensembles import build_ensemble

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "idp_rg" / "idp_rg_visible.csv"


def run_md(pdb: str, mode: str, T: float, ps: float, seed: int, outcsv: Path):
    import openmm
    from openmm import app, unit

    from openmm_madrax.openmm import prepare_system, select_platform

    scale = 1.0
    if mode.startswith("add"):
        scale = float(mode.split(":")[1]) if ":" in mode else 1.0
        prep = prepare_system(pdb, mode="add", scale=scale)
    else:
        prep = prepare_system(pdb, mode="replace")
    topology, positions, system = prep
    integ = openmm.LangevinMiddleIntegrator(T * unit.kelvin, 1 / unit.picosecond, 2 * unit.femtosecond)
    integ.setRandomNumberSeed(seed)
    plat = select_platform(system=system)
    sim = app.Simulation(topology, system, integ, plat)
    sim.context.setPositions(positions)
    sim.minimizeEnergy(maxIterations=100)
    sim.context.setVelocitiesToTemperature(T * unit.kelvin, seed)
    heavy = np.array([a.index for a in topology.atoms() if a.element is not None and a.element.symbol != "H"])
    rows = []
    t0 = time.perf_counter()
    n_blocks = int(round(ps / 0.5))

    def rg_now():
        x = sim.context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(unit.nanometer)[heavy]
        return float(np.sqrt(((x - x.mean(0)) ** 2).sum(1).mean()))

    rows.append((0.0, rg_now()))
    for k in range(1, n_blocks + 1):
        sim.step(250)
        rows.append((0.5 * k, rg_now()))
        pd.DataFrame(rows, columns=["time_ps", "rg_nm"]).to_csv(outcsv, index=False, float_format="%.4f")
    wall = time.perf_counter() - t0
    return np.array(rows), wall, scale


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--outdir", required=True)
    p.add_argument("--names", nargs="*", default=["ACTR", "p532070"])
    p.add_argument("--ps", type=float, default=20.0)
    p.add_argument("--modes", nargs="*", default=["replace"])
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(1)
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    df = pd.read_csv(DATA).set_index("name")
    for name in args.names:
        row = df.loc[name]
        ens = build_ensemble(row.sequence, args.n, temperature=row.temperature_K, ionic_strength=row.ionic_strength_M,
                             seed=args.seed, name=name)
        rg = ens.rg_nm()
        k = int(np.argmin(np.abs(rg - ens.rg_mean_nm())))
        pdb = out / f"{name}_start.pdb"
        ens.structure.to_pdb(str(pdb), coords=ens.coords[k])
        for mode in args.modes:
            tag = mode.replace(":", "")
            res, wall, scale = run_md(str(pdb), mode, float(row.temperature_K), args.ps, args.seed,
                                      out / f"{name}_{tag}_rg.csv")
            last = res[res[:, 0] >= args.ps / 2, 1]
            slope = np.polyfit(res[:, 0], res[:, 1], 1)[0]
            print(f"| {name} | {len(row.sequence)} | {mode} | {args.ps:g} | {row.rg_exp_nm:.2f} | {ens.rg_mean_nm():.2f} | "
                  f"{res[0, 1]:.2f} | {last.mean():.2f} | {slope * 10:+.3f} | {wall / args.ps:.0f} |", flush=True)


if __name__ == "__main__":
    main()
