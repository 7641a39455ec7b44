"""Structure -> MadraX MD trajectory (copies placed side by side, checkpoint / resume) -> features.

The MD itself is :mod:`openmm_madrax.openmm.runner`, the same runner as ``openmm-madrax md``.
"""
from __future__ import annotations

import json
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..errors import MadraXError
from .extract import Features, compute_features


@dataclass
class SimulationOutput:
    """Files of :func:`simulate` (``prefix`` + suffix) and what was run."""

    topology: str  # PDB with hydrogens: the minimised start, topology of the trajectory
    trajectory: str  # DCD, one frame every report_interval steps (not the start)
    energies: str  # per-channel MadraX energy CSV (MadraXEnergyReporter)
    checkpoint: str
    settings: str  # JSON: the run's parameters (checked on resume)
    steps: int
    report_interval: int
    timestep_fs: float
    resumed_from: int = 0

    @property
    def frame_ps(self) -> float:
        return self.report_interval * self.timestep_fs * 1e-3


def place_copies(topology, positions, copies: int, gap: float = 10.0):
    """``copies`` copies of a model (OpenMM topology + positions) side by side along x, each slid
    towards the previous ones until their closest heavy atoms are ``gap`` A apart (within 0.25 A);
    waters and non-amino-acid residues are left out, chains renamed A, B, ...  Returns an
    ``openmm.app.Modeller``."""
    from openmm import Vec3, app, unit
    from scipy.spatial import cKDTree

    xyz = np.asarray(positions.value_in_unit(unit.angstrom) if unit.is_quantity(positions) else positions,
                     dtype=np.float64).reshape(-1, 3)
    base = app.Modeller(topology, [Vec3(*p) for p in xyz * 0.1] * unit.nanometer)
    # waters, ions and ligands are removed by prepare_system anyway; drop them here so the copies'
    # chains are the protein chains only
    base.delete([r for r in base.topology.residues() if not any(a.name == "CA" for a in r.atoms())
                 or r.name in ("HOH", "WAT")])
    base.delete([c for c in base.topology.chains() if not list(c.residues())])
    top1 = base.topology
    pos1 = base.positions
    xyz = np.asarray(pos1.value_in_unit(unit.angstrom), dtype=np.float64).reshape(-1, 3)
    heavy = np.array([a.element is None or a.element.symbol != "H" for a in top1.atoms()])
    span = float(np.ptp(xyz[heavy, 0])) if heavy.any() else float(np.ptp(xyz[:, 0]))
    modeller = app.Modeller(top1, pos1)
    placed = xyz[heavy]
    offset = 0.0
    for k in range(1, int(copies)):
        # slide the new copy along x towards the others until its closest heavy atom is ~gap away
        tree = cKDTree(placed)
        s = offset + span + float(gap)
        while s > offset and tree.query(xyz[heavy] + [s - 0.25, 0.0, 0.0])[0].min() >= float(gap):
            s -= 0.25
        offset = s
        shifted = xyz + np.array([s, 0.0, 0.0])
        placed = np.concatenate([placed, shifted[heavy]])
        modeller.add(top1, [Vec3(*p) for p in shifted * 0.1] * unit.nanometer)
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    for k, chain in enumerate(modeller.topology.chains()):
        chain.id = letters[k % len(letters)]
    return modeller


def _read_model(path: str):
    from openmm import app

    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    if path.lower().endswith((".cif", ".mmcif", ".pdbx")):
        return app.PDBxFile(path)
    return app.PDBFile(path)


def simulate(structure: str, prefix: str, *, ns: float, copies: int = 1, gap: float = 10.0,
             temperature: float = 300.0, timestep_fs: float = 2.0, friction: float = 1.0,
             report_interval: int = 500, minimize_iterations: int = 200, seed: Optional[int] = None,
             platform: Optional[str] = None, threads: Optional[int] = None, precision: str = "single",
             torch_threads: Optional[int] = None, resume: bool = True, progress: bool = True) -> SimulationOutput:
    """MadraX MD of ``structure`` (replace mode: amber14 bonded terms + MadraX), ``copies`` copies
    placed ``gap`` A apart along x and free to meet (no box, no restraints).

    Writes ``PREFIX_top.pdb`` (minimised start with hydrogens), ``PREFIX.dcd`` (a frame every
    ``report_interval`` steps), ``PREFIX_energies.csv``, ``PREFIX.chk`` (OpenMM checkpoint at every
    frame) and ``PREFIX_run.json`` (settings).  With ``resume`` an existing run with the same
    settings continues from its checkpoint up to ``ns`` in total (frames written after the last
    checkpoint are dropped first, so the trajectory has no duplicates); a longer ``ns`` extends it.
    """
    from ..openmm import prepare_system
    from ..openmm.runner import MDOutputs, make_simulation, minimize, restart, run_md, truncate_outputs, \
        write_structure

    if ns <= 0 or copies < 1 or report_interval < 1:
        raise MadraXError("simulate: need ns > 0, copies >= 1 and report_interval >= 1")
    steps = int(round(ns * 1e6 / timestep_fs))
    out = SimulationOutput(topology=f"{prefix}_top.pdb", trajectory=f"{prefix}.dcd",
                           energies=f"{prefix}_energies.csv", checkpoint=f"{prefix}.chk",
                           settings=f"{prefix}_run.json", steps=steps, report_interval=int(report_interval),
                           timestep_fs=float(timestep_fs))
    files = MDOutputs(trajectory=out.trajectory, topology=out.topology, energies=out.energies, log=None,
                      checkpoint=out.checkpoint)
    settings = {"structure": os.path.abspath(structure), "copies": int(copies), "gap": float(gap),
                "temperature": float(temperature), "timestep_fs": float(timestep_fs), "friction": float(friction),
                "report_interval": int(report_interval), "precision": precision, "mode": "replace",
                "minimize_iterations": int(minimize_iterations), "seed": seed}
    resuming = resume and os.path.exists(out.settings) and os.path.exists(out.checkpoint)
    if resuming:
        with open(out.settings) as fh:
            old = json.load(fh)
        diff = [k for k in settings if old.get(k) != settings[k]]
        if diff:
            raise MadraXError(f"{out.settings}: an earlier run with different settings ({', '.join(diff)}) is there; "
                              "use another output prefix, or --no-resume to start over")
    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)

    model = _read_model(structure)
    placed = place_copies(model.topology, model.positions, copies, gap)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        prepared = prepare_system((placed.topology, placed.positions), mode="replace", precision=precision,
                                  torch_threads=torch_threads)
    sim = make_simulation(prepared, temperature=temperature, timestep_fs=timestep_fs, friction=friction, seed=seed,
                          platform=platform, threads=threads)
    madrax = prepared.madrax
    log = sys.stderr
    print(f"simulate: {copies} cop{'y' if copies == 1 else 'ies'} of {os.path.basename(structure)}, "
          f"{prepared.topology.getNumAtoms()} atoms ({madrax.structure.n_atoms} MadraX heavy atoms), platform "
          f"{sim.context.getPlatform().getName()}, {timestep_fs:g} fs, {temperature:g} K, {steps} steps", file=log)
    if resuming:
        out.resumed_from = restart(sim, out.checkpoint)
        truncate_outputs(files, out.resumed_from // report_interval, out.resumed_from)
        print(f"simulate: resumed from {out.checkpoint} at step {out.resumed_from}", file=log)
    else:
        for p in (out.trajectory, out.energies, out.checkpoint):
            if os.path.exists(p):
                os.remove(p)
        if minimize_iterations:
            minimize(sim.context, madrax, max_iterations=int(minimize_iterations))
        write_structure(out.topology, prepared.topology, sim.context.getState(getPositions=True).getPositions())
        from openmm import unit

        sim.context.setVelocitiesToTemperature(temperature * unit.kelvin, *([int(seed)] if seed is not None else []))
        with open(out.settings, "w") as fh:
            json.dump(settings, fh, indent=1)
        sim.saveCheckpoint(out.checkpoint)
    if sim.currentStep >= steps:
        print(f"simulate: already at step {sim.currentStep} >= {steps}", file=log)
        return out
    run_md(sim, madrax, files, steps=steps - int(sim.currentStep), total_steps=steps, report_interval=report_interval,
           timestep_fs=timestep_fs, append=resuming, checkpoint_each_report=True, progress=progress, desc="MadraX MD")
    return out


def features_from_simulation(run: SimulationOutput, **kwargs) -> Features:
    """:func:`compute_features` of a :func:`simulate` run (time axis from the report interval)."""
    kwargs.setdefault("timestep_ps", run.frame_ps)
    f = compute_features(run.trajectory, run.topology, **kwargs)
    f.time_ps = f.time_ps + run.frame_ps  # the first frame is written after report_interval steps
    return f
