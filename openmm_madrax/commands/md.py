"""``openmm-madrax md``: Langevin molecular dynamics with MadraX in OpenMM."""
from __future__ import annotations

import os
import sys

from . import add_structure_options
from .minimize import add_md_options, build, energy_line

HELP = "Langevin MD with MadraX in OpenMM (DCD/XTC trajectory, energy logs, checkpoints)"
DESCRIPTION = """Langevin molecular dynamics (LangevinMiddleIntegrator) of a protein with MadraX in OpenMM.

The input is prepared as for 'minimize' (waters/ligands removed, hydrogens added, amber14 bonded
terms, HBonds constraints), minimised (unless --no-minimize or --restart), and run for --steps
steps.  Files written next to the trajectory OUT (.dcd, .xtc or .pdb):
  OUT_top.pdb        topology + start coordinates (to read the trajectory, e.g. with mdtraj)
  OUT_energies.csv   MadraX energy every --report-interval steps (kcal/mol): what the force adds
                     (madrax_force_kcal), the exact energy as 'score' gives it (madrax_exact_kcal)
                     and the 11 channels
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
    p.add_argument("--plot", default=None, metavar="PNG",
                   help="plot temperature, energies and C-alpha RMSD to the start over time")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    add_md_options(p)
    add_structure_options(p)


def run(args) -> int:
    from openmm import unit

    from ..errors import MadraXError
    from ..openmm.runner import MDOutputs, check_output_path, make_simulation, minimize, restart, run_md, \
        write_structure

    if args.steps < 0 or args.report_interval <= 0:
        raise MadraXError("--steps must be >= 0 and --report-interval > 0")
    outputs = MDOutputs.from_output(args.output, energies=args.energies, log=args.log or "",
                                    checkpoint=args.checkpoint)
    if args.plot:
        check_output_path(args.plot, (".png", ".pdf", ".svg"), "plot")
    if args.restart and not os.path.exists(args.restart):
        raise FileNotFoundError(f"no such file: {args.restart}")
    prepared = build(args)
    madrax = prepared.madrax
    sim = make_simulation(prepared, temperature=args.temperature, timestep_fs=args.timestep, friction=args.friction,
                          seed=args.seed, platform=args.platform, threads=args.threads)
    print(f"platform {sim.context.getPlatform().getName()}, mode {args.mode}, {prepared.topology.getNumAtoms()} "
          f"atoms ({madrax.structure.n_atoms} MadraX heavy atoms), {args.timestep:g} fs, {args.temperature:g} K",
          file=sys.stderr)
    if args.restart:
        step = restart(sim, args.restart)
        print(f"restarted from {args.restart} at step {step}", file=sys.stderr)
    else:
        if args.minimize:
            res = minimize(sim.context, madrax, max_iterations=args.minimize_iterations)
            exact = madrax.channel_energies(res.positions, surface="exact").sum()
            print(f"minimised ({res.seconds:.1f} s): {energy_line(madrax, res.after, res.potential_after_kj, exact)}",
                  file=sys.stderr)
        write_structure(outputs.topology, prepared.topology, sim.context.getState(getPositions=True).getPositions())
        sim.context.setVelocitiesToTemperature(args.temperature * unit.kelvin,
                                               *([args.seed] if args.seed is not None else []))
    result = run_md(sim, madrax, outputs, steps=args.steps, report_interval=args.report_interval,
                    timestep_fs=args.timestep, append=bool(args.restart),
                    checkpoint_interval=args.checkpoint_interval or 10 * args.report_interval,
                    progress=args.progress)
    print(f"{result.steps} steps in {result.seconds:.1f} s ({result.ms_per_step:.1f} ms/step, "
          f"{result.ns_per_day:.2f} ns/day)", file=sys.stderr)
    _summary(outputs, args)
    return 0


def _summary(outputs, args) -> None:
    """What happened: temperature, MadraX energy at the end, C-alpha RMSD to the start; files; plot."""
    from ..openmm.analysis import md_timeseries, plot_md

    df = md_timeseries(outputs)
    if len(df):
        last = df.iloc[-1]
        parts = []
        if "temperature_K" in df:
            parts.append(f"T {df['temperature_K'].mean():.1f} K (mean)")
        parts.append(f"MadraX force {last['madrax_force_kcal']:.1f} / exact {last['madrax_exact_kcal']:.1f} kcal/mol "
                     "at the end")
        if "ca_rmsd_A" in df and df["ca_rmsd_A"].notna().any():
            parts.append(f"C-alpha RMSD to the start {last['ca_rmsd_A']:.2f} A at the end "
                         f"(max {df['ca_rmsd_A'].max():.2f})")
        print(f"mode {args.mode}: " + "; ".join(parts), file=sys.stderr)
    files = [f"trajectory {outputs.trajectory}", f"topology {outputs.topology}", f"energies {outputs.energies}"]
    if outputs.log:
        files.append(f"log {outputs.log}")
    if outputs.checkpoint:
        files.append(f"checkpoint {outputs.checkpoint}")
    if args.plot and len(df):
        plot_md(df, args.plot, title=f"{os.path.basename(args.file)}: {args.mode} mode, {args.temperature:g} K")
        files.append(f"plot {args.plot}")
    print("wrote " + ", ".join(files), file=sys.stderr)
