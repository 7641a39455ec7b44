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

from .geometry import angle_deg, dihedral, safe_norm
from .smooth import sabs

SS_IDEAL = 2.04
SS_MAX = 3.0


def pair_energies(pos: Tensor, sa: Tensor, sb: Tensor, cba: Tensor, cbb: Tensor, separation: Tensor,
                  temperature: float, entropy_a: float, entropy_b: float, smooth: bool) -> Tuple[Tensor, Tensor]:
    """(energy before the channel multiplier, bond mask) for candidate SG-SG pairs."""
    xa = pos.index_select(0, sa)
    xb = pos.index_select(0, sb)
    d = safe_norm(xa - xb)
    n = separation.to(pos.dtype).clamp(min=1.0)
    e = -0.001 * temperature * (entropy_a + entropy_b * torch.log(n)) + 5.0 * sabs(d - 2.04, 0.01, smooth)
    if smooth:
        return e, torch.ones_like(e)
    xca = pos.index_select(0, cba)
    xcb = pos.index_select(0, cbb)
    ang1 = angle_deg(xca, xa, xb)
    ang2 = angle_deg(xa, xb, xcb)
    dih = torch.abs(dihedral(xca, xa, xb, xcb)) * 57.29577951308232
    ok = (d <= 3.0) & (ang1 >= 70.0) & (ang1 <= 140.0) & (ang2 >= 70.0) & (ang2 <= 140.0) \
        & (dih >= 40.0) & (dih <= 170.0)
    mask = ok.to(pos.dtype)
    return e * mask, mask
