"""Langevin MD with amber14 + GBn2 implicit solvent and MadraX added on top (scaled).

    python examples/md_add_gbn2.py [INPUT.pdb] [--steps 500] [--scale 0.2] [--quick]

The classical system is complete (bonded, Coulomb, LJ, GBn2 solvation); MadraX x --scale is an
extra term (global parameter ``madrax_scale``).  MadraX and amber+GBn2 describe the same
interactions, so treat the MadraX term as a bias: this example ramps the scale from 0 to --scale
over the run to show how to change it in a running simulation.  Default input: bundled 1UBI.
"""
import argparse
import sys
from pathlib import Path

import openmm
import torch
from openmm import app, unit

from openmm_madrax.openmm import prepare_system, select_platform

BUNDLED = Path(__file__).resolve().parents[1] / "openmm_madrax" / "data" / "1ubi.pdb"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", nargs="?", default=str(BUNDLED), help="PDB/mmCIF file (default: bundled 1UBI)")
    p.add_argument("--steps", type=int, default=500, help="MD steps of 2 fs (default 500)")
    p.add_argument("--scale", type=float, default=0.2, help="final MadraX scale (default 0.2)")
    p.add_argument("--quick", action="store_true", help="40 steps, short minimisation")
    args = p.parse_args()
    # the MadraX tensors are small: one torch thread is fastest on CPU and leaves the cores to OpenMM
    torch.set_num_threads(1)
    steps = 40 if args.quick else args.steps

    topology, positions, system = prepared = prepare_system(args.input, mode="add", scale=0.0)
    platform = select_platform(system=system)
    integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond, 2 * unit.femtosecond)
    simulation = app.Simulation(topology, system, integrator, platform)
    simulation.context.setPositions(positions)
    simulation.minimizeEnergy(maxIterations=20 if args.quick else 500)
    simulation.context.setVelocitiesToTemperature(300 * unit.kelvin)
    simulation.reporters.append(app.StateDataReporter(sys.stdout, max(steps // 10, 1), step=True,
                                                      potentialEnergy=True, temperature=True, speed=True))
    chunks = 10
    for k in range(chunks):
        scale = args.scale * (k + 1) / chunks
        simulation.context.setParameter("madrax_scale", scale)
        simulation.step(max(steps // chunks, 1))
        e_mx = simulation.context.getState(getEnergy=True, groups={1}).getPotentialEnergy()
        e_cl = simulation.context.getState(getEnergy=True, groups={0}).getPotentialEnergy()
        print(f"  madrax_scale {scale:.3f}: MadraX term {e_mx.value_in_unit(unit.kilojoule_per_mole):9.1f} kJ/mol, "
              f"amber14+GBn2 {e_cl.value_in_unit(unit.kilojoule_per_mole):9.1f} kJ/mol")
    print("unscaled MadraX energy per channel at the end (kcal/mol):")
    print(prepared.madrax.channel_energies(simulation.context).round(2).to_string())


if __name__ == "__main__":
    main()
