"""Mutant building, candidate rotamers and torsion-space side-chain relaxation (docs/ddg.md).

The pieces, all deterministic:

* :func:`parse_mutation` / :func:`parse_mutant`: ``CHAIN:WTresnumMUT`` (``A:G44S``, insertion codes
  as ``A:G44aS``; also the Guerois/FoldX-like ``"A G 44 S"``); a *mutant* joins point mutations
  with ``+`` (or ``,``).
* :func:`side_chain_geometry`: internal coordinates (bond, angle, dihedral to three already placed
  atoms) of every side-chain heavy atom, measured once on PDBFixer's residue templates
  (``pdbfixer/templates/XXX.pdb``).  Dihedrals that are chi angles are free; atoms that share a chi
  axis with the chi-defining atom (CG2 of ILE/THR/VAL, CD2 of LEU, OD2 of ASP, ...) keep their
  template offset from it; ring atoms keep their template dihedrals.
* :func:`build_side_chain`: places a side chain on a residue's N, CA, C for given chi angles
  (natural extension of reference frames).
* :func:`candidate_rotamers`: chi sets from the project's fitted side-chain torsion densities
  (``params/torsion_densities.npz``, the mixture components with weight >= 1 %, most probable
  first), the wild-type chis of the site where they apply, and fixed values for the chis the
  densities do not cover (ILE chi2, PRO).
* :func:`mutant_structure`: a new :class:`~openmm_madrax.structure.Structure` with residues
  replaced (backbone atoms kept, side chain built), all preparation decisions of the input kept.
* :class:`TorsionRelaxer`: side chains of chosen residues relaxed by rotating about their chi bonds
  (bond lengths and angles never change), L-BFGS on the smooth MadraX energy.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from . import params
from .atomtypes import ONE_LETTER, THREE_LETTER
from .errors import MutationError
from .structure import ResidueInfo, Structure

BACKBONE = ("N", "CA", "C", "O", "OXT")
#: values (degrees) tried for chis the torsion densities do not score
UNSCORED_CHI_VALUES = (180.0, -65.0, 65.0)
#: proline ring puckers (chi1, chi2), degrees: C-gamma endo / exo
PRO_PUCKERS = ((30.0, -35.0), (-30.0, 40.0))
MIN_ROTAMER_WEIGHT = 0.01


# ----------------------------------------------------------------------------------------------
# parsing


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


# ----------------------------------------------------------------------------------------------
# side-chain geometry from PDBFixer templates


@dataclass(frozen=True)
class AtomRecipe:
    name: str
    a: str
    b: str
    c: str  # the atom X is bonded to
    bond: float  # |c X|, A
    angle: float  # angle b-c-X, rad
    dihedral: float  # a-b-c-X, rad (template value)
    chi: int  # -1: fixed dihedral; k: dihedral = chi_k + offset
    offset: float


def _template_path(resname: str) -> Path:
    import pdbfixer

    return Path(pdbfixer.__file__).resolve().parent / "templates" / f"{resname}.pdb"


def _dihedral(p0, p1, p2, p3) -> float:
    b0, b1, b2 = p0 - p1, p2 - p1, p3 - p2
    b1n = b1 / np.linalg.norm(b1)
    v = b0 - np.dot(b0, b1n) * b1n
    w = b2 - np.dot(b2, b1n) * b1n
    return float(math.atan2(np.dot(np.cross(b1n, v), w), np.dot(v, w)))


def _angle(p0, p1, p2) -> float:
    u, v = p0 - p1, p2 - p1
    return float(math.acos(np.clip(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)), -1.0, 1.0)))


@lru_cache(maxsize=None)
def chi_definitions(resname: str) -> Tuple[Tuple[str, str, str, str], ...]:
    """All chi angles of a residue type (scored or not), as atom-name quadruples."""
    return tuple((r["atom1"], r["atom2"], r["atom3"], r["atom4"]) for r in params.chi_definitions().get(resname, []))


@lru_cache(maxsize=None)
def side_chain_geometry(resname: str) -> Tuple[AtomRecipe, ...]:
    """Build recipes of the side-chain heavy atoms of ``resname`` measured on PDBFixer's template."""
    xyz: Dict[str, np.ndarray] = {}
    for line in _template_path(resname).read_text().splitlines():
        if line.startswith(("ATOM", "HETATM")):
            name = line[12:16].strip()
            xyz[name] = np.array([float(line[30:38]), float(line[38:46]), float(line[46:54])])
    at = params.atom_types()
    heavy = [n for n in params.heavy_atoms()[resname] if n not in BACKBONE]
    missing = [n for n in heavy + ["N", "CA", "C"] if n not in xyz]
    if missing:  # pragma: no cover - PDBFixer ships complete templates
        raise MutationError(f"PDBFixer template of {resname} lacks {missing}")
    order = sorted(heavy, key=lambda n: (int(at[(resname, n)]["level"]), heavy.index(n)))
    parent = {"CA": "N", "N": "C"}
    placed = ["CA"]
    chis = chi_definitions(resname)
    recipes: List[AtomRecipe] = []
    for name in order:
        if name == "CB":
            a, b, c = "C", "N", "CA"
        else:
            c = min((p for p in placed if p != "CA"), key=lambda p: float(np.linalg.norm(xyz[p] - xyz[name])))
            b = parent[c]
            a = parent[b]
        parent[name] = c
        placed.append(name)
        recipes.append(AtomRecipe(name, a, b, c, float(np.linalg.norm(xyz[name] - xyz[c])),
                                  _angle(xyz[b], xyz[c], xyz[name]),
                                  _dihedral(xyz[a], xyz[b], xyz[c], xyz[name]), -1, 0.0))
    # chi angles and atoms sharing their axis
    out = []
    defining = {}
    for k, q in enumerate(chis):
        defining[q[:3]] = (k, q[3])
    for r in recipes:
        key = (r.a, r.b, r.c)
        if key in defining and resname != "PRO":
            k, atom = defining[key]
            ref = next(x for x in recipes if x.name == atom)
            off = 0.0 if r.name == atom else r.dihedral - ref.dihedral
            out.append(AtomRecipe(r.name, r.a, r.b, r.c, r.bond, r.angle, r.dihedral, k, off))
        else:
            out.append(r)
    return tuple(out)


def _place(a: np.ndarray, b: np.ndarray, c: np.ndarray, bond: float, angle: float, dihedral: float) -> np.ndarray:
    """Point X with |cX| = bond, angle(b, c, X) = angle and dihedral(a, b, c, X) = dihedral."""
    bc = c - b
    bc /= np.linalg.norm(bc)
    n = np.cross(b - a, bc)
    n /= np.linalg.norm(n)
    m = np.cross(n, bc)
    d2 = np.array([-bond * math.cos(angle), bond * math.sin(angle) * math.cos(dihedral),
                   bond * math.sin(angle) * math.sin(dihedral)])
    return c + d2[0] * bc + d2[1] * m + d2[2] * n


def build_side_chain(resname: str, backbone: Dict[str, np.ndarray], chis_deg: Sequence[float]) -> Dict[str, np.ndarray]:
    """Side-chain heavy atoms of ``resname`` on a backbone (N, CA, C positions) for chi angles in
    degrees (missing trailing chis: template values)."""
    pos = {k: np.asarray(v, dtype=np.float64) for k, v in backbone.items() if k in ("N", "CA", "C")}
    out = {}
    for r in side_chain_geometry(resname):
        if r.chi >= 0 and r.chi < len(chis_deg) and np.isfinite(chis_deg[r.chi]):
            dih = math.radians(chis_deg[r.chi]) + r.offset
        else:
            dih = r.dihedral
        p = _place(pos[r.a], pos[r.b], pos[r.c], r.bond, r.angle, dih)
        pos[r.name] = p
        out[r.name] = p
    return out


def n_chi(resname: str) -> int:
    return len(chi_definitions(resname))


def measure_chis(structure: Structure, k: int, coords: Optional[np.ndarray] = None) -> List[float]:
    """Chi angles (degrees) of residue ``k`` (all defined chis)."""
    xyz = structure.coords if coords is None else coords
    res = structure.residues[k]
    idx = {structure.atom_names[a]: a for a in range(res.atom_start, res.atom_stop)}
    out = []
    for q in chi_definitions(res.resname):
        if not all(n in idx for n in q):
            break
        out.append(math.degrees(_dihedral(*(xyz[idx[n]] for n in q))))
    return out


@lru_cache(maxsize=None)
def library_rotamers(resname: str, max_rotamers: int = 12) -> Tuple[Tuple[float, ...], ...]:
    """Candidate chi sets (degrees) of a residue type, most probable first."""
    nc = n_chi(resname)
    if nc == 0:
        return ((),)
    if resname == "PRO":
        return PRO_PUCKERS
    from .energy.torsion_densities import read_npz

    arrays, _ = read_npz()
    ti = params.RESIDUE_INDEX[resname]
    w = np.exp(np.asarray(arrays["sc_logw"][ti], np.float64))
    mu = np.degrees(np.asarray(arrays["sc_mu"][ti], np.float64))
    scored = [int(r["scored_in_channel10"]) for r in params.chi_definitions()[resname]]
    n_scored = sum(scored)
    comps = [k for k in np.argsort(-w) if w[k] >= MIN_ROTAMER_WEIGHT][:max_rotamers]
    base = [tuple(float(v) for v in mu[k, :n_scored]) for k in comps]
    out: List[Tuple[float, ...]] = []
    for b in base:
        extra = [UNSCORED_CHI_VALUES] * (nc - n_scored)
        combos = [b]
        for vals in extra:
            combos = [c + (v,) for c in combos for v in vals[:2]]
        out.extend(combos)
    return tuple(out)


def candidate_rotamers(resname: str, wt_chis: Sequence[float] = (), max_rotamers: int = 12) -> List[Tuple[float, ...]]:
    """Library rotamers of ``resname``, plus the site's wild-type chis where they apply (the full
    wild-type conformation first, when the residue type is unchanged)."""
    lib = list(library_rotamers(resname, max_rotamers))
    nc = n_chi(resname)
    out: List[Tuple[float, ...]] = []
    wt = tuple(float(x) for x in wt_chis)[:nc]
    if nc and resname != "PRO" and wt:
        if len(wt) == nc:
            out.append(wt)
        for r in lib[: max(1, max_rotamers // 2)]:
            out.append(wt + tuple(r[len(wt):]))
    out.extend(lib)
    seen = set()
    uniq = []
    for r in out:
        key = tuple(int(round(((x + 180.0) % 360.0) / 5.0)) for x in r)
        if key not in seen:
            seen.add(key)
            uniq.append(r)
    return uniq


# ----------------------------------------------------------------------------------------------
# mutant structures


def residue_atom_order(resname: str, has_oxt: bool) -> List[str]:
    names = list(params.heavy_atoms()[resname])
    names = [n for n in ("N", "CA", "C", "O") if n in names] + [n for n in names if n not in BACKBONE]
    if has_oxt:
        names.append("OXT")
    return names


def mutant_structure(structure: Structure, changes: Dict[int, Tuple[str, Sequence[float]]],
                     coords: Optional[np.ndarray] = None, name: Optional[str] = None) -> Structure:
    """Replace residues: ``changes`` maps residue index -> (new residue name, chis in degrees).

    Backbone atoms (N, CA, C, O, OXT) keep their coordinates; the side chain is built from the
    template geometry.  Everything else (chain breaks, other disulfides, preparation notes) is kept;
    a disulfide through a replaced CYS is dropped unless the residue stays CYS."""
    xyz = structure.coords if coords is None else np.asarray(coords, np.float64)
    residues: List[ResidueInfo] = []
    names: List[str] = []
    res_of: List[int] = []
    out_xyz: List[np.ndarray] = []
    src: List[int] = []
    old_to_new: Dict[int, int] = {}
    for k, res in enumerate(structure.residues):
        start = len(names)
        idx = {structure.atom_names[a]: a for a in range(res.atom_start, res.atom_stop)}
        if k in changes:
            new_name, chis = changes[k]
            order = residue_atom_order(new_name, "OXT" in idx)
            sc = build_side_chain(new_name, {n: xyz[idx[n]] for n in ("N", "CA", "C")}, chis)
            for n in order:
                names.append(n)
                res_of.append(k)
                if n in sc:
                    out_xyz.append(sc[n])
                    src.append(-1)
                else:
                    out_xyz.append(xyz[idx[n]])
                    src.append(int(structure.source_index[idx[n]]))
                    old_to_new[idx[n]] = len(names) - 1
            keep_ids = new_name == res.resname
            if keep_ids:  # same residue type: side-chain atoms map one to one (for disulfides)
                for n in order:
                    if n in idx:
                        old_to_new[idx[n]] = start + order.index(n)
            new_res = ResidueInfo(res.chain_id, res.chain_index, res.resseq, res.icode, new_name, new_name,
                                  start, len(names))
        else:
            for a in range(res.atom_start, res.atom_stop):
                old_to_new[a] = len(names)
                names.append(structure.atom_names[a])
                res_of.append(k)
                out_xyz.append(xyz[a])
                src.append(int(structure.source_index[a]))
            new_res = ResidueInfo(res.chain_id, res.chain_index, res.resseq, res.icode, res.resname,
                                  res.input_resname, start, len(names))
        residues.append(new_res)
    ss = [(old_to_new[a], old_to_new[b]) for a, b in structure.disulfides if a in old_to_new and b in old_to_new]
    return Structure(name=name or structure.name, residues=residues, atom_names=names,
                     atom_residue=np.asarray(res_of, np.int64), coords=np.asarray(out_xyz, np.float64).reshape(-1, 3),
                     source_index=np.asarray(src, np.int64), chain_ids=list(structure.chain_ids),
                     next_consecutive=structure.next_consecutive.copy(), disulfides=ss, breaks=list(structure.breaks),
                     warnings=list(structure.warnings), dropped=dict(structure.dropped),
                     n_input_atoms=structure.n_input_atoms, n_models=structure.n_models,
                     n_hydrogens=structure.n_hydrogens, model=structure.model, source=structure.source)


def sub_structure(structure: Structure, chains: Sequence[str], coords: Optional[np.ndarray] = None) -> Structure:
    """The residues of some chains (for binding energies): same coordinates, inter-chain disulfides dropped."""
    keep = [k for k, r in enumerate(structure.residues) if r.chain_id in chains]
    if not keep:
        raise MutationError(f"{structure.name}: no residues in chain(s) {', '.join(chains)}")
    return residue_subset(structure, keep, coords, name=f"{structure.name}[{''.join(chains)}]")[0]


def residue_subset(structure: Structure, keep: Sequence[int], coords: Optional[np.ndarray] = None,
                   name: Optional[str] = None) -> Tuple[Structure, np.ndarray]:
    """A structure made of some residues (indices, kept in order) and the indices of its atoms in
    ``structure``.  Residues stay consecutive only when both neighbours are kept; disulfides with
    a partner outside are dropped."""
    xyz = structure.coords if coords is None else np.asarray(coords, np.float64)
    keep = sorted(set(int(k) for k in keep))
    atoms = np.concatenate([np.arange(structure.residues[k].atom_start, structure.residues[k].atom_stop)
                            for k in keep]).astype(np.int64)
    old_to_new = {int(a): n for n, a in enumerate(atoms)}
    residues = []
    start = 0
    for k in keep:
        r = structure.residues[k]
        n = r.atom_stop - r.atom_start
        residues.append(ResidueInfo(r.chain_id, r.chain_index, r.resseq, r.icode, r.resname, r.input_resname,
                                    start, start + n))
        start += n
    res_map = {k: n for n, k in enumerate(keep)}
    nxt = np.array([bool(structure.next_consecutive[k]) and (k + 1) in res_map for k in keep], bool)
    ss = [(old_to_new[a], old_to_new[b]) for a, b in structure.disulfides if a in old_to_new and b in old_to_new]
    chains = {r.chain_id for r in residues}
    sub = Structure(name=name or f"{structure.name}[subset]", residues=residues,
                    atom_names=[structure.atom_names[a] for a in atoms],
                    atom_residue=np.asarray([res_map[int(structure.atom_residue[a])] for a in atoms], np.int64),
                    coords=xyz[atoms].copy(), source_index=structure.source_index[atoms].copy(),
                    chain_ids=[c for c in structure.chain_ids if c in chains], next_consecutive=nxt,
                    disulfides=ss, breaks=[], warnings=[], dropped={}, n_input_atoms=structure.n_input_atoms,
                    source=structure.source)
    return sub, atoms


# ----------------------------------------------------------------------------------------------
# torsion-space relaxation


class TorsionRelaxer:
    """Rotate the side chains of ``residues`` about their chi bonds to lower an energy.

    Every chi (all defined chis, scored or not; not PRO, whose ring would open) gets one angle
    increment; increments are applied outermost chi first, so an inner rotation carries the outer
    atoms rigidly.  Bond lengths and bond angles never change."""

    def __init__(self, structure: Structure, residues: Sequence[int], dtype=torch.float64):
        at = params.atom_types()
        # per chi level: axis atoms b, c per entry, moving atoms with their entry, parameter per entry
        axis_b: List[List[int]] = [[] for _ in range(5)]
        axis_c: List[List[int]] = [[] for _ in range(5)]
        mov: List[List[int]] = [[] for _ in range(5)]
        mov_entry: List[List[int]] = [[] for _ in range(5)]
        param: List[List[int]] = [[] for _ in range(5)]
        #: (residue index in ``structure``, chi index) -> parameter index
        self.param_index: Dict[Tuple[int, int], int] = {}
        n_param = 0
        for k in sorted(set(int(r) for r in residues)):
            res = structure.residues[k]
            if res.resname == "PRO":
                continue
            idx = {structure.atom_names[a]: a for a in range(res.atom_start, res.atom_stop)}
            for ci, q in enumerate(chi_definitions(res.resname)):
                if not all(n in idx for n in q):
                    break
                lvl = int(at[(res.resname, q[2])]["level"])
                moving = [idx[n] for n in idx if n not in BACKBONE and int(at[(res.resname, n)]["level"]) > lvl]
                if not moving:
                    continue
                e = len(axis_b[ci])
                axis_b[ci].append(idx[q[1]])
                axis_c[ci].append(idx[q[2]])
                param[ci].append(n_param)
                self.param_index[(k, ci)] = n_param
                n_param += 1
                mov[ci].extend(moving)
                mov_entry[ci].extend([e] * len(moving))
        self.n_params = n_param
        self.levels = []
        for ci in range(4, -1, -1):  # outermost chi first
            if not axis_b[ci]:
                continue
            lt = lambda x: torch.as_tensor(x, dtype=torch.long)  # noqa: E731
            self.levels.append((lt(axis_b[ci]), lt(axis_c[ci]), lt(mov[ci]), lt(mov_entry[ci]), lt(param[ci])))
        self.dtype = dtype

    def apply(self, base: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        pos = base
        for b_idx, c_idx, m_idx, entry, pidx in self.levels:
            th = theta.index_select(0, pidx).index_select(0, entry)
            b = pos.index_select(0, b_idx).index_select(0, entry)
            c = pos.index_select(0, c_idx).index_select(0, entry)
            u = c - b
            u = u / torch.linalg.norm(u, dim=1, keepdim=True)
            v = pos.index_select(0, m_idx) - c
            cos = torch.cos(th).unsqueeze(1)
            sin = torch.sin(th).unsqueeze(1)
            rot = v * cos + torch.cross(u, v, dim=1) * sin + u * (u * v).sum(1, keepdim=True) * (1.0 - cos)
            pos = pos.index_copy(0, m_idx, rot + c)
        return pos

    def relax(self, module, coords: np.ndarray, max_eval: int = 30, theta0: Optional[np.ndarray] = None,
              tolerance: float = 1e-3) -> Tuple[np.ndarray, float]:
        """Minimise ``module(x).sum()`` over the chi increments; returns (coordinates, energy)."""
        base = torch.as_tensor(coords, dtype=self.dtype)
        if self.n_params == 0 or max_eval <= 0:
            with torch.no_grad():
                return coords.copy(), float(module(base).sum())
        theta = torch.zeros(self.n_params, dtype=self.dtype) if theta0 is None else \
            torch.as_tensor(theta0, dtype=self.dtype).clone()

        def fg(th: torch.Tensor) -> Tuple[float, torch.Tensor]:
            t = th.detach().requires_grad_(True)
            e = module(self.apply(base, t)).sum()
            (g,) = torch.autograd.grad(e, t)
            return float(e.detach()), g.detach()

        th, e = lbfgs(fg, theta, max_eval=max_eval, tolerance=tolerance)
        best = {"theta": th, "e": e}
        with torch.no_grad():
            out = self.apply(base, best["theta"]).numpy().copy()
        return out, best["e"]



def lbfgs(fg, x0: torch.Tensor, max_eval: int = 30, history: int = 10, tolerance: float = 1e-3,
          max_step: float = 0.35) -> Tuple[torch.Tensor, float]:
    """Minimise f with limited-memory BFGS and a backtracking (Armijo) line search.

    ``fg(x) -> (f, grad)``; at most ``max_eval`` evaluations; a step never moves a variable by
    more than ``max_step`` (radians here).  Returns the best point seen and its value.
    (A small self-contained optimiser: ``torch.optim`` pulls in ``torch._dynamo``, seconds of import.)"""
    x = x0.clone()
    f, g = fg(x)
    n_eval = 1
    best_x, best_f = x.clone(), f
    s_hist: List[torch.Tensor] = []
    y_hist: List[torch.Tensor] = []
    while n_eval < max_eval and float(g.abs().max()) > tolerance:
        # two-loop recursion
        q = g.clone()
        alphas = []
        for s_k, y_k in zip(reversed(s_hist), reversed(y_hist)):
            rho = 1.0 / float(y_k @ s_k)
            a = rho * float(s_k @ q)
            q -= a * y_k
            alphas.append((rho, a))
        if y_hist:
            q *= float(s_hist[-1] @ y_hist[-1]) / float(y_hist[-1] @ y_hist[-1])
        else:
            q *= 0.1 / max(float(g.abs().max()), 1e-12)  # first step: 0.1 rad for the steepest chi
        for (s_k, y_k), (rho, a) in zip(zip(s_hist, y_hist), reversed(alphas)):
            b = rho * float(y_k @ q)
            q += (a - b) * s_k
        d = -q
        slope = float(g @ d)
        if slope >= 0.0:  # not a descent direction: restart from steepest descent
            s_hist.clear()
            y_hist.clear()
            d = -g * (0.1 / max(float(g.abs().max()), 1e-12))
            slope = float(g @ d)
        big = float(d.abs().max())
        t = min(1.0, max_step / big) if big > 0 else 1.0
        accepted = False
        while n_eval < max_eval:
            x_new = x + t * d
            f_new, g_new = fg(x_new)
            n_eval += 1
            if f_new <= f + 1e-4 * t * slope:
                accepted = True
                break
            t *= 0.3
        if not accepted:
            break
        s_k = x_new - x
        y_k = g_new - g
        if float(s_k @ y_k) > 1e-10:
            s_hist.append(s_k)
            y_hist.append(y_k)
            if len(s_hist) > history:
                s_hist.pop(0)
                y_hist.pop(0)
        x, f, g = x_new, f_new, g_new
        if f < best_f:
            best_x, best_f = x.clone(), f
        if abs(float(t * slope)) < 1e-6:
            break
    return best_x, best_f
