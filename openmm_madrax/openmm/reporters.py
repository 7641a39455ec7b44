"""OpenMM reporter writing the per-channel MadraX energy to CSV during a simulation."""
from __future__ import annotations

import os

from ..params import CHANNELS


class MadraXEnergyReporter:
    """Every ``report_interval`` steps, append one CSV row: step, time (ps), OpenMM potential energy
    (kJ/mol), MadraX total and its 11 channels (kcal/mol, unscaled, float64 readback).

    ``madrax`` is the :class:`~openmm_madrax.openmm.MadraXForce` whose force is in the System.
    With ``append=True`` rows are added to an existing file (restarts) without a new header.
    """

    def __init__(self, file, report_interval: int, madrax, append: bool = False):
        self._interval = int(report_interval)
        self._madrax = madrax
        exists = isinstance(file, (str, os.PathLike)) and os.path.exists(file) and os.path.getsize(file) > 0
        if isinstance(file, (str, os.PathLike)):
            self._out = open(file, "a" if append else "w")
            self._own = True
        else:
            self._out = file
            self._own = False
        if not (append and exists):
            self._out.write(",".join(["step", "time_ps", "potential_kj", "madrax_total_kcal", *CHANNELS]) + "\n")
            self._out.flush()

    def describeNextReport(self, simulation):
        steps = self._interval - simulation.currentStep % self._interval
        return {"steps": steps, "periodic": False, "include": ["positions", "energy"]}

    def report(self, simulation, state):
        from openmm import unit

        ch = self._madrax.channel_energies(state)
        row = [str(simulation.currentStep), f"{state.getTime().value_in_unit(unit.picosecond):.4f}",
               f"{state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole):.4f}", f"{ch.sum():.4f}"]
        row += [f"{v:.4f}" for v in ch.values]
        self._out.write(",".join(row) + "\n")
        self._out.flush()

    def close(self):
        if self._own and not self._out.closed:
            self._out.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass
