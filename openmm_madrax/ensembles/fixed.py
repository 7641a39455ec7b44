"""Kept folded parts: a structure's domains stay rigid, the rest of the chain is grown.

Which residues are kept: ``fixed`` given explicitly (1-based inclusive ranges such as
"1-95,180-200", a list of (first, last) pairs, or a boolean mask over the chain), or, for an
AlphaFold-style model read from a file, the residues with pLDDT (B-factor column) >= 70.  Runs of
kept residues shorter than ``min_domain`` residues are grown like the rest (a warning lists them).
"""
from __future__ import annotations

import math
import re
import warnings
from typing import List, Optional, Tuple

import numpy as np

from .builder import BOND_C_O, DEG, Topology
from .growth import FixedParts
from .sequences import SequenceError

PLDDT_CUTOFF = 70.0
MIN_DOMAIN = 10


def _dihedral(p0, p1, p2, p3) -> float:
    b0, b1, b2 = p0 - p1, p2 - p1, p3 - p2
    b1 = b1 / np.linalg.norm(b1)
    v = b0 - np.dot(b0, b1) * b1
    w = b2 - np.dot(b2, b1) * b1
    return float(math.atan2(np.dot(np.cross(b1, v), w), np.dot(v, w)))


def parse_ranges(fixed, L: int, name: str = "fixed") -> np.ndarray:
    """Boolean mask (L,) from ranges text / pairs / mask."""
    if isinstance(fixed, str):
        pairs = []
        for part in re.split(r"[,;\s]+", fixed.strip()):
            if not part:
                continue
            m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
            if not m:
                raise SequenceError(f"{name}: cannot read the range {part!r}; write e.g. '1-95,180-200'")
            a = int(m.group(1))
            pairs.append((a, int(m.group(2)) if m.group(2) else a))
        fixed = pairs
    arr = np.asarray(fixed)
    if arr.dtype == bool:
        if arr.shape != (L,):
            raise SequenceError(f"{name}: a mask must have one entry per residue ({L}), got shape {arr.shape}")
        return arr.copy()
    mask = np.zeros(L, bool)
    for a, b in (tuple(int(x) for x in p) for p in fixed):
        if not (1 <= a <= b <= L):
            raise SequenceError(f"{name}: range {a}-{b} is outside the chain (residues 1-{L})")
        mask[a - 1:b] = True
    return mask


def plddt_of(path: str, structure) -> Optional[np.ndarray]:
    """Per-residue B-factor of CA when the file looks like a predicted model (all in 0-100 and
    not constant), else None."""
    from ..structure.records import read_file

    res = read_file(path)
    first = min(r.model for r in res.records)
    recs = [r for r in res.records if r.model == first]
    out = np.full(structure.n_residues, np.nan)
    for k, r in enumerate(structure.residues):
        for a in range(r.atom_start, r.atom_stop):
            if structure.atom_names[a] == "CA" and structure.source_index[a] >= 0:
                out[k] = recs[int(structure.source_index[a])].bfactor
    if np.isnan(out).any() or out.min() < 0.0 or out.max() > 100.0 or np.ptp(out) < 1.0:
        return None
    return out


def runs(mask: np.ndarray) -> List[Tuple[int, int]]:
    out = []
    i = 0
    while i < len(mask):
        if mask[i]:
            j = i
            while j + 1 < len(mask) and mask[j + 1]:
                j += 1
            out.append((i, j))
            i = j + 1
        else:
            i += 1
    return out


def fixed_parts(structure, top: Topology, fixed=None, path: Optional[str] = None,
                min_domain: int = MIN_DOMAIN) -> Tuple[FixedParts, dict]:
    """FixedParts for a one-chain prepared structure whose residues match ``top``."""
    L = structure.n_residues
    info = {}
    if fixed is None:
        pl = plddt_of(path, structure) if path is not None else None
        if pl is None:
            raise SequenceError(f"{structure.name}: say which residues stay fixed (fixed='1-95,180-200'); the "
                                "structure has no pLDDT-like B-factors to decide it")
        mask = pl >= PLDDT_CUTOFF
        info["fixed_from"] = f"pLDDT >= {PLDDT_CUTOFF:g}"
    else:
        mask = parse_ranges(fixed, L, f"{structure.name}: fixed")
        info["fixed_from"] = "given"
    domains = [(a, b) for a, b in runs(mask) if b - a + 1 >= min_domain]
    short = [(a, b) for a, b in runs(mask) if b - a + 1 < min_domain]
    if short:
        warnings.warn(f"{structure.name}: kept runs shorter than {min_domain} residues are grown instead: "
                      + ", ".join(f"{a + 1}-{b + 1}" for a, b in short))
    if not domains:
        raise SequenceError(f"{structure.name}: no kept run of >= {min_domain} residues (nothing to keep fixed)")
    info["domains"] = [(a + 1, b + 1) for a, b in domains]
    # reference coordinates in the builder's atom order
    ref = np.full((top.n_atoms, 3), np.nan)
    xyz = structure.coords
    for k, r in enumerate(structure.residues):
        names = {structure.atom_names[a]: a for a in range(r.atom_start, r.atom_stop)}
        for a in range(top.res_start[k], top.res_start[k + 1]):
            nm = top.atom_names[a]
            if nm in names:
                ref[a] = xyz[names[nm]]
    phi = np.full(L, np.nan)
    psi = np.full(L, np.nan)
    chi = np.full((L, 5), np.nan)
    from ..mutate.geometry import chi_definitions

    for a, b in domains:
        for k in range(a, b + 1):
            ix = {top.atom_names[j]: j for j in range(top.res_start[k], top.res_start[k + 1])}
            missing = [nm for nm, j in ix.items() if nm != "OXT" and np.isnan(ref[j]).any()]
            if missing:
                raise SequenceError(f"{structure.name}: kept residue {k + 1} lacks atoms {missing}")
            if k > 0:
                cp = ref[top.idx_C[k - 1]] if not np.isnan(ref[top.idx_C[k - 1]]).any() else None
                if cp is not None:
                    phi[k] = _dihedral(cp, ref[ix["N"]], ref[ix["CA"]], ref[ix["C"]])
            # psi from the carbonyl O (in plane with N(k+1)): consistent with the kept O
            psi[k] = _dihedral(ref[ix["N"]], ref[ix["CA"]], ref[ix["C"]], ref[ix["O"]]) - math.pi
            for c, q in enumerate(chi_definitions(top.resnames[k])):
                chi[k, c] = _dihedral(*(ref[ix[n]] for n in q))
            if "OXT" in ix and np.isnan(ref[ix["OXT"]]).any():
                from .builder import place
                import torch

                t = lambda v: torch.as_tensor(v)  # noqa: E731
                ref[ix["OXT"]] = place(t(ref[ix["N"]]), t(ref[ix["CA"]]), t(ref[ix["C"]]), BOND_C_O, 116.2 * DEG,
                                       t(psi[k])).numpy()
        if a > 0 and np.isnan(phi[a]):
            phi[a] = -65.0 * DEG
    psi = np.angle(np.exp(1j * psi))
    return FixedParts(ref, domains, phi, psi, chi, top), info


def chain_of(structure, chain: Optional[str]):
    """The residues of one chain of a prepared structure as a one-chain structure (no breaks)."""
    chains = list(structure.chain_ids)
    if chain is None:
        if len(chains) > 1:
            raise SequenceError(f"{structure.name}: {len(chains)} chains ({', '.join(chains)}); choose one with chain=")
        chain = chains[0]
    if chain not in chains:
        raise SequenceError(f"{structure.name}: no chain {chain!r} (chains: {', '.join(chains)})")
    sub = structure.select_chains(chain) if len(chains) > 1 else structure
    breaks = [k for k in range(sub.n_residues - 1) if not sub.next_consecutive[k]]
    if breaks:
        where = ", ".join(sub.residues[k].label for k in breaks[:5])
        raise SequenceError(f"{structure.name}: chain {chain} has {len(breaks)} chain break(s) (after {where}); "
                            "kept domains need a complete chain (model the gaps first)")
    return sub
