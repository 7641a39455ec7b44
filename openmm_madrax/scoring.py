"""Scoring API: structure in, per-residue MadraX channels out (pandas)."""
from __future__ import annotations

from typing import Optional, Union

import numpy as np
import pandas as pd
import torch

from .energy.model import MadraXEnergy
from .params import CHANNELS
from .structure import Structure, load

_DTYPES = {"float64": torch.float64, "float32": torch.float32, "double": torch.float64, "float": torch.float32}


def _dtype(dtype) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    try:
        return _DTYPES[str(dtype)]
    except KeyError:
        raise ValueError(f"dtype must be float64 or float32, not {dtype!r}") from None


def default_torsions(structure: Structure, dtype: torch.dtype):
    """Channels 7/10 with the project's fitted torsion densities, or None if they are not available."""
    try:
        from .energy.torsion_densities import load_densities
    except ImportError:
        return None
    from .energy.torsions import TorsionChannels

    dens = load_densities(dtype=dtype)
    if dens is None:
        return None
    return TorsionChannels(structure.tables(), dtype, dens)


def energy_module(structure: Structure, *, burial: str = "madrax", smooth: bool = False, dtype="float64",
                  skin: float = 1.0, torsions: bool = True) -> MadraXEnergy:
    """Build the :class:`MadraXEnergy` module of a prepared structure."""
    dt = _dtype(dtype)
    tors = default_torsions(structure, dt) if torsions else None
    return MadraXEnergy(structure.tables(), burial=burial, smooth=smooth, dtype=dt, skin=skin, torsions=tors)


def residue_frame(structure: Structure, energies: np.ndarray) -> pd.DataFrame:
    """Per-residue DataFrame in the CLI/reference layout (chain, resnum, resname, 11 channels)."""
    resnum = [f"{r.resseq}{r.icode}" if r.icode else r.resseq for r in structure.residues]
    if not any(r.icode for r in structure.residues):
        resnum = [r.resseq for r in structure.residues]
    df = pd.DataFrame({"chain": [r.chain_id for r in structure.residues], "resnum": resnum,
                       "resname": [r.resname for r in structure.residues]})
    for k, name in enumerate(CHANNELS):
        df[name] = energies[:, k]
    return df


def score(source: Union[str, Structure, object], positions=None, *, burial: str = "madrax", smooth: bool = False,
          dtype="float64", torsions: bool = True, **load_kwargs) -> pd.DataFrame:
    """MadraX energy of a structure as a per-residue DataFrame (kcal/mol).

    ``source`` is anything :func:`openmm_madrax.load` reads (path, OpenMM topology + positions,
    mdtraj trajectory) or an already prepared :class:`Structure`; ``load_kwargs`` go to
    :func:`load` (``altloc``, ``drop_nonstandard``, ``repair``, ``preprocess``, ...).
    The total is ``df.attrs["total"]``; per-channel totals ``df.attrs["channel_totals"]``.
    """
    structure = source if isinstance(source, Structure) else load(source, positions, **load_kwargs)
    module = energy_module(structure, burial=burial, smooth=smooth, dtype=dtype, torsions=torsions)
    with torch.no_grad():
        pos = torch.as_tensor(structure.coords, dtype=_dtype(dtype))
        e = module(pos).double().cpu().numpy()
    df = residue_frame(structure, e)
    df.attrs["total"] = float(e.sum())
    df.attrs["channel_totals"] = {name: float(e[:, k].sum()) for k, name in enumerate(CHANNELS)}
    df.attrs["structure"] = structure.name
    df.attrs["burial"] = burial
    df.attrs["smooth"] = smooth
    return df
