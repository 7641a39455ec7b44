"""Channel 9: peptide-bond geometry violations (spec 5.9).

Negative log of Gaussian densities of the C-N length and the C-N-CA / CA-C-N angles fitted by
MadraX on PDB data (cf. Engh & Huber 1991), with the density floored at 1e-5 (energy plateau).
Applied to the bond (i-1, i) with the statistics of residue i, as MadraX does.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from .geometry import angle_rad, safe_norm
from .smooth import smin_t

LOG_FLOOR = 11.512925464970229  # -ln(1e-5): the density is floored at 1e-5


def residue_energies(pos: Tensor, c_prev: Tensor, n_i: Tensor, ca_i: Tensor, ca_prev: Tensor, mean: Tensor,
                     sd: Tensor, weight: float, smooth: bool, log_floor: float = LOG_FLOOR) -> Tensor:
    """Energies of residues that have a consecutive predecessor (rows of the index tensors)."""
    xc = pos.index_select(0, c_prev)
    xn = pos.index_select(0, n_i)
    xca = pos.index_select(0, ca_i)
    xcap = pos.index_select(0, ca_prev)
    x = torch.stack([safe_norm(xc - xn), angle_rad(xc, xn, xca), angle_rad(xcap, xc, xn)], dim=1)
    quad = (x - mean) ** 2 / (2.0 * sd * sd)
    cap = log_floor - torch.log(sd * math.sqrt(2.0 * math.pi))
    # smooth: soft-min of the quadratic and the plateau (tau = 0.1 kcal/mol)
    return weight * smin_t(quad, cap, 0.1, smooth).sum(1)
