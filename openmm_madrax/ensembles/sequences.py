"""Sequence input: validation, FASTA reading, residue names.

Every error names the record and the offending letters (one line, no traceback).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import List, Tuple

from ..errors import MadraXError

#: one-letter code -> residue name of the 20 standard amino acids
THREE = {
    "A": "ALA", "R": "ARG", "N": "ASN", "D": "ASP", "C": "CYS", "Q": "GLN", "E": "GLU", "G": "GLY",
    "H": "HIS", "I": "ILE", "L": "LEU", "K": "LYS", "M": "MET", "F": "PHE", "P": "PRO", "S": "SER",
    "T": "THR", "W": "TRP", "Y": "TYR", "V": "VAL",
}
ONE = {v: k for k, v in THREE.items()}
STANDARD = "".join(sorted(THREE))


class SequenceError(MadraXError, ValueError):
    """A sequence cannot be built (unknown letters, empty, too short)."""


def clean_sequence(sequence: str, name: str = "sequence") -> str:
    """Upper-case one-letter sequence without white space, a trailing stop '*' or gap characters
    at the ends; SequenceError naming the record and the letters otherwise."""
    if not isinstance(sequence, str):
        raise SequenceError(f"{name}: a sequence must be a string of one-letter codes, not {type(sequence).__name__}")
    s = "".join(sequence.split()).upper()
    if s.endswith("*"):
        s = s[:-1]
    if not s:
        raise SequenceError(f"{name}: empty sequence")
    bad = sorted({c for c in s if c not in THREE})
    if bad:
        where = [i + 1 for i, c in enumerate(s) if c not in THREE]
        pos = ", ".join(str(p) for p in where[:8]) + (", ..." if len(where) > 8 else "")
        hint = ""
        if set(bad) & set("BZJXUO"):
            hint = " (ambiguous/nonstandard codes B, Z, J, X, U, O cannot be built: replace them by a standard residue)"
        raise SequenceError(f"{name}: letter(s) {', '.join(repr(c) for c in bad)} at position(s) {pos} are not "
                            f"standard amino acids ({STANDARD}){hint}")
    if len(s) < 2:
        raise SequenceError(f"{name}: a chain needs at least 2 residues, got {len(s)} ({s})")
    return s


def residue_names(sequence: str) -> List[str]:
    return [THREE[c] for c in sequence]


def read_fasta(path) -> List[Tuple[str, str]]:
    """(id, sequence) records of a FASTA file (ids: the first word of the header); sequences are
    validated with :func:`clean_sequence`."""
    text = Path(path).read_text()
    records: List[Tuple[str, List[str]]] = []
    for k, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith(">"):
            rid = line[1:].split()[0] if line[1:].split() else f"record{len(records) + 1}"
            records.append((rid, []))
        else:
            if not records:
                raise SequenceError(f"{path}: line {k}: sequence text before the first '>' header")
            records[-1][1].append(line)
    if not records:
        raise SequenceError(f"{path}: no FASTA records ('>' header lines) found")
    ids = [r[0] for r in records]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise SequenceError(f"{path}: duplicate record id(s) {', '.join(dup)}")
    out, errors = [], []
    for rid, parts in records:
        try:
            out.append((rid, clean_sequence("".join(parts), f"record {rid}")))
        except SequenceError as exc:
            errors.append(str(exc))
    if errors:
        more = f" (and {len(errors) - 5} more records)" if len(errors) > 5 else ""
        raise SequenceError(f"{path}: " + "; ".join(errors[:5]) + more)
    return out


def parse_input(text: str) -> Tuple[str, List[Tuple[str, str]]]:
    """CLI input: a FASTA file, a PDB/mmCIF file or a literal sequence.

    Returns (kind, records) with kind 'fasta' | 'structure' | 'sequence'; for structures the
    records hold (id, path)."""
    low = text.lower()
    if low.endswith((".pdb", ".cif", ".mmcif", ".ent", ".pdb.gz", ".cif.gz")):
        if not os.path.exists(text):
            raise FileNotFoundError(f"{text}: no such file")
        return "structure", [(Path(text).name.split(".")[0], text)]
    if os.path.exists(text) or low.endswith((".fasta", ".fa", ".faa", ".fas")):
        if not os.path.exists(text):
            raise FileNotFoundError(f"{text}: no such file")
        return "fasta", read_fasta(text)
    return "sequence", [("sequence", clean_sequence(text, "sequence"))]
