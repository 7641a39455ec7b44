"""Sanity checks of the atom records that the preparation (:mod:`.prepare`) runs on every input.

Each check returns human-readable problems (what and where: residue, atom, file line) that
:func:`~.prepare.prepare_records` collects into its one :class:`~openmm_madrax.errors.StructureError`.
They catch input that would otherwise give a NaN, a traceback deep in the energy, or a finite but
meaningless energy:

* coordinates that are not finite or beyond :data:`MAX_COORDINATE` (a cell list over such a span
  cannot be built, and no protein structure in Angstrom has them);
* element columns that contradict the atom name of an amino-acid atom (an atom named CA with
  element H would otherwise be dropped as a hydrogen, and the residue reported as incomplete);
* heavy atoms closer than :data:`MIN_ATOM_DISTANCE` (stacked copies, all atoms at one point: the
  energy of such a structure means nothing and its gradient is undefined); atoms closer than
  :data:`CLOSE_ATOM_DISTANCE` are a warning (a severe clash that dominates the energy; such
  errors exist in deposited low-resolution structures, e.g. 3PGK Val214 CA / Lys217 CG at 0.19 A);
* peptide bonds between residues that are not next to each other in the input (shuffled records:
  the chain would be cut at the wrong places, silently changing the energy).
"""
from __future__ import annotations

import math
from typing import Dict, List, Sequence, Set, Tuple

import numpy as np

from ..residues import parent_residue
from .model import fmt_list
from .records import AtomRecord

#: largest |x|, |y|, |z| accepted (Angstrom); the PDB format itself stops at 9999.999
MAX_COORDINATE = 1.0e5
#: two heavy atoms closer than this (Angstrom) are overlapping: an error
MIN_ATOM_DISTANCE = 0.1
#: closer than this (Angstrom) is a warning; the shortest heavy-atom bond in a protein is about
#: 1.23 A (C=O)
CLOSE_ATOM_DISTANCE = 0.5


def coordinate_problem(rec: AtomRecord, check_range: bool = True) -> str:
    """A description of what is wrong with the coordinates of ``rec``, or ``""`` (``check_range``:
    also |x|, |y|, |z| <= :data:`MAX_COORDINATE`)."""
    xyz = (rec.x, rec.y, rec.z)
    if not all(math.isfinite(v) for v in xyz):
        return f"non-finite coordinates ({rec.x}, {rec.y}, {rec.z}) for {rec.where()}"
    if check_range and max(abs(v) for v in xyz) > MAX_COORDINATE:
        return (f"coordinates ({rec.x:g}, {rec.y:g}, {rec.z:g}) of {rec.where()} are beyond "
                f"+-{MAX_COORDINATE:g} A (not a structure in Angstrom)")
    return ""


def element_conflicts(records: Sequence[AtomRecord], heavy_table: Dict[str, Sequence[str]],
                      aliases) -> Tuple[List[str], Set[int]]:
    """Amino-acid atoms whose element column contradicts their name.

    An atom of one of the 20 amino acids (or a protonation variant) whose name is one of that
    residue's heavy atoms (CA, OG1, SD, ...) is a carbon, nitrogen, oxygen or sulfur: the first
    letter of the name.  A non-blank element column that says otherwise is reported.  Returns the
    problems and ``id()`` of the records concerned (so that an atom with element H is not silently
    dropped as a hydrogen).  ``aliases(residue, name)`` gives the canonical atom name."""
    problems: List[str] = []
    ids: Set[int] = set()
    for r in records:
        if not r.element:
            continue
        parent = parent_residue(r.resname)
        if parent is None:
            continue
        name = aliases(parent, r.name.upper())
        if name not in heavy_table[parent] and name != "OXT":
            continue
        expected = name[0]
        if r.element != expected:
            problems.append(f"{r.where()} has element {r.element!r} in its element column, but its name makes it "
                            f"{expected}")
            ids.add(id(r))
    return problems, ids


def overlapping_atoms(atoms: Sequence[AtomRecord], limit: int = 6) -> Tuple[List[str], List[str]]:
    """(errors, warnings): heavy atoms closer than :data:`MIN_ATOM_DISTANCE` to another one, and
    those closer than :data:`CLOSE_ATOM_DISTANCE` (nearest neighbours only, so that N atoms at one
    point cost O(N log N), not N^2 pairs)."""
    from scipy.spatial import cKDTree

    atoms = [a for a in atoms if not coordinate_problem(a)]
    if len(atoms) < 2:
        return [], []
    xyz = np.array([(a.x, a.y, a.z) for a in atoms], dtype=np.float64)
    dist, idx = cKDTree(xyz).query(xyz, k=2)

    def pairs(lo: float, hi: float) -> Tuple[int, List[str]]:
        close = np.nonzero((dist[:, 1] >= lo) & (dist[:, 1] < hi))[0]
        out: List[str] = []
        reported: Set[Tuple[int, int]] = set()
        for i in close.tolist():
            j = int(idx[i, 1]) if int(idx[i, 1]) != i else int(idx[i, 0])
            key = (min(i, j), max(i, j))
            if key not in reported:
                reported.add(key)
                out.append(f"{atoms[key[0]].where()} and {atoms[key[1]].where()} are {dist[i, 1]:.2f} A apart")
        return len(close), out

    n_err, err = pairs(0.0, MIN_ATOM_DISTANCE)
    n_warn, warn = pairs(MIN_ATOM_DISTANCE, CLOSE_ATOM_DISTANCE)
    errors = [f"{n_err} heavy atom(s) lie within {MIN_ATOM_DISTANCE:g} A of another (overlapping atoms): "
              f"{fmt_list(err, limit)}"] if err else []
    warnings = [f"{n_warn} heavy atom(s) lie within {CLOSE_ATOM_DISTANCE:g} A of another (a severe clash that will "
                f"dominate the clash and van der Waals energy): {fmt_list(warn, limit)}"] if warn else []
    return errors, warnings


def peptide_bonds_out_of_order(labels: Sequence[str], chain_index: Sequence[int], numbers: Sequence[tuple],
                               c_xyz: np.ndarray, n_xyz: np.ndarray, max_bond: float, limit: int = 6) -> List[str]:
    """Peptide bonds (C(i) - N(j) <= ``max_bond``) between residues of one chain that are not
    consecutive in the input order (residue j does not follow residue i).  A bond from the last
    residue of a chain to its first is allowed when the last one also has the higher residue
    number ``numbers`` (a head-to-tail cyclic peptide, not a chain whose first residue was moved
    to the end)."""
    from scipy.spatial import cKDTree

    R = len(labels)
    if R < 2:
        return []
    chain_index = list(chain_index)
    first: Dict[int, int] = {}
    last: Dict[int, int] = {}
    for k, c in enumerate(chain_index):
        first.setdefault(c, k)
        last[c] = k
    bad: List[str] = []
    for i, partners in enumerate(cKDTree(n_xyz).query_ball_point(c_xyz, r=max_bond)):
        for j in partners:
            if j == i + 1 or j == i or chain_index[i] != chain_index[j]:
                continue
            if i == last[chain_index[i]] and j == first[chain_index[j]] and numbers[i] > numbers[j]:
                continue  # cyclic peptide
            d = float(np.linalg.norm(c_xyz[i] - n_xyz[j]))
            bad.append(f"C of {labels[i]} - N of {labels[j]} ({d:.2f} A)")
    if not bad:
        return []
    return [f"{len(bad)} peptide bond(s) join residues that are not next to each other in the input: "
            f"{fmt_list(bad, limit)}"]
