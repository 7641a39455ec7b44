"""The MadraX structure of an OpenMM ``Topology``, and positions in nm from whatever the user has."""
from __future__ import annotations

import numpy as np

from ..errors import StructureError
from ..structure.model import fmt_list
from ..structure import Structure, load


def structure_from_topology(topology, positions=None, **load_options) -> Structure:
    """The MadraX :class:`Structure` of an OpenMM ``Topology`` (heavy atoms of standard residues).

    With ``positions`` the usual geometric rules of :func:`openmm_madrax.load` decide chain
    breaks (C(i)-N(i+1) <= 2 A) and static disulfides (SG-SG <= 2.5 A).  Without positions they
    come from the topology's bonds: residues i and i+1 of a chain are consecutive when the
    topology has the bond C(i)-N(i+1), and two CYS are a disulfide when it has the bond SG-SG.
    (Implementation: set-up-only placeholder coordinates that put bonded atoms on top of each other
    and everything else 30 A apart; they are never used for energies.)
    """
    if load_options.get("repair"):
        raise ValueError("repair=True is not available for a force: repair the model first (PDBFixer, or "
                         "openmm_madrax.openmm.prepare_system), then build the force on the repaired topology")
    if positions is None:
        positions = _placeholder_positions(topology)
        if load_options.get("chain_breaks") is None:
            load_options["chain_breaks"] = "geometry"
    structure = load(topology, positions, **load_options)
    if np.any(structure.source_index < 0):
        raise StructureError("the prepared structure has atoms without a topology particle index")
    return structure


def _placeholder_positions(topology) -> np.ndarray:
    """Set-up coordinates (nm) encoding the topology's C-N and SG-SG bonds as zero distances."""
    n = topology.getNumAtoms()
    residues = list(topology.residues())
    bonds = list(topology.bonds())
    if not bonds and len(residues) > 1:
        raise StructureError("the topology has no bonds, so consecutive residues cannot be decided without "
                             "positions: pass positions= or call topology.createStandardBonds() first")
    xyz = np.zeros((n, 3))
    for k, res in enumerate(residues):
        for atom in res.atoms():
            xyz[atom.index, 0] = 3.0 * k  # 30 A between residues
    for a, b in bonds:
        names = {a.name, b.name}
        if a.residue is b.residue:
            continue
        if names == {"C", "N"}:
            c, nn_ = (a, b) if a.name == "C" else (b, a)
            xyz[nn_.index] = xyz[c.index]
        elif names == {"SG"}:
            xyz[b.index] = xyz[a.index]
    return xyz


def positions_nm(source, n_particles: int) -> np.ndarray:
    """(n_particles x 3) float64 positions in nm from a State, Context, Quantity, mdtraj
    Trajectory (first frame) or a plain array (nm)."""
    from openmm import unit

    if hasattr(source, "getState") and hasattr(source, "getSystem"):  # Context
        source = source.getState(getPositions=True)
    if hasattr(source, "getPositions"):  # State (or PDBFile / Modeller)
        try:
            source = source.getPositions(asNumpy=True)
        except TypeError:
            source = source.getPositions()
    elif hasattr(source, "xyz") and hasattr(source, "n_frames"):  # mdtraj.Trajectory
        source = source.xyz[0]
    if unit.is_quantity(source):
        arr = np.asarray(source.value_in_unit(unit.nanometer), dtype=np.float64)
    else:
        arr = np.asarray(source, dtype=np.float64)
    arr = arr.reshape(-1, 3)
    if arr.shape[0] != n_particles:
        raise ValueError(f"positions hold {arr.shape[0]} particles, the topology of this MadraXForce has {n_particles}")
    return arr


def restrict_to_particles(structure: Structure, atoms) -> Structure:
    """The residues of ``structure`` whose heavy atoms are all among the particle indices ``atoms``.

    A residue with only some of its heavy atoms in ``atoms`` cannot be scored: that is an error
    naming the residues (MadraX's region must consist of whole residues)."""
    wanted = set(int(a) for a in atoms)
    keep, partial = [], []
    for k, res in enumerate(structure.residues):
        idx = [int(structure.source_index[a]) for a in range(res.atom_start, res.atom_stop)]
        inside = sum(i in wanted for i in idx)
        if inside == len(idx):
            keep.append(k)
        elif inside:
            partial.append(res.label)
    if partial:
        raise StructureError(f"the MadraX atoms cut through {len(partial)} residue(s): {fmt_list(partial, 8)}; "
                             "select whole residues (all their heavy atoms)")
    if not keep:
        raise StructureError("none of the selected atoms belongs to a standard amino-acid residue: nothing for "
                             "MadraX to score")
    return structure.subset(keep, name=f"{structure.name}[atoms]")
