"""The Python quick start of docs/openmm.md, run as written, against the CLI doing the same work.

    python benchmarks/quickstart_vs_cli.py [--steps 1000] [--repeats 1]

Same work on the bundled ubiquitin: prepare the system (replace mode), minimise to convergence,
``--steps`` steps of Langevin MD at 2 fs.  The quick start runs in a fresh interpreter with torch's
default thread settings (what a user gets); the CLI is ``openmm-madrax md ... --minimize-iterations 0``
(0 = to convergence, as ``Simulation.minimizeEnergy()``).  Prints wall seconds of each (median of
repeats) and their ratio; the issue's target is quick start <= 2 x CLI.  Nothing here is a test.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PDB = ROOT / "openmm_madrax" / "data" / "1ubi.pdb"

QUICKSTART = textwrap.dedent('''
    import openmm
    from openmm import app, unit
    from openmm_madrax.openmm import prepare_system

    topology, positions, system = prepared = prepare_system("{pdb}")
    integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond, 2 * unit.femtosecond)
    simulation = app.Simulation(topology, system, integrator)
    simulation.context.setPositions(positions)
    simulation.minimizeEnergy()
    simulation.step({steps})
    prepared.madrax.residue_energies(simulation.context)
''')


def run(cmd, cwd) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{out.stderr[-2000:]}")
    return dt


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=1)
    args = p.parse_args(argv)
    env = dict(os.environ)
    env.pop("OPENMM_MADRAX_TORCH_THREADS", None)
    quick, cli = [], []
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "quickstart.py"
        script.write_text(QUICKSTART.format(pdb=PDB, steps=args.steps))
        for _ in range(args.repeats):
            quick.append(run([sys.executable, str(script)], tmp))
            cli.append(run([sys.executable, "-m", "openmm_madrax.cli", "md", str(PDB), "--steps", str(args.steps),
                            "-o", str(Path(tmp) / "md.dcd"), "--minimize-iterations", "0", "--no-progress"], tmp))
    q, c = statistics.median(quick), statistics.median(cli)
    load = os.getloadavg()[0]
    print(f"ubiquitin, minimise + {args.steps} steps, {os.cpu_count()} cores, load average {load:.1f}")
    print(f"quick start (docs/openmm.md, fresh interpreter): {q:.1f} s   CLI (openmm-madrax md): {c:.1f} s   "
          f"ratio {q / c:.2f} (target <= 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
