"""``openmm-madrax md``: Langevin molecular dynamics with MadraX in OpenMM."""
from __future__ import annotations

import math
import os
import sys
import time

from . import add_structure_options
from .minimize import add_md_options, build, channel_line, write_structure

HELP = "Langevin MD with MadraX in OpenMM (DCD/XTC trajectory, energy logs, checkpoints)"
DESCRIPTION = """Langevin molecular dynamics (LangevinMiddleIntegrator) of a protein with MadraX in OpenMM.

The input is prepared as for 'minimize' (waters/ligands removed, hydrogens added, amber14 bonded
terms, HBonds constraints), minimised (unless --no-minimize or --restart), and run for --steps
steps.  Files written next to the trajectory OUT (.dcd, .xtc or .pdb):
  OUT_top.pdb        topology + start coordinates (to read the trajectory, e.g. with mdtraj)
  OUT_energies.csv   per-channel MadraX energy (kcal/mol) every --report-interval steps
  OUT.log            OpenMM StateDataReporter (step, time, energies, temperature, speed)
--checkpoint F writes an OpenMM checkpoint every --checkpoint-interval steps (and at the end);
--restart F continues from a checkpoint (.chk) or a serialized State (.xml), appending to the
outputs; --steps then counts the additional steps."""


def add_arguments(p) -> None:
    p.add_argument("file", help="PDB or PDBx/mmCIF file")
    p.add_argument("-o", "--output", required=True, help="trajectory file: .dcd, .xtc or .pdb")
    p.add_argument("--steps", type=int, required=True, help="number of MD steps")
    p.add_argument("--temperature", type=float, default=300.0, help="kelvin (default 300)")
    p.add_argument("--timestep", type=float, default=2.0,
                   help="fs (default 2, with HBonds constraints; the force's MD setting of smooth mode is what makes "
                        "2 fs stable, see README 'MD stability')")
    p.add_argument("--friction", type=float, default=1.0, help="Langevin friction, 1/ps (default 1)")
    p.add_argument("--constraints", choices=["none", "HBonds", "AllBonds", "HAngles"], default="HBonds",
                   help="bond constraints (default HBonds)")
    p.add_argument("--report-interval", type=int, default=500,
                   help="steps between trajectory frames and log / energy rows (default 500)")
    p.add_argument("--energies", default=None, help="per-channel MadraX energy CSV (default OUT_energies.csv)")
    p.add_argument("--log", default=None, help="StateDataReporter file (default OUT.log)")
    p.add_argument("--checkpoint", default=None, help="write an OpenMM checkpoint to this file")
    p.add_argument("--checkpoint-interval", type=int, default=None,
                   help="steps between checkpoints (default 10 x --report-interval)")
    p.add_argument("--restart", default=None, help="continue from a checkpoint (.chk) or a State XML (.xml)")
    p.add_argument("--no-minimize", dest="minimize", action="store_false",
                   help="skip the energy minimisation before MD (not recommended)")
    p.add_argument("--minimize-iterations", type=int, default=500, help="L-BFGS iterations before MD (default 500)")
    p.add_argument("--seed", type=int, default=None, help="random seed (velocities and Langevin noise)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    add_md_options(p)
    add_structure_options(p)


def _trajectory_reporter(path: str, interval: int, append: bool):
    from openmm import app

    ext = os.path.splitext(path)[1].lower()
    if ext == ".dcd":
        return app.DCDReporter(path, interval, append=append)
    if ext == ".xtc":
        return app.XTCReporter(path, interval, append=append)
    if ext == ".pdb":
        return app.PDBReporter(path, interval)
    from ..errors import MadraXError

    raise MadraXError(f"trajectory format of {path!r} not supported: use .dcd, .xtc or .pdb")


def run(args) -> int:
    import openmm
    from openmm import app, unit
    from tqdm import tqdm

    from ..errors import MadraXError
    from ..openmm import MadraXEnergyReporter

    if args.steps < 0 or args.report_interval <= 0:
        raise MadraXError("--steps must be >= 0 and --report-interval > 0")
    prepared, platform, props = build(args)
    madrax = prepared.madrax
    stem = os.path.splitext(args.output)[0]
    energies_path = args.energies or f"{stem}_energies.csv"
    log_path = args.log or f"{stem}.log"

    integrator = openmm.LangevinMiddleIntegrator(args.temperature * unit.kelvin, args.friction / unit.picosecond,
                                                 args.timestep * unit.femtosecond)
    if args.seed is not None:
        integrator.setRandomNumberSeed(args.seed)
    simulation = app.Simulation(prepared.topology, prepared.system, integrator, platform, props)
    simulation.context.setPositions(prepared.positions)
    print(f"platform {platform.getName()}, mode {args.mode}, {prepared.topology.getNumAtoms()} atoms "
          f"({madrax.structure.n_atoms} MadraX heavy atoms), {args.timestep:g} fs, {args.temperature:g} K",
          file=sys.stderr)

    restarting = bool(args.restart)
    if restarting:
        if not os.path.exists(args.restart):
            raise FileNotFoundError(f"no such file: {args.restart}")
        if args.restart.lower().endswith(".xml"):
            simulation.loadState(args.restart)
        else:
            simulation.loadCheckpoint(args.restart)
        print(f"restarted from {args.restart} at step {simulation.currentStep}", file=sys.stderr)
    else:
        if args.minimize:
            t0 = time.perf_counter()
            simulation.minimizeEnergy(maxIterations=args.minimize_iterations)
            ch = madrax.channel_energies(simulation.context)
            print(f"minimised ({time.perf_counter() - t0:.1f} s): MadraX {ch.sum():.2f} kcal/mol "
                  f"({channel_line(ch)})", file=sys.stderr)
        state = simulation.context.getState(getPositions=True)
        write_structure(f"{stem}_top.pdb", prepared.topology, state.getPositions())
        simulation.context.setVelocitiesToTemperature(args.temperature * unit.kelvin,
                                                      *([args.seed] if args.seed is not None else []))

    append = restarting and os.path.exists(args.output)
    simulation.reporters.append(_trajectory_reporter(args.output, args.report_interval, append))
    energy_reporter = MadraXEnergyReporter(energies_path, args.report_interval, madrax, append=restarting)
    simulation.reporters.append(energy_reporter)
    log_file = open(log_path, "a" if restarting else "w")
    simulation.reporters.append(app.StateDataReporter(
        log_file, args.report_interval, step=True, time=True, potentialEnergy=True, kineticEnergy=True,
        totalEnergy=True, temperature=True, speed=True, append=restarting and os.path.getsize(log_path) > 0))
    if args.checkpoint:
        interval = args.checkpoint_interval or 10 * args.report_interval
        simulation.reporters.append(app.CheckpointReporter(args.checkpoint, interval))

    t0 = time.perf_counter()
    done = 0
    try:
        with tqdm(total=args.steps, unit="step", disable=(not args.progress) or None, file=sys.stderr,
                  dynamic_ncols=True) as bar:
            while done < args.steps:
                n = min(args.report_interval - simulation.currentStep % args.report_interval, args.steps - done)
                try:
                    simulation.step(n)
                except openmm.OpenMMException as exc:
                    last = [line for line in str(exc).splitlines() if line.strip()][-1]
                    raise MadraXError(f"MD failed near step {simulation.currentStep}: {last.strip()[:300]}") from exc
                done += n
                bar.update(n)
                if simulation.currentStep % args.report_interval == 0 or done == args.steps:
                    e = simulation.context.getState(getEnergy=True).getPotentialEnergy()
                    if not math.isfinite(e.value_in_unit(unit.kilojoule_per_mole)):
                        raise MadraXError(f"the simulation blew up (potential energy NaN/inf) at step "
                                          f"{simulation.currentStep}; minimise longer or lower --timestep")
    finally:
        energy_reporter.close()
        log_file.close()
        for rep in simulation.reporters:  # DCD/PDB reporters close their files when collected
            out = getattr(rep, "_out", None)
            if out is not None and hasattr(out, "flush") and not getattr(out, "closed", True):
                out.flush()
    if args.checkpoint:
        simulation.saveCheckpoint(args.checkpoint)
    wall = time.perf_counter() - t0
    ns_day = args.steps * args.timestep * 1e-6 / (wall / 86400.0) if wall > 0 and args.steps else 0.0
    print(f"{args.steps} steps in {wall:.1f} s ({1000 * wall / max(args.steps, 1):.1f} ms/step, {ns_day:.2f} ns/day); "
          f"trajectory {args.output}, energies {energies_path}, log {log_path}", file=sys.stderr)
    return 0
