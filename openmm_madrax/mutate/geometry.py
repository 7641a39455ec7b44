"""Side-chain geometry: internal coordinates from PDBFixer's residue templates, NeRF placement,
chi measurement."""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import params
from ..errors import MutationError
from ..residues import BACKBONE_OXT
from ..structure import Structure


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
    heavy = [n for n in params.heavy_atoms()[resname] if n not in BACKBONE_OXT]
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
