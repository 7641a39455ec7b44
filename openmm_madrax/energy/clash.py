"""Channel 3: van der Waals clashes (spec 5.3) with MadraX's fitted tolerances per pair group."""
from __future__ import annotations

import math
from typing import List, Tuple

import torch
from torch import Tensor

from .geometry import safe_norm
from .smooth import relu, smoothstep

E3 = math.exp(3.0)
#: MadraX's candidate filter: d <= min(r_i + r_j + CANDIDATE_MARGIN, CANDIDATE_MAX)
CANDIDATE_MARGIN = 0.6
CANDIDATE_MAX = 5.0


# ----------------------------------------------------------------------------------------------
# set-up (with the neighbour list)


def build_pairs(i: Tensor, j: Tensor, d: Tensor, same_res: Tensor, cons_ij: Tensor, cons_ji: Tensor, ci: Tensor,
                cj: Tensor, bb_same: Tensor, da_pair: Tensor, level: Tensor, cycle: Tensor, terminal: Tensor,
                is_ile_cg2: Tensor, is_ile_cd1: Tensor, is_pro_c: Tensor, code_pro_cd: int, cons_excl: Tensor,
                mainchain: Tensor, radius: Tensor, tolerances: List[float], skin: float,
                margin: float = CANDIDATE_MARGIN, max_distance: float = CANDIDATE_MAX
                ) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Clash pairs after the static exclusions of spec 5.3, with their tolerance group.

    Same-residue pairs less than three covalent levels apart, in one ring, with a terminal atom,
    ILE CG2-CD1 or both backbone are excluded, as are the consecutive-residue pairs of
    ``cons_excl`` and PRO C(i-1)-CD.  ``tolerances``: the six group tolerances (A) of
    ``clash_tolerances``.  Returns ``(master positions, i, j, tolerance, consecutive backbone,
    same residue)``."""
    lvl = torch.abs(level.index_select(0, i) - level.index_select(0, j))
    cyc = cycle.index_select(0, i) & cycle.index_select(0, j)
    term = terminal.index_select(0, i) | terminal.index_select(0, j)
    ile = (is_ile_cg2.index_select(0, i) & is_ile_cd1.index_select(0, j)) \
        | (is_ile_cd1.index_select(0, i) & is_ile_cg2.index_select(0, j))
    excl = same_res & ((lvl < 3) | ile | cyc | term | bb_same)
    excl = excl | (cons_ij & cons_excl[ci, cj]) | (cons_ji & cons_excl[cj, ci])
    excl = excl | (is_pro_c.index_select(0, i) & (cj == code_pro_cd)) \
        | (is_pro_c.index_select(0, j) & (ci == code_pro_cd))
    rsum = radius.index_select(0, i) + radius.index_select(0, j)
    sel = torch.nonzero(~excl & (d <= torch.clamp(rsum + margin, max=max_distance) + skin)).squeeze(1)
    ci_ = i.index_select(0, sel)
    cj_ = j.index_select(0, sel)
    c_same = same_res.index_select(0, sel)
    c_cons = (cons_ij | cons_ji).index_select(0, sel) & mainchain.index_select(0, ci_) & mainchain.index_select(0, cj_)
    c_da = da_pair.index_select(0, sel)
    tol = torch.where(c_da, tolerances[2], tolerances[1])
    tol = torch.where(c_same, tolerances[0], tol)
    return sel, ci_, cj_, tol.to(radius.dtype), c_cons, c_same


# ----------------------------------------------------------------------------------------------
# terms


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
