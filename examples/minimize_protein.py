"""Minimise a protein with MadraX replacing the classical non-bonded terms.

    python examples/minimize_protein.py [INPUT.pdb] [--max-iterations 200] [-o minimized.pdb]

Without INPUT the bundled ubiquitin (1UBI) is used.  Prints the MadraX energy per channel
(kcal/mol) before and after, and writes the minimised structure (with hydrogens).  Channel 9
(peptide_bond) is scored but not part of the force (the amber bonded terms hold that geometry;
see docs/openmm.md), so it can rise while the rest falls.
"""
import argparse
import time
from pathlib import Path

import numpy as np
import openmm
import torch
from openmm import app, unit

from openmm_madrax.openmm import prepare_system

BUNDLED = Path(__file__).resolve().parents[1] / "openmm_madrax" / "data" / "1ubi.pdb"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", nargs="?", default=str(BUNDLED), help="PDB/mmCIF file (default: bundled 1UBI)")
    p.add_argument("--max-iterations", type=int, default=200, help="L-BFGS iterations (default 200)")
    p.add_argument("--quick", action="store_true", help="20 iterations only")
    p.add_argument("-o", "--output", default="minimized.pdb", help="output PDB (default minimized.pdb)")
    args = p.parse_args()
    # the MadraX tensors are small: one torch thread is fastest on CPU and leaves the cores to OpenMM
    torch.set_num_threads(1)

    # topology with hydrogens, amber14 bonded terms + MadraX (force group 1), no classical non-bonded terms
    topology, positions, system = prepared = prepare_system(args.input, mode="replace")
    madrax = prepared.madrax
    print(madrax)

    context = openmm.Context(system, openmm.VerletIntegrator(0.001))
    context.setPositions(positions)
    before = madrax.channel_energies(context)

    t0 = time.perf_counter()
    openmm.LocalEnergyMinimizer.minimize(context, 10.0, 20 if args.quick else args.max_iterations)
    state = context.getState(getPositions=True)
    after = madrax.channel_energies(state)

    x0 = np.asarray(positions.value_in_unit(unit.angstrom))[madrax.heavy_index]
    x1 = state.getPositions(asNumpy=True).value_in_unit(unit.angstrom)[madrax.heavy_index]
    rmsd = np.sqrt(((x1 - x0) ** 2).sum(axis=1).mean())
    print(f"minimised in {time.perf_counter() - t0:.1f} s; heavy-atom RMSD to the input {rmsd:.2f} A")
    print("MadraX energy per channel, kcal/mol")
    print(f"{'channel':20s} {'before':>10s} {'after':>10s}")
    for name in before.index:
        print(f"{name:20s} {before[name]:10.2f} {after[name]:10.2f}")
    print(f"{'total':20s} {before.sum():10.2f} {after.sum():10.2f}")
    w = madrax.channel_weights  # channel 9 (peptide_bond) is reported but not in the force by default
    print(f"{'total in the force':20s} {before.values @ w:10.2f} {after.values @ w:10.2f}")
    with open(args.output, "w") as fh:
        app.PDBFile.writeFile(topology, state.getPositions(), fh, keepIds=True)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
