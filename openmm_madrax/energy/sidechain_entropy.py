"""Channel 8: side-chain entropy (spec 5.8): Abagyan-Totrov scale, MadraX's learned multiplier.

E8 = min(L, max(L x SCbur, |hbSC + vdwSC + g(elSC)|)): a buried side chain, or one whose
interactions outweigh its entropy, pays up to its full conformational entropy L.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .smooth import sabs, sclamp, smax_t, smin_t


def residue_energies(sc_occ: Tensor, sc_A: Tensor, sc_B: Tensor, L: Tensor, hb_sc: Tensor, vdw_sc: Tensor,
                     el_sc: Tensor, smooth: bool) -> Tensor:
    denom = sc_A - sc_B
    ok = denom > 0
    ratio = torch.where(ok, (sc_occ - sc_B) / torch.where(ok, denom, torch.ones_like(denom)), torch.zeros_like(sc_occ))
    scbur = torch.where(ok, sclamp(ratio, 0.0, 1.0, 0.01, smooth), torch.zeros_like(ratio))
    sc = L * scbur
    if smooth:
        g = el_sc * (1.0 - 0.8 * torch.sigmoid(el_sc / 0.01))
    else:
        g = torch.where(el_sc > 0.0, 0.2 * el_sc, el_sc)
    inter = sabs(hb_sc + vdw_sc + g, 0.002, smooth)
    return smin_t(L, smax_t(sc, inter, 0.002, smooth), 0.002, smooth)
