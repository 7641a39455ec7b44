"""All-heavy-atom chains from torsions: batched natural extension reference frames (NeRF) in torch.

Geometry is exact and ideal: every bond length and bond angle is a constant of the residue type
(backbone: Engh & Huber 1991 values, the C-N peptide bond and the C-N-CA / CA-C-N angles from
MadraX's own peptide table so that channel 9 is at its minimum; side chains: PDBFixer's residue
templates through :func:`openmm_madrax.mutate.side_chain_geometry`, with near-planar dihedrals
and near-staggered chi offsets snapped to their ideal values), the carbonyl O lies in the peptide
plane, CB is placed with the template's improper (L-amino acids).  Only phi, psi, omega and the
chi angles vary.

:class:`ChainBuilder` precomputes, for one sequence, the index tables of every atom and builds
coordinates for a batch of conformers at once: the backbone residue by residue (vectorised over
the batch), side chains in at most 10 vectorised steps over all residues.  ``grow`` adds
self-avoidance: the chain is grown in blocks of residues, a block whose heavy atoms come closer
than the contact distances to anything built before is re-drawn (see :func:`grow_chains`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from .. import params

DEG = math.pi / 180.0
#: backbone bond lengths (A) and angles (deg), Engh & Huber 1991; (default, GLY, PRO)
BOND_N_CA = {"default": 1.458, "GLY": 1.451, "PRO": 1.466}
BOND_CA_C = {"default": 1.525, "GLY": 1.516}
BOND_C_O = 1.231
ANGLE_N_CA_C = {"default": 111.2, "GLY": 112.5, "PRO": 111.8}
ANGLE_CA_C_O = {"default": 120.1, "GLY": 120.8}
SNAP = 0.2  # rad: template dihedrals / chi offsets this close to 0, +-120 or 180 deg are snapped

MAX_ATOMS = 15  # heavy atoms per residue incl. OXT (TRP: 14)


def _get(table, resname):
    return table.get(resname, table["default"]) if isinstance(table, dict) else table


@lru_cache(maxsize=None)
def ideal_side_chain(resname: str):
    """Template side-chain recipes with planar / staggered values snapped (see module doc)."""
    from ..mutate import side_chain_geometry

    out = []
    for r in side_chain_geometry(resname):
        dih = r.dihedral
        off = r.offset
        if r.chi < 0:
            for ideal in (0.0, math.pi, -math.pi):
                if abs(dih - ideal) < SNAP:
                    dih = ideal
        else:
            w = math.atan2(math.sin(off), math.cos(off))
            for ideal in (0.0, math.pi, -math.pi, 2 * math.pi / 3, -2 * math.pi / 3):
                if abs(w - ideal) < SNAP:
                    w = ideal
            off = w
        out.append((r.name, r.a, r.b, r.c, r.bond, r.angle, dih, r.chi, off))
    return tuple(out)


def atom_order(resname: str, last: bool) -> List[str]:
    from ..mutate import residue_atom_order

    return residue_atom_order(resname, last)


def place(a: Tensor, b: Tensor, c: Tensor, bond, angle, tors) -> Tensor:
    """Atom d with |cd| = bond, angle(b, c, d) = angle, dihedral(a, b, c, d) = tors (radians);
    all broadcast over leading dimensions."""
    bc = c - b
    bc = bc / torch.linalg.norm(bc, dim=-1, keepdim=True)
    nrm = torch.cross(b - a, bc, dim=-1)
    nrm = nrm / torch.linalg.norm(nrm, dim=-1, keepdim=True)
    m = torch.cross(nrm, bc, dim=-1)
    bond = torch.as_tensor(bond, dtype=a.dtype, device=a.device)
    angle = torch.as_tensor(angle, dtype=a.dtype, device=a.device)
    tors = torch.as_tensor(tors, dtype=a.dtype, device=a.device)
    d0 = (-bond * torch.cos(angle)).unsqueeze(-1)
    d1 = (bond * torch.sin(angle) * torch.cos(tors)).unsqueeze(-1)
    d2 = (bond * torch.sin(angle) * torch.sin(tors)).unsqueeze(-1)
    return c + d0 * bc + d1 * m + d2 * nrm


@dataclass
class Topology:
    """Atom layout of one chain (``Structure`` order: per residue N, CA, C, O, side chain, OXT last)."""

    resnames: List[str]
    atom_names: List[str]
    atom_residue: np.ndarray  # (N,)
    res_start: np.ndarray  # (L + 1,)
    idx_N: np.ndarray
    idx_CA: np.ndarray
    idx_C: np.ndarray
    idx_O: np.ndarray
    idx_OXT: int
    res_atoms: np.ndarray  # (L, MAX_ATOMS), -1 padded
    polar: np.ndarray  # (N,) bool: N or O atom
    sc_steps: List[Dict[str, np.ndarray]]  # per recipe position k: arrays over residues having it

    @property
    def n_atoms(self) -> int:
        return len(self.atom_names)

    @property
    def n_residues(self) -> int:
        return len(self.resnames)


def make_topology(resnames: Sequence[str]) -> Topology:
    L = len(resnames)
    names: List[str] = []
    res_of: List[int] = []
    start = [0]
    for i, rn in enumerate(resnames):
        order = atom_order(rn, i == L - 1)
        names.extend(order)
        res_of.extend([i] * len(order))
        start.append(len(names))
    start = np.asarray(start, np.int64)
    index = [{names[a]: a for a in range(start[i], start[i + 1])} for i in range(L)]
    res_atoms = np.full((L, MAX_ATOMS), -1, np.int64)
    for i in range(L):
        n = start[i + 1] - start[i]
        res_atoms[i, :n] = np.arange(start[i], start[i + 1])
    steps: List[Dict[str, List]] = []
    for i, rn in enumerate(resnames):
        for k, (name, a, b, c, bond, ang, dih, chi, off) in enumerate(ideal_side_chain(rn)):
            while len(steps) <= k:
                steps.append({key: [] for key in ("res", "atom", "a", "b", "c", "bond", "angle", "dihedral", "chi",
                                                  "offset")})
            s = steps[k]
            s["res"].append(i)
            s["atom"].append(index[i][name])
            s["a"].append(index[i][a])
            s["b"].append(index[i][b])
            s["c"].append(index[i][c])
            s["bond"].append(bond)
            s["angle"].append(ang)
            s["dihedral"].append(dih)
            s["chi"].append(chi)
            s["offset"].append(off)
    sc_steps = []
    for s in steps:
        sc_steps.append({k: np.asarray(v, np.float64 if k in ("bond", "angle", "dihedral", "offset") else np.int64)
                         for k, v in s.items()})
    return Topology(
        resnames=list(resnames), atom_names=names, atom_residue=np.asarray(res_of, np.int64), res_start=start,
        idx_N=np.array([ix["N"] for ix in index]), idx_CA=np.array([ix["CA"] for ix in index]),
        idx_C=np.array([ix["C"] for ix in index]), idx_O=np.array([ix["O"] for ix in index]),
        idx_OXT=int(index[-1]["OXT"]), res_atoms=res_atoms,
        polar=np.array([n[0] in "NO" for n in names], bool), sc_steps=sc_steps)


class ChainBuilder:
    """Batched coordinates of one sequence from torsions (torch, float64 by default)."""

    def __init__(self, resnames: Sequence[str], device=None, dtype=torch.float64):
        self.top = make_topology(resnames)
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.dtype = dtype
        L = len(resnames)
        pep = params.by_key("peptide_geometry", "residue")
        f = lambda x: torch.as_tensor(np.asarray(x, np.float64), dtype=dtype, device=self.device)  # noqa: E731
        self.b_nca = f([_get(BOND_N_CA, r) for r in resnames])
        self.b_cac = f([_get(BOND_CA_C, r) for r in resnames])
        self.a_ncac = f([_get(ANGLE_N_CA_C, r) * DEG for r in resnames])
        self.a_caco = f([_get(ANGLE_CA_C_O, r) * DEG for r in resnames])
        # peptide bond (i-1, i) with the statistics of residue i (MadraX's channel 9 convention)
        self.b_cn = f([float(pep[r]["CN_mean_A"]) for r in resnames])
        self.a_cnca = f([float(pep[r]["CNCA_mean_rad"]) for r in resnames])
        self.a_cacn = f([float(pep[r]["CACN_mean_rad"]) for r in resnames])
        self.sc = [{k: torch.as_tensor(v, device=self.device, dtype=dtype if v.dtype == np.float64 else torch.long)
                    for k, v in s.items()} for s in self.top.sc_steps]
        self.n_residues = L
        self._sc_res = [st["res"] for st in self.top.sc_steps]  # sorted residue index per step
        self._idx_N = torch.as_tensor(self.top.idx_N, device=self.device)
        self._idx_CA = torch.as_tensor(self.top.idx_CA, device=self.device)
        self._idx_C = torch.as_tensor(self.top.idx_C, device=self.device)
        self._idx_O = torch.as_tensor(self.top.idx_O, device=self.device)

    # ------------------------------------------------------------------------------------------
    def empty(self, n: int) -> Tensor:
        return torch.zeros((n, self.top.n_atoms, 3), dtype=self.dtype, device=self.device)

    def first_residue(self, X: Tensor, rows: Tensor) -> None:
        """N, CA, C of residue 0 in a fixed frame (N at the origin, CA on +x, C in the xy plane)."""
        n = rows.shape[0]
        t = self.top
        z = torch.zeros((n, 3), dtype=self.dtype, device=self.device)
        ca = z.clone()
        ca[:, 0] = self.b_nca[0]
        c = z.clone()
        ang = self.a_ncac[0]
        c[:, 0] = self.b_nca[0] - self.b_cac[0] * torch.cos(ang)
        c[:, 1] = self.b_cac[0] * torch.sin(ang)
        X[rows, int(t.idx_N[0])] = z
        X[rows, int(t.idx_CA[0])] = ca
        X[rows, int(t.idx_C[0])] = c

    def backbone(self, X: Tensor, rows: Tensor, start: int, stop: int, phi: Tensor, psi: Tensor, omega: Tensor) -> None:
        """Place N, CA, C of residues start..stop-1 (start >= 1) and O of start-1..stop-1 for the
        conformers ``rows``; torsion tensors are (len(rows), L) radians (psi of the last residue
        places its O and OXT)."""
        t = self.top
        if stop > start:
            xn, xa, xc = X[rows, int(t.idx_N[start - 1])], X[rows, int(t.idx_CA[start - 1])], X[rows, int(t.idx_C[start - 1])]
            out_n, out_a, out_c = [], [], []
            for i in range(start, stop):
                n_i = place(xn, xa, xc, self.b_cn[i], self.a_cacn[i], psi[:, i - 1])
                ca_i = place(xa, xc, n_i, self.b_nca[i], self.a_cnca[i], omega[:, i - 1])
                c_i = place(xc, n_i, ca_i, self.b_cac[i], self.a_ncac[i], phi[:, i])
                out_n.append(n_i)
                out_a.append(ca_i)
                out_c.append(c_i)
                xn, xa, xc = n_i, ca_i, c_i
            r = rows.unsqueeze(1)
            sl = slice(start, stop)
            X[r, self._idx_N[sl].unsqueeze(0)] = torch.stack(out_n, 1)
            X[r, self._idx_CA[sl].unsqueeze(0)] = torch.stack(out_a, 1)
            X[r, self._idx_C[sl].unsqueeze(0)] = torch.stack(out_c, 1)
        self.oxygens(X, rows, max(start - 1, 0), stop, psi)

    def oxygens(self, X: Tensor, rows: Tensor, start: int, stop: int, psi: Tensor) -> None:
        t = self.top
        L = self.n_residues
        if stop <= start:
            return
        r = rows.unsqueeze(1)
        sl = slice(start, stop)
        xn = X[r, self._idx_N[sl].unsqueeze(0)]
        xa = X[r, self._idx_CA[sl].unsqueeze(0)]
        xc = X[r, self._idx_C[sl].unsqueeze(0)]
        X[r, self._idx_O[sl].unsqueeze(0)] = place(xn, xa, xc, BOND_C_O, self.a_caco[sl], psi[:, sl] + math.pi)
        if stop == L:  # terminal carboxylate: OXT in the plane, opposite O
            last = L - 1
            X[rows, t.idx_OXT] = place(X[rows, int(t.idx_N[last])], X[rows, int(t.idx_CA[last])],
                                       X[rows, int(t.idx_C[last])], BOND_C_O, self.a_cacn[last], psi[:, last])

    def side_chains(self, X: Tensor, rows: Tensor, start: int, stop: int, chi: Tensor) -> None:
        """Side-chain atoms of residues start..stop-1; ``chi`` (len(rows), L, 5) radians."""
        r = rows.unsqueeze(1)
        for s, res_sorted in zip(self.sc, self._sc_res):
            lo, hi = np.searchsorted(res_sorted, [start, stop])
            if hi <= lo:
                continue
            sel = slice(int(lo), int(hi))
            res = s["res"][sel]
            ci = s["chi"][sel]
            a = X[r, s["a"][sel].unsqueeze(0)]
            b = X[r, s["b"][sel].unsqueeze(0)]
            c = X[r, s["c"][sel].unsqueeze(0)]
            chi_val = chi[:, res, ci.clamp(min=0)]
            free = (ci >= 0).unsqueeze(0) & torch.isfinite(chi_val)
            dih = torch.where(free, torch.nan_to_num(chi_val) + s["offset"][sel], s["dihedral"][sel].expand_as(chi_val))
            X[r, s["atom"][sel].unsqueeze(0)] = place(a, b, c, s["bond"][sel], s["angle"][sel], dih)

    def build(self, phi, psi, omega, chi) -> Tensor:
        """(n, N, 3) coordinates from (n, L) phi, psi, omega and (n, L, 5) chi (radians), no
        self-avoidance."""
        f = lambda x: torch.as_tensor(np.asarray(x), dtype=self.dtype, device=self.device)  # noqa: E731
        phi, psi, omega, chi = f(phi), f(psi), f(omega), f(chi)
        n = phi.shape[0]
        X = self.empty(n)
        rows = torch.arange(n, device=self.device)
        self.first_residue(X, rows)
        self.backbone(X, rows, 1, self.n_residues, phi, psi, omega)
        self.side_chains(X, rows, 0, self.n_residues, chi)
        return X
