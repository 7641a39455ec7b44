"""Structure preparation: from a file / OpenMM / mdtraj input to a validated protein model.

This is the only place where input is validated.  The result, :class:`Structure`, holds the heavy
atoms of the 20 standard amino acids in input order, their residues and chains, the chain breaks
and the static disulfide list; :mod:`openmm_madrax.atomtypes` turns it into the typed tensors the
energy needs.  Rules (physics spec section 2.5; ``docs/input.md`` has the user-facing version):

* first model only (``model=`` picks another); hydrogens are ignored (MadraX places its own);
* protonation variants (HID/HIE/HIP/HSD/HSE/HSP, CYX/CYM, LYN, ASH, GLH, ...) map to the parent;
* waters, ions, ligands and glycans are ignored with one warning that lists them;
* nonstandard residues in a chain (MSE, SEP, CSO, UNK, ACE/NME caps, ...) are an error unless
  ``drop_nonstandard=True`` (removed; their neighbours become chain breaks) or ``repair=True``
  (PDBFixer replaces those it knows by their standard parents; both options together drop the rest);
* residues with more than one alternate location are an error unless ``altloc="first"`` (blank +
  ``A``, the reference preprocessing) or ``altloc="occupancy"`` (highest total occupancy);
* missing heavy atoms are an error unless ``repair=True`` (PDBFixer adds them);
* unknown atom names, duplicate atoms and NaN/inf coordinates are errors naming the atom and line.

Every problem found is reported in one :class:`~openmm_madrax.errors.StructureError` that names
the residues (chain, name, number, file line) and the option that resolves it.

``preprocess="madrax"`` applies exactly the preprocessing used for the MadraX reference energies
(``spec/reference/README.md``): first model, ATOM records only, hydrogens removed, the 20 standard
residue names only, altloc A/blank per residue, and MadraX's chain-break rule (residue numbers
differing by one).
"""
from __future__ import annotations

import io as _io
import logging
import math
import re
import warnings
from collections import Counter
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
    "HIS2": "HIS", "HSH": "HIS", "CYX": "CYS", "CYM": "CYS", "CYS2": "CYS", "CYSH": "CYS",
    "LYN": "LYS", "LYSN": "LYS", "LSN": "LYS", "LYSH": "LYS", "ASH": "ASP", "ASPH": "ASP",
    "ASPP": "ASP", "GLH": "GLU", "GLUH": "GLU", "GLUP": "GLU",
}
WATERS = frozenset({"HOH", "WAT", "H2O", "DOD", "D2O", "TIP", "TIP3", "TIP4", "TIP5", "SOL", "T3P",
                    "T4P", "T5P", "SPC", "SPCE", "HHO", "OHH"})
CAPS = frozenset({"ACE", "NME", "NMA", "NH2", "FOR", "NHE", "CT3"})
ATOM_ALIASES = {"OT1": "O", "OT2": "OXT", "OC1": "O", "OC2": "OXT", "OT": "OXT", "O1": "O", "O2": "OXT"}
RESIDUE_ATOM_ALIASES = {("ILE", "CD"): "CD1"}
BACKBONE = ("N", "CA", "C", "O")

#: radius (A) around the residues being repaired within which PDBFixer sees the rest of the protein
REPAIR_CONTEXT = 10.0
#: residues to repair whose atoms come this close (A) are repaired together
REPAIR_CLUSTER = 8.0

_H_NAME = re.compile(r"^\d*[HD]")


def _is_hydrogen(rec: AtomRecord) -> bool:
    if rec.element in ("H", "D"):
        return True
    if rec.element == "":
        return bool(_H_NAME.match(rec.name))
    return False


def parent_residue(name: str) -> Optional[str]:
    """Standard parent of a residue name (itself, a protonation variant, or an N/C-terminal
    force-field name such as NALA/CALA), else None."""
    rn = name.upper()
    if rn in STANDARD:
        return rn
    if rn in VARIANTS:
        return VARIANTS[rn]
    if len(rn) == 4 and rn[0] in "NC":
        inner = rn[1:]
        return inner if inner in STANDARD else VARIANTS.get(inner)
    return None


@dataclass
class ResidueInfo:
    chain_id: str
    chain_index: int
    resseq: int
    icode: str
    resname: str  # one of the 20 standard names
    input_resname: str  # the name in the input (e.g. HIE, CSO before repair)
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
    #: (N,) index of the atom in the input: the particle index for topologies, the 0-based atom
    #: index within the chosen model for files; -1 for atoms added by ``repair=True``
    source_index: np.ndarray
    chain_ids: List[str]
    next_consecutive: np.ndarray  # (R,) bool: residue r and r+1 are bonded consecutive residues
    disulfides: List[Tuple[int, int]]  # static SG-SG pairs (atom indices) from geometry / SSBOND
    breaks: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    #: what preparation removed or changed, by category (waters, ligands, nonstandard, altloc,
    #: variants, hetatm, unknown_atoms, replaced, added_atoms); values are residue/atom labels
    dropped: Dict[str, List[str]] = field(default_factory=dict)
    n_input_atoms: int = 0
    n_models: int = 1
    n_hydrogens: int = 0  # hydrogens/deuteriums of the input that were ignored
    model: Optional[int] = None  # the model (file) or frame (trajectory) that was read
    source: str = ""
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

    def summary(self) -> str:
        """A short human-readable account of the prepared structure: chains, residues, atoms,
        chain breaks, disulfides and everything that was ignored, dropped or repaired."""
        lines = [f"{self.name}: {len(self.chain_ids)} chain(s), {self.n_residues} residues, {self.n_atoms} heavy "
                 f"atoms scored ({self.n_input_atoms} atoms read"
                 + (f", model {self.model} of {self.n_models}" if self.n_models > 1 else "") + ")"]
        by_chain: Dict[int, List[ResidueInfo]] = {}
        for r in self.residues:
            by_chain.setdefault(r.chain_index, []).append(r)
        n_breaks: Counter = Counter()
        for k in range(self.n_residues - 1):
            a, b = self.residues[k], self.residues[k + 1]
            if a.chain_index == b.chain_index and not self.next_consecutive[k]:
                n_breaks[a.chain_index] += 1
        for ci, res in by_chain.items():
            first, last = res[0], res[-1]
            nb = n_breaks.get(ci, 0)
            lines.append(f"  chain {first.chain_id or '(blank)'}: {len(res)} residues {first.resname}{first.resseq}"
                         f"{first.icode}-{last.resname}{last.resseq}{last.icode}"
                         + (f", {nb} chain break(s)" if nb else ""))
        for b in self.breaks:
            lines.append(f"    {b}")
        if self.disulfides:
            lines.append(f"  disulfides: {len(self.disulfides)}")
        if self.n_hydrogens:
            lines.append(f"  hydrogens ignored: {self.n_hydrogens}")
        titles = {"waters": "waters ignored", "ligands": "ligands/ions/glycans ignored",
                  "nonstandard": "nonstandard residues dropped", "hetatm": "HETATM residues dropped",
                  "altloc": "alternate locations resolved", "variants": "residue names mapped",
                  "unknown_atoms": "unknown atoms dropped", "replaced": "residues replaced by PDBFixer",
                  "added_atoms": "atoms added by PDBFixer"}
        for key, items in self.dropped.items():
            if items:
                lines.append(f"  {titles.get(key, key)}: {len(items)} ({_fmt_list(items, 6)})")
        return "\n".join(lines)

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
        a PDB / PDBx-mmCIF path (optionally gzipped), an OpenMM ``Topology`` (with ``positions``), an
        OpenMM ``PDBFile``/``PDBxFile``/``Modeller`` (anything with ``topology`` and ``positions``),
        an mdtraj ``Trajectory`` or an mdtraj ``Topology`` (with ``positions`` in nm).
    altloc
        ``"error"`` (default), ``"first"`` (blank + altloc A, else the first letter) or
        ``"occupancy"`` (the altloc with the highest total occupancy per residue).
    drop_nonstandard
        remove nonstandard residues (MSE, UNK, caps, ...) instead of failing; their neighbours
        become chain breaks.  Dropped residues are listed in a warning.
    repair
        run PDBFixer on the residues that need it (with the protein within 10 A as context):
        replace nonstandard residues PDBFixer knows (MSE, CSO, CAS, SEP, ... and MODRES records) by
        their standard parents and add missing heavy atoms (no hydrogens, no missing loops, no OXT).
        Changes are listed in a warning; added atoms have ``source_index`` -1.  With
        ``drop_nonstandard=True`` as well, nonstandard residues PDBFixer cannot replace (UNK, caps)
        are dropped.
    chain_breaks
        ``"geometry"`` (default): residues are consecutive when adjacent in a chain with
        |C(i) - N(i+1)| <= 2.0 A.  ``"numbering"``: MadraX's rule, residue numbers differ by one.
    model
        multi-model files: the model number as written in the MODEL record / ``pdbx_PDB_model_num``
        (default: the first model in the file).  mdtraj Trajectory: the frame index (default 0).
    preprocess
        ``"madrax"``: the preprocessing of the MadraX reference energies (ATOM records only,
        standard residue names only, altloc A/blank, numbering chain breaks).
    name
        name of the structure (default: the file name without extension).
    quiet
        do not emit the :class:`MadraXWarning` s (they stay in ``Structure.warnings``).
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
    if model is not None and (isinstance(model, bool) or not isinstance(model, (int, np.integer))):
        raise ValueError(f"model must be an integer, not {model!r}")

    result, default_name = _read_any(source, positions, model)
    structure = prepare_records(result, altloc=altloc, drop_nonstandard=drop_nonstandard, repair=repair,
                                chain_breaks=chain_breaks, model=model, preprocess=preprocess,
                                name=name or default_name)
    if log.isEnabledFor(logging.INFO):
        log.info(structure.summary())
    if not quiet:
        for msg in structure.warnings:
            warnings.warn(msg, MadraXWarning, stacklevel=2)
    return structure


def _read_any(source, positions, model=None) -> Tuple[ReadResult, str]:
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
            frame = 0 if model is None else int(model)
            if not 0 <= frame < source.n_frames:
                raise StructureError(f"the mdtraj Trajectory has {source.n_frames} frame(s); model={model} "
                                     f"is not a frame index (0..{source.n_frames - 1})")
            res = records_from_mdtraj(source.topology, source.xyz[frame], frame=frame)
            res.n_models = source.n_frames
            if source.n_frames > 1 and model is None:
                res.notes.append(f"the mdtraj Trajectory has {source.n_frames} frames; using frame 0 only "
                                 "(model=k picks frame k)")
            return res, "trajectory"
        if isinstance(source, mdtraj.Topology):
            if positions is None:
                raise StructureError("an mdtraj Topology needs positions= (nm array, n_atoms x 3)")
            return records_from_mdtraj(source, np.asarray(positions), frame=0 if model is None else model), \
                "topology"
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
    index: int = 0  # position in the input
    label: str = ""  # chain:NAMEnumber, for messages
    input_name: str = ""  # residue name in the input
    atoms: Optional[List[AtomRecord]] = None  # canonical heavy atoms (protein residues)
    parent: str = ""  # standard residue name (protein residues)

    @property
    def first_line(self) -> int:
        return self.records[0].line


def _group_residues(records: Sequence[AtomRecord]) -> List[_Res]:
    groups: Dict[tuple, _Res] = {}
    order: List[_Res] = []
    for rec in records:
        key = (rec.chain_key, rec.resseq, rec.icode)
        g = groups.get(key)
        if g is None:
            g = _Res(key, [], index=len(order))
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


def _with_line(g: _Res) -> str:
    return f"{g.label} (line {g.first_line})" if g.first_line > 0 else g.label


def _count_names(names: Sequence[str]) -> str:
    """'NAG x6, MAN x4, FUC' from a list of residue names."""
    return ", ".join(f"{n} x{c}" if c > 1 else n for n, c in Counter(names).most_common())


@dataclass
class _Issue:
    text: str  # what and where
    fix: str  # what to do


def _raise(source: str, issues: List[_Issue]) -> None:
    if len(issues) == 1:
        raise StructureError(f"{source}: {issues[0].text}. {issues[0].fix}")
    body = "\n".join(f"  * {i.text}.\n    {i.fix}" for i in issues)
    raise StructureError(f"{source}: {len(issues)} problems prevent scoring:\n{body}")


def _altloc_pick(g: _Res, mode: str) -> Optional[str]:
    """Resolve the alternate locations of one residue; returns the letter kept or None."""
    letters = sorted({r.altloc for r in g.records if r.altloc})
    if len(letters) <= 1:
        return None
    if mode == "occupancy":
        occ = {L: sum(r.occupancy for r in g.records if r.altloc == L) for L in letters}
        pick = max(letters, key=lambda L: (occ[L], -letters.index(L)))
    else:
        pick = "A" if "A" in letters else letters[0]
    kept = [r for r in g.records if r.altloc in ("", pick)]
    picked_names = {r.resname for r in kept if r.altloc == pick}
    if len(picked_names) == 1:  # microheterogeneity: keep the residue name of the chosen altloc
        rn = next(iter(picked_names))
        kept = [r for r in kept if r.resname == rn]
    g.records = kept
    return pick


def _canonical_atoms(g: _Res, rn: str, heavy_table, madrax: bool, problems: List[str],
                     unknown_dropped: List[str]) -> List[str]:
    """Map atom names of a protein residue to the canonical heavy-atom names; returns the missing ones.

    Unknown names, duplicates and non-finite coordinates go to ``problems`` (or, for unknown names
    in MadraX preprocessing, to ``unknown_dropped``)."""
    allowed = set(heavy_table[rn]) | {"OXT"}
    seen: Dict[str, AtomRecord] = {}
    atoms: List[AtomRecord] = []
    for r in g.records:
        nm = r.name.upper()
        nm = RESIDUE_ATOM_ALIASES.get((rn, nm), ATOM_ALIASES.get(nm, nm))
        if nm not in allowed:
            if madrax:
                unknown_dropped.append(r.where())
                continue
            problems.append(f"unknown atom {r.name!r} in {r.where()}")
            continue
        if nm in seen:
            first = seen[nm]
            where = (f"lines {first.line} and {r.line}" if r.line > 0 else
                     f"particles {first.source_index} and {r.source_index}")
            problems.append(f"atom {nm} appears twice in {g.label} ({where})")
            continue
        if not (math.isfinite(r.x) and math.isfinite(r.y) and math.isfinite(r.z)):
            problems.append(f"non-finite coordinates ({r.x}, {r.y}, {r.z}) for {r.where()}")
        r.name = nm
        r.resname = rn
        seen[nm] = r
        atoms.append(r)
    g.atoms = atoms
    g.parent = rn
    return [a for a in heavy_table[rn] if a not in seen]


def prepare_records(result: ReadResult, *, altloc="error", drop_nonstandard=False, repair=False,
                    chain_breaks="geometry", model=None, preprocess=None, name="structure") -> Structure:
    """Validate and filter the atom records of one input (see the module docstring for the rules)."""
    records = result.records
    source = result.source
    madrax = preprocess == "madrax"
    if not records:
        raise StructureError(f"{source}: no atoms (no ATOM/HETATM records); is this a structure file?")
    notes: List[str] = list(result.notes)
    dropped: Dict[str, List[str]] = {}
    issues: List[_Issue] = []

    # -- model selection: the first model in the file unless asked
    models = list(dict.fromkeys(r.model for r in records))
    chosen_model = models[0] if model is None else model
    if chosen_model not in models:
        raise StructureError(f"{source}: model {model} not found (models in the input: "
                             f"{_fmt_list([str(m) for m in models])})")
    if len(models) > 1:
        notes.append(f"{source}: {len(models)} models; using model {chosen_model} only (model=N picks another; "
                     "score an ensemble frame by frame)")
    if len(models) > 1:
        records = [r for r in records if r.model == chosen_model]
    for k, r in enumerate(records):
        if r.source_index < 0:
            r.source_index = k
    n_input = len(records)

    # -- reference preprocessing: ATOM records only
    if madrax:
        het = [r for r in records if r.hetatm]
        if het:
            het_res: Dict[tuple, AtomRecord] = {}
            for r in het:
                het_res.setdefault((r.chain_key, r.resseq, r.icode), r)
            labels = [_res_label(r) for r in het_res.values()]
            dropped["hetatm"] = labels
            notes.append(f"preprocess=madrax: dropped {len(labels)} HETATM residue(s): "
                         f"{_count_names([r.resname for r in het_res.values()])}")
        records = [r for r in records if not r.hetatm]

    # -- hydrogens are ignored (MadraX builds its own from local frames)
    heavy = [r for r in records if not _is_hydrogen(r)]
    n_h = len(records) - len(heavy)
    if n_h:
        log.info(f"{source}: {n_h} hydrogen atoms ignored (MadraX places its own)")

    # -- residues and alternate locations
    groups = _group_residues(heavy)
    multi_alt: List[str] = []
    for g in groups:
        letters = "/".join(sorted({r.altloc for r in g.records if r.altloc}))
        line = g.records[0].line
        pick = _altloc_pick(g, "first" if altloc == "error" else altloc)
        g.label = _res_label(g.records[0])
        if pick is not None:
            multi_alt.append(f"{g.label} (altlocs {letters}" + (f", line {line})" if line > 0 else ")")
                             + ("" if altloc == "error" else f" -> {pick}"))
    if multi_alt:
        if altloc == "error":
            issues.append(_Issue(
                f"{len(multi_alt)} residue(s) have more than one alternate location: {_fmt_list(multi_alt, 8)}",
                "Choose one with altloc='first' (blank + A, as the MadraX reference preprocessing; CLI "
                "--altloc first) or altloc='occupancy' (CLI --altloc occupancy)."))
        else:
            dropped["altloc"] = multi_alt
            notes.append(f"altloc={altloc!r}: kept one alternate location in {len(multi_alt)} residue(s): "
                         f"{_fmt_list(multi_alt, 8)}")

    # -- classify residues
    protein: List[_Res] = []
    nonstandard: List[_Res] = []
    waters: List[str] = []
    ligands: List[str] = []
    ligand_names: List[str] = []
    variants: Dict[str, str] = {}
    mixed: List[str] = []
    for g in groups:
        names = list(dict.fromkeys(r.resname.upper() for r in g.records))
        if len(names) > 1:
            mixed.append(f"chain {g.records[0].chain or '?'} residue {g.key[1]}{g.key[2]} has atoms of "
                         f"{' and '.join(names)}" + (f" (line {g.first_line})" if g.first_line > 0 else ""))
            continue
        rn = names[0]
        g.input_name = g.records[0].resname
        parent = parent_residue(rn)
        if parent is not None and (rn == parent or not madrax):
            if rn != parent:
                variants.setdefault(rn, parent)
                dropped.setdefault("variants", []).append(f"{g.label} -> {parent}")
            g.parent = parent
            protein.append(g)
        elif rn in WATERS:
            waters.append(g.label)
        else:
            atom_names = {r.name for r in g.records}
            polymer_like = ({"N", "CA", "C"} <= atom_names) or rn in CAPS or parent is not None \
                or not g.records[0].hetatm
            if madrax:
                dropped.setdefault("nonstandard", []).append(g.label)
            elif polymer_like:
                nonstandard.append(g)
            else:
                ligands.append(g.label)
                ligand_names.append(g.input_name)
    if mixed:
        issues.append(_Issue(f"{len(mixed)} residue number(s) are shared by different residues: "
                             f"{_fmt_list(mixed, 6)}",
                             "Renumber the residues or give them distinct chain IDs or insertion codes."))
    if variants:
        notes.append("read protonation-variant/terminal residue names as their parents: "
                     + ", ".join(f"{k} -> {v}" for k, v in variants.items())
                     + " (MadraX uses fixed charges and ignores the topology's protonation)")
    if waters or ligands:
        parts = []
        if waters:
            parts.append(f"{len(waters)} water{'s' if len(waters) > 1 else ''}")
        if ligands:
            parts.append(f"{len(ligands)} ligand/ion/glycan residue{'s' if len(ligands) > 1 else ''} "
                         f"({_count_names(ligand_names)})")
        dropped["waters"] = waters
        dropped["ligands"] = ligands
        notes.append(f"{source}: ignored {' and '.join(parts)}; MadraX scores the protein only")
    if madrax and dropped.get("nonstandard"):
        notes.append(f"preprocess=madrax: dropped {len(dropped['nonstandard'])} ATOM residue(s) with other than "
                     f"the 20 standard names: {_fmt_list(dropped['nonstandard'])}")

    # -- atoms of every protein residue: names, duplicates, coordinates, completeness
    heavy_table = params.heavy_atoms()
    problems: List[str] = []
    unknown_dropped: List[str] = []
    missing: Dict[int, List[str]] = {}  # id(group) -> missing atom names
    for g in protein:
        miss = _canonical_atoms(g, g.parent, heavy_table, madrax, problems, unknown_dropped)
        if miss:
            missing[id(g)] = miss
    for g in nonstandard:
        for r in g.records:
            if not (math.isfinite(r.x) and math.isfinite(r.y) and math.isfinite(r.z)):
                problems.append(f"non-finite coordinates ({r.x}, {r.y}, {r.z}) for {r.where()}")
    if unknown_dropped:
        dropped["unknown_atoms"] = unknown_dropped
        notes.append(f"preprocess=madrax: dropped {len(unknown_dropped)} atom(s) with names MadraX does not type: "
                     f"{_fmt_list(unknown_dropped, 6)}")
    if problems:
        issues.append(_Issue(f"{len(problems)} problem(s) with protein atoms: {_fmt_list(problems, 8)}",
                             "Fix these records in the input (rename or remove the atoms, or give real "
                             "coordinates); hydrogens are ignored and need no fixing."))

    # -- nonstandard residues: PDBFixer replacement, dropping, or an error
    repaired = False
    if nonstandard:
        replaceable = {id(g): p for g in nonstandard
                       if (p := _replacement_parent(g, result.modres)) is not None} if repair else {}
        keep_ns = [g for g in nonstandard if id(g) in replaceable]
        rest = [g for g in nonstandard if id(g) not in replaceable]
        if rest and drop_nonstandard:
            labels = [g.label for g in rest]
            dropped["nonstandard"] = labels
            notes.append(f"dropped {len(labels)} nonstandard residue(s): {_fmt_list(labels)}"
                         " (their neighbours become chain breaks)")
        elif rest:
            labels = [_with_line(g) for g in rest]
            if repair:
                issues.append(_Issue(
                    f"{len(rest)} nonstandard residue(s) that PDBFixer cannot replace (no standard parent known; "
                    f"UNK is an unknown amino acid, ACE/NME are caps): {_fmt_list(labels, 8)}",
                    "Remove them with drop_nonstandard=True (CLI --drop-nonstandard; it can be combined with "
                    "repair=True), or edit the residues by hand."))
            else:
                issues.append(_Issue(
                    f"{len(rest)} nonstandard residue(s) in the protein: {_fmt_list(labels, 8)}",
                    "MadraX types only the 20 standard amino acids. Use drop_nonstandard=True (CLI "
                    "--drop-nonstandard) to remove them (neighbours become chain breaks) or repair=True "
                    "(CLI --repair) to replace modified residues such as MSE/CSO/SEP by their standard parents "
                    "with PDBFixer."))
        for g in keep_ns:
            g.parent = replaceable[id(g)]
    else:
        keep_ns = []

    if issues:  # report everything that blocks scoring before spending time on a repair
        _raise(source, issues + _missing_issue(protein, missing, repair=False, before_repair=bool(repair)))

    if repair and (missing or keep_ns):
        protein = _pdbfixer_repair(protein, keep_ns, missing, source, notes, dropped)
        repaired = True
        missing = {}
        for g in protein:
            miss = _canonical_atoms(g, g.parent, heavy_table, madrax, problems, [])
            if miss:
                missing[id(g)] = miss
        if problems:
            _raise(source, [_Issue(f"after repair, {len(problems)} problem(s) with protein atoms: "
                                   f"{_fmt_list(problems, 8)}", "Fix these records in the input.")])

    if not protein:
        what = []
        if waters:
            what.append(f"{len(waters)} waters")
        if ligands:
            what.append(f"ligands {_count_names(ligand_names)}")
        if dropped.get("nonstandard"):
            what.append(f"nonstandard residues {_fmt_list(dropped['nonstandard'], 5)}")
        if dropped.get("hetatm"):
            what.append(f"HETATM residues {_fmt_list(dropped['hetatm'], 5)}")
        found = f" (found only {'; '.join(what)})" if what else ""
        raise StructureError(f"{source}: no protein residues of the 20 standard amino acids{found}; nothing to "
                             "score")
    if missing:
        _raise(source, _missing_issue(protein, missing, repair=repaired, before_repair=False))

    return _assemble(protein, result, chain_breaks, name, notes, dropped, n_input, len(models),
                     n_h, chosen_model)


def _missing_issue(protein: List[_Res], missing: Dict[int, List[str]], repair: bool,
                   before_repair: bool) -> List[_Issue]:
    if not missing:
        return []
    items = [f"{_with_line(g)} lacks {' '.join(missing[id(g)])}" for g in protein if id(g) in missing]
    if repair:
        return [_Issue(f"{len(items)} residue(s) miss heavy atoms even after the PDBFixer repair: "
                       f"{_fmt_list(items, 8)}", "Complete these residues by hand or remove them from the input.")]
    fix = ("MadraX needs complete residues; " +
           ("repair=True will add them with PDBFixer once the problems above are resolved." if before_repair else
            "add them with repair=True (CLI --repair, uses PDBFixer) or complete the model."))
    return [_Issue(f"{len(items)} residue(s) miss heavy atoms: {_fmt_list(items, 8)}", fix)]


def _assemble(protein: List[_Res], result: ReadResult, chain_breaks: str, name: str, notes: List[str],
              dropped: Dict[str, List[str]], n_input: int, n_models: int, n_h: int, chosen_model) -> Structure:
    # -- order atoms: chains by first appearance, residues in input order, atoms in input order
    chain_order: Dict[object, int] = {}
    for g in protein:
        chain_order.setdefault(g.key[0], len(chain_order))
    protein = sorted(protein, key=lambda g: chain_order[g.key[0]])  # stable: keeps residue order in a chain
    residues: List[ResidueInfo] = []
    atom_names: List[str] = []
    atom_res: List[int] = []
    coords: List[Tuple[float, float, float]] = []
    src: List[int] = []
    chain_ids: List[str] = []
    seen_chain: set = set()
    for g in protein:
        ck = g.key[0]
        atoms = g.atoms
        if ck not in seen_chain:
            seen_chain.add(ck)
            chain_ids.append(atoms[0].chain)
        start = len(atom_names)
        for r in atoms:
            atom_names.append(r.name)
            atom_res.append(len(residues))
            coords.append((r.x, r.y, r.z))
            src.append(r.source_index)
        residues.append(ResidueInfo(chain_id=atoms[0].chain, chain_index=chain_order[ck], resseq=g.key[1],
                                    icode=g.key[2], resname=g.parent, input_resname=g.input_name,
                                    atom_start=start, atom_stop=len(atom_names)))
    xyz = np.asarray(coords, dtype=np.float64).reshape(-1, 3)

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
    if breaks:
        log.debug(f"{result.source}: {len(breaks)} chain break(s) ({chain_breaks} rule): " + "; ".join(breaks))

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
                     n_models=n_models, n_hydrogens=n_h, model=chosen_model, source=result.source)


# ----------------------------------------------------------------------------------------------
# PDBFixer repair


def _replacement_parent(g: _Res, modres) -> Optional[str]:
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


def _pdbfixer_repair(protein: List[_Res], replace: List[_Res], missing: Dict[int, List[str]], source: str,
                     notes: List[str], dropped: Dict[str, List[str]], seed: int = 1) -> List[_Res]:
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
                     f"{_fmt_list(replaced)}")
        dropped["replaced"] = replaced
    if added:
        notes.append(f"repair: PDBFixer added missing heavy atoms in {len(added)} residue(s): {_fmt_list(added)}")
        dropped["added_atoms"] = added
    return everything


def _pdbfixer_cluster(everything: List[_Res], cluster: List[int], replace_ids: set, source: str, seed: int,
                      fixer_box: list):
    """One PDBFixer run: the residues ``cluster`` (indices into ``everything``) with their context.

    Returns ``{index: [(atom name, element, (x, y, z) in A), ...]}`` with the heavy atoms PDBFixer
    gives each residue of the cluster (existing atoms keep their input coordinates)."""
    from openmm import Platform, unit
    from openmm.app import PDBFile
    from pdbfixer import PDBFixer
    from scipy.spatial import cKDTree

    atom_res = np.concatenate([np.full(len(g.atoms), k) for k, g in enumerate(everything)])
    xyz = np.array([(r.x, r.y, r.z) for g in everything for r in g.atoms], dtype=np.float64)
    tree = cKDTree(xyz)
    context = set(cluster)
    in_cluster = np.isin(atom_res, cluster)
    for lst in tree.query_ball_point(xyz[in_cluster], r=REPAIR_CONTEXT):
        context.update(atom_res[lst].tolist())
    selected = sorted(context)

    # PDB text: runs of consecutive residues as separate chains (TER), residues numbered 1..n
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
            labels = _fmt_list([everything[k].label for k in cluster], 6)
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
