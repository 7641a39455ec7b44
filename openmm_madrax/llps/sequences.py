"""Protein sequences in: FASTA parsing, validation, and the residue alphabet of the network.

Accepted letters (case-insensitive; whitespace and digits-free): the 20 standard one-letter codes,
and six codes that are mapped for the physics (the network also sees them, see below):

==== ============================== ========================== =====================
code meaning                        MadraX conformers use      network one-hot
==== ============================== ========================== =====================
X    unknown residue                G (no side chain)          its own "X" column
U    selenocysteine                 C                          C
O    pyrrolysine                    K                          K
B    D or N                         N                          N
Z    E or Q                         Q                          Q
J    I or L                         L                          L
==== ============================== ========================== =====================

A single trailing ``*`` (stop) is removed.  Any other character (digits, ``-`` gaps, ``.``, other
letters, an inner ``*``) is an error naming the record and the first offending position; so is an
empty record and one longer than :data:`MAX_LENGTH` residues.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

from ..errors import MadraXError

STANDARD = "ACDEFGHIKLMNPQRSTVWY"
#: letters the network's one-hot encodes (the 20 standard residues and X)
ALPHABET = STANDARD + "X"
#: non-standard codes -> residue used for the physics (and, except X, for the one-hot)
MAPPED = {"X": "G", "U": "C", "O": "K", "B": "N", "Z": "Q", "J": "L"}
#: longest sequence accepted (residues); the physics is computed in chunks, so memory stays bounded,
#: but a longer record is almost certainly not one protein (or a concatenation by mistake)
MAX_LENGTH = 40000


class SequenceError(MadraXError, ValueError):
    """A sequence record cannot be predicted (empty, bad letters, too long)."""


def clean_sequence(sequence: str, record: str = "sequence") -> str:
    """Upper-cased sequence without whitespace and trailing ``*``; SequenceError if not a protein."""
    seq = "".join(str(sequence).split()).upper()
    if seq.endswith("*"):
        seq = seq[:-1]
    if not seq:
        raise SequenceError(f"record {record!r}: empty sequence")
    for i, c in enumerate(seq):
        if c not in STANDARD and c not in MAPPED:
            what = "a gap" if c in "-." else ("a stop codon" if c == "*" else repr(c))
            raise SequenceError(f"record {record!r}: {what} at position {i + 1} is not an amino-acid letter "
                                f"(allowed: {STANDARD} and X, U, O, B, Z, J)")
    if len(seq) > MAX_LENGTH:
        raise SequenceError(f"record {record!r}: {len(seq)} residues, longer than the maximum of {MAX_LENGTH}")
    return seq


def physics_sequence(sequence: str) -> str:
    """The 20-letter sequence the MadraX conformers are built for (codes mapped as in the table)."""
    return "".join(MAPPED.get(c, c) for c in sequence)


def network_sequence(sequence: str) -> str:
    """The 21-letter sequence of the one-hot (U, O, B, Z, J mapped; X kept)."""
    return "".join(c if c == "X" else MAPPED.get(c, c) for c in sequence)


def read_fasta(path) -> List[Tuple[str, str]]:
    """(id, raw sequence) of every record of a FASTA file, in order (ids = first word of the header;
    text before the first header is an error; duplicate ids get ``_2``, ``_3`` ...)."""
    path = Path(path)
    records: List[Tuple[str, List[str]]] = []
    with open(path, "r", encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\n\r")
            if line.startswith(">"):
                header = line[1:].strip()
                rid = header.split()[0] if header else f"record_{len(records) + 1}"
                records.append((rid, []))
            elif line.strip():
                if not records:
                    raise SequenceError(f"{path}: line {lineno}: sequence text before the first '>' header "
                                        "(not a FASTA file?)")
                records[-1][1].append(line.strip())
    if not records:
        raise SequenceError(f"{path}: no FASTA records (no line starting with '>')")
    seen = {}
    out = []
    for rid, parts in records:
        n = seen.get(rid, 0) + 1
        seen[rid] = n
        out.append((rid if n == 1 else f"{rid}_{n}", "".join(parts)))
    return out
