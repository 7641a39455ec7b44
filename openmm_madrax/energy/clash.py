"""Channel 3: van der Waals clashes (spec 5.3) with MadraX's fitted tolerances per pair group."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from .geometry import safe_norm
from .smooth import relu, smoothstep

E3 = math.exp(3.0)


def clash_penalty(s: Tensor, smooth: bool) -> Tensor:
    """p(s) = exp(10 s - 2) for 0 <= s <= 0.5, e^3 + 30 (s - 0.5) above, 0 for s < 0.

    Smooth: the onset jump (0 -> e^-2 at s = 0) becomes p(s) S(s/0.05) and the slope change at
    s = 0.5 a quadratic blend over +-0.02 A (p written as e(s - r(s-0.5)) + 30 r(s-0.5), r = relu).
    """
    r = relu(s - 0.5, 0.02, smooth)
    p = torch.exp(10.0 * (s - r) - 2.0) + 30.0 * r
    p = torch.where(p > 999.0, 999.0 + 0.00012001 * (p - 999.0), p)
    if smooth:
        return p * smoothstep(s / 0.05)
    return torch.where(s >= 0.0, p, torch.zeros_like(p))


def pair_energies(pos: Tensor, pi: Tensor, pj: Tensor, radius: Tensor, tol_main: Tensor, tol_hb: float,
                  tol_cons_bb: float, is_cons_bb: Tensor, hb_mask: Tensor, smooth: bool) -> Tensor:
    """Clash energy per pair.

    ``tol_main`` is the tolerance of the pair's own group (same residue / not H-bonded / disulfide);
    H-bonded pairs use ``tol_hb`` instead (smooth: blended with the H-bond network weight).
    Backbone-backbone pairs of consecutive residues are scored with ``tol_cons_bb`` and, when also
    H-bonded, once more with ``tol_hb`` (the two groups overlap in MadraX).
    """
    d = safe_norm(pos.index_select(0, pi) - pos.index_select(0, pj))
    rsum = radius.index_select(0, pi) + radius.index_select(0, pj)
    t_other = (1.0 - hb_mask) * tol_main + hb_mask * tol_hb
    e_other = clash_penalty(rsum + t_other - d, smooth)
    e_cons = clash_penalty(rsum + tol_cons_bb - d, smooth) + hb_mask * clash_penalty(rsum + tol_hb - d, smooth)
    # MadraX's candidate filter (d <= 5 A and d <= r_i + r_j + 0.6) never binds: p = 0 for d > r_i + r_j + t
    return torch.where(is_cons_bb, e_cons, e_other)
