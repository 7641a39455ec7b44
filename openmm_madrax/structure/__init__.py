"""From a structure file / OpenMM / mdtraj input to a validated, typed protein model.

* :mod:`.records` -- readers (PDB, PDBx/mmCIF, OpenMM Topology, mdtraj) -> flat atom records
* :mod:`.prepare` -- :func:`load`: every input rule (models, altlocs, variants, ligands, missing
  atoms, nonstandard residues); the only place where input is validated
* :mod:`.repair`  -- PDBFixer repair of incomplete or modified residues (``repair=True``)
* :mod:`.model`   -- :class:`Structure`, the prepared protein (``subset``, ``select_chains``)
* :mod:`.atomtypes` -- typing: Structure -> static tables for the energy
"""
from ..errors import MadraXWarning, StructureError
from .model import ResidueInfo, Structure
from .prepare import load, prepare_records

__all__ = ["MadraXWarning", "ResidueInfo", "Structure", "StructureError", "load", "prepare_records"]
