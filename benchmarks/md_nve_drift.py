"""Energy conservation of the MadraX MD surface: NVE drift at 2 fs after a short Langevin start.

    python benchmarks/md_nve_drift.py [--variant NAME=KEY=VALUE,KEY=VALUE ...] [--nve-ps 1] [--protein ubiquitin]

For each variant (MadraXForce / prepare_system options; default: the protocol before issue 13 and the
current defaults), replace mode: 200 L-BFGS steps, 1 ps LangevinMiddle at 300 K (2 fs), then --nve-ps of
plain Verlet at 2 fs (same positions and velocities); prints the least-squares slope of the total energy
(kJ/mol/ps) and its RMS fluctuation around the fit (kJ/mol).  Heating in Langevin runs (a mean
temperature above the thermostat's) comes from the same integration error.
"""
import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def main():
    import openmm
    import torch
    from openmm import unit

    from md_protocols import input_structure, parse_options
    from openmm_madrax.openmm import prepare_system

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variant", action="append", default=None)
    p.add_argument("--protein", default="ubiquitin")
    p.add_argument("--nve-ps", type=float, default=1.0)
    p.add_argument("--timestep", type=float, default=2.0)
    p.add_argument("--seed", type=int, default=7, help="Langevin and velocity seed")
    args = p.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    variants = args.variant or ["before=keep_14=true,burial=madrax", "default="]
    src = input_structure(args.protein)
    for v in variants:
        name, _, opts = v.partition("=")
        kw = parse_options([o for o in opts.split(",") if o])
        top, pos, system = prepare_system(src, mode="replace", **kw)
        lang = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond, args.timestep * unit.femtosecond)
        lang.setRandomNumberSeed(args.seed)
        plat = openmm.Platform.getPlatformByName("CPU")
        ctx = openmm.Context(system, lang, plat, {"Threads": "1"})
        ctx.setPositions(pos)
        openmm.LocalEnergyMinimizer.minimize(ctx, 10.0, 200)
        ctx.setVelocitiesToTemperature(300 * unit.kelvin, args.seed)
        lang.step(int(1000 / args.timestep))
        st = ctx.getState(getPositions=True, getVelocities=True)
        verlet = openmm.VerletIntegrator(args.timestep * unit.femtosecond)
        ctx2 = openmm.Context(system, verlet, plat, {"Threads": "1"})
        ctx2.setPositions(st.getPositions())
        ctx2.setVelocities(st.getVelocities())
        t, e = [], []
        n = int(round(args.nve_ps * 1000 / args.timestep))
        every = max(1, n // 50)
        for k in range(0, n + 1, every):
            if k:
                verlet.step(every)
            s = ctx2.getState(getEnergy=True)
            t.append(k * args.timestep * 1e-3)
            e.append((s.getPotentialEnergy() + s.getKineticEnergy()).value_in_unit(unit.kilojoule_per_mole))
        t, e = np.array(t), np.array(e)
        slope, icpt = np.polyfit(t, e, 1)
        rms = np.sqrt(np.mean((e - (slope * t + icpt)) ** 2))
        print(f"{name:24s} NVE {args.timestep:g} fs, {args.nve_ps:g} ps: drift {slope:8.1f} kJ/mol/ps, RMS fluctuation "
              f"{rms:6.2f} kJ/mol, total change {e[-1] - e[0]:7.1f} kJ/mol", flush=True)


if __name__ == "__main__":
    main()
