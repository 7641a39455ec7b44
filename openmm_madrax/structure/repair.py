"""Repair of incomplete or modified residues with PDBFixer (``load(..., repair=True)``).

Only the residues that need it are repaired, in small spatial clusters with their surroundings as
fixed context, so that a large structure with a few incomplete side chains costs seconds.
"""
from __future__ import annotations

import io as _io
import logging
import warnings
from typing import Dict, List, Optional

import numpy as np

from ..errors import StructureError
from ..residues import STANDARD
from .model import fmt_list
from .records import AtomRecord, ResidueGroup

log = logging.getLogger("openmm_madrax")

#: radius (A) around the residues being repaired within which PDBFixer sees the rest of the protein
REPAIR_CONTEXT = 10.0
#: residues to repair whose atoms come this close (A) are repaired together
REPAIR_CLUSTER = 8.0


def replacement_parent(g: ResidueGroup, modres) -> Optional[str]:
    """Standard parent PDBFixer can substitute for a nonstandard residue, or None."""
    rec = g.records[0]
    rn = rec.resname.upper()
    parent = modres.get((rec.chain, rec.resseq, rec.icode, rec.resname)) if modres else None
    if parent is None:
        try:
            from pdbfixer.pdbfixer import substitutions
        except ImportError:  # pragma: no cover - pdbfixer is a dependency
            return None
        parent = substitutions.get(rn)
    parent = parent.upper() if parent else None
    return parent if parent in STANDARD else None


def pdbfixer_repair(protein: List[ResidueGroup], replace: List[ResidueGroup], missing: Dict[int, List[str]], source: str,
                     notes: List[str], dropped: Dict[str, List[str]], seed: int = 1) -> List[ResidueGroup]:
    """Repair the residues that need it with PDBFixer and return the protein residues in input order.

    Residues to repair are grouped into spatial clusters (atoms within :data:`REPAIR_CLUSTER` A);
    each cluster goes to PDBFixer with the protein residues within :data:`REPAIR_CONTEXT` A as
    fixed context (written as chain fragments with their own numbering), one cluster after the
    other so later clusters see the atoms added before.  PDBFixer's clash relaxation costs
    (new atoms) x (all atoms) per step, so small systems keep large structures at seconds.
    Atoms of the input keep their coordinates and ``source_index``; added atoms are appended to
    their residue with ``source_index`` -1."""
    try:
        import pdbfixer  # noqa: F401
    except ImportError as exc:  # pragma: no cover - pdbfixer is a dependency
        raise StructureError("repair=True needs pdbfixer (pip install pdbfixer)") from exc
    from scipy.sparse.csgraph import connected_components
    from scipy.sparse import coo_matrix
    from scipy.spatial import cKDTree

    replace_ids = {id(g) for g in replace}
    everything = sorted(protein + replace, key=lambda g: g.index)  # input order
    for g in replace:
        g.atoms = list(g.records)
    targets = [k for k, g in enumerate(everything) if id(g) in missing or id(g) in replace_ids]

    # clusters of targets whose atoms come within REPAIR_CLUSTER of each other
    t_atoms = [(k, r) for k in targets for r in everything[k].atoms]
    t_res = np.array([k for k, _ in t_atoms])
    t_xyz = np.array([(r.x, r.y, r.z) for _, r in t_atoms], dtype=np.float64).reshape(-1, 3)
    slot_of = {k: n for n, k in enumerate(targets)}
    pairs = cKDTree(t_xyz).query_pairs(REPAIR_CLUSTER, output_type="ndarray")
    a = np.array([slot_of[k] for k in t_res[pairs[:, 0]]] if len(pairs) else [], dtype=np.int64)
    b = np.array([slot_of[k] for k in t_res[pairs[:, 1]]] if len(pairs) else [], dtype=np.int64)
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(targets), len(targets)))
    n_clusters, label = connected_components(graph, directed=False)
    clusters: List[List[int]] = [[] for _ in range(n_clusters)]
    for n, k in enumerate(targets):
        clusters[label[n]].append(k)
    clusters.sort(key=lambda c: c[0])
    log.info(f"{source}: repairing {len(targets)} residue(s) with PDBFixer in {n_clusters} cluster(s)")

    replaced: List[str] = []
    added: List[str] = []
    fixer_box: list = []  # one PDBFixer (its residue templates load once), re-used for every cluster
    for cluster in clusters:
        fixed = _pdbfixer_cluster(everything, cluster, replace_ids, source, seed, fixer_box)
        for k in cluster:
            g = everything[k]
            heavy_atoms = fixed[k]
            by_name = {r.name for r in g.atoms}
            names = {nm for nm, _, _ in heavy_atoms}
            ref = g.records[0]
            new = [AtomRecord(name=nm, resname=g.parent, chain=ref.chain, resseq=ref.resseq, icode=ref.icode,
                              x=x, y=y, z=z, element=el, model=ref.model, line=-1, source_index=-1,
                              chain_key=ref.chain_key)
                   for nm, el, (x, y, z) in heavy_atoms if nm not in by_name]
            kept = [r for r in g.atoms if r.name in names]
            removed = [r.name for r in g.atoms if r.name not in names]
            if id(g) in replace_ids:
                changes = ([f"removed {' '.join(removed)}"] if removed else []) + \
                          ([f"added {' '.join(r.name for r in new)}"] if new else [])
                replaced.append(f"{g.label} -> {g.parent}" + (f" ({', '.join(changes)})" if changes else ""))
                for r in kept:
                    r.resname = g.parent
            elif new:
                added.append(f"{g.label} ({' '.join(r.name for r in new)})")
            g.atoms = kept + new
    for k in targets:
        g = everything[k]
        g.records = g.atoms
        g.atoms = None
    if replaced:
        notes.append(f"repair: replaced {len(replaced)} nonstandard residue(s) by their standard parents: "
                     f"{fmt_list(replaced)}")
        dropped["replaced"] = replaced
    if added:
        notes.append(f"repair: PDBFixer added missing heavy atoms in {len(added)} residue(s): {fmt_list(added)}")
        dropped["added_atoms"] = added
    return everything


def _pdbfixer_cluster(everything: List[ResidueGroup], cluster: List[int], replace_ids: set, source: str, seed: int,
                      fixer_box: list):
    """One PDBFixer run: the residues ``cluster`` (indices into ``everything``) with their context.

    Returns ``{index: [(atom name, element, (x, y, z) in A), ...]}`` with the heavy atoms PDBFixer
    gives each residue of the cluster (existing atoms keep their input coordinates)."""
    from openmm import Platform, unit
    from openmm.app import PDBFile
    from pdbfixer import PDBFixer

    selected = _with_context(everything, cluster)
    lines = _fragment_pdb_lines(everything, selected, replace_ids)

    slot = {k: n for n, k in enumerate(selected)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            text = _io.StringIO("\n".join(lines) + "\n")
            if not fixer_box:
                # the CPU platform: small systems, no GPU context per cluster, same result on every machine
                try:
                    platform = Platform.getPlatformByName("CPU")
                except Exception:  # pragma: no cover - OpenMM always ships the CPU platform
                    platform = None
                fixer_box.append(PDBFixer(pdbfile=text, platform=platform))
                fixer = fixer_box[0]
            else:
                fixer = fixer_box[0]
                pdb = PDBFile(text)
                fixer.topology, fixer.positions = pdb.topology, pdb.positions
                fixer.sequences, fixer.modifiedResidues = [], []
            residues = list(fixer.topology.residues())
            if len(residues) != len(selected):  # pragma: no cover - defensive
                raise RuntimeError(f"PDBFixer read {len(residues)} residues instead of {len(selected)}")
            fixer.nonstandardResidues = [(residues[slot[k]], everything[k].parent) for k in cluster
                                         if id(everything[k]) in replace_ids]
            fixer.replaceNonstandardResidues()
            fixer.missingResidues = {}
            fixer.findMissingAtoms()
            wanted = {slot[k] for k in cluster}
            fixer.missingAtoms = {r: a for r, a in fixer.missingAtoms.items() if r.index in wanted}
            fixer.missingTerminals = {}  # no OXT: MadraX types the last O of a chain as the terminus
            fixer.addMissingAtoms(seed=seed)  # seed != 0 (0 means a random seed in OpenMM)
            positions = np.asarray(fixer.positions.value_in_unit(unit.angstrom), dtype=np.float64)
            residues = list(fixer.topology.residues())
        except Exception as exc:  # PDBFixer/OpenMM failures become a clear error, not a traceback
            labels = fmt_list([everything[k].label for k in cluster], 6)
            raise StructureError(f"{source}: PDBFixer could not repair {labels} ({type(exc).__name__}: {exc}); "
                                 "complete these residues by hand or remove them") from None
    out = {}
    for k in cluster:
        atoms = []
        for atom in residues[slot[k]].atoms():
            el = atom.element.symbol.upper() if atom.element is not None else ""
            if el in ("H", "D"):
                continue
            x, y, z = (float(v) for v in positions[atom.index])
            atoms.append((atom.name, el, (x, y, z)))
        out[k] = atoms
    return out


def _with_context(everything: List[ResidueGroup], cluster: List[int]) -> List[int]:
    """The residues of ``cluster`` and every residue within REPAIR_CONTEXT of them, sorted."""
    from scipy.spatial import cKDTree

    atom_res = np.concatenate([np.full(len(g.atoms), k) for k, g in enumerate(everything)])
    xyz = np.array([(r.x, r.y, r.z) for g in everything for r in g.atoms], dtype=np.float64)
    tree = cKDTree(xyz)
    context = set(cluster)
    in_cluster = np.isin(atom_res, cluster)
    for lst in tree.query_ball_point(xyz[in_cluster], r=REPAIR_CONTEXT):
        context.update(atom_res[lst].tolist())
    return sorted(context)


def _fragment_pdb_lines(everything: List[ResidueGroup], selected: List[int], replace_ids: set) -> List[str]:
    """PDB text of the selected residues: runs of consecutive residues as separate chains (TER),
    residues numbered 1..n, residues to replace as HETATM with their input names."""
    lines: List[str] = []
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    frag = -1
    prev = None
    number = 0
    serial = 0
    for k in selected:
        g = everything[k]
        if prev is None or k != prev + 1 or everything[prev].key[0] != g.key[0]:
            if lines:
                lines.append("TER")
            frag += 1
            number = 0
        prev = k
        number += 1
        rn = g.records[0].resname if id(g) in replace_ids else g.parent
        chain = letters[frag % len(letters)]
        record = "HETATM" if id(g) in replace_ids else "ATOM  "
        for r in g.atoms:
            serial += 1
            nm = r.name if len(r.name) >= 4 else f" {r.name:<3s}"
            el = (r.element or r.name.lstrip("0123456789")[:1]).strip()
            lines.append(f"{record}{serial % 100000:5d} {nm[:4]:4s} {rn[:3]:>3s} {chain}{number:4d}    "
                         f"{r.x:8.3f}{r.y:8.3f}{r.z:8.3f}  1.00  0.00          {el[:2]:>2s}")
    lines += ["TER", "END"]
    return lines
