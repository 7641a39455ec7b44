"""Mutant building, candidate rotamers and torsion-space side-chain relaxation (docs/ddg.md).

The pieces, all deterministic:

* :func:`parse_mutation` / :func:`parse_mutant`: ``CHAIN:WTresnumMUT`` (``A:G44S``, insertion codes
  as ``A:G44aS``; also the Guerois/FoldX-like ``"A G 44 S"``); a *mutant* joins point mutations
  with ``+`` (or ``,``).
Modules: :mod:`.parse`, :mod:`.geometry`, :mod:`.rotamers`, :mod:`.build`, :mod:`.relax`.

* :func:`side_chain_geometry`: internal coordinates (bond, angle, dihedral to three already placed
  atoms) of every side-chain heavy atom, measured once on PDBFixer's residue templates
  (``pdbfixer/templates/XXX.pdb``).  Dihedrals that are chi angles are free; atoms that share a chi
  axis with the chi-defining atom (CG2 of ILE/THR/VAL, CD2 of LEU, OD2 of ASP, ...) keep their
  template offset from it; ring atoms keep their template dihedrals.
* :func:`build_side_chain`: places a side chain on a residue's N, CA, C for given chi angles
  (natural extension of reference frames).
* :func:`candidate_rotamers`: chi sets from the project's fitted side-chain torsion densities
  (``params/torsion_densities.npz``, the mixture components with weight >= 1 %, most probable
  first), the wild-type chis of the site where they apply, and fixed values for the chis the
  densities do not cover (ILE chi2, PRO).
* :func:`mutant_structure`: a new :class:`~openmm_madrax.structure.Structure` with residues
  replaced (backbone atoms kept, side chain built), all preparation decisions of the input kept.
* :class:`TorsionRelaxer`: side chains of chosen residues relaxed by rotating about their chi bonds
  (bond lengths and angles never change), L-BFGS on the smooth MadraX energy.
"""

from .build import mutant_structure, residue_atom_order
from .geometry import AtomRecipe, build_side_chain, chi_definitions, measure_chis, n_chi, side_chain_geometry
from .parse import PointMutation, find_site, mutant_label, parse_mutant, parse_mutation
from .relax import TorsionRelaxer, lbfgs
from .rotamers import MIN_ROTAMER_WEIGHT, PRO_PUCKERS, UNSCORED_CHI_VALUES, candidate_rotamers, library_rotamers

__all__ = ["AtomRecipe", "MIN_ROTAMER_WEIGHT", "PRO_PUCKERS", "PointMutation", "TorsionRelaxer", "UNSCORED_CHI_VALUES",
           "build_side_chain", "candidate_rotamers", "chi_definitions", "find_site", "lbfgs", "library_rotamers",
           "measure_chis", "mutant_label", "mutant_structure", "n_chi", "parse_mutant", "parse_mutation",
           "residue_atom_order", "side_chain_geometry"]
