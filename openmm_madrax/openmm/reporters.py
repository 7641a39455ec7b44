"""OpenMM reporter writing the MadraX energy (per channel, force and exact surface) to CSV during a run."""
from __future__ import annotations

import os

from ..params import CHANNELS

#: CSV columns of :class:`MadraXEnergyReporter`
COLUMNS = ("step", "time_ps", "potential_kj", "madrax_force_kcal", "madrax_exact_kcal", *CHANNELS)


class MadraXEnergyReporter:
    """Every ``report_interval`` steps, append one CSV row: step, time (ps), OpenMM potential energy
    (kJ/mol), the MadraX energy the force adds (``madrax_force_kcal``: channels x channel weights,
    kcal/mol, unscaled), the exact MadraX energy of the same heavy atoms (``madrax_exact_kcal``, the
    surface of ``openmm-madrax score``; ``exact=False`` leaves it empty and saves one energy
    evaluation per report) and the 11 channels on the force's surface (kcal/mol, unweighted).

    ``madrax`` is the :class:`~openmm_madrax.openmm.MadraXForce` in the System.  With
    ``append=True`` rows are added to an existing file (restarts) without a new header.
    """

    def __init__(self, file, report_interval: int, madrax, append: bool = False, exact: bool = True):
        self._interval = int(report_interval)
        self._madrax = madrax
        self._exact = bool(exact)
        exists = isinstance(file, (str, os.PathLike)) and os.path.exists(file) and os.path.getsize(file) > 0
        if isinstance(file, (str, os.PathLike)):
            self._out = open(file, "a" if append else "w")
            self._own = True
        else:
            self._out = file
            self._own = False
        if not (append and exists):
            self._out.write(",".join(COLUMNS) + "\n")
            self._out.flush()

    def describeNextReport(self, simulation):
        steps = self._interval - simulation.currentStep % self._interval
        return {"steps": steps, "periodic": False, "include": ["positions", "energy"]}

    def report(self, simulation, state):
        from openmm import unit

        ch = self._madrax.channel_energies(state)
        exact = f"{self._madrax.channel_energies(state, surface='exact').sum():.4f}" if self._exact else ""
        row = [str(simulation.currentStep), f"{state.getTime().value_in_unit(unit.picosecond):.4f}",
               f"{state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole):.4f}",
               f"{self._madrax.force_energy_kcal(ch.values):.4f}", exact]
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
