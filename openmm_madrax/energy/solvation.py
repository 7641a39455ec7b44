"""Channels 4 and 5: polar and hydrophobic solvation (spec 5.4, 5.5).

Per-atom FoldX solvation energies enerG (Guerois et al. 2002) scaled by burial.  Polar atoms that
are buried by oriented neighbours (directional occupancy cRP) but make no H-bond pay the
"directional" rate (about twice the plain one).
"""
from __future__ import annotations

import torch
from torch import Tensor

from .smooth import sclamp


def polar(energ: Tensor, facc: Tensor, occ: Tensor, occ_ref: Tensor, occ_max: Tensor, crp: Tensor, occluded: Tensor,
          slot_parent: Tensor, polar_mult: Tensor, directional_ok: Tensor, no_hbond: Tensor,
          state_slots: Tensor, state_atoms: Tensor, w_plain: float, w_directional: float, smooth: bool) -> Tensor:
    """Per-atom polar solvation (only atoms with enerG >= 0 contribute).

    ``state_slots`` (n_polar, 4 states, 3 slots; -1 = none) lists the fake-atom slots of every
    polar atom ``state_atoms`` by proton/lone-pair state; ``no_hbond`` is 1 for atoms without an
    H-bond (``hbond.no_hbond_weight``; 0/1 in exact mode).
    """
    n = energ.shape[0]
    crp_sum = torch.zeros(n, dtype=energ.dtype, device=energ.device).index_add(0, slot_parent, crp)
    denom = occ_max - occ_ref
    safe_denom = torch.where(denom != 0, denom, torch.ones_like(denom))
    facc_pol = sclamp((polar_mult * crp_sum + occ - occ_ref) / safe_denom, 1e-5, 2.0, 0.01, smooth)

    # a state is occluded when all its slots are (exact: cRP > 0); the atom when one of its states is
    exists = state_slots >= 0
    occ_pad = torch.cat([occluded, torch.ones(1, dtype=crp.dtype, device=crp.device)])
    vals = occ_pad.index_select(0, torch.where(exists, state_slots, torch.full_like(state_slots, crp.shape[0])).view(-1))
    vals = vals.view(state_slots.shape)
    state_has_slot = exists.any(-1)
    if smooth:
        state_occ = torch.where(state_has_slot, vals.prod(-1), torch.zeros_like(vals[:, :, 0]))
        o_polar = 1.0 - (1.0 - state_occ).prod(-1)
        o = torch.zeros(n, dtype=energ.dtype, device=energ.device).index_add(0, state_atoms, o_polar)
        lam = no_hbond * o * directional_ok.to(energ.dtype)
    else:
        full = ((vals > 0.5).all(-1) & state_has_slot).any(-1)
        o = torch.zeros(n, dtype=torch.bool, device=energ.device)
        o = o.index_put((state_atoms,), full)
        lam = (directional_ok & o & (crp_sum > 0.0) & (no_hbond > 0.5)).to(energ.dtype)
    e = energ * ((1.0 - lam) * w_plain * facc + lam * w_directional * facc_pol)
    return torch.where(energ >= 0.0, e, torch.zeros_like(e))


def hydrophobic(energ: Tensor, facc: Tensor, w_hydro: float, dcp: float, corr_ionic: float) -> Tensor:
    """E_i = w (enerG - DCp)(1 + corr_ionic) facc for enerG <= 0."""
    e = w_hydro * (energ - dcp) * (1.0 + corr_ionic) * facc
    return torch.where(energ <= 0.0, e, torch.zeros_like(e))
