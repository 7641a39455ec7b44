"""Channel 0: disulfide bonds (spec 5.0).

E = -0.001 T (2.1 + 1.5 R ln n) + 5 |d - 2.04| kcal/mol per S-S bond: the loop-closure entropy of
Pace et al. 1988 (n = residue separation) plus a linear penalty on the S-S length (2.04 A, Engh &
Huber 1991).  Exact mode detects bonds geometrically like MadraX; smooth mode (MD) uses the static
list of the topology and no gates (covalent bonds do not break).
"""
from __future__ import annotations

from typing import Tuple

import torch
from torch import Tensor

from .geometry import RAD_TO_DEG, angle_deg, dihedral, safe_norm
from .smooth import sabs

SS_IDEAL = 2.04  # A, S-S bond length (Engh & Huber 1991)
SS_SLOPE = 5.0  # kcal/mol/A, linear penalty on |d - SS_IDEAL|
SS_MAX = 3.0  # A: exact mode, SG-SG pairs beyond this are no bond
ANGLE_MIN, ANGLE_MAX = 70.0, 140.0  # degrees, CB-SG-SG angles of a bond (exact-mode test)
CHI_MIN, CHI_MAX = 40.0, 170.0  # degrees, |CB-SG-SG-CB| of a bond (exact-mode test)


# ----------------------------------------------------------------------------------------------
# set-up (with the neighbour list)


def build_candidates(i: Tensor, j: Tensor, d: Tensor, is_sg: Tensor, static_keys: Tensor, n_atoms: int,
                     frame_p1: Tensor, resseq: Tensor, smooth: bool, skin: float, ss_max: float = SS_MAX
                     ) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """SG-SG candidate pairs: exact mode, every pair within SS_MAX (+ skin; the geometric test is
    applied at scoring); smooth mode, the static disulfides of the topology only.

    Returns ``(master positions, sg_a, sg_b, cb_a, cb_b, residue separation)``."""
    sg = is_sg.index_select(0, i) & is_sg.index_select(0, j)
    if smooth:
        sg = sg & torch.isin(i * n_atoms + j, static_keys)
    else:
        sg = sg & (d <= ss_max + skin)
    sel = torch.nonzero(sg).squeeze(1)
    sa = i.index_select(0, sel)
    sb = j.index_select(0, sel)
    cba = frame_p1.index_select(0, sa).clamp(min=0)  # CYS SG frame partner 1 = CB
    cbb = frame_p1.index_select(0, sb).clamp(min=0)
    sep = torch.abs(resseq.index_select(0, sa) - resseq.index_select(0, sb))
    return sel, sa, sb, cba, cbb, sep


# ----------------------------------------------------------------------------------------------
# term


def pair_energies(pos: Tensor, sa: Tensor, sb: Tensor, cba: Tensor, cbb: Tensor, separation: Tensor,
                  temperature: float, entropy_a: float, entropy_b: float, smooth: bool, ideal: float = SS_IDEAL,
                  slope: float = SS_SLOPE, ss_max: float = SS_MAX, angle_min: float = ANGLE_MIN,
                  angle_max: float = ANGLE_MAX, chi_min: float = CHI_MIN, chi_max: float = CHI_MAX,
                  to_deg: float = RAD_TO_DEG) -> Tuple[Tensor, Tensor]:
    """(energy before the channel multiplier, bond mask) for candidate SG-SG pairs."""
    xa = pos.index_select(0, sa)
    xb = pos.index_select(0, sb)
    d = safe_norm(xa - xb)
    n = separation.to(pos.dtype).clamp(min=1.0)
    e = -0.001 * temperature * (entropy_a + entropy_b * torch.log(n)) + slope * sabs(d - ideal, 0.01, smooth)
    if smooth:
        return e, torch.ones_like(e)
    xca = pos.index_select(0, cba)
    xcb = pos.index_select(0, cbb)
    ang1 = angle_deg(xca, xa, xb)
    ang2 = angle_deg(xa, xb, xcb)
    dih = torch.abs(dihedral(xca, xa, xb, xcb)) * to_deg
    ok = (d <= ss_max) & (ang1 >= angle_min) & (ang1 <= angle_max) & (ang2 >= angle_min) & (ang2 <= angle_max) \
        & (dih >= chi_min) & (dih <= chi_max)
    mask = ok.to(pos.dtype)
    return e * mask, mask
