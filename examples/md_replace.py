"""Langevin MD with MadraX replacing all classical non-bonded terms (implicit solvent, no water).

    python examples/md_replace.py [INPUT.pdb] [--steps 500] [--quick] [--outdir md_replace_out]

amber14 bonded terms (+ its scaled 1-4 pairs) hold the covalent geometry; MadraX supplies every
other interaction.  2 fs, HBonds constraints, 300 K.  Writes a DCD trajectory, its topology PDB and
the per-channel MadraX energy (CSV) every --report-interval steps.  Default input: bundled 1UBI.
"""
import argparse
import sys
from pathlib import Path

import openmm
import torch
from openmm import app, unit

from openmm_madrax.openmm import MadraXEnergyReporter, prepare_system, select_platform

BUNDLED = Path(__file__).resolve().parents[1] / "openmm_madrax" / "data" / "1ubi.pdb"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", nargs="?", default=str(BUNDLED), help="PDB/mmCIF file (default: bundled 1UBI)")
    p.add_argument("--steps", type=int, default=500, help="MD steps of 2 fs (default 500 = 1 ps)")
    p.add_argument("--quick", action="store_true", help="50 steps, short minimisation")
    p.add_argument("--report-interval", type=int, default=50)
    p.add_argument("--outdir", default="md_replace_out")
    args = p.parse_args()
    # the MadraX tensors are small: one torch thread is fastest on CPU and leaves the cores to OpenMM
    torch.set_num_threads(1)
    steps = 50 if args.quick else args.steps
    interval = min(args.report_interval, steps)
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)

    topology, positions, system = prepared = prepare_system(args.input, mode="replace")
    platform = select_platform(system=system)  # CUDA > OpenCL > CPU > Reference
    integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond, 2 * unit.femtosecond)
    simulation = app.Simulation(topology, system, integrator, platform)
    simulation.context.setPositions(positions)
    print(f"{prepared.madrax} on {platform.getName()}")

    simulation.minimizeEnergy(maxIterations=20 if args.quick else 500)  # always minimise before MD
    state = simulation.context.getState(getPositions=True)
    with open(out / "topology.pdb", "w") as fh:
        app.PDBFile.writeFile(topology, state.getPositions(), fh, keepIds=True)
    simulation.context.setVelocitiesToTemperature(300 * unit.kelvin)

    simulation.reporters.append(app.DCDReporter(str(out / "trajectory.dcd"), interval))
    simulation.reporters.append(MadraXEnergyReporter(str(out / "madrax_energies.csv"), interval, prepared.madrax))
    simulation.reporters.append(app.StateDataReporter(sys.stdout, interval, step=True, time=True,
                                                      potentialEnergy=True, temperature=True, speed=True))
    simulation.step(steps)
    print(f"wrote {out}/trajectory.dcd, topology.pdb, madrax_energies.csv")
    print("per-channel MadraX energy at the end (kcal/mol):")
    print(prepared.madrax.channel_energies(simulation.context).round(2).to_string())


if __name__ == "__main__":
    main()
