"""Time per MD step and per force evaluation: ubiquitin, amber14 + GBn2 vs MadraX replace mode.

    python benchmarks/md_ubiquitin.py [--threads N] [--torch-threads 1] [--steps 30] [--repeats 5] [--platform CPU]

One run measures, on the same machine and platform:
  (i)   amber14 + GBn2 implicit solvent (NoCutoff, HBonds)            -- the classical baseline
  (ii)  MadraX replace mode (amber14 bonded terms + MadraX TorchForce), float32 and float64
Ubiquitin 1UBI with hydrogens added by PDBFixer/Modeller (1,231 atoms).  LangevinMiddle 2 fs,
300 K, after a short minimisation.  Reported: median over --repeats blocks of --steps steps (a
warm-up block excluded) and median of single force evaluations; the ratio (ii)/(i).  Threads:
torch intra-op threads (--torch-threads, default 1) and OpenMM CPU threads (--threads) are printed.
"""
import argparse
import platform as _platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import openmm
import torch
from openmm import app, unit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from openmm_madrax.openmm import prepare_system, select_platform  # noqa: E402

BUNDLED = ROOT / "openmm_madrax" / "data" / "1ubi.pdb"


def time_system(name, topology, positions, system, platform, props, steps, repeats, n_force):
    integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond, 2 * unit.femtosecond)
    integrator.setRandomNumberSeed(11)
    context = openmm.Context(system, integrator, platform, props)
    context.setPositions(positions)
    openmm.LocalEnergyMinimizer.minimize(context, 10.0, 100)
    context.setVelocitiesToTemperature(300 * unit.kelvin, 11)
    integrator.step(steps)  # warm-up: model load, TorchScript profiling runs, first neighbour list
    blocks = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        integrator.step(steps)
        blocks.append((time.perf_counter() - t0) / steps)
    forces = []
    for _ in range(n_force):
        t0 = time.perf_counter()
        context.getState(getForces=True, getEnergy=True)
        forces.append(time.perf_counter() - t0)
    e = context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
    threads = platform.getPropertyValue(context, "Threads") if platform.getName() == "CPU" else "-"
    return {"system": name, "ms_step": 1000 * statistics.median(blocks), "ms_force": 1000 * statistics.median(forces),
            "min_ms_step": 1000 * min(blocks), "openmm_threads": threads, "finite": bool(np.isfinite(e))}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", nargs="?", default=str(BUNDLED))
    p.add_argument("--threads", type=int, default=None, help="OpenMM CPU threads (default: OpenMM's default)")
    p.add_argument("--torch-threads", type=int, default=1, help="torch intra-op threads (default 1)")
    p.add_argument("--steps", type=int, default=30, help="steps per timed block (default 30)")
    p.add_argument("--repeats", type=int, default=5, help="timed blocks (default 5)")
    p.add_argument("--force-evals", type=int, default=10, help="timed single force evaluations (default 10)")
    p.add_argument("--platform", default=None, help="OpenMM platform (default: fastest available)")
    args = p.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(args.torch_threads)

    topology, positions, replace32 = prepared = prepare_system(args.input, mode="replace", precision="single")
    _, _, replace64 = prepare_system(args.input, mode="replace", precision="double")
    gbn2 = app.ForceField("amber14-all.xml", "implicit/gbn2.xml").createSystem(
        topology, nonbondedMethod=app.NoCutoff, constraints=app.HBonds)
    platform = select_platform(args.platform, replace32)
    props = {"Threads": str(args.threads)} if args.threads and platform.getName() == "CPU" else {}

    print(f"# ubiquitin: {topology.getNumAtoms()} atoms with H, {prepared.madrax.structure.n_atoms} MadraX heavy "
          f"atoms; platform {platform.getName()}; torch {torch.__version__} intra-op threads "
          f"{torch.get_num_threads()}; OpenMM {openmm.__version__}; CPU {_platform.processor() or _platform.machine()}")
    rows = []
    for name, system in (("amber14 + GBn2", gbn2), ("MadraX replace, float32", replace32),
                         ("MadraX replace, float64", replace64)):
        rows.append(time_system(name, topology, positions, system, platform, props, args.steps, args.repeats,
                                args.force_evals))
        r = rows[-1]
        print(f"  measured {name}: {r['ms_step']:.1f} ms/step", file=sys.stderr)
    base = rows[0]["ms_step"]
    print(f"{'system':28s} {'ms/step':>9s} {'(best)':>8s} {'ms/force':>9s} {'ns/day':>8s} {'ratio':>6s} "
          f"{'OpenMM thr':>10s} {'finite':>6s}")
    for r in rows:
        ns_day = 2e-6 / (r["ms_step"] / 1000 / 86400)
        print(f"{r['system']:28s} {r['ms_step']:9.1f} {r['min_ms_step']:8.1f} {r['ms_force']:9.1f} {ns_day:8.2f} "
              f"{r['ms_step'] / base:6.2f} {r['openmm_threads']:>10s} {str(r['finite']):>6s}")
    print("# ratio = ms/step relative to amber14 + GBn2 in this run (target for MadraX replace: < 1)")


if __name__ == "__main__":
    main()
