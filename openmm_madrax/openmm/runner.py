"""One simulation runner for ``md``, ``minimize`` and ``features --simulate``.

* :func:`make_simulation` -- a prepared system (:func:`~openmm_madrax.openmm.prepare_system`) into an
  ``openmm.app.Simulation`` with a ``LangevinMiddleIntegrator`` on the fastest platform that runs it;
* :func:`minimize` -- L-BFGS with the MadraX energy per channel before and after;
* :func:`run_md` -- Langevin MD in report-interval chunks: trajectory (DCD/XTC/PDB), per-channel
  MadraX energies (CSV), OpenMM's state log, checkpoints, a progress bar, a clear error (step and
  cause) instead of NaN when a simulation blows up;
* :func:`restart` / :func:`truncate_outputs` -- continue from a checkpoint or a State XML, with the
  outputs cut back to the checkpoint so that a resumed trajectory has no duplicate frames.
"""
from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass
from typing import Callable, Optional

from ..errors import MadraXError
from ..threads import torch_threads

#: trajectory formats the runner writes (by extension)
TRAJECTORY_FORMATS = (".dcd", ".xtc", ".pdb")
#: structure formats for topologies / minimised structures
STRUCTURE_FORMATS = (".pdb", ".cif", ".mmcif", ".pdbx")


def check_output_path(path: str, formats, what: str) -> str:
    """``path`` if its extension is one of ``formats`` and its folder exists or can be made, else a
    :class:`MadraXError` (checked before any work starts)."""
    ext = os.path.splitext(str(path))[1].lower()
    if ext not in formats:
        raise MadraXError(f"{what} {path!r}: unsupported format {ext or '(no extension)'}; use "
                          f"{', '.join(formats)}")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise MadraXError(f"{what} {path!r}: {folder} is not a folder")
    if os.path.isdir(path):
        raise MadraXError(f"{what} {path!r} is a folder; give a file name")
    return str(path)


@dataclass
class MDOutputs:
    """Files of an MD run.  ``from_output("run.dcd")`` gives run.dcd, run_top.pdb,
    run_energies.csv and run.log next to each other."""

    trajectory: str
    topology: str
    energies: str
    log: Optional[str] = None
    checkpoint: Optional[str] = None

    @classmethod
    def from_output(cls, trajectory: str, *, energies: Optional[str] = None, log: Optional[str] = "",
                    checkpoint: Optional[str] = None) -> "MDOutputs":
        check_output_path(trajectory, TRAJECTORY_FORMATS, "trajectory")
        stem = os.path.splitext(trajectory)[0]
        return cls(trajectory=trajectory, topology=f"{stem}_top.pdb", energies=energies or f"{stem}_energies.csv",
                   log=(f"{stem}.log" if log == "" else log), checkpoint=checkpoint)


def trajectory_reporter(path: str, interval: int, append: bool):
    from openmm import app

    ext = os.path.splitext(path)[1].lower()
    if ext == ".dcd":
        return app.DCDReporter(path, interval, append=append)
    if ext == ".xtc":
        return app.XTCReporter(path, interval, append=append)
    if ext == ".pdb":
        return app.PDBReporter(path, interval)
    raise MadraXError(f"trajectory format of {path!r} not supported: use {', '.join(TRAJECTORY_FORMATS)}")


def write_structure(path: str, topology, positions) -> None:
    """A PDB or PDBx/mmCIF file (by extension) of a topology and positions, keeping residue ids."""
    from openmm import app

    with open(path, "w") as fh:
        if str(path).lower().endswith((".cif", ".mmcif", ".pdbx")):
            app.PDBxFile.writeFile(topology, positions, fh, keepIds=True)
        else:
            app.PDBFile.writeFile(topology, positions, fh, keepIds=True)


def platform_properties(platform, threads: Optional[int]) -> dict:
    return {"Threads": str(int(threads))} if (threads and platform.getName() == "CPU") else {}


def make_simulation(prepared, *, temperature: float = 300.0, timestep_fs: float = 2.0, friction: float = 1.0,
                    seed: Optional[int] = None, platform: Optional[str] = None, threads: Optional[int] = None):
    """An ``openmm.app.Simulation`` of a :class:`~openmm_madrax.openmm.PreparedSystem` (LangevinMiddle
    integrator at ``temperature`` K, ``timestep_fs`` fs, ``friction`` 1/ps; positions set)."""
    import openmm
    from openmm import app, unit

    from .systems import select_platform

    plat = select_platform(platform, prepared.system)
    integrator = openmm.LangevinMiddleIntegrator(temperature * unit.kelvin, friction / unit.picosecond,
                                                 timestep_fs * unit.femtosecond)
    if seed is not None:
        integrator.setRandomNumberSeed(int(seed))
    sim = app.Simulation(prepared.topology, prepared.system, integrator, plat, platform_properties(plat, threads))
    sim.context.setPositions(prepared.positions)
    return sim


@dataclass
class MinimizationResult:
    """MadraX channels (kcal/mol, force surface) and total potential (kJ/mol) before and after."""

    before: object  # pandas Series, channels
    after: object
    potential_before_kj: float
    potential_after_kj: float
    seconds: float
    positions: object  # Quantity (nm)


def minimize(context, madrax, *, tolerance: float = 10.0, max_iterations: int = 0,
             on_start: Optional[Callable] = None) -> MinimizationResult:
    """L-BFGS energy minimisation of an OpenMM ``Context`` (``openmm.LocalEnergyMinimizer``) holding
    ``madrax``; ``tolerance`` is the RMS force (kJ/mol/nm) below which it stops, ``max_iterations``
    0 = until converged.  ``on_start(channels, potential_kj)`` is called before minimising (to
    report the starting energies)."""
    import numpy as np
    import openmm
    from openmm import unit

    before = madrax.channel_energies(context)
    e0 = context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
    if on_start is not None:
        on_start(before, e0)
    t0 = time.perf_counter()
    with torch_threads(madrax.torch_threads):
        try:
            openmm.LocalEnergyMinimizer.minimize(context, tolerance * unit.kilojoule_per_mole / unit.nanometer,
                                                 int(max_iterations))
        except openmm.OpenMMException as exc:
            raise MadraXError(f"minimisation failed: {_last_line(exc)}") from None
    seconds = time.perf_counter() - t0
    state = context.getState(getEnergy=True, getPositions=True)
    e1 = state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
    pos = state.getPositions(asNumpy=True)
    if not np.isfinite(e1) or not np.isfinite(pos.value_in_unit(unit.nanometer)).all():
        raise MadraXError("minimisation produced non-finite energies or positions (NaN); try precision='double' "
                          "(CLI --precision double)")
    return MinimizationResult(before, madrax.channel_energies(state), e0, e1, seconds, pos)


def _last_line(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:300]


def restart(simulation, path: str) -> int:
    """Load a checkpoint (.chk) or a serialized State (.xml) into ``simulation``; returns its step."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    try:
        if str(path).lower().endswith(".xml"):
            simulation.loadState(path)
        else:
            simulation.loadCheckpoint(path)
    except Exception as exc:
        raise MadraXError(f"cannot restart from {path}: {_last_line(exc)} (a checkpoint must come from the same "
                          "system, platform and OpenMM version; a State XML from the same system)") from None
    return int(simulation.currentStep)


def truncate_outputs(outputs: MDOutputs, n_frames: int, step: int) -> None:
    """Make the DCD and the energy CSV end at a checkpoint (frames written after it are dropped)."""
    import mdtraj as md
    import pandas as pd

    if os.path.exists(outputs.trajectory) and os.path.getsize(outputs.trajectory) > 0:
        t = md.load(outputs.trajectory, top=outputs.topology)
        if t.n_frames < n_frames:
            raise MadraXError(f"{outputs.trajectory} has {t.n_frames} frames, fewer than the checkpoint needs "
                              f"({n_frames}); cannot resume: start a new run")
        if t.n_frames > n_frames:
            t[:n_frames].save_dcd(outputs.trajectory)
    if os.path.exists(outputs.energies) and os.path.getsize(outputs.energies) > 0:
        df = pd.read_csv(outputs.energies)
        df[df["step"] <= step].to_csv(outputs.energies, index=False, float_format="%.4f")


@dataclass
class MDResult:
    steps: int
    seconds: float
    timestep_fs: float
    outputs: MDOutputs

    @property
    def ms_per_step(self) -> float:
        return 1000.0 * self.seconds / max(self.steps, 1)

    @property
    def ns_per_day(self) -> float:
        return self.steps * self.timestep_fs * 1e-6 / (self.seconds / 86400.0) if self.seconds > 0 and self.steps else 0.0


def run_md(simulation, madrax, outputs: MDOutputs, *, steps: int, report_interval: int, timestep_fs: float,
           append: bool = False, checkpoint_interval: Optional[int] = None, checkpoint_each_report: bool = False,
           progress: bool = True, desc: str = "MD", total_steps: Optional[int] = None) -> MDResult:
    """Run ``steps`` MD steps (until ``total_steps`` when given: resumed runs) writing ``outputs``.

    Every ``report_interval`` steps: a trajectory frame, a row of per-channel MadraX energies, a row
    of the state log and a finiteness check of the potential energy.  ``append``: add to existing
    outputs (restarts).  Checkpoints go to ``outputs.checkpoint`` every ``checkpoint_interval`` steps
    (OpenMM's CheckpointReporter) or after every report (``checkpoint_each_report``; resumable with
    :func:`truncate_outputs`), and at the end."""
    import openmm
    from openmm import app, unit
    from tqdm import tqdm

    from .reporters import MadraXEnergyReporter

    if steps < 0 or report_interval <= 0:
        raise MadraXError("steps must be >= 0 and report_interval > 0")
    target = int(total_steps) if total_steps is not None else int(simulation.currentStep) + int(steps)
    traj_append = append and os.path.exists(outputs.trajectory) and os.path.getsize(outputs.trajectory) > 0
    simulation.reporters.append(trajectory_reporter(outputs.trajectory, report_interval, traj_append))
    energy_reporter = MadraXEnergyReporter(outputs.energies, report_interval, madrax, append=append)
    simulation.reporters.append(energy_reporter)
    log_file = None
    if outputs.log:
        log_append = append and os.path.exists(outputs.log) and os.path.getsize(outputs.log) > 0
        log_file = open(outputs.log, "a" if log_append else "w")
        simulation.reporters.append(app.StateDataReporter(
            log_file, report_interval, step=True, time=True, potentialEnergy=True, kineticEnergy=True,
            totalEnergy=True, temperature=True, speed=True, append=log_append))
    if outputs.checkpoint and checkpoint_interval and not checkpoint_each_report:
        simulation.reporters.append(app.CheckpointReporter(outputs.checkpoint, int(checkpoint_interval)))
    t0 = time.perf_counter()
    start = int(simulation.currentStep)
    try:
        with tqdm(total=target, initial=start, unit="step", desc=desc, disable=(not progress) or None,
                  file=sys.stderr, dynamic_ncols=True) as bar, torch_threads(madrax.torch_threads):
            while simulation.currentStep < target:
                n = min(report_interval - simulation.currentStep % report_interval, target - simulation.currentStep)
                try:
                    simulation.step(n)
                except openmm.OpenMMException as exc:
                    raise MadraXError(f"MD failed near step {simulation.currentStep}: {_last_line(exc)}") from None
                bar.update(n)
                e = simulation.context.getState(getEnergy=True).getPotentialEnergy()
                if not math.isfinite(e.value_in_unit(unit.kilojoule_per_mole)):
                    raise MadraXError(f"the simulation blew up (potential energy NaN/inf) at step "
                                      f"{simulation.currentStep}; minimise longer or lower the time step")
                if outputs.checkpoint and checkpoint_each_report:
                    simulation.saveCheckpoint(outputs.checkpoint)  # after this step's frame: resume drops later ones
    finally:
        energy_reporter.close()
        if log_file is not None:
            log_file.close()
        for rep in simulation.reporters:  # DCD/PDB reporters close their files when collected
            out = getattr(rep, "_out", None)
            if out is not None and hasattr(out, "flush") and not getattr(out, "closed", True):
                out.flush()
        simulation.reporters.clear()
    if outputs.checkpoint:
        simulation.saveCheckpoint(outputs.checkpoint)
    return MDResult(int(simulation.currentStep) - start, time.perf_counter() - t0, timestep_fs, outputs)
