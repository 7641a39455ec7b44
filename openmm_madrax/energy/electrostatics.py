"""Channel 2: electrostatics between charged atoms (spec 5.2).

Distance-dependent dielectric eps = 8.8 d cT with Debye-like screening exp(-K d), i.e. ~1/d^2;
FoldX 2002 constants, MadraX's learned pair multiplier.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .geometry import safe_norm
from .smooth import gate_le, smax_t

LIST_CUTOFF = 7.0


def pair_energies(pos: Tensor, pi: Tensor, pj: Tensor, charge: Tensor, radius: Tensor, coulomb_pref: float,
                  kappa_factor: float, pair_multiplier: float, smooth: bool) -> Tensor:
    """E_pair = q_i q_j 332/(8.8 d2 cT) exp(-K d2)/d2 x multiplier, K = sqrt(200 |q_i q_j| Ic/T)."""
    d = safe_norm(pos.index_select(0, pi) - pos.index_select(0, pj))
    qq = charge.index_select(0, pi) * charge.index_select(0, pj)
    floor = radius.index_select(0, pi) + radius.index_select(0, pj) - 0.09
    d1 = smax_t(d, floor, 0.05, smooth)
    d2 = torch.where(qq <= 0.0, smax_t(d1, torch.full_like(d1, 3.5), 0.05, smooth), d1)
    kappa = torch.sqrt(kappa_factor * torch.abs(qq))
    e = qq * coulomb_pref / d2 * torch.exp(-kappa * d2) / d2 * pair_multiplier
    return e * gate_le(d, 7.0, 0.5, smooth)
