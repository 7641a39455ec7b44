"""MadraX inside OpenMM: the force, system builders, the simulation runner, reporters.

This subpackage is the only part of openmm-madrax that knows OpenMM, and the only place that
converts units (positions nm -> Angstrom, energies kcal/mol -> kJ/mol; factors in
:mod:`openmm_madrax.units`).

* :class:`MadraXForce` -- the MadraX energy of the protein heavy atoms of an OpenMM ``Topology``: an
  ``openmm.Force`` (``openmmtorch.TorchForce`` by default, ``openmm.PythonForce`` on request) with
  per-residue / per-channel readback for any ``State`` or positions; :func:`madrax_energies` reads
  back any System that holds one (also deserialized).
* :func:`prepare_system` / :func:`create_system` -- Systems in two modes: ``"replace"`` (classical
  bonded terms + MadraX as the only non-bonded / solvation energy) and ``"add"`` (MadraX beside a
  full classical implicit-solvent system).
* :mod:`.runner` -- one simulation runner (minimisation, MD with trajectory / energies / log /
  checkpoints) used by the ``md`` and ``minimize`` commands and by ``features --simulate``.
* :class:`MadraXEnergyReporter` -- per-channel MadraX energies written to CSV during a simulation.

Example::

    from openmm_madrax import MadraXForce
    system.addForce(MadraXForce(topology))
"""
from .force import MadraXForce, MadraXPythonForce
from .readback import find_madrax_force, madrax_energies
from .reporters import MadraXEnergyReporter
from .systems import MODES, PreparedSystem, create_system, prepare_system, select_platform
from ..units import KCAL_TO_KJ, NM_TO_ANGSTROM

__all__ = ["KCAL_TO_KJ", "MODES", "MadraXEnergyReporter", "MadraXForce", "MadraXPythonForce", "NM_TO_ANGSTROM",
           "PreparedSystem", "create_system", "find_madrax_force", "madrax_energies", "prepare_system",
           "select_platform"]
