"""Scoring API: structure in, per-residue MadraX channels out (pandas); batch scoring of frames."""
from __future__ import annotations

from typing import Optional, Union

import numpy as np
import pandas as pd
import torch

from .energy import EnergyOptions, MadraXEnergy, energy_module
from .errors import StructureError
from .params import CHANNELS
from .structure import Structure, load


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


def score(source: Union[str, Structure, object], positions=None, *, options: Optional[EnergyOptions] = None,
          burial: Optional[str] = None, smooth: Optional[bool] = None, dtype=None, torsions: Optional[bool] = None,
          **load_kwargs) -> pd.DataFrame:
    """MadraX energy of a structure as a per-residue DataFrame (kcal/mol).

    ``source`` is anything :func:`openmm_madrax.load` reads (path, OpenMM topology + positions,
    mdtraj trajectory) or an already prepared :class:`Structure`; ``load_kwargs`` go to
    :func:`load` (``altloc``, ``drop_nonstandard``, ``repair``, ``preprocess``, ...).  Energy
    settings: ``options`` (:class:`EnergyOptions`, default exact MadraX in float64) and/or the
    single options ``burial``, ``smooth``, ``dtype``, ``torsions``.
    The total is ``df.attrs["total"]``; per-channel totals ``df.attrs["channel_totals"]``.
    """
    opts = EnergyOptions.coerce(options, burial=burial, smooth=smooth, dtype=dtype, torsions=torsions)
    structure = source if isinstance(source, Structure) else load(source, positions, **load_kwargs)
    module = energy_module(structure, opts)
    with torch.no_grad():
        pos = torch.as_tensor(structure.coords, dtype=opts.dtype)
        e = module(pos).double().cpu().numpy()
    df = residue_frame(structure, e)
    df.attrs["total"] = float(e.sum())
    df.attrs["channel_totals"] = {name: float(e[:, k].sum()) for k, name in enumerate(CHANNELS)}
    df.attrs["structure"] = structure.name
    df.attrs["burial"] = opts.burial
    df.attrs["smooth"] = opts.smooth
    df.attrs["surface"] = opts.surface
    return df


def score_frames(structure: Structure, frames, *, options: Optional[EnergyOptions] = None,
                 burial: Optional[str] = None, smooth: Optional[bool] = None, dtype=None,
                 torsions: Optional[bool] = None, module: Optional[MadraXEnergy] = None,
                 progress: bool = False) -> np.ndarray:
    """Per-residue energies of many conformations of one structure, as an (F, R, 11) array (kcal/mol).

    ``frames``: (F, N, 3) heavy-atom coordinates in Angstrom, in the atom order of ``structure``
    (``structure.coords`` order; an mdtraj trajectory is accepted and mapped with the structure's
    atom indices when the structure was loaded from that topology). Set-up (typing, index tables,
    the TorchScript-compatible module) is done once; the neighbour list is reused between frames
    while atoms stay within half the skin, so similar frames cost less than independent scores.
    ``module``: an already built energy module of ``structure`` (then the options are its own).
    """
    xyz = _frames_array(structure, frames)
    if module is None:
        module = energy_module(structure, EnergyOptions.coerce(options, burial=burial, smooth=smooth, dtype=dtype,
                                                               torsions=torsions))
    dt = module.radius.dtype
    out = np.empty((xyz.shape[0], structure.n_residues, len(CHANNELS)), dtype=np.float64)
    it = range(xyz.shape[0])
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(it, desc="scoring frames", unit="frame")
    with torch.no_grad():
        for f in it:
            out[f] = module(torch.as_tensor(xyz[f], dtype=dt)).double().cpu().numpy()
    return out


def _frames_array(structure: Structure, frames) -> np.ndarray:
    if hasattr(frames, "xyz") and hasattr(frames, "topology"):  # mdtraj.Trajectory (nm)
        idx = np.asarray(structure.source_index)
        if (idx < 0).any():
            raise StructureError("score_frames: the structure has atoms added by repair, which the trajectory "
                                 "does not have; pass an (F, N, 3) array of its heavy atoms in Angstrom instead")
        if frames.n_atoms <= int(np.max(idx)):
            raise StructureError(f"score_frames: trajectory has {frames.n_atoms} atoms but the structure refers to "
                                 f"atom index {int(np.max(idx))}: topology and trajectory do not match")
        xyz = np.asarray(frames.xyz, dtype=np.float64)[:, idx, :] * 10.0
    else:
        xyz = np.asarray(frames, dtype=np.float64)
        if xyz.ndim == 2:
            xyz = xyz[None]
    if xyz.ndim != 3 or xyz.shape[1:] != (structure.n_atoms, 3):
        raise StructureError(f"score_frames: expected frames of shape (F, {structure.n_atoms}, 3) for "
                             f"{structure.name}, got {tuple(xyz.shape)}")
    if xyz.shape[0] == 0:
        raise StructureError("score_frames: no frames (empty trajectory)")
    bad = ~np.isfinite(xyz).all(axis=2)
    if bad.any():
        f, a = np.argwhere(bad)[0]
        res = structure.residues[int(structure.atom_residue[a])]
        raise StructureError(f"score_frames: non-finite coordinates in frame {f}, atom {res.label}:{structure.atom_names[a]}")
    return xyz
