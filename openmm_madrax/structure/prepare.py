"""Structure preparation: from a file / OpenMM / mdtraj input to a validated protein model.

This is the only place where input is validated.  The result, :class:`~.model.Structure`, holds the
heavy atoms of the 20 standard amino acids in input order, their residues and chains, the chain
breaks and the static disulfide list; :mod:`.atomtypes` turns it into the typed tables the energy
needs.  Readers are in :mod:`.records`, the PDBFixer repair in :mod:`.repair`.  Rules (physics spec section 2.5; ``docs/input.md`` has the user-facing version):

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

import logging
import math
import os
import re
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from .. import params
from ..errors import MadraXWarning, StructureError
from ..residues import CAPS, WATERS, parent_residue
from .model import ResidueInfo, Structure, count_names, fmt_list
from .records import AtomRecord, ReadResult, ResidueGroup, group_residues, read_file, records_from_mdtraj, records_from_openmm
from .repair import pdbfixer_repair, replacement_parent

log = logging.getLogger("openmm_madrax")

ATOM_ALIASES = {"OT1": "O", "OT2": "OXT", "OC1": "O", "OC2": "OXT", "OT": "OXT", "O1": "O", "O2": "OXT"}
RESIDUE_ATOM_ALIASES = {("ILE", "CD"): "CD1"}
#: residues i, i+1 of a chain are consecutive when |C(i) - N(i+1)| <= this (A; spec 2.4)
PEPTIDE_BOND_MAX = 2.0
#: two CYS form a static disulfide when |SG - SG| <= this (A)
DISULFIDE_MAX = 2.5

_H_NAME = re.compile(r"^\d*[HD]")


def _is_hydrogen(rec: AtomRecord) -> bool:
    if rec.element in ("H", "D"):
        return True
    if rec.element == "":
        return bool(_H_NAME.match(rec.name))
    return False


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


def _res_label(rec: AtomRecord) -> str:
    return f"{rec.chain or '?'}:{rec.resname}{rec.resseq}{rec.icode}"


def _with_line(g: ResidueGroup) -> str:
    return f"{g.label} (line {g.first_line})" if g.first_line > 0 else g.label


@dataclass
class _Issue:
    text: str  # what and where
    fix: str  # what to do


def _raise(source: str, issues: List[_Issue]) -> None:
    if len(issues) == 1:
        raise StructureError(f"{source}: {issues[0].text}. {issues[0].fix}")
    body = "\n".join(f"  * {i.text}.\n    {i.fix}" for i in issues)
    raise StructureError(f"{source}: {len(issues)} problems prevent scoring:\n{body}")


def _altloc_pick(g: ResidueGroup, mode: str) -> Optional[str]:
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


def _canonical_atoms(g: ResidueGroup, rn: str, heavy_table, madrax: bool, problems: List[str],
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


@dataclass
class _Preparation:
    """What the preparation steps share: the input's name, the user's options and what they found."""

    source: str
    madrax: bool
    notes: List[str]
    dropped: Dict[str, List[str]] = field(default_factory=dict)
    issues: List[_Issue] = field(default_factory=list)


@dataclass
class _Residues:
    """Input residues sorted into kinds by :func:`_classify_residues`."""

    protein: List[ResidueGroup]
    nonstandard: List[ResidueGroup]
    waters: List[str]
    ligands: List[str]
    ligand_names: List[str]


def prepare_records(result: ReadResult, *, altloc="error", drop_nonstandard=False, repair=False,
                    chain_breaks="geometry", model=None, preprocess=None, name="structure") -> Structure:
    """Validate and filter the atom records of one input (see the module docstring for the rules).

    Every problem that blocks scoring is collected first and reported in one
    :class:`~openmm_madrax.errors.StructureError` before any time is spent on a repair."""
    if not result.records:
        raise StructureError(f"{result.source}: no atoms (no ATOM/HETATM records); is this a structure file?")
    prep = _Preparation(result.source, preprocess == "madrax", list(result.notes))
    records, chosen_model, n_models = _select_model(result.records, model, prep)
    n_input = len(records)
    if prep.madrax:
        records = _drop_hetatm(records, prep)
    heavy = [r for r in records if not _is_hydrogen(r)]  # MadraX builds its own hydrogens
    n_h = len(records) - len(heavy)
    if n_h:
        log.info(f"{prep.source}: {n_h} hydrogen atoms ignored (MadraX places its own)")
    groups = group_residues(heavy)
    _resolve_altlocs(groups, altloc, prep)
    kinds = _classify_residues(groups, prep)
    heavy_table = params.heavy_atoms()
    missing = _check_atoms(kinds, heavy_table, prep)
    keep_ns = _nonstandard_plan(kinds.nonstandard, result.modres, repair, drop_nonstandard, prep)
    if prep.issues:
        _raise(prep.source, prep.issues + _missing_issue(kinds.protein, missing, repair=False,
                                                         before_repair=bool(repair)))
    protein = kinds.protein
    repaired = False
    if repair and (missing or keep_ns):
        protein = pdbfixer_repair(protein, keep_ns, missing, prep.source, prep.notes, prep.dropped)
        repaired = True
        missing = _recheck_after_repair(protein, heavy_table, prep)
    if not protein:
        _raise_no_protein(kinds, prep)
    if missing:
        _raise(prep.source, _missing_issue(protein, missing, repair=repaired, before_repair=False))
    return _assemble(protein, result, chain_breaks, name, prep.notes, prep.dropped, n_input, n_models,
                     n_h, chosen_model)


def _select_model(records: List[AtomRecord], model, prep: _Preparation) -> Tuple[List[AtomRecord], object, int]:
    """The records of the chosen model (the first in the file unless asked); numbers their atoms."""
    models = list(dict.fromkeys(r.model for r in records))
    chosen = models[0] if model is None else model
    if chosen not in models:
        raise StructureError(f"{prep.source}: model {model} not found (models in the input: "
                             f"{fmt_list([str(m) for m in models])})")
    if len(models) > 1:
        prep.notes.append(f"{prep.source}: {len(models)} models; using model {chosen} only (model=N picks "
                          "another; score an ensemble frame by frame)")
        records = [r for r in records if r.model == chosen]
    for k, r in enumerate(records):
        if r.source_index < 0:
            r.source_index = k
    return records, chosen, len(models)


def _drop_hetatm(records: List[AtomRecord], prep: _Preparation) -> List[AtomRecord]:
    """Reference preprocessing: ATOM records only."""
    het = [r for r in records if r.hetatm]
    if het:
        het_res: Dict[tuple, AtomRecord] = {}
        for r in het:
            het_res.setdefault((r.chain_key, r.resseq, r.icode), r)
        labels = [_res_label(r) for r in het_res.values()]
        prep.dropped["hetatm"] = labels
        prep.notes.append(f"preprocess=madrax: dropped {len(labels)} HETATM residue(s): "
                          f"{count_names([r.resname for r in het_res.values()])}")
    return [r for r in records if not r.hetatm]


def _resolve_altlocs(groups: List[ResidueGroup], altloc: str, prep: _Preparation) -> None:
    """Keep one alternate location per residue, or record the residues that have several."""
    multi_alt: List[str] = []
    for g in groups:
        letters = "/".join(sorted({r.altloc for r in g.records if r.altloc}))
        line = g.records[0].line
        pick = _altloc_pick(g, "first" if altloc == "error" else altloc)
        g.label = _res_label(g.records[0])
        if pick is not None:
            multi_alt.append(f"{g.label} (altlocs {letters}" + (f", line {line})" if line > 0 else ")")
                             + ("" if altloc == "error" else f" -> {pick}"))
    if not multi_alt:
        return
    if altloc == "error":
        prep.issues.append(_Issue(
            f"{len(multi_alt)} residue(s) have more than one alternate location: {fmt_list(multi_alt, 8)}",
            "Choose one with altloc='first' (blank + A, as the MadraX reference preprocessing; CLI "
            "--altloc first) or altloc='occupancy' (CLI --altloc occupancy)."))
    else:
        prep.dropped["altloc"] = multi_alt
        prep.notes.append(f"altloc={altloc!r}: kept one alternate location in {len(multi_alt)} residue(s): "
                          f"{fmt_list(multi_alt, 8)}")


def _classify_residues(groups: List[ResidueGroup], prep: _Preparation) -> _Residues:
    """Sort residues into protein (standard or variant names), nonstandard polymer residues,
    waters and ligands; residue numbers shared by different residues are an issue."""
    kinds = _Residues([], [], [], [], [])
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
        if parent is not None and (rn == parent or not prep.madrax):
            if rn != parent:
                variants.setdefault(rn, parent)
                prep.dropped.setdefault("variants", []).append(f"{g.label} -> {parent}")
            g.parent = parent
            kinds.protein.append(g)
        elif rn in WATERS:
            kinds.waters.append(g.label)
        else:
            atom_names = {r.name for r in g.records}
            polymer_like = ({"N", "CA", "C"} <= atom_names) or rn in CAPS or parent is not None \
                or not g.records[0].hetatm
            if prep.madrax:
                prep.dropped.setdefault("nonstandard", []).append(g.label)
            elif polymer_like:
                kinds.nonstandard.append(g)
            else:
                kinds.ligands.append(g.label)
                kinds.ligand_names.append(g.input_name)
    if mixed:
        prep.issues.append(_Issue(f"{len(mixed)} residue number(s) are shared by different residues: "
                                  f"{fmt_list(mixed, 6)}",
                                  "Renumber the residues or give them distinct chain IDs or insertion codes."))
    if variants:
        prep.notes.append("read protonation-variant/terminal residue names as their parents: "
                          + ", ".join(f"{k} -> {v}" for k, v in variants.items())
                          + " (MadraX uses fixed charges and ignores the topology's protonation)")
    _note_ignored(kinds, prep)
    return kinds


def _note_ignored(kinds: _Residues, prep: _Preparation) -> None:
    if kinds.waters or kinds.ligands:
        parts = []
        if kinds.waters:
            parts.append(f"{len(kinds.waters)} water{'s' if len(kinds.waters) > 1 else ''}")
        if kinds.ligands:
            parts.append(f"{len(kinds.ligands)} ligand/ion/glycan residue{'s' if len(kinds.ligands) > 1 else ''} "
                         f"({count_names(kinds.ligand_names)})")
        prep.dropped["waters"] = kinds.waters
        prep.dropped["ligands"] = kinds.ligands
        prep.notes.append(f"{prep.source}: ignored {' and '.join(parts)}; MadraX scores the protein only")
    if prep.madrax and prep.dropped.get("nonstandard"):
        prep.notes.append(f"preprocess=madrax: dropped {len(prep.dropped['nonstandard'])} ATOM residue(s) with "
                          f"other than the 20 standard names: {fmt_list(prep.dropped['nonstandard'])}")


def _check_atoms(kinds: _Residues, heavy_table, prep: _Preparation) -> Dict[int, List[str]]:
    """Atom names, duplicates, coordinates of every protein residue; returns the missing heavy
    atoms by ``id(group)``."""
    problems: List[str] = []
    unknown_dropped: List[str] = []
    missing: Dict[int, List[str]] = {}
    for g in kinds.protein:
        miss = _canonical_atoms(g, g.parent, heavy_table, prep.madrax, problems, unknown_dropped)
        if miss:
            missing[id(g)] = miss
    for g in kinds.nonstandard:
        for r in g.records:
            if not (math.isfinite(r.x) and math.isfinite(r.y) and math.isfinite(r.z)):
                problems.append(f"non-finite coordinates ({r.x}, {r.y}, {r.z}) for {r.where()}")
    if unknown_dropped:
        prep.dropped["unknown_atoms"] = unknown_dropped
        prep.notes.append(f"preprocess=madrax: dropped {len(unknown_dropped)} atom(s) with names MadraX does not "
                          f"type: {fmt_list(unknown_dropped, 6)}")
    if problems:
        prep.issues.append(_Issue(f"{len(problems)} problem(s) with protein atoms: {fmt_list(problems, 8)}",
                                  "Fix these records in the input (rename or remove the atoms, or give real "
                                  "coordinates); hydrogens are ignored and need no fixing."))
    return missing


def _nonstandard_plan(nonstandard: List[ResidueGroup], modres, repair: bool, drop_nonstandard: bool,
                      prep: _Preparation) -> List[ResidueGroup]:
    """Nonstandard residues: the ones PDBFixer will replace (returned, parent set), the ones dropped,
    or an issue."""
    if not nonstandard:
        return []
    replaceable = {id(g): p for g in nonstandard
                   if (p := replacement_parent(g, modres)) is not None} if repair else {}
    keep_ns = [g for g in nonstandard if id(g) in replaceable]
    rest = [g for g in nonstandard if id(g) not in replaceable]
    if rest and drop_nonstandard:
        labels = [g.label for g in rest]
        prep.dropped["nonstandard"] = labels
        prep.notes.append(f"dropped {len(labels)} nonstandard residue(s): {fmt_list(labels)}"
                          " (their neighbours become chain breaks)")
    elif rest:
        labels = [_with_line(g) for g in rest]
        if repair:
            prep.issues.append(_Issue(
                f"{len(rest)} nonstandard residue(s) that PDBFixer cannot replace (no standard parent known; "
                f"UNK is an unknown amino acid, ACE/NME are caps): {fmt_list(labels, 8)}",
                "Remove them with drop_nonstandard=True (CLI --drop-nonstandard; it can be combined with "
                "repair=True), or edit the residues by hand."))
        else:
            prep.issues.append(_Issue(
                f"{len(rest)} nonstandard residue(s) in the protein: {fmt_list(labels, 8)}",
                "MadraX types only the 20 standard amino acids. Use drop_nonstandard=True (CLI "
                "--drop-nonstandard) to remove them (neighbours become chain breaks) or repair=True "
                "(CLI --repair) to replace modified residues such as MSE/CSO/SEP by their standard parents "
                "with PDBFixer."))
    for g in keep_ns:
        g.parent = replaceable[id(g)]
    return keep_ns


def _recheck_after_repair(protein: List[ResidueGroup], heavy_table, prep: _Preparation) -> Dict[int, List[str]]:
    problems: List[str] = []
    missing: Dict[int, List[str]] = {}
    for g in protein:
        miss = _canonical_atoms(g, g.parent, heavy_table, prep.madrax, problems, [])
        if miss:
            missing[id(g)] = miss
    if problems:
        _raise(prep.source, [_Issue(f"after repair, {len(problems)} problem(s) with protein atoms: "
                                    f"{fmt_list(problems, 8)}", "Fix these records in the input.")])
    return missing


def _raise_no_protein(kinds: _Residues, prep: _Preparation) -> None:
    what = []
    if kinds.waters:
        what.append(f"{len(kinds.waters)} waters")
    if kinds.ligands:
        what.append(f"ligands {count_names(kinds.ligand_names)}")
    if prep.dropped.get("nonstandard"):
        what.append(f"nonstandard residues {fmt_list(prep.dropped['nonstandard'], 5)}")
    if prep.dropped.get("hetatm"):
        what.append(f"HETATM residues {fmt_list(prep.dropped['hetatm'], 5)}")
    found = f" (found only {'; '.join(what)})" if what else ""
    raise StructureError(f"{prep.source}: no protein residues of the 20 standard amino acids{found}; nothing to "
                         "score")


def _missing_issue(protein: List[ResidueGroup], missing: Dict[int, List[str]], repair: bool,
                   before_repair: bool) -> List[_Issue]:
    if not missing:
        return []
    items = [f"{_with_line(g)} lacks {' '.join(missing[id(g)])}" for g in protein if id(g) in missing]
    if repair:
        return [_Issue(f"{len(items)} residue(s) miss heavy atoms even after the PDBFixer repair: "
                       f"{fmt_list(items, 8)}", "Complete these residues by hand or remove them from the input.")]
    fix = ("MadraX needs complete residues; " +
           ("repair=True will add them with PDBFixer once the problems above are resolved." if before_repair else
            "add them with repair=True (CLI --repair, uses PDBFixer) or complete the model."))
    return [_Issue(f"{len(items)} residue(s) miss heavy atoms: {fmt_list(items, 8)}", fix)]


def _assemble(protein: List[ResidueGroup], result: ReadResult, chain_breaks: str, name: str, notes: List[str],
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
            ok = dist <= PEPTIDE_BOND_MAX
        nxt[k] = ok
        if not ok:
            breaks.append(f"chain {a.chain_id}: break between {a.resname}{a.resseq}{a.icode} and "
                          f"{b.resname}{b.resseq}{b.icode} (C-N {dist:.2f} A)")
    if breaks:
        log.debug(f"{result.source}: {len(breaks)} chain break(s) ({chain_breaks} rule): " + "; ".join(breaks))

    # -- static disulfides: SG-SG within DISULFIDE_MAX
    sg = [(index_of[k]["SG"], k) for k, res in enumerate(residues) if res.resname == "CYS"]
    disulfides: List[Tuple[int, int]] = []
    if len(sg) > 1:
        pos = xyz[[s for s, _ in sg]]
        for i in range(len(sg)):
            d = np.linalg.norm(pos[i + 1:] - pos[i], axis=1)
            for j in np.nonzero(d <= DISULFIDE_MAX)[0]:
                disulfides.append((sg[i][0], sg[i + 1 + int(j)][0]))

    return Structure(name=name, residues=residues, atom_names=atom_names,
                     atom_residue=np.asarray(atom_res, dtype=np.int64), coords=xyz,
                     source_index=np.asarray(src, dtype=np.int64), chain_ids=chain_ids, next_consecutive=nxt,
                     disulfides=disulfides, breaks=breaks, warnings=notes, dropped=dropped, n_input_atoms=n_input,
                     n_models=n_models, n_hydrogens=n_h, model=chosen_model, source=result.source)

