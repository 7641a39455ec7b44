"""Mutation syntax: ``CHAIN:WTresnumMUT`` (``A:G44S``; insertion codes ``A:G44aS``), the
Guerois-like ``"A G 44 S"`` and FoldX's ``GA44S``; a *mutant* joins point mutations with ``,``
(or ``+``)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence, Tuple

from ..errors import MutationError
from ..residues import ONE_LETTER, THREE_LETTER
from ..structure import Structure


@dataclass(frozen=True)
class PointMutation:
    chain: str
    wt: str  # one-letter code
    resseq: int
    icode: str
    mut: str  # one-letter code

    @property
    def label(self) -> str:
        return f"{self.chain}:{self.wt}{self.resseq}{self.icode}{self.mut}"

    @property
    def wt3(self) -> str:
        return THREE_LETTER[self.wt]

    @property
    def mut3(self) -> str:
        return THREE_LETTER[self.mut]

    def reverse(self) -> "PointMutation":
        return PointMutation(self.chain, self.mut, self.resseq, self.icode, self.wt)


_COLON = re.compile(r"^\s*([A-Za-z0-9]?)\s*:\s*([A-Za-z])\s*(-?\d+)([A-Za-z]?)\s*([A-Za-z])\s*$")
_SPACED = re.compile(r"^\s*([A-Za-z0-9])\s+([A-Za-z])\s+(-?\d+)([A-Za-z]?)\s+([A-Za-z])\s*$")
_FOLDX = re.compile(r"^\s*([A-Za-z])([A-Za-z0-9])(-?\d+)([a-z]?)([A-Za-z])\s*;?\s*$")  # GA44S (FoldX)


def parse_mutation(text: str) -> PointMutation:
    """One point mutation: ``A:G44S`` (chain A, Gly 44 -> Ser), ``A:G44aS`` (insertion code a),
    ``"A G 44 S"`` (Guerois/ProTherm layout) or FoldX's ``GA44S``."""
    s = str(text).strip()
    m = _COLON.match(s) or _SPACED.match(s)
    if m:
        chain, wt, num, icode, mut = m.groups()
    else:
        m = _FOLDX.match(s)
        if not m:
            raise MutationError(f"{s!r}: cannot read the mutation; write it as CHAIN:WTresnumMUT, e.g. A:G44S")
        wt, chain, num, icode, mut = m.groups()
    wt, mut = wt.upper(), mut.upper()
    for role, code in (("wild-type", wt), ("target", mut)):
        if code not in THREE_LETTER:
            raise MutationError(f"{s}: {role} residue {code!r} is not one of the 20 standard amino acids "
                                f"({''.join(sorted(THREE_LETTER))}); nonstandard residues cannot be built")
    return PointMutation(chain=chain, wt=wt, resseq=int(num), icode=icode, mut=mut)


def parse_mutant(text) -> Tuple[PointMutation, ...]:
    """A mutant: one or more point mutations joined by ``+`` (or ``,``/``;``/``_``), or a sequence."""
    if isinstance(text, PointMutation):
        return (text,)
    if isinstance(text, (list, tuple)):
        parts = [p for t in text for p in parse_mutant(t)]
    else:
        s = str(text).strip().rstrip(";")
        if not s:
            raise MutationError("empty mutation")
        if _SPACED.match(s):
            parts = [parse_mutation(s)]
        else:
            parts = [parse_mutation(p) for p in re.split(r"[+,;_]", s) if p.strip()]
    if not parts:
        raise MutationError(f"{text!r}: no mutation")
    sites = [(p.chain, p.resseq, p.icode) for p in parts]
    if len(set(sites)) != len(sites):
        raise MutationError(f"{mutant_label(parts)}: the same residue is mutated twice")
    return tuple(parts)


def mutant_label(points: Sequence[PointMutation]) -> str:
    return "+".join(p.label for p in points)


def find_site(structure: Structure, point: PointMutation) -> int:
    """Residue index of a point mutation's site; MutationError naming the mutation otherwise."""
    chains = sorted({r.chain_id for r in structure.residues})
    if point.chain not in chains:
        raise MutationError(f"{point.label}: chain {point.chain!r} is not in {structure.name} "
                            f"(chains: {', '.join(repr(c) for c in chains)})")
    hits = [k for k, r in enumerate(structure.residues)
            if r.chain_id == point.chain and r.resseq == point.resseq and r.icode == point.icode]
    if not hits:
        nums = [r.resseq for r in structure.residues if r.chain_id == point.chain]
        raise MutationError(f"{point.label}: residue {point.resseq}{point.icode} is not in chain {point.chain} of "
                            f"{structure.name} (residues {min(nums)}-{max(nums)}; gaps and dropped residues "
                            "are not present)")
    k = hits[0]
    res = structure.residues[k]
    if ONE_LETTER[res.resname] != point.wt:
        raise MutationError(f"{point.label}: wild-type mismatch, residue {point.chain}:{point.resseq}{point.icode} of "
                            f"{structure.name} is {res.resname} ({ONE_LETTER[res.resname]}), not "
                            f"{point.wt3} ({point.wt})")
    return k
