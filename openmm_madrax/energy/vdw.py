"""Channel 6: van der Waals (spec 5.6): FoldX per-atom contributions relative to solvent, by burial.

There is no pairwise Lennard-Jones term in MadraX: E_i = w VdW_i max(facc_i, 0).
"""
from __future__ import annotations

from torch import Tensor

from .smooth import smax


def atom_energies(vdw: Tensor, facc: Tensor, weight: float, smooth: bool) -> Tensor:
    return weight * vdw * smax(facc, 0.0, 0.01, smooth)
