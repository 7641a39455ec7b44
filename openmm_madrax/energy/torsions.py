"""Channels 7 (backbone entropy) and 10 (rotamer violation), spec 5.7, 5.10 and 6.

The channel formulas (multipliers, caps and clamps) are MadraX's; the log-densities ln p(phi, psi),
ln p(omega) and ln p(chi_1..chi_n) come from a density module with the interface of
:class:`ZeroDensities` (the project's own fitted densities live in
:mod:`openmm_madrax.energy.torsion_densities`).  Without densities both channels are zero.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np
import torch
from torch import Tensor, nn

from .. import params
from .geometry import dihedral
from .smooth import sclamp, smin

ANGLE_CLAMP = 5.0


def _dihedral_of(pos: Tensor, idx: Tensor) -> Tensor:
    return dihedral(pos.index_select(0, idx[:, 0]), pos.index_select(0, idx[:, 1]),
                          pos.index_select(0, idx[:, 2]), pos.index_select(0, idx[:, 3]))


class ZeroDensities(nn.Module):
    """Density interface; returns ln p = 0 everywhere (used when no densities are loaded).

    ``restype`` indexes :data:`openmm_madrax.params.RESIDUE_ORDER`.  A module whose attribute
    ``pre_pro_class`` is >= 0 also receives that class index in ``log_bb`` and ``log_omega`` for
    residues followed by a proline (except GLY and PRO, which keep their own class).
    """

    def __init__(self):
        super().__init__()
        self.available = False
        self.pre_pro_class = -1

    def log_bb(self, restype: Tensor, phi: Tensor, psi: Tensor) -> Tensor:
        return torch.zeros_like(phi)

    def log_omega(self, restype: Tensor, omega: Tensor) -> Tensor:
        return torch.zeros_like(omega)

    def log_sc(self, restype: Tensor, chi: Tensor, n_chi: Tensor) -> Tensor:
        return torch.zeros_like(chi[:, 0])


class TorsionChannels(nn.Module):
    """phi/psi/omega/chi from coordinates, then channels 7 and 10 from log-densities."""

    def __init__(self, tables, dtype: torch.dtype, densities: nn.Module = None):
        super().__init__()
        t = tables
        bb = np.nonzero((t.res_prev >= 0) & (t.res_next >= 0))[0]  # phi and psi defined
        prev = t.res_prev[bb]
        nxt = t.res_next[bb]
        self.densities = densities if densities is not None else ZeroDensities()
        self.enabled = bool(getattr(self.densities, "available", False))
        self.register_buffer("bb_res", torch.as_tensor(bb, dtype=torch.long))
        self.register_buffer("bb_restype", torch.as_tensor(t.res_restype[bb], dtype=torch.long))
        # density class of phi/psi and omega: the residue type, or the density module's pooled
        # pre-proline class for a non-GLY, non-PRO residue whose consecutive successor is PRO
        bb_class = t.res_restype[bb].copy()
        pre_pro = int(getattr(self.densities, "pre_pro_class", -1))
        if pre_pro >= 0 and len(bb):
            own = t.res_restype[bb]
            next_pro = t.res_restype[nxt] == params.RESIDUE_INDEX["PRO"]
            bb_class[next_pro & (own != params.RESIDUE_INDEX["GLY"]) & (own != params.RESIDUE_INDEX["PRO"])] = pre_pro
        self.register_buffer("bb_class", torch.as_tensor(bb_class, dtype=torch.long))
        phi = np.stack([t.res_C[prev], t.res_N[bb], t.res_CA[bb], t.res_C[bb]], 1) if len(bb) else np.zeros((0, 4), np.int64)
        psi = np.stack([t.res_N[bb], t.res_CA[bb], t.res_C[bb], t.res_N[nxt]], 1) if len(bb) else np.zeros((0, 4), np.int64)
        omg = np.stack([t.res_CA[bb], t.res_C[bb], t.res_N[nxt], t.res_CA[nxt]], 1) if len(bb) else np.zeros((0, 4), np.int64)
        self.register_buffer("phi_atoms", torch.as_tensor(phi, dtype=torch.long))
        self.register_buffer("psi_atoms", torch.as_tensor(psi, dtype=torch.long))
        self.register_buffer("omega_atoms", torch.as_tensor(omg, dtype=torch.long))
        sc = bb[t.n_chi[bb] > 0]
        self.register_buffer("sc_res", torch.as_tensor(sc, dtype=torch.long))
        self.register_buffer("sc_restype", torch.as_tensor(t.res_restype[sc], dtype=torch.long))
        self.register_buffer("sc_n_chi", torch.as_tensor(t.n_chi[sc], dtype=torch.long))
        chi = t.chi_atoms[sc].copy()
        # unscored chi slots (beyond n_chi) repeat chi 1: a well-defined dihedral with a finite
        # gradient, which the densities ignore
        unused = chi[:, :, 0] < 0
        if unused.any():
            chi[unused] = np.broadcast_to(chi[:, :1, :], chi.shape)[unused]
        self.register_buffer("chi_atoms", torch.as_tensor(chi, dtype=torch.long))
        self.register_buffer("sc_weight", torch.as_tensor(t.rotamer_weight[sc], dtype=dtype))
        m = params.multipliers()
        self.w_bb = m["angleScorer.weightBB"]
        self.w_omega = m["angleScorer.weightOmega"]
        self.n_residues = int(t.res_restype.shape[0])

    @classmethod
    def empty(cls, tables, dtype: torch.dtype) -> "TorsionChannels":
        return cls(tables, dtype, None)

    def angles(self, pos: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """(phi, psi, omega) of residues ``bb_res`` and chi (n_sc x 5) of ``sc_res``, radians."""
        phi = _dihedral_of(pos, self.phi_atoms)
        psi = _dihedral_of(pos, self.psi_atoms)
        omega = _dihedral_of(pos, self.omega_atoms)
        ca = self.chi_atoms
        chi = dihedral(pos[ca[:, :, 0]], pos[ca[:, :, 1]], pos[ca[:, :, 2]], pos[ca[:, :, 3]])
        return phi, psi, omega, chi

    def forward(self, pos: Tensor, smooth: bool) -> Tuple[Tensor, Tensor]:
        R = self.n_residues
        e7 = torch.zeros(R, dtype=pos.dtype, device=pos.device)
        e10 = torch.zeros(R, dtype=pos.dtype, device=pos.device)
        if not self.enabled:
            return e7, e10
        phi, psi, omega, chi = self.angles(pos)
        lp_bb = self.densities.log_bb(self.bb_class, phi, psi)
        lp_om = self.densities.log_omega(self.bb_class, omega)
        inner = smin(self.w_bb * lp_bb, 5.0, 0.05, smooth) + self.w_omega * lp_om
        e7 = e7.index_put((self.bb_res,), sclamp(-0.5 * inner, 0.0, 5.0, 0.05, smooth))
        lp_sc = self.densities.log_sc(self.sc_restype, chi, self.sc_n_chi)
        e_sc = sclamp(-0.5 * smin(self.sc_weight * lp_sc, 5.0, 0.05, smooth), 0.0, 5.0, 0.05, smooth)
        e10 = e10.index_put((self.sc_res,), e_sc)
        return e7, e10
