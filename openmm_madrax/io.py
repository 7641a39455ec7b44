"""Readers that turn structure files and OpenMM / mdtraj objects into flat atom records.

All readers produce the same thing, a list of :class:`AtomRecord` (coordinates in Angstrom), so
that every validation rule of :mod:`openmm_madrax.structure` is written once.  PDB and PDBx/mmCIF
files are parsed here (not through OpenMM's readers) because the preparation step needs what
those readers hide: alternate-location letters, HETATM flags, model numbers and line numbers for
error messages.
"""
from __future__ import annotations

import gzip
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Tuple

from .errors import StructureError


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
    source_index: int = -1  # particle index in an OpenMM/mdtraj topology, else -1
    chain_key: object = None  # identity of the chain (chain ID for files, chain index for topologies)

    def where(self) -> str:
        loc = f"chain {self.chain or '?'} residue {self.resname} {self.resseq}{self.icode} atom {self.name}"
        if self.line > 0:
            loc += f" (line {self.line})"
        return loc


@dataclass
class ReadResult:
    records: List[AtomRecord]
    n_models: int
    source: str
    ssbonds: List[Tuple[Tuple[str, int, str], Tuple[str, int, str]]]


def _open_text(path: Path) -> List[str]:
    if str(path).endswith(".gz"):
        with gzip.open(path, "rt", errors="replace") as fh:
            return fh.read().splitlines()
    with open(path, "r", errors="replace") as fh:
        return fh.read().splitlines()


def _parse_float(text: str, what: str, lineno: int, source: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise StructureError(f"{source}: line {lineno}: cannot read {what} from {text.strip()!r}") from None


def read_pdb(path: os.PathLike | str) -> ReadResult:
    """Read every ATOM/HETATM record of a PDB file (all models)."""
    path = Path(path)
    if not path.exists():
        raise StructureError(f"{path}: no such file")
    lines = _open_text(path)
    source = str(path)
    records: List[AtomRecord] = []
    ssbonds = []
    model = 1
    n_models = 0
    saw_model = False
    for lineno, line in enumerate(lines, start=1):
        tag = line[:6]
        if tag == "MODEL ":
            saw_model = True
            n_models += 1
            try:
                model = int(line[10:14])
            except ValueError:
                model = n_models
            continue
        if tag == "SSBOND":
            try:
                a = (line[15].strip(), int(line[17:21]), line[21].strip())
                b = (line[29].strip(), int(line[31:35]), line[35].strip())
                ssbonds.append((a, b))
            except (ValueError, IndexError):
                pass
            continue
        if tag not in ("ATOM  ", "HETATM"):
            continue
        if len(line) < 54:
            raise StructureError(f"{source}: line {lineno}: ATOM/HETATM record is truncated "
                                 f"({len(line)} characters, coordinates need 54): {line!r}")
        name = line[12:16].strip()
        resname = line[17:20].strip() if len(line[17:21].strip()) <= 3 else line[17:21].strip()
        chain = line[21].strip()
        try:
            resseq = int(line[22:26])
        except ValueError:
            # hybrid-36 residue numbers of very large files
            text = line[22:26].strip()
            try:
                resseq = _hy36decode(4, text)
            except ValueError:
                raise StructureError(f"{source}: line {lineno}: cannot read residue number "
                                     f"from {text!r}") from None
        x = _parse_float(line[30:38], "x coordinate", lineno, source)
        y = _parse_float(line[38:46], "y coordinate", lineno, source)
        z = _parse_float(line[46:54], "z coordinate", lineno, source)
        occ = float(line[54:60]) if line[54:60].strip() else 1.0
        try:
            bfac = float(line[60:66]) if line[60:66].strip() else 0.0
        except ValueError:
            bfac = 0.0
        element = line[76:78].strip() if len(line) >= 78 else ""
        records.append(AtomRecord(
            name=name, resname=resname, chain=chain, resseq=resseq, icode=line[26].strip(),
            x=x, y=y, z=z, element=element.upper(), altloc=line[16].strip(), hetatm=tag == "HETATM",
            occupancy=occ, bfactor=bfac, model=model if saw_model else 1, line=lineno, chain_key=chain))
    if not saw_model:
        n_models = 1 if records else 0
    return ReadResult(records, max(n_models, 1 if records else 0), source, ssbonds)


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


_CIF_TOKEN = re.compile(r"'(?:[^']|'(?=\S))*'(?=\s|$)|\"(?:[^\"]|\"(?=\S))*\"(?=\s|$)|\S+")


def _cif_unquote(tok: str) -> str:
    if len(tok) >= 2 and tok[0] == tok[-1] and tok[0] in "'\"":
        return tok[1:-1]
    return tok


def read_mmcif(path: os.PathLike | str) -> ReadResult:
    """Read the ``_atom_site`` loop of a PDBx/mmCIF file (author numbering and chain IDs)."""
    path = Path(path)
    if not path.exists():
        raise StructureError(f"{path}: no such file")
    lines = _open_text(path)
    source = str(path)
    i = 0
    n = len(lines)
    columns: List[str] = []
    records: List[AtomRecord] = []
    ssbonds = []
    while i < n:
        line = lines[i].strip()
        if line == "loop_" and i + 1 < n and lines[i + 1].strip().startswith("_atom_site."):
            i += 1
            while i < n and lines[i].strip().startswith("_atom_site."):
                columns.append(lines[i].strip()[len("_atom_site."):].split()[0])
                i += 1
            col = {c: k for k, c in enumerate(columns)}

            def pick(*names):
                for nm in names:
                    if nm in col:
                        return col[nm]
                return None

            c_group = pick("group_PDB")
            c_name = pick("auth_atom_id", "label_atom_id")
            c_res = pick("auth_comp_id", "label_comp_id")
            c_chain = pick("auth_asym_id", "label_asym_id")
            c_seq = pick("auth_seq_id", "label_seq_id")
            c_ins = pick("pdbx_PDB_ins_code")
            c_alt = pick("label_alt_id")
            c_x, c_y, c_z = pick("Cartn_x"), pick("Cartn_y"), pick("Cartn_z")
            c_occ = pick("occupancy")
            c_b = pick("B_iso_or_equiv")
            c_el = pick("type_symbol")
            c_model = pick("pdbx_PDB_model_num")
            missing = [nm for nm, c in (("atom name", c_name), ("residue name", c_res),
                                        ("chain", c_chain), ("residue number", c_seq),
                                        ("Cartn_x", c_x), ("Cartn_y", c_y), ("Cartn_z", c_z)) if c is None]
            if missing:
                raise StructureError(f"{source}: _atom_site loop lacks {', '.join(missing)}")
            pending: List[str] = []
            start_line = i + 1
            while i < n:
                raw = lines[i]
                s = raw.strip()
                if not s or s.startswith("#") or s == "loop_" or s.startswith("_") or s.startswith("data_"):
                    break
                if not pending:
                    start_line = i + 1
                pending.extend(_CIF_TOKEN.findall(raw))
                i += 1
                while len(pending) >= len(columns):
                    vals = [_cif_unquote(t) for t in pending[:len(columns)]]
                    pending = pending[len(columns):]

                    def val(c, default=""):
                        if c is None:
                            return default
                        v = vals[c]
                        return default if v in ("?", ".") else v

                    seq_text = val(c_seq)
                    try:
                        resseq = int(seq_text)
                    except ValueError:
                        raise StructureError(f"{source}: line {start_line}: cannot read residue number "
                                             f"from {seq_text!r}") from None
                    x = _parse_float(val(c_x, "nan"), "Cartn_x", start_line, source)
                    y = _parse_float(val(c_y, "nan"), "Cartn_y", start_line, source)
                    z = _parse_float(val(c_z, "nan"), "Cartn_z", start_line, source)
                    try:
                        model = int(val(c_model, "1"))
                    except ValueError:
                        model = 1
                    chain = val(c_chain)
                    records.append(AtomRecord(
                        name=val(c_name), resname=val(c_res), chain=chain, resseq=resseq,
                        icode=val(c_ins), x=x, y=y, z=z, element=val(c_el).upper(),
                        altloc=val(c_alt), hetatm=val(c_group, "ATOM") == "HETATM",
                        occupancy=float(val(c_occ, "1") or 1), bfactor=float(val(c_b, "0") or 0),
                        model=model, line=start_line, chain_key=chain))
            continue
        i += 1
    if not columns:
        raise StructureError(f"{source}: no _atom_site loop found (is this a PDBx/mmCIF file?)")
    models = sorted({r.model for r in records})
    return ReadResult(records, len(models), source, ssbonds)


def read_file(path: os.PathLike | str) -> ReadResult:
    """Dispatch on the file extension (.pdb/.ent, .cif/.mmcif, optionally gzipped)."""
    p = str(path).lower()
    if p.endswith(".gz"):
        p = p[:-3]
    if not os.path.exists(path):
        raise StructureError(f"{path}: no such file")
    if os.path.getsize(path) == 0:
        raise StructureError(f"{path}: the file is empty")
    if p.endswith((".cif", ".mmcif", ".pdbx")):
        return read_mmcif(path)
    if p.endswith((".pdb", ".ent", ".pqr")) or "." not in os.path.basename(p):
        return read_pdb(path)
    # unknown extension: sniff
    head = "\n".join(_open_text(Path(path))[:50])
    if "_atom_site." in head or head.startswith("data_"):
        return read_mmcif(path)
    return read_pdb(path)


def records_from_openmm(topology, positions) -> ReadResult:
    """Atom records from an OpenMM ``Topology`` and positions (``Quantity`` or nm array)."""
    import numpy as np

    xyz = _positions_to_angstrom(positions, topology.getNumAtoms())
    records: List[AtomRecord] = []
    for atom in topology.atoms():
        res = atom.residue
        el = atom.element.symbol.upper() if atom.element is not None else ""
        rid = str(res.id).strip()
        m = re.match(r"^(-?\d+)(\D*)$", rid)
        if m:
            resseq, icode = int(m.group(1)), (m.group(2) or getattr(res, "insertionCode", "")).strip()
        else:
            resseq, icode = res.index + 1, ""
        x, y, z = (float(v) for v in xyz[atom.index])
        records.append(AtomRecord(
            name=atom.name, resname=res.name, chain=str(res.chain.id), resseq=resseq, icode=icode,
            x=x, y=y, z=z, element=el, source_index=atom.index, chain_key=res.chain.index))
    return ReadResult(records, 1, "OpenMM topology", [])


def records_from_mdtraj(topology, xyz_nm) -> ReadResult:
    """Atom records from an mdtraj ``Topology`` and one frame of coordinates (nm)."""
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
            icode=icode.strip(), x=x, y=y, z=z, element=el, source_index=atom.index,
            chain_key=chain.index))
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
    arr = arr.reshape(-1, 3)
    if arr.shape[0] != n_atoms:
        raise StructureError(f"positions hold {arr.shape[0]} atoms but the topology has {n_atoms}")
    return arr
