"""MadraX inside OpenMM: the force, system builders, reporters.

This subpackage is the only part of openmm-madrax that knows OpenMM, and the only place that
converts units (positions nm -> Angstrom, energies kcal/mol -> kJ/mol; see :mod:`.force`).

* :class:`MadraXForce` -- the MadraX energy of the protein heavy atoms of an OpenMM ``Topology`` as
  an OpenMM force (``openmmtorch.TorchForce`` by default, ``openmm.PythonForce`` on request), with
  per-residue / per-channel readback for any ``State`` or positions.
* :func:`prepare_system` / :func:`create_system` -- Systems in two modes: ``"replace"`` (classical
  bonded terms + MadraX as the only non-bonded / solvation energy) and ``"add"`` (MadraX beside a
  full classical implicit-solvent system).
* :class:`MadraXEnergyReporter` -- per-channel MadraX energies written to CSV during a simulation.

Example::

    from openmm_madrax.openmm import prepare_system
    topology, positions, system = prepared = prepare_system("protein.pdb", mode="replace")
    ...
    prepared.madrax.residue_energies(simulation.context.getState(getPositions=True))
"""
from .force import KCAL_TO_KJ, NM_TO_ANGSTROM, MadraXForce
from .reporters import MadraXEnergyReporter
from .systems import MODES, PreparedSystem, create_system, prepare_system, select_platform

__all__ = ["KCAL_TO_KJ", "MODES", "MadraXEnergyReporter", "MadraXForce", "NM_TO_ANGSTROM", "PreparedSystem",
           "create_system", "prepare_system", "select_platform"]
