"""Channel 2: electrostatics between charged atoms (spec 5.2).

Distance-dependent dielectric eps = 8.8 d cT with Debye-like screening exp(-K d), i.e. ~1/d^2;
FoldX 2002 constants, MadraX's learned pair multiplier.
"""
from __future__ import annotations

from typing import Tuple

import torch
from torch import Tensor

from .geometry import safe_norm
from .smooth import gate_le, smax_t

CUTOFF = 7.0  # A: charged pairs beyond this do not interact
CUTOFF_SWITCH = 0.5  # A: smooth half-width of the cutoff
RADIUS_OFFSET = 0.09  # A: the distance is floored at r_i + r_j - this
OPPOSITE_FLOOR = 3.5  # A: opposite charges are further floored at this distance


def build_pairs(i: Tensor, j: Tensor, d: Tensor, charged: Tensor, same_res: Tensor,
                cutoff: float) -> Tuple[Tensor, Tensor]:
    """Pairs of charged atoms of different residues within ``cutoff`` (list cutoff + skin)."""
    sel = torch.nonzero(charged.index_select(0, i) & charged.index_select(0, j) & ~same_res
                        & (d <= cutoff)).squeeze(1)
    return i.index_select(0, sel), j.index_select(0, sel)



def pair_energies(pos: Tensor, pi: Tensor, pj: Tensor, charge: Tensor, radius: Tensor, coulomb_pref: float,
                  kappa_factor: float, pair_multiplier: float, smooth: bool, cutoff: float = CUTOFF,
                  switch: float = CUTOFF_SWITCH, radius_offset: float = RADIUS_OFFSET,
                  opposite_floor: float = OPPOSITE_FLOOR) -> Tensor:
    """E_pair = q_i q_j 332/(8.8 d2 cT) exp(-K d2)/d2 x multiplier, K = sqrt(200 |q_i q_j| Ic/T)."""
    d = safe_norm(pos.index_select(0, pi) - pos.index_select(0, pj))
    qq = charge.index_select(0, pi) * charge.index_select(0, pj)
    floor = radius.index_select(0, pi) + radius.index_select(0, pj) - radius_offset
    d1 = smax_t(d, floor, 0.05, smooth)
    d2 = torch.where(qq <= 0.0, smax_t(d1, torch.full_like(d1, opposite_floor), 0.05, smooth), d1)
    kappa = torch.sqrt(kappa_factor * torch.abs(qq))
    e = qq * coulomb_pref / d2 * torch.exp(-kappa * d2) / d2 * pair_multiplier
    return e * gate_le(d, cutoff, switch, smooth)
