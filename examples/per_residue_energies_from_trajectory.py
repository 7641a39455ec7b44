"""Per-residue MadraX energy channels for every frame of a trajectory (read with mdtraj).

    python examples/per_residue_energies_from_trajectory.py [TRAJ.dcd TOPOLOGY.pdb] [--csv out.csv]

Without arguments a short replace-mode MD of the bundled ubiquitin is run first (20 steps, a
frame every 5) so that there is a trajectory to read.  Prints the per-channel totals of every
frame and the residues whose MadraX energy changes most; --csv writes the full long table
(frame, chain, resnum, resname, 11 channels; kcal/mol).
"""
import argparse
import tempfile
from pathlib import Path

import mdtraj
import pandas as pd
import torch

from openmm_madrax.openmm import MadraXForce

BUNDLED = Path(__file__).resolve().parents[1] / "openmm_madrax" / "data" / "1ubi.pdb"


def make_trajectory(workdir: Path, steps: int):
    import openmm
    from openmm import app, unit

    from openmm_madrax.openmm import prepare_system

    topology, positions, system = prepare_system(BUNDLED, mode="replace")
    sim = app.Simulation(topology, system, openmm.LangevinMiddleIntegrator(300, 1, 0.002))
    sim.context.setPositions(positions)
    sim.minimizeEnergy(maxIterations=20)
    sim.context.setVelocitiesToTemperature(300 * unit.kelvin)
    with open(workdir / "top.pdb", "w") as fh:
        app.PDBFile.writeFile(topology, sim.context.getState(getPositions=True).getPositions(), fh)
    sim.reporters.append(app.DCDReporter(str(workdir / "traj.dcd"), 5))
    sim.step(steps)
    del sim  # closes the DCD file
    return workdir / "traj.dcd", workdir / "top.pdb"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("trajectory", nargs="?", help="DCD/XTC/... trajectory (default: make one from bundled 1UBI)")
    p.add_argument("topology", nargs="?", help="topology PDB of the trajectory")
    p.add_argument("--steps", type=int, default=20, help="steps of the generated trajectory (default 20)")
    p.add_argument("--quick", action="store_true", help="a 10-step generated trajectory")
    p.add_argument("--csv", default=None, help="write all per-residue energies of all frames here")
    args = p.parse_args()
    # the MadraX tensors are small: one torch thread is fastest on CPU and leaves the cores to OpenMM
    torch.set_num_threads(1)

    tmp = None
    if args.trajectory is None:
        tmp = tempfile.TemporaryDirectory()
        traj_path, top_path = make_trajectory(Path(tmp.name), 10 if args.quick else args.steps)
    else:
        if args.topology is None:
            p.error("give the topology PDB with the trajectory")
        traj_path, top_path = args.trajectory, args.topology

    traj = mdtraj.load(str(traj_path), top=str(top_path))
    # the force's readback works on any positions of the same topology (hydrogens are ignored)
    madrax = MadraXForce(traj.topology.to_openmm(), traj.xyz[0])
    frames = []
    for k in range(traj.n_frames):
        df = madrax.residue_energies(traj.xyz[k])
        df.insert(0, "frame", k)
        frames.append(df)
    table = pd.concat(frames, ignore_index=True)
    channels = list(table.columns[4:])
    print("MadraX energy per frame and channel (kcal/mol)")
    print(table.groupby("frame")[channels].sum().assign(total=lambda d: d.sum(axis=1)).round(2).to_string())
    per_res = table.assign(total=table[channels].sum(axis=1)).pivot_table(index=["chain", "resnum", "resname"],
                                                                          columns="frame", values="total")
    spread = (per_res.max(axis=1) - per_res.min(axis=1)).sort_values(ascending=False)
    print("\nresidues whose MadraX energy changes most over the trajectory (kcal/mol per frame):")
    print(per_res.loc[spread.index[:5]].round(2).to_string())
    if args.csv:
        table.to_csv(args.csv, index=False, float_format="%.5f")
        print(f"wrote {args.csv} ({len(table)} rows)")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
