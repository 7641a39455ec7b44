"""``energy_module``: a prepared structure + :class:`EnergyOptions` -> ready :class:`MadraXEnergy`."""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from .model import MadraXEnergy
from .options import EnergyOptions


def default_torsions(structure, dtype: torch.dtype):
    """Channels 7/10 with the project's fitted torsion densities, or None if they are not available."""
    from .torsion_densities import load_densities
    from .torsions import TorsionChannels

    dens = load_densities(dtype=dtype)
    if dens is None:
        return None
    return TorsionChannels(structure.tables(), dtype, dens)


def energy_module(structure, options: Optional[EnergyOptions] = None, **changes) -> MadraXEnergy:
    """The :class:`MadraXEnergy` of a prepared structure.

    ``options``: an :class:`EnergyOptions` (default: exact MadraX, float64); keyword arguments
    change single options (``smooth=True``, ``precision="single"`` / ``dtype="float32"``, ``burial=``,
    ``torsions=``, ``skin=``, ``smoothing=``, ``hbond_tau=``, ``fix_frames=``).  With
    ``fix_frames`` (default) the planar-frame sign of smooth mode is decided from
    ``structure.coords``; False leaves it to the first coordinates the module sees (for set-up-only
    placeholder coordinates).
    """
    opts = EnergyOptions.coerce(options, **changes)
    tors = default_torsions(structure, opts.dtype) if opts.torsions else None
    module = MadraXEnergy(structure.tables(), opts, torsions=tors)
    xyz = np.asarray(structure.coords, dtype=np.float64)
    if opts.fix_frames and xyz.size and np.isfinite(xyz).all() and np.abs(xyz).max() > 0.0:
        # the planar-frame sign of smooth mode follows the structure, not the first call's coordinates
        module.fix_frames(torch.as_tensor(xyz, dtype=opts.dtype))
    return module
