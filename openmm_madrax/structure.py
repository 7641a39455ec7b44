"""Structure preparation: from a file / OpenMM / mdtraj input to a validated protein model.

This is the only place where input is validated.  The result, :class:`Structure`, holds the heavy
atoms of the 20 standard amino acids in input order, their residues and chains, the chain breaks
and the static disulfide list; :mod:`openmm_madrax.atomtypes` turns it into the typed tensors the
energy needs.  Rules (physics spec section 2.5):

* first model only (``model=`` picks another); hydrogens are ignored (MadraX places its own);
* protonation variants (HID/HIE/HIP/HSD/HSE/HSP, CYX/CYM, LYN, ASH, GLH) map to the parent residue;
* waters, ions and ligands are ignored with one warning that lists them;
* nonstandard residues in a chain (MSE, SEP, CSO, UNK, ACE/NME caps, ...) are an error unless
  ``drop_nonstandard=True`` (removed; their neighbours become chain breaks) or ``repair=True``
  (PDBFixer replaces them by their standard parents);
* residues with more than one alternate location are an error unless ``altloc="first"`` (blank +
  ``A``, the reference preprocessing) or ``altloc="occupancy"`` (highest total occupancy);
* missing heavy atoms are an error unless ``repair=True`` (PDBFixer adds them);
* NaN/inf coordinates are an error naming the atom.

``preprocess="madrax"`` applies exactly the preprocessing used for the MadraX reference energies
(``spec/reference/README.md``): ATOM records only, 20 standard residue names only, altloc A/blank,
and MadraX's chain-break rule (residue numbers differing by one).
"""
from __future__ import annotations

import io as _io
import logging
import math
import re
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import params
from .errors import StructureError
from .io import AtomRecord, ReadResult, read_file, records_from_mdtraj, records_from_openmm

log = logging.getLogger("openmm_madrax")


class MadraXWarning(UserWarning):
    """Warnings about input that was changed or ignored during preparation."""


STANDARD = frozenset(params.RESIDUE_ORDER)
VARIANTS = {
    "HID": "HIS", "HIE": "HIS", "HIP": "HIS", "HSD": "HIS", "HSE": "HIS", "HSP": "HIS",
    "HISD": "HIS", "HISE": "HIS", "HISH": "HIS", "HISA": "HIS", "HISB": "HIS", "HIS1": "HIS",
    "HIS2": "HIS", "CYX": "CYS", "CYM": "CYS", "CYS2": "CYS", "LYN": "LYS", "LYSN": "LYS",
    "ASH": "ASP", "ASPH": "ASP", "GLH": "GLU", "GLUH": "GLU",
}
WATERS = frozenset({"HOH", "WAT", "H2O", "DOD", "D2O", "TIP", "TIP3", "TIP4", "TIP5", "SOL", "T3P",
                    "T4P", "T5P", "SPC", "SPCE", "HHO", "OHH"})
CAPS = frozenset({"ACE", "NME", "NMA", "NH2", "FOR", "NHE", "CT3"})
ATOM_ALIASES = {"OT1": "O", "OT2": "OXT", "OC1": "O", "OC2": "OXT", "OT": "OXT", "O1": "O", "O2": "OXT"}
RESIDUE_ATOM_ALIASES = {("ILE", "CD"): "CD1"}
BACKBONE = ("N", "CA", "C", "O")

_H_NAME = re.compile(r"^\d*[HD]")


def _is_hydrogen(rec: AtomRecord) -> bool:
    if rec.element in ("H", "D"):
        return True
    if rec.element == "":
        return bool(_H_NAME.match(rec.name))
    return False


@dataclass
class ResidueInfo:
    chain_id: str
    chain_index: int
    resseq: int
    icode: str
    resname: str  # one of the 20 standard names
    input_resname: str
    atom_start: int
    atom_stop: int

    @property
    def label(self) -> str:
        return f"{self.chain_id}:{self.resname}{self.resseq}{self.icode}"


@dataclass
class Structure:
    """A prepared protein: heavy atoms of standard residues, typed later by :mod:`atomtypes`."""

    name: str
    residues: List[ResidueInfo]
    atom_names: List[str]  # real atom names (N, CA, ..., OXT)
    atom_residue: np.ndarray  # (N,) residue index of every atom
    coords: np.ndarray  # (N, 3) float64, Angstrom
    source_index: np.ndarray  # (N,) index of the atom in the input (particle index for topologies)
    chain_ids: List[str]
    next_consecutive: np.ndarray  # (R,) bool: residue r and r+1 are bonded consecutive residues
    disulfides: List[Tuple[int, int]]  # static SG-SG pairs (atom indices) from geometry / SSBOND
    breaks: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    dropped: Dict[str, List[str]] = field(default_factory=dict)
    n_input_atoms: int = 0
    n_models: int = 1
    _tables: object = None

    @property
    def n_atoms(self) -> int:
        return len(self.atom_names)

    @property
    def n_residues(self) -> int:
        return len(self.residues)

    def residue_table(self):
        """pandas DataFrame with chain, resnum, icode, resname of every residue (output key)."""
        import pandas as pd

        return pd.DataFrame({
            "chain": [r.chain_id for r in self.residues],
            "resnum": [r.resseq for r in self.residues],
            "icode": [r.icode for r in self.residues],
            "resname": [r.resname for r in self.residues],
        })

    def tables(self):
        """Typed, static tensors for the energy (built once, cached)."""
        if self._tables is None:
            from .atomtypes import build_tables

            self._tables = build_tables(self)
        return self._tables

    def with_coords(self, coords: np.ndarray) -> "Structure":
        """Same topology, new coordinates (Angstrom); shares the typed tables."""
        coords = np.asarray(coords, dtype=np.float64).reshape(self.n_atoms, 3)
        new = Structure(**{k: getattr(self, k) for k in self.__dataclass_fields__ if k != "coords"},
                        coords=coords)
        return new

    def sequence(self, chain: Optional[str] = None) -> str:
        from .atomtypes import ONE_LETTER

        return "".join(ONE_LETTER[r.resname] for r in self.residues if chain is None or r.chain_id == chain)

    def to_pdb(self, path=None, coords: Optional[np.ndarray] = None) -> str:
        """Write the prepared heavy atoms as PDB text (and to ``path`` if given)."""
        xyz = self.coords if coords is None else np.asarray(coords).reshape(-1, 3)
        lines = []
        serial = 1
        for ri, res in enumerate(self.residues):
            if ri > 0 and self.residues[ri - 1].chain_index != res.chain_index:
                lines.append("TER")
            for a in range(res.atom_start, res.atom_stop):
                name = self.atom_names[a]
                el = name[0]
                pad = f" {name:<3s}" if len(name) < 4 else name
                x, y, z = xyz[a]
                lines.append(f"ATOM  {serial % 100000:5d} {pad:4s} {res.resname:3s} {res.chain_id[:1] or 'A':1s}"
                             f"{res.resseq:4d}{(res.icode or ' ')[:1]}   {x:8.3f}{y:8.3f}{z:8.3f}  1.00  0.00"
                             f"          {el:>2s}")
                serial += 1
        lines += ["TER", "END"]
        text = "\n".join(lines) + "\n"
        if path is not None:
            with open(path, "w") as fh:
                fh.write(text)
        return text


# ----------------------------------------------------------------------------------------------
# public entry point


def load(source, positions=None, *, altloc: str = "error", drop_nonstandard: bool = False,
         repair: bool = False, chain_breaks: Optional[str] = None, model: Optional[int] = None,
         preprocess: Optional[str] = None, name: Optional[str] = None, quiet: bool = False) -> Structure:
    """Read and validate a protein structure.

    Parameters
    ----------
    source
        a PDB / PDBx-mmCIF path, an OpenMM ``Topology`` (with ``positions``), an OpenMM
        ``PDBFile``/``PDBxFile``/``Modeller`` (anything with ``topology`` and ``positions``), an
        mdtraj ``Trajectory`` (first frame) or an mdtraj ``Topology`` (with ``positions`` in nm).
    altloc
        ``"error"`` (default), ``"first"`` (blank + altloc A, else the first letter) or
        ``"occupancy"`` (the altloc with the highest total occupancy per residue).
    drop_nonstandard
        remove nonstandard residues (MSE, UNK, caps, ...) instead of failing; their neighbours
        become chain breaks.  Dropped residues are listed in a warning.
    repair
        run PDBFixer on the protein part: replace nonstandard residues by their standard parents
        and add missing heavy atoms (no hydrogens, no missing loops).  Changes are listed.
    chain_breaks
        ``"geometry"`` (default): residues are consecutive when adjacent in a chain with
        |C(i) - N(i+1)| <= 2.0 A.  ``"numbering"``: MadraX's rule, residue numbers differ by one.
    model
        model number to read from multi-model files (default: the first).
    preprocess
        ``"madrax"``: the preprocessing of the MadraX reference energies (ATOM records only,
        standard residue names only, altloc A/blank, numbering chain breaks).
    """
    if preprocess not in (None, "madrax"):
        raise ValueError(f"preprocess must be None or 'madrax', not {preprocess!r}")
    if altloc not in ("error", "first", "occupancy"):
        raise ValueError(f"altloc must be 'error', 'first' or 'occupancy', not {altloc!r}")
    if preprocess == "madrax":
        altloc = "first" if altloc == "error" else altloc
        chain_breaks = chain_breaks or "numbering"
    chain_breaks = chain_breaks or "geometry"
    if chain_breaks not in ("geometry", "numbering"):
        raise ValueError(f"chain_breaks must be 'geometry' or 'numbering', not {chain_breaks!r}")

    result, default_name = _read_any(source, positions)
    structure = prepare_records(result, altloc=altloc, drop_nonstandard=drop_nonstandard, repair=repair,
                                chain_breaks=chain_breaks, model=model, preprocess=preprocess,
                                name=name or default_name)
    if not quiet:
        for msg in structure.warnings:
            warnings.warn(msg, MadraXWarning, stacklevel=2)
    return structure


def _read_any(source, positions) -> Tuple[ReadResult, str]:
    import os

    if isinstance(source, Structure):
        raise TypeError("already a prepared Structure")
    if isinstance(source, (str, os.PathLike)):
        path = str(source)
        base = os.path.basename(path)
        return read_file(path), base.split(".")[0]
    mod = type(source).__module__
    if mod.startswith("mdtraj"):
        import mdtraj

        if isinstance(source, mdtraj.Trajectory):
            if source.n_frames == 0:
                raise StructureError("the mdtraj Trajectory has no frames")
            return records_from_mdtraj(source.topology, source.xyz[0]), "trajectory"
        if isinstance(source, mdtraj.Topology):
            if positions is None:
                raise StructureError("an mdtraj Topology needs positions= (nm array, n_atoms x 3)")
            return records_from_mdtraj(source, np.asarray(positions).reshape(-1, 3)), "topology"
    if hasattr(source, "topology") and hasattr(source, "positions") and positions is None:
        return records_from_openmm(source.topology, source.positions), "topology"
    if hasattr(source, "atoms") and hasattr(source, "getNumAtoms"):
        if positions is None:
            raise StructureError("an OpenMM Topology needs positions=")
        return records_from_openmm(source, positions), "topology"
    raise TypeError(f"cannot read a structure from {type(source).__name__}; give a file path, an OpenMM "
                    "Topology with positions, or an mdtraj Trajectory")


# ----------------------------------------------------------------------------------------------
# the preparation pipeline


@dataclass
class _Res:
    key: tuple
    records: List[AtomRecord]


def _group_residues(records: Sequence[AtomRecord]) -> List[_Res]:
    groups: Dict[tuple, _Res] = {}
    order: List[_Res] = []
    for rec in records:
        key = (rec.chain_key, rec.resseq, rec.icode)
        g = groups.get(key)
        if g is None:
            g = _Res(key, [])
            groups[key] = g
            order.append(g)
        g.records.append(rec)
    return order


def _fmt_list(items: Sequence[str], limit: int = 12) -> str:
    items = list(items)
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f", ... ({len(items)} in all)"


def _res_label(rec: AtomRecord) -> str:
    return f"{rec.chain or '?'}:{rec.resname}{rec.resseq}{rec.icode}"


def prepare_records(result: ReadResult, *, altloc="error", drop_nonstandard=False, repair=False,
                    chain_breaks="geometry", model=None, preprocess=None, name="structure") -> Structure:
    records = result.records
    source = result.source
    if not records:
        raise StructureError(f"{source}: no ATOM/HETATM records (empty or not a structure file)")
    notes: List[str] = []
    dropped: Dict[str, List[str]] = {}

    # -- model selection
    models = sorted({r.model for r in records})
    chosen_model = models[0] if model is None else model
    if chosen_model not in models:
        raise StructureError(f"{source}: model {model} not found (models: {_fmt_list([str(m) for m in models])})")
    if len(models) > 1:
        notes.append(f"{source}: {len(models)} models; using model {chosen_model} only "
                     "(score a whole ensemble with openmm_madrax.score_trajectory)")
    records = [r for r in records if r.model == chosen_model]
    for k, r in enumerate(records):
        if r.source_index < 0:
            r.source_index = k
    n_input = len(records)

    # -- reference preprocessing: ATOM only, standard names only
    if preprocess == "madrax":
        het = [r for r in records if r.hetatm]
        if het:
            labels = sorted({_res_label(r) for r in het})
            dropped["hetatm"] = labels
            notes.append(f"preprocess=madrax: dropped {len(labels)} HETATM residues: {_fmt_list(labels)}")
        records = [r for r in records if not r.hetatm]

    # -- hydrogens
    heavy = [r for r in records if not _is_hydrogen(r)]
    n_h = len(records) - len(heavy)

    # -- residues, altlocs
    groups = _group_residues(heavy)
    multi_alt: List[str] = []
    for g in groups:
        letters = sorted({r.altloc for r in g.records if r.altloc})
        if len(letters) <= 1:
            continue
        if altloc == "error":
            multi_alt.append(f"{_res_label(g.records[0])} (altlocs {''.join(letters)}, line {g.records[0].line})")
            continue
        if altloc == "first":
            pick = "A" if "A" in letters else letters[0]
        else:
            occ = {L: sum(r.occupancy for r in g.records if r.altloc == L) for L in letters}
            pick = max(letters, key=lambda L: (occ[L], -letters.index(L)))
        kept = [r for r in g.records if r.altloc in ("", pick)]
        picked_names = {r.resname for r in kept if r.altloc == pick}
        if len(picked_names) == 1:
            rn = next(iter(picked_names))
            kept = [r for r in kept if r.resname == rn]
        g.records = kept
    if multi_alt:
        raise StructureError(
            f"{source}: {len(multi_alt)} residue(s) have more than one alternate location: "
            f"{_fmt_list(multi_alt, 8)}. Choose one with altloc='first' (blank + A, as the MadraX "
            "reference preprocessing; CLI --altloc first) or altloc='occupancy'.")

    # -- classify residues
    protein: List[_Res] = []
    nonstandard: List[_Res] = []
    waters: List[str] = []
    ligands: List[str] = []
    unknown_std: List[str] = []
    for g in groups:
        names = {r.resname.upper() for r in g.records}
        if len(names) > 1:
            raise StructureError(f"{source}: chain {g.records[0].chain} residue {g.key[1]}{g.key[2]} mixes residue "
                                 f"names {sorted(names)} (line {g.records[0].line}); check the numbering")
        rn = names.pop()
        parent = VARIANTS.get(rn, rn)
        label = _res_label(g.records[0])
        if parent in STANDARD:
            for r in g.records:
                r.resname = parent
            protein.append(g)
            if rn != parent:
                notes.append(f"protonation variant {rn} read as {parent} (MadraX uses fixed charges)")
        elif rn in WATERS:
            waters.append(label)
        else:
            atom_names = {r.name for r in g.records}
            polymer_like = ({"N", "CA", "C"} <= atom_names) or rn in CAPS or (not g.records[0].hetatm)
            if preprocess == "madrax":
                dropped.setdefault("nonstandard", []).append(label)
            elif polymer_like:
                nonstandard.append(g)
            else:
                ligands.append(label)
    if waters or ligands:
        parts = []
        if waters:
            parts.append(f"{len(waters)} water{'s' if len(waters) > 1 else ''}")
        if ligands:
            parts.append(f"{len(ligands)} ligand/ion residue{'s' if len(ligands) > 1 else ''} ({_fmt_list(ligands)})")
        dropped["waters"] = waters
        dropped["ligands"] = ligands
        notes.append(f"{source}: ignored {' and '.join(parts)}; MadraX scores the protein only")
    if n_h:
        notes_h = f"{n_h} hydrogen atoms ignored (MadraX places its own)"
        log.info(notes_h)

    if nonstandard and repair:
        return _repair_and_reload(protein + nonstandard, groups, source, notes, dropped, altloc, chain_breaks,
                                  name, n_input, len(models))
    if nonstandard:
        labels = [_res_label(g.records[0]) for g in nonstandard]
        if not drop_nonstandard:
            raise StructureError(
                f"{source}: {len(labels)} nonstandard residue(s) in the protein: {_fmt_list(labels)}. "
                "MadraX types only the 20 standard amino acids. Use drop_nonstandard=True (CLI "
                "--drop-nonstandard) to remove them (neighbours become chain breaks) or repair=True "
                "(--repair) to replace them by their standard parents with PDBFixer.")
        dropped["nonstandard"] = labels
        notes.append(f"dropped {len(labels)} nonstandard residue(s): {_fmt_list(labels)}")
    if "nonstandard" in dropped and preprocess == "madrax":
        notes.append(f"preprocess=madrax: dropped {len(dropped['nonstandard'])} nonstandard ATOM residue(s): "
                     f"{_fmt_list(dropped['nonstandard'])}")

    if not protein:
        what = []
        if waters:
            what.append(f"{len(waters)} waters")
        if ligands:
            what.append(f"ligands {_fmt_list(ligands, 5)}")
        if nonstandard:
            what.append(f"nonstandard residues {_fmt_list([_res_label(g.records[0]) for g in nonstandard], 5)}")
        found = f" (found only {', '.join(what)})" if what else ""
        raise StructureError(f"{source}: no protein residues of the 20 standard amino acids{found}")

    # -- atoms of every protein residue: names, unknowns, duplicates, completeness
    heavy_table = params.heavy_atoms()
    missing: List[str] = []
    problems: List[str] = []
    clean: List[Tuple[_Res, List[AtomRecord]]] = []
    for g in protein:
        rn = g.records[0].resname
        allowed = set(heavy_table[rn]) | {"OXT"}
        seen: Dict[str, AtomRecord] = {}
        atoms: List[AtomRecord] = []
        for r in g.records:
            nm = r.name.upper()
            nm = RESIDUE_ATOM_ALIASES.get((rn, nm), ATOM_ALIASES.get(nm, nm))
            if nm not in allowed:
                if preprocess == "madrax":
                    dropped.setdefault("unknown_atoms", []).append(r.where())
                    continue
                problems.append(f"unknown atom {r.name!r} in {rn} ({r.where()})")
                continue
            if nm in seen:
                problems.append(f"atom {nm} appears twice in {_res_label(r)} (lines {seen[nm].line} and {r.line})")
                continue
            r.name = nm
            seen[nm] = r
            atoms.append(r)
        miss = [a for a in heavy_table[rn] if a not in seen]
        if miss:
            missing.append(f"{_res_label(g.records[0])} lacks {' '.join(miss)}")
        for r in atoms:
            if not (math.isfinite(r.x) and math.isfinite(r.y) and math.isfinite(r.z)):
                problems.append(f"non-finite coordinates for {r.where()}")
        clean.append((g, atoms))
    if problems:
        raise StructureError(f"{source}: {len(problems)} problem(s) with protein atoms: {_fmt_list(problems, 8)}")
    if missing:
        if repair:
            return _repair_and_reload([g for g, _ in clean], groups, source, notes, dropped, altloc, chain_breaks,
                                      name, n_input, len(models))
        raise StructureError(
            f"{source}: {len(missing)} residue(s) miss heavy atoms: {_fmt_list(missing, 8)}. MadraX needs "
            "complete residues; add them with repair=True (CLI --repair, uses PDBFixer) or fix the model.")

    # -- order atoms: chains by first appearance, residues in input order, atoms in input order
    chain_order: Dict[object, int] = {}
    for g, _ in clean:
        chain_order.setdefault(g.key[0], len(chain_order))
    clean.sort(key=lambda item: chain_order[item[0].key[0]])  # stable: keeps residue order inside a chain
    residues: List[ResidueInfo] = []
    atom_names: List[str] = []
    atom_res: List[int] = []
    coords: List[Tuple[float, float, float]] = []
    src: List[int] = []
    chain_ids: List[str] = []
    chain_label_of: Dict[object, str] = {}
    for g, atoms in clean:
        ck = g.key[0]
        if ck not in chain_label_of:
            chain_label_of[ck] = atoms[0].chain
            chain_ids.append(atoms[0].chain)
        start = len(atom_names)
        for r in atoms:
            atom_names.append(r.name)
            atom_res.append(len(residues))
            coords.append((r.x, r.y, r.z))
            src.append(r.source_index)
        in_name = g.records[0].resname
        residues.append(ResidueInfo(chain_id=atoms[0].chain, chain_index=chain_order[ck], resseq=g.key[1],
                                    icode=g.key[2], resname=in_name, input_resname=in_name,
                                    atom_start=start, atom_stop=len(atom_names)))
    xyz = np.asarray(coords, dtype=np.float64)

    # -- consecutive residues / chain breaks (spec 2.4)
    R = len(residues)
    nxt = np.zeros(R, dtype=bool)
    breaks: List[str] = []
    index_of = [{atom_names[a]: a for a in range(res.atom_start, res.atom_stop)} for res in residues]
    for k in range(R - 1):
        a, b = residues[k], residues[k + 1]
        if a.chain_index != b.chain_index:
            continue
        dist = float(np.linalg.norm(xyz[index_of[k]["C"]] - xyz[index_of[k + 1]["N"]]))
        if chain_breaks == "numbering":
            ok = (b.resseq - a.resseq) == 1
        else:
            ok = dist <= 2.0
        nxt[k] = ok
        if not ok:
            breaks.append(f"chain {a.chain_id}: break between {a.resname}{a.resseq}{a.icode} and "
                          f"{b.resname}{b.resseq}{b.icode} (C-N {dist:.2f} A)")
    for msg in breaks:
        log.info(msg)

    # -- static disulfides: SG-SG within 2.5 A
    sg = [(index_of[k]["SG"], k) for k, res in enumerate(residues) if res.resname == "CYS"]
    disulfides: List[Tuple[int, int]] = []
    if len(sg) > 1:
        pos = xyz[[s for s, _ in sg]]
        for i in range(len(sg)):
            d = np.linalg.norm(pos[i + 1:] - pos[i], axis=1)
            for j in np.nonzero(d <= 2.5)[0]:
                disulfides.append((sg[i][0], sg[i + 1 + int(j)][0]))

    return Structure(name=name, residues=residues, atom_names=atom_names,
                     atom_residue=np.asarray(atom_res, dtype=np.int64), coords=xyz,
                     source_index=np.asarray(src, dtype=np.int64), chain_ids=chain_ids, next_consecutive=nxt,
                     disulfides=disulfides, breaks=breaks, warnings=notes, dropped=dropped, n_input_atoms=n_input,
                     n_models=len(models))


# ----------------------------------------------------------------------------------------------
# PDBFixer repair


def _repair_and_reload(protein_groups: List[_Res], all_groups, source, notes, dropped, altloc, chain_breaks,
                       name, n_input, n_models) -> Structure:
    """Write the protein part (incl. nonstandard residues) to PDB text, fix it, and prepare again."""
    try:
        from pdbfixer import PDBFixer
    except ImportError as exc:  # pragma: no cover - pdbfixer is a dependency
        raise StructureError("repair=True needs pdbfixer (pip install pdbfixer)") from exc
    from openmm.app import PDBFile

    keep = {id(g) for g in protein_groups}
    lines = []
    serial = 1
    prev_chain = None
    ordered = [g for g in all_groups if id(g) in keep]
    for g in ordered:
        for r in g.records:
            if prev_chain is not None and r.chain != prev_chain:
                lines.append("TER")
            prev_chain = r.chain
            nm = r.name if len(r.name) >= 4 else f" {r.name:<3s}"
            el = r.element or r.name.lstrip("0123456789")[:1]
            lines.append(f"{'HETATM' if r.hetatm else 'ATOM  '}{serial % 100000:5d} {nm:4s} {r.resname:>3s} "
                         f"{(r.chain or 'A')[:1]}{r.resseq:4d}{(r.icode or ' ')[:1]}   {r.x:8.3f}{r.y:8.3f}{r.z:8.3f}"
                         f"  1.00  0.00          {el:>2s}")
            serial += 1
    lines += ["TER", "END"]
    fixer = PDBFixer(pdbfile=_io.StringIO("\n".join(lines) + "\n"))
    fixer.findNonstandardResidues()
    replaced = [f"{r.chain.id}:{r.name}{r.id} -> {new}" for r, new in fixer.nonstandardResidues]
    fixer.replaceNonstandardResidues()
    fixer.missingResidues = {}
    fixer.findMissingAtoms()
    added = []
    for res, atoms in fixer.missingAtoms.items():
        added.append(f"{res.chain.id}:{res.name}{res.id} ({' '.join(a.name for a in atoms)})")
    for res, atoms in fixer.missingTerminals.items():
        added.append(f"{res.chain.id}:{res.name}{res.id} ({' '.join(atoms)})")
    fixer.addMissingAtoms()
    buf = _io.StringIO()
    PDBFile.writeFile(fixer.topology, fixer.positions, buf, keepIds=True)
    repaired = _read_text_pdb(buf.getvalue(), f"{source} (repaired)")
    s = prepare_records(repaired, altloc=altloc, drop_nonstandard=False, repair=False, chain_breaks=chain_breaks,
                        name=name)
    # repaired atoms have no meaningful source index in the original input
    s.source_index = np.full(s.n_atoms, -1, dtype=np.int64)
    msgs = list(notes)
    if replaced:
        msgs.append(f"repair: replaced {len(replaced)} nonstandard residue(s): {_fmt_list(replaced)}")
        dropped["replaced"] = replaced
    if added:
        msgs.append(f"repair: added missing heavy atoms in {len(added)} residue(s): {_fmt_list(added)}")
        dropped["added_atoms"] = added
    unrepaired = [m for m in s.warnings if "nonstandard" in m]
    s.warnings = msgs + [m for m in s.warnings if m not in msgs]
    s.dropped.update(dropped)
    s.n_input_atoms = n_input
    s.n_models = n_models
    return s


def _read_text_pdb(text: str, source: str) -> ReadResult:
    import os
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".pdb", delete=False) as fh:
        fh.write(text)
        path = fh.name
    try:
        res = read_file(path)
    finally:
        os.unlink(path)
    res.source = source
    return res
