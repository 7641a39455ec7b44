"""Readers that turn structure files and OpenMM / mdtraj objects into flat atom records.

All readers produce the same thing, a :class:`ReadResult` holding a list of :class:`AtomRecord`
(coordinates in Angstrom), so that every validation rule of :mod:`openmm_madrax.structure.prepare`
is written once.  PDB and PDBx/mmCIF files are parsed here (not through OpenMM's readers) because
the preparation step needs what those readers hide: alternate-location letters, HETATM flags,
model numbers, MODRES records and line numbers for error messages.

Readers only report what is in the input; they raise :class:`~openmm_madrax.errors.StructureError`
for text they cannot read (truncated or non-numeric fields), naming the file and line.
"""
from __future__ import annotations

import gzip
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from ..errors import StructureError
from ..residues import STANDARD, VARIANTS


@dataclass
class AtomRecord:
    """One atom as read from the input, before any filtering."""

    name: str
    resname: str
    chain: str
    resseq: int
    icode: str
    x: float
    y: float
    z: float
    element: str = ""
    altloc: str = ""
    hetatm: bool = False
    occupancy: float = 1.0
    bfactor: float = 0.0
    model: int = 1
    line: int = -1  # 1-based line in the source file, -1 when not from a file
    source_index: int = -1  # particle index in an OpenMM/mdtraj topology, else -1 (set by prepare)
    chain_key: object = None  # identity of the chain (chain ID for files, chain index for topologies)

    def where(self) -> str:
        loc = f"chain {self.chain or '?'} residue {self.resname} {self.resseq}{self.icode} atom {self.name}"
        if self.line > 0:
            loc += f" (line {self.line})"
        elif self.source_index >= 0:
            loc += f" (particle {self.source_index})"
        return loc


#: key of a modified residue: (chain ID, residue number, insertion code, residue name)
ModresKey = Tuple[str, int, str, str]


@dataclass
class ReadResult:
    records: List[AtomRecord]
    n_models: int
    source: str
    ssbonds: List[Tuple[Tuple[str, int, str], Tuple[str, int, str]]]
    #: standard parent of modified residues declared by the file (PDB MODRES / mmCIF
    #: ``_pdbx_struct_mod_residue``), used by the PDBFixer repair
    modres: Dict[ModresKey, str] = field(default_factory=dict)
    #: remarks of the reader that the preparation passes on as warnings (e.g. reused chain IDs)
    notes: List[str] = field(default_factory=list)


def _open_text(path: Path) -> List[str]:
    try:
        if str(path).endswith(".gz"):
            with gzip.open(path, "rt", errors="replace") as fh:
                return fh.read().splitlines()
        with open(path, "r", errors="replace") as fh:
            return fh.read().splitlines()
    except (OSError, EOFError) as exc:
        raise StructureError(f"{path}: cannot read the file ({exc})") from None


def _parse_float(text: str, what: str, lineno: int, source: str, context: str = "") -> float:
    try:
        return float(text)
    except ValueError:
        where = f" ({context})" if context else ""
        raise StructureError(f"{source}: line {lineno}{where}: cannot read {what} from {text.strip()!r}; "
                             "fix or remove this record") from None


def _loose_float(text: str, default: float) -> float:
    """Occupancy / B-factor: informative only, so unreadable values fall back to a default."""
    try:
        return float(text) if text.strip() else default
    except ValueError:
        return default


# ----------------------------------------------------------------------------------------------
# PDB


def read_pdb(path: os.PathLike | str) -> ReadResult:
    """Read every ATOM/HETATM record of a PDB file (all models)."""
    path = Path(path)
    if not path.is_file():
        raise StructureError(f"{path}: no such file")
    return _parse_pdb_lines(_open_text(path), str(path))


def _parse_pdb_lines(lines: Sequence[str], source: str) -> ReadResult:
    records: List[AtomRecord] = []
    ssbonds = []
    modres: Dict[ModresKey, str] = {}
    notes: List[str] = []
    model = 1
    n_models = 0
    saw_model = False
    # chain IDs reused after TER: a residue key that repeats in a chain after a TER starts a new chain
    segment: Dict[str, int] = {}
    residues_seen: Dict[Tuple[str, int], set] = {}
    ter_after: set = set()  # chain IDs closed by a TER record
    prev_res = None
    for lineno, line in enumerate(lines, start=1):
        tag = line[:6]
        if tag == "MODEL ":
            saw_model = True
            n_models += 1
            try:
                model = int(line[10:14])
            except ValueError:
                model = n_models
            segment.clear()
            residues_seen.clear()
            ter_after.clear()
            prev_res = None
            continue
        if tag.startswith("TER"):
            if records:
                ter_after.add(records[-1].chain)
            prev_res = None
            continue
        if tag == "SSBOND":
            try:
                a = (line[15].strip(), int(line[17:21]), line[21].strip())
                b = (line[29].strip(), int(line[31:35]), line[35].strip())
                ssbonds.append((a, b))
            except (ValueError, IndexError):
                pass
            continue
        if tag == "MODRES":
            try:
                key = (line[16].strip(), int(line[18:22]), line[22].strip(), line[12:15].strip())
                modres[key] = line[24:27].strip()
            except (ValueError, IndexError):
                pass
            continue
        if tag not in ("ATOM  ", "HETATM"):
            continue
        if len(line) < 54:
            raise StructureError(f"{source}: line {lineno}: {tag.strip()} record is truncated ({len(line)} "
                                 f"characters; the coordinates need columns 31-54): {line!r}")
        name = line[12:16].strip()
        resname = line[17:20].strip() if len(line[17:21].strip()) <= 3 else line[17:21].strip()
        chain = line[21].strip()
        text = line[22:26]
        try:
            resseq = int(text)
        except ValueError:
            try:  # hybrid-36 residue numbers of very large files
                resseq = _hy36decode(4, text.strip())
            except ValueError:
                raise StructureError(f"{source}: line {lineno}: cannot read the residue number from "
                                     f"{text.strip()!r} (columns 23-26); fix this record") from None
        icode = line[26].strip()
        context = f"{resname} {chain}{resseq}{icode} atom {name}"
        x = _parse_float(line[30:38], "the x coordinate", lineno, source, context)
        y = _parse_float(line[38:46], "the y coordinate", lineno, source, context)
        z = _parse_float(line[46:54], "the z coordinate", lineno, source, context)
        res_key = (chain, resseq, icode, resname)
        if res_key != prev_res:
            seg = segment.get(chain, 0)
            seen = residues_seen.setdefault((chain, seg), set())
            if (resseq, icode) in seen and chain in ter_after:
                seg += 1
                segment[chain] = seg
                seen = residues_seen.setdefault((chain, seg), set())
                notes.append(f"{source}: chain ID {chain or '(blank)'} is used again after a TER record (line "
                             f"{lineno}, residue {resname} {resseq}{icode}); read as a separate chain")
            ter_after.discard(chain)
            seen.add((resseq, icode))
            prev_res = res_key
        seg = segment.get(chain, 0)
        element = line[76:78].strip() if len(line) >= 78 else ""
        records.append(AtomRecord(
            name=name, resname=resname, chain=chain, resseq=resseq, icode=icode,
            x=x, y=y, z=z, element=element.upper(), altloc=line[16].strip(), hetatm=tag == "HETATM",
            occupancy=_loose_float(line[54:60], 1.0), bfactor=_loose_float(line[60:66], 0.0),
            model=model if saw_model else 1, line=lineno, chain_key=chain if seg == 0 else (chain, seg)))
    if not saw_model:
        n_models = 1 if records else 0
    else:
        n_models = len({r.model for r in records})
    return ReadResult(records, n_models, source, ssbonds, modres, notes)


def _hy36decode(width: int, s: str) -> int:
    digits_upper = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    digits_lower = digits_upper.lower()
    if len(s) == width and s[0] in digits_upper[10:]:
        value = 0
        for ch in s:
            value = value * 36 + digits_upper.index(ch)
        return value - 10 * 36 ** (width - 1) + 10 ** width
    if len(s) == width and s[0] in digits_lower[10:]:
        value = 0
        for ch in s:
            value = value * 36 + digits_lower.index(ch)
        return value + 16 * 36 ** (width - 1) + 10 ** width
    raise ValueError(s)


# ----------------------------------------------------------------------------------------------
# PDBx / mmCIF

# a CIF value: 'quoted' or "quoted" (a quote only closes when followed by white space), or bare
_CIF_TOKEN = re.compile(r"'(?:[^']|'(?=\S))*'(?=\s|$)|\"(?:[^\"]|\"(?=\S))*\"(?=\s|$)|\S+")
_CIF_NULL = ("?", ".")


def _cif_unquote(tok: str) -> str:
    if len(tok) >= 2 and tok[0] == tok[-1] and tok[0] in "'\"":
        return tok[1:-1]
    return tok


def _cif_values(line: str) -> List[str]:
    """The values on one line of a CIF loop body (comments stripped)."""
    if "'" not in line and '"' not in line:
        if "#" in line:
            line = re.sub(r"(^|\s)#.*$", "", line)
        return line.split()
    out = []
    for tok in _CIF_TOKEN.findall(line):
        if tok.startswith("#"):
            break
        out.append(_cif_unquote(tok))
    return out


def _cif_loops(lines: Sequence[str], categories: Sequence[str], source: str):
    """Rows of the CIF categories asked for: ``{category: (tags, [(first line, values), ...])}``.

    Handles loops and single-row key-value form, quoted values, semicolon text fields, comments and
    blank lines.  A loop body ends at the next tag, ``loop_``, ``data_``, ``save_`` or end of file.
    """
    want = {c.lower(): c for c in categories}
    found: Dict[str, Tuple[List[str], List[Tuple[int, List[str]]]]] = {}
    n = len(lines)
    i = 0

    def category_of(tag: str) -> Optional[str]:
        cat = tag.split(".", 1)[0][1:].lower()
        return want.get(cat)

    def text_field(k: int) -> Tuple[str, int]:
        # lines[k] starts with ';' -> value up to the line that is just ';'
        parts = [lines[k][1:]]
        k += 1
        while k < n and not lines[k].startswith(";"):
            parts.append(lines[k])
            k += 1
        if k >= n:
            raise StructureError(f"{source}: unterminated ';' text field")
        return "\n".join(parts), k + 1

    while i < n:
        s = lines[i].strip()
        low = s.lower()
        if low == "loop_" or low.startswith("loop_ "):
            j = i + 1
            tags: List[str] = []
            while j < n and lines[j].lstrip().startswith("_"):
                tags.append(lines[j].split()[0])
                j += 1
            cat = category_of(tags[0]) if tags else None
            rows: List[Tuple[int, List[str]]] = []
            pending: List[str] = []
            start = j + 1
            while j < n:
                raw = lines[j]
                st = raw.lstrip()
                head = st[:5].lower()
                if st.startswith("_") or head == "loop_" or head == "data_" or head == "save_":
                    break
                if raw.startswith(";"):
                    if not pending:
                        start = j + 1
                    value, j = text_field(j)
                    pending.append(value)
                else:
                    if st and not st.startswith("#"):
                        if not pending:
                            start = j + 1
                        if cat is not None:
                            pending.extend(_cif_values(raw))
                        else:
                            pending.append("x")  # contents of other loops are not needed
                    j += 1
                if cat is not None:
                    while len(pending) >= len(tags):
                        rows.append((start, pending[:len(tags)]))
                        pending = pending[len(tags):]
                        start = j + 1
                else:
                    pending = []
            if cat is not None:
                if pending:
                    raise StructureError(f"{source}: line {start}: the {cat} loop ends with an incomplete row "
                                         f"({len(pending)} of {len(tags)} values); the file is truncated or "
                                         "has an unquoted value with spaces")
                short = [t.split(".", 1)[1] for t in tags]
                if cat in found:
                    found[cat][1].extend(rows)
                else:
                    found[cat] = (short, rows)
            i = j
            continue
        if s.startswith("_"):
            cat = category_of(s.split()[0])
            if cat is not None:
                # key-value form: one row
                tags: List[str] = []
                vals: List[str] = []
                start = i + 1
                while i < n and lines[i].lstrip().startswith("_") and category_of(lines[i].split()[0]) == cat:
                    parts = lines[i].split(None, 1)
                    tags.append(parts[0].split(".", 1)[1])
                    rest = _cif_values(parts[1]) if len(parts) > 1 else []
                    i += 1
                    if not rest and i < n and lines[i].startswith(";"):
                        value, i = text_field(i)
                        rest = [value]
                    elif not rest and i < n:
                        rest = _cif_values(lines[i])
                        i += 1
                    vals.append(rest[0] if rest else "?")
                found.setdefault(cat, (tags, []))[1].append((start, vals))
                continue
        if lines[i].startswith(";"):
            _, i = text_field(i)
            continue
        i += 1
    return found


def read_mmcif(path: os.PathLike | str) -> ReadResult:
    """Read the ``_atom_site`` records of a PDBx/mmCIF file (author numbering and chain IDs)."""
    path = Path(path)
    if not path.is_file():
        raise StructureError(f"{path}: no such file")
    return _parse_mmcif_lines(_open_text(path), str(path))


def _parse_mmcif_lines(lines: Sequence[str], source: str) -> ReadResult:
    loops = _cif_loops(lines, ["atom_site", "pdbx_struct_mod_residue"], source)
    if "atom_site" not in loops:
        raise StructureError(f"{source}: no _atom_site records found (is this a PDBx/mmCIF file?)")
    columns, rows = loops["atom_site"]
    col = {c: k for k, c in enumerate(columns)}

    def pick(*names):
        return [col[nm] for nm in names if nm in col]

    # author fields first (they match the PDB format), label fields as fall-back per row
    c_name = pick("auth_atom_id", "label_atom_id")
    c_res = pick("auth_comp_id", "label_comp_id")
    c_chain = pick("auth_asym_id", "label_asym_id")
    c_seq = pick("auth_seq_id", "label_seq_id")
    c_group = pick("group_PDB")
    c_ins = pick("pdbx_PDB_ins_code")
    c_alt = pick("label_alt_id")
    c_x, c_y, c_z = pick("Cartn_x"), pick("Cartn_y"), pick("Cartn_z")
    c_occ = pick("occupancy")
    c_b = pick("B_iso_or_equiv")
    c_el = pick("type_symbol")
    c_model = pick("pdbx_PDB_model_num")
    missing = [nm for nm, c in (("atom name (auth_atom_id/label_atom_id)", c_name),
                                ("residue name (auth_comp_id/label_comp_id)", c_res),
                                ("chain (auth_asym_id/label_asym_id)", c_chain),
                                ("residue number (auth_seq_id/label_seq_id)", c_seq),
                                ("Cartn_x", c_x), ("Cartn_y", c_y), ("Cartn_z", c_z)) if not c]
    if missing:
        raise StructureError(f"{source}: the _atom_site records lack {', '.join(missing)}")

    records: List[AtomRecord] = []
    for lineno, vals in rows:
        def val(cs, default=""):
            for c in cs:
                v = vals[c]
                if v not in _CIF_NULL:
                    return v
            return default

        name = val(c_name)
        resname = val(c_res)
        chain = val(c_chain)
        seq_text = val(c_seq)
        context = f"{resname} {chain}{seq_text} atom {name}"
        try:
            resseq = int(seq_text)
        except ValueError:
            raise StructureError(f"{source}: line {lineno} ({context}): cannot read the residue number from "
                                 f"{seq_text!r}; fix this record") from None
        x = _parse_float(val(c_x, "?"), "Cartn_x", lineno, source, context)
        y = _parse_float(val(c_y, "?"), "Cartn_y", lineno, source, context)
        z = _parse_float(val(c_z, "?"), "Cartn_z", lineno, source, context)
        try:
            model = int(val(c_model, "1"))
        except ValueError:
            model = 1
        records.append(AtomRecord(
            name=name, resname=resname, chain=chain, resseq=resseq, icode=val(c_ins),
            x=x, y=y, z=z, element=val(c_el).upper(), altloc=val(c_alt),
            hetatm=val(c_group, "ATOM") == "HETATM", occupancy=_loose_float(val(c_occ, "1"), 1.0),
            bfactor=_loose_float(val(c_b, "0"), 0.0), model=model, line=lineno, chain_key=chain))

    modres: Dict[ModresKey, str] = {}
    if "pdbx_struct_mod_residue" in loops:
        mcols, mrows = loops["pdbx_struct_mod_residue"]
        mc = {c: k for k, c in enumerate(mcols)}
        for _, vals in mrows:
            try:
                chain = vals[mc["auth_asym_id"]]
                seq = int(vals[mc["auth_seq_id"]])
                ins = vals[mc["PDB_ins_code"]] if "PDB_ins_code" in mc else "?"
                comp = vals[mc.get("auth_comp_id", mc.get("label_comp_id"))]
                parent = vals[mc["parent_comp_id"]]
            except (KeyError, ValueError, TypeError, IndexError):
                continue
            modres[(chain, seq, "" if ins in _CIF_NULL else ins, comp)] = parent
    n_models = len({r.model for r in records})
    return ReadResult(records, n_models, source, [], modres, [])


# ----------------------------------------------------------------------------------------------
# dispatch


def read_file(path: os.PathLike | str) -> ReadResult:
    """Dispatch on the file extension (.pdb/.ent, .cif/.mmcif, optionally gzipped); sniff otherwise."""
    p = str(path).lower()
    if p.endswith(".gz"):
        p = p[:-3]
    if not os.path.exists(path):
        raise StructureError(f"{path}: no such file")
    if not os.path.isfile(path):
        raise StructureError(f"{path}: not a file")
    if os.path.getsize(path) == 0:
        raise StructureError(f"{path}: the file is empty")
    if p.endswith((".cif", ".mmcif", ".pdbx")):
        return read_mmcif(path)
    if p.endswith((".pdb", ".ent", ".pqr")):
        return read_pdb(path)
    lines = _open_text(Path(path))
    head = "\n".join(lines[:200])
    if "_atom_site." in head or head.lstrip().startswith("data_"):
        return _parse_mmcif_lines(lines, str(path))
    return _parse_pdb_lines(lines, str(path))


def read_pdb_text(text: str, source: str = "PDB text") -> ReadResult:
    """Parse PDB-format text (as written by OpenMM or :meth:`Structure.to_pdb`)."""
    return _parse_pdb_lines(text.splitlines(), source)


# ----------------------------------------------------------------------------------------------
# OpenMM / mdtraj objects

#: residue names read as amino acids in topologies (which have no HETATM flag)
_PROTEIN_LIKE = frozenset(STANDARD) | frozenset(VARIANTS)


def _hetero_flags(residues, bonds) -> Dict[int, bool]:
    """Topologies have no HETATM flag: a residue counts as hetero unless it is a (variant) amino
    acid, has backbone N/CA/C atoms, or is peptide-linked (C-N bond) to another residue."""
    linked = set()
    for a1, a2 in bonds:
        r1, r2 = a1.residue, a2.residue
        if r1 is r2:
            continue
        names = {a1.name, a2.name}
        if names == {"C", "N"}:
            linked.add(id(r1))
            linked.add(id(r2))
    out = {}
    std = _PROTEIN_LIKE
    for res in residues:
        names = {a.name for a in (res.atoms() if callable(res.atoms) else res.atoms)}
        protein = res.name.upper() in std or {"N", "CA", "C"} <= names or id(res) in linked
        out[id(res)] = not protein
    return out


def records_from_openmm(topology, positions) -> ReadResult:
    """Atom records from an OpenMM ``Topology`` and positions (``Quantity`` or nm array)."""
    xyz = _positions_to_angstrom(positions, topology.getNumAtoms())
    residues = list(topology.residues())
    het = _hetero_flags(residues, list(topology.bonds()))
    records: List[AtomRecord] = []
    for atom in topology.atoms():
        res = atom.residue
        el = atom.element.symbol.upper() if atom.element is not None else ""
        rid = str(res.id).strip()
        m = re.match(r"^(-?\d+)(\D*)$", rid)
        if m:
            resseq, icode = int(m.group(1)), (m.group(2) or getattr(res, "insertionCode", "") or "").strip()
        else:
            resseq, icode = res.index + 1, ""
        x, y, z = (float(v) for v in xyz[atom.index])
        records.append(AtomRecord(
            name=atom.name, resname=res.name, chain=str(res.chain.id), resseq=resseq, icode=icode,
            x=x, y=y, z=z, element=el, hetatm=het[id(res)], source_index=atom.index,
            chain_key=res.chain.index))
    return ReadResult(records, 1, "OpenMM topology", [])


def records_from_mdtraj(topology, xyz_nm, frame: int = 0) -> ReadResult:
    """Atom records from an mdtraj ``Topology`` and one frame of coordinates (nm)."""
    import numpy as np

    xyz_nm = np.asarray(xyz_nm, dtype=np.float64)
    if xyz_nm.size != 3 * topology.n_atoms:
        raise StructureError(f"positions hold {xyz_nm.size // 3} atoms but the mdtraj topology has "
                             f"{topology.n_atoms}")
    xyz_nm = xyz_nm.reshape(-1, 3)
    het = _hetero_flags(list(topology.residues), list(topology.bonds))
    records: List[AtomRecord] = []
    for atom in topology.atoms:
        res = atom.residue
        el = atom.element.symbol.upper() if atom.element is not None else ""
        chain = res.chain
        chain_id = getattr(chain, "chain_id", None) or chr(ord("A") + chain.index % 26)
        x, y, z = (float(v) * 10.0 for v in xyz_nm[atom.index])
        icode = getattr(res, "insertion_code", "") or ""
        records.append(AtomRecord(
            name=atom.name, resname=res.name, chain=str(chain_id), resseq=int(res.resSeq),
            icode=icode.strip(), x=x, y=y, z=z, element=el, hetatm=het[id(res)], model=frame,
            source_index=atom.index, chain_key=chain.index))
    return ReadResult(records, 1, "mdtraj topology", [])


def _positions_to_angstrom(positions, n_atoms: int):
    import numpy as np

    try:
        from openmm import unit

        if unit.is_quantity(positions):
            arr = np.asarray(positions.value_in_unit(unit.angstrom), dtype=np.float64)
        else:
            arr = np.asarray(positions, dtype=np.float64) * 10.0  # nm, OpenMM's default unit
    except ImportError:  # pragma: no cover - openmm is a dependency
        arr = np.asarray(positions, dtype=np.float64) * 10.0
    except (TypeError, ValueError) as exc:
        raise StructureError(f"cannot read the positions ({exc}); give a Quantity or an (n_atoms, 3) array "
                             "in nm") from None
    if arr.size != 3 * n_atoms:
        raise StructureError(f"positions hold {arr.size / 3:g} atoms but the topology has {n_atoms}")
    return arr.reshape(-1, 3)


# ----------------------------------------------------------------------------------------------
# residues of records


@dataclass
class ResidueGroup:
    """The records of one input residue (chain, number, insertion code) while it is being prepared."""

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


def group_residues(records: Sequence[AtomRecord]) -> List[ResidueGroup]:
    """Records grouped by residue (chain key, number, insertion code), in order of first appearance."""
    groups: Dict[tuple, ResidueGroup] = {}
    order: List[ResidueGroup] = []
    for rec in records:
        key = (rec.chain_key, rec.resseq, rec.icode)
        g = groups.get(key)
        if g is None:
            g = ResidueGroup(key, [], index=len(order))
            groups[key] = g
            order.append(g)
        g.records.append(rec)
    return order
