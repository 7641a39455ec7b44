"""Feature extraction from trajectories: :func:`compute_features` -> :class:`Features`."""
from __future__ import annotations

import os
import sys
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from ..energy import EnergyOptions
from ..errors import StructureError
from ..residues import MAX_ASA, one_letter
from ..structure import Structure, load
from .module import MadraXFeatureModule, chain_indices
from .names import (CHAIN_FEATURES, CONTACT_CUTOFF, DEFAULT_QUANTILES, ENERGY_FEATURES,
                    RESIDUE_FEATURES, SS_FEATURES)


# ----------------------------------------------------------------------------------------------
# results


@dataclass
class Features:
    """Per-frame features of one trajectory and their aggregates.

    ``frames``: (F, R, K) float64, K = ``names`` (:data:`RESIDUE_FEATURES`); ``chain_frames``:
    (F, C, 2) (``rg``, ``end_to_end``, A); ``residues``: residue keys (chain, resnum, resname, ...);
    ``chains``: chain keys; ``time_ps`` and ``frame_index`` (index in the source trajectory) per frame.
    """

    residues: pd.DataFrame
    chains: pd.DataFrame
    frames: np.ndarray
    chain_frames: np.ndarray
    time_ps: np.ndarray
    frame_index: np.ndarray
    names: Tuple[str, ...] = RESIDUE_FEATURES
    chain_names: Tuple[str, ...] = CHAIN_FEATURES
    quantiles: Tuple[float, ...] = DEFAULT_QUANTILES
    structure: Optional[Structure] = field(default=None, repr=False)
    meta: Dict[str, object] = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def n_residues(self) -> int:
        return int(self.frames.shape[1])

    def feature(self, name: str) -> np.ndarray:
        """(F, R) per-frame values of one per-residue feature."""
        return self.frames[:, :, self.names.index(name)]

    def tensor(self, dtype=torch.float32) -> Tensor:
        """The per-frame features as a torch tensor (F, R, K) (NaN: not applicable)."""
        return torch.as_tensor(self.frames, dtype=dtype)

    def residue_table(self, stats: Sequence[str] = ("mean", "std"), quantiles: Optional[Sequence[float]] = None,
                      long: bool = False) -> pd.DataFrame:
        """Per-residue aggregates over frames: one row per residue, columns ``FEATURE_STAT``
        (``hbond_mean``, ``hbond_std``, ``hbond_q10``, ...; secondary structure only ``_mean``, the
        fraction of frames).  ``long=True``: the tidy long form (residue keys, feature, stat, value).
        Std is the population std (0 for one frame); quantiles interpolate linearly."""
        qs = self.quantiles if quantiles is None else tuple(quantiles)
        cols: Dict[str, np.ndarray] = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (no donors): NaN
            agg = {"mean": np.nanmean(self.frames, axis=0), "std": np.nanstd(self.frames, axis=0)}
            qv = np.nanquantile(self.frames, qs, axis=0) if qs else None
        for k, name in enumerate(self.names):
            for s in stats:
                if name in SS_FEATURES and s != "mean":
                    continue
                cols[f"{name}_{s}"] = agg[s][:, k]
            if name not in SS_FEATURES:
                for qi, q in enumerate(qs):
                    cols[f"{name}_q{_qlabel(q)}"] = qv[qi, :, k]
        table = pd.concat([self.residues.reset_index(drop=True), pd.DataFrame(cols)], axis=1)
        table.attrs.update(n_frames=self.n_frames, **{k: v for k, v in self.meta.items()
                                                       if isinstance(v, (int, float, str))})
        if not long:
            return table
        keys = list(self.residues.columns)
        tidy = table.melt(id_vars=keys, var_name="column", value_name="value")
        split = tidy["column"].str.rsplit("_", n=1, expand=True)
        tidy.insert(len(keys), "feature", split[0])
        tidy.insert(len(keys) + 1, "stat", split[1])
        return tidy.drop(columns="column")

    def chain_table(self) -> pd.DataFrame:
        """Per chain: mean, std and quantiles over frames of ``rg`` and ``end_to_end`` (A)."""
        rows = self.chains.copy().reset_index(drop=True)
        qv = np.quantile(self.chain_frames, self.quantiles, axis=0) if self.quantiles else None
        for k, name in enumerate(self.chain_names):
            rows[f"{name}_mean"] = self.chain_frames[:, :, k].mean(axis=0)
            rows[f"{name}_std"] = self.chain_frames[:, :, k].std(axis=0)
            for qi, q in enumerate(self.quantiles):
                rows[f"{name}_q{_qlabel(q)}"] = qv[qi, :, k]
        return rows

    def protein_vector(self) -> pd.Series:
        """Fixed-length per-protein vector (same names for every protein; see docs/features.md).

        For every per-residue feature F: ``F.res_mean`` (mean over residues of the frame mean),
        ``F.res_std`` (its spread along the sequence), ``F.frame_std`` (std over frames of the
        residue average); energies also ``F.total`` (frame mean of the sum over residues,
        kcal/mol).  Per chain features: ``rg.mean``, ``rg.std``, ``end_to_end.mean``,
        ``end_to_end.std`` over frames and chains; ``n_residues``, ``n_chains``, ``n_frames``.
        """
        out: Dict[str, float] = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            per_res = np.nanmean(self.frames, axis=0)  # (R, K)
            per_frame = np.nanmean(self.frames, axis=1)  # (F, K)
            for k, name in enumerate(self.names):
                if name in ENERGY_FEATURES:
                    out[f"{name}.total"] = float(np.nansum(self.frames[:, :, k], axis=1).mean())
                out[f"{name}.res_mean"] = float(np.nanmean(per_res[:, k]))
                out[f"{name}.res_std"] = float(np.nanstd(per_res[:, k]))
                out[f"{name}.frame_std"] = float(np.nanstd(per_frame[:, k]))
        for k, name in enumerate(self.chain_names):
            out[f"{name}.mean"] = float(self.chain_frames[:, :, k].mean())
            out[f"{name}.std"] = float(self.chain_frames[:, :, k].std())
        out["n_residues"] = float(self.n_residues)
        out["n_chains"] = float(self.chain_frames.shape[1])
        out["n_frames"] = float(self.n_frames)
        return pd.Series(out, name=str(self.meta.get("name", "protein")))

    def save_npz(self, path: str) -> None:
        """Per-frame tensors and keys as a NumPy archive (``frames``, ``names``, ``chain_frames``, ...)."""
        np.savez_compressed(path, frames=self.frames, names=np.array(self.names), chain_frames=self.chain_frames,
                            chain_names=np.array(self.chain_names), time_ps=self.time_ps,
                            frame_index=self.frame_index,
                            residues=self.residues.astype(str).to_numpy(),
                            residue_columns=np.array(self.residues.columns))


def _qlabel(q: float) -> str:
    v = 100.0 * q
    return f"{int(round(v)):02d}" if abs(v - round(v)) < 1e-9 else f"{v:g}".replace(".", "p")


# ----------------------------------------------------------------------------------------------
# extraction


def _residue_keys(structure: Structure) -> pd.DataFrame:
    return pd.DataFrame({
        "chain": [r.chain_id for r in structure.residues],
        "chain_index": [r.chain_index for r in structure.residues],
        "resnum": [r.resseq for r in structure.residues],
        "icode": [r.icode for r in structure.residues],
        "resname": [r.resname for r in structure.residues],
        "position": np.arange(structure.n_residues),
    })


def _check_topology(structure: Structure, topology, what: str) -> np.ndarray:
    """Indices of the structure's heavy atoms in ``topology`` (mdtraj), with clear errors."""
    idx = np.asarray(structure.source_index)
    if (idx < 0).any():
        raise StructureError(f"{what}: the structure has atoms added by repair, which the trajectory does not "
                             "have; load it without repair=True")
    if structure.n_input_atoms and topology.n_atoms != structure.n_input_atoms:
        raise StructureError(f"{what}: trajectory topology has {topology.n_atoms} atoms but the structure was "
                             f"prepared from {structure.n_input_atoms}: topology and trajectory do not match")
    if topology.n_atoms <= int(idx.max()):
        raise StructureError(f"{what}: trajectory has {topology.n_atoms} atoms, fewer than the structure refers to")
    bad = []
    for k in range(0, len(idx)):
        a = topology.atom(int(idx[k]))
        name = structure.atom_names[k]
        if a.element is not None and a.element.symbol == "H" or a.name[:1].upper() != name[:1].upper():
            bad.append(f"{structure.residues[int(structure.atom_residue[k])].label}:{name} vs {a}")
            if len(bad) >= 3:
                break
    if bad:
        raise StructureError(f"{what}: atoms of the trajectory topology do not match the structure "
                             f"({'; '.join(bad)}): topology and trajectory do not match")
    return idx


class _Extractor:
    """Per-chunk feature extraction for one structure (modules and index tables built once)."""

    def __init__(self, structure: Structure, options: EnergyOptions, *, inter_chain: bool, contact_cutoff: float):
        self.structure = structure
        self.module = MadraXFeatureModule(structure, options, inter_chain=inter_chain)
        self.contact_cutoff = float(contact_cutoff)
        res = structure.residues
        self.res_chain = np.array([r.chain_index for r in res])
        self.atom_residue = np.asarray(structure.atom_residue)
        self.chains = chain_indices(structure)
        self.chain_atoms = [np.nonzero(self.res_chain[self.atom_residue] == ci)[0] for ci in self.chains]
        self.ca = np.array([r.atom_start + structure.atom_names[r.atom_start:r.atom_stop].index("CA")
                            for r in res])
        self.chain_ends = []
        for ci in self.chains:
            rk = np.nonzero(self.res_chain == ci)[0]
            self.chain_ends.append((self.ca[rk[0]], self.ca[rk[-1]]))
        self.max_asa = np.array([MAX_ASA[r.resname] for r in res])
        self.src = np.asarray(structure.source_index)
        order = np.argsort(self.src)
        self.sorted_src = self.src[order]
        self._sub_res = None

    def madrax(self, xyz: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        with torch.no_grad():
            t = torch.as_tensor(xyz, dtype=self.module.dtype)
            e, inter = self.module(t)
            d = self.module.descriptors(t)
        return e.double().numpy(), inter.double().numpy(), d.double().numpy()

    def contacts(self, xyz: np.ndarray) -> np.ndarray:
        from scipy.spatial import cKDTree

        R = self.structure.n_residues
        out = np.zeros((xyz.shape[0], R, 2))
        for f in range(xyz.shape[0]):
            pairs = cKDTree(xyz[f]).query_pairs(self.contact_cutoff, output_type="ndarray")
            ri = self.atom_residue[pairs[:, 0]]
            rj = self.atom_residue[pairs[:, 1]]
            inter = self.res_chain[ri] != self.res_chain[rj]
            keep = inter | (np.abs(ri - rj) >= 3)
            key = np.unique(np.minimum(ri, rj)[keep] * R + np.maximum(ri, rj)[keep])
            a, b = key // R, key % R
            cnt = np.bincount(a, minlength=R) + np.bincount(b, minlength=R)
            x = self.res_chain[a] != self.res_chain[b]
            cnt_x = np.bincount(a[x], minlength=R) + np.bincount(b[x], minlength=R)
            out[f, :, 0] = cnt
            out[f, :, 1] = cnt_x
        return out

    def chain_geometry(self, xyz: np.ndarray) -> np.ndarray:
        out = np.zeros((xyz.shape[0], len(self.chains), 2))
        for k, atoms in enumerate(self.chain_atoms):
            p = xyz[:, atoms]
            c = p.mean(axis=1, keepdims=True)
            out[:, k, 0] = np.sqrt(((p - c) ** 2).sum(-1).mean(-1))
            a, b = self.chain_ends[k]
            out[:, k, 1] = np.linalg.norm(xyz[:, a] - xyz[:, b], axis=-1)
        return out

    def mdtraj_terms(self, traj) -> Tuple[np.ndarray, np.ndarray]:
        """SASA (A^2) and one-hot DSSP (H, E, C) per frame and residue, from the heavy atoms."""
        import mdtraj as md

        sub = traj.atom_slice(self.sorted_src)
        if self._sub_res is None:
            pos = np.searchsorted(self.sorted_src, self.src)
            first = pos[[r.atom_start for r in self.structure.residues]]
            self._sub_res = np.array([sub.topology.atom(int(k)).residue.index for k in first])
            if len(np.unique(self._sub_res)) != self.structure.n_residues:
                raise StructureError("trajectory residues do not map one-to-one onto the structure's residues")
        # frame by frame: mdtraj's result for a frame depends (by ~0.2 A^2) on the other frames of the
        # call, which would make the features depend on chunking and frame order
        sasa = np.concatenate([md.shrake_rupley(sub[k], mode="residue") for k in range(sub.n_frames)])
        sasa = sasa[:, self._sub_res] * 100.0
        ss = np.asarray(md.compute_dssp(sub, simplified=True))[:, self._sub_res]
        onehot = np.stack([ss == "H", ss == "E", (ss != "H") & (ss != "E")], axis=-1).astype(np.float64)
        return sasa, onehot

    def chunk(self, traj, xyz: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        e, inter, d = self.madrax(xyz)
        sasa, ss = self.mdtraj_terms(traj)
        cont = self.contacts(xyz)
        F, R = e.shape[0], e.shape[1]
        feats = np.empty((F, R, len(RESIDUE_FEATURES)))
        feats[:, :, 0:11] = e
        feats[:, :, 11] = e.sum(-1)
        feats[:, :, 12:23] = inter
        feats[:, :, 23] = inter.sum(-1)
        feats[:, :, 24:28] = d
        feats[:, :, 28] = sasa
        feats[:, :, 29] = np.clip(sasa / self.max_asa, 0.0, None)
        feats[:, :, 30:32] = cont
        feats[:, :, 32:35] = ss
        return feats, self.chain_geometry(xyz)


def _open_trajectory(traj, top, stride: int, chunk: int):
    """(iterator of mdtraj chunks, description) for a Trajectory, a path or a list of paths."""
    import mdtraj as md

    if isinstance(traj, md.Trajectory):
        if traj.n_frames == 0:
            raise StructureError("empty trajectory: no frames")
        sub = traj[::stride]
        return (sub[k:k + chunk] for k in range(0, sub.n_frames, chunk)), "trajectory"
    paths = [traj] if isinstance(traj, (str, os.PathLike)) else list(traj)
    if not paths:
        raise StructureError("no trajectory files given")
    for p in paths:
        if not os.path.exists(p):
            raise FileNotFoundError(f"no such file: {p}")
    if top is not None and not isinstance(top, (md.Topology, md.Trajectory)) and not os.path.exists(top):
        raise FileNotFoundError(f"no such file: {top}")
    top_desc = f" with topology {top}" if isinstance(top, (str, os.PathLike)) else ""

    def gen():
        for p in paths:
            kw = {} if top is None else {"top": top}
            try:
                it = md.iterload(os.fspath(p), chunk=chunk, stride=stride, **kw)
                for c in it:
                    if c.n_frames:
                        yield c
            except (ValueError, OSError, IndexError, TypeError) as exc:
                if isinstance(exc, FileNotFoundError):
                    raise
                raise StructureError(f"cannot read trajectory {p}{top_desc}; do topology and trajectory have the "
                                     f"same atoms? (mdtraj: {exc})") from exc
    return gen(), ", ".join(map(str, paths))


def _frame_count(traj, stride: int) -> Optional[int]:
    """Frames that will be read (after ``stride``), for the progress bar; None when unknown."""
    if hasattr(traj, "n_frames"):
        return len(range(0, traj.n_frames, stride))
    import mdtraj as md

    paths = [traj] if isinstance(traj, (str, os.PathLike)) else list(traj)
    total = 0
    for p in paths:
        try:
            with md.open(os.fspath(p)) as fh:
                total += len(range(0, len(fh), stride))
        except Exception:  # formats without a cheap frame count
            return None
    return total


def compute_features(traj, top=None, *, stride: int = 1, structure: Optional[Structure] = None,
                     options: Optional[EnergyOptions] = None, burial: Optional[str] = None,
                     smooth: Optional[bool] = None, dtype=None, inter_chain: bool = True,
                     quantiles: Sequence[float] = DEFAULT_QUANTILES, contact_cutoff: float = CONTACT_CUTOFF,
                     chunk: int = 50, progress: bool = False, name: Optional[str] = None,
                     timestep_ps: Optional[float] = None, **load_kwargs) -> Features:
    """Per-residue, per-chain and per-protein physics features of a trajectory.

    Parameters
    ----------
    traj
        an mdtraj ``Trajectory``, a trajectory file (DCD, XTC, multi-model PDB, ...) or a list of
        files read in order (OpenMM reporter output, e.g. ``openmm-madrax md``'s ``OUT.dcd`` with
        ``OUT_top.pdb`` as ``top``).
    top
        topology for trajectory files (PDB path or mdtraj Topology); not needed for PDB / HDF5.
    stride
        use every ``stride``-th frame.
    structure
        the prepared :class:`Structure` (default: :func:`load` of the trajectory's first frame with
        ``load_kwargs``); its atoms must come from this topology (``source_index``).
    options, burial, smooth, dtype
        MadraX energy options (default: the exact MadraX energy in float64, as :func:`score`).
    inter_chain
        compute the inter-chain energy (with two or more chains).
    quantiles
        quantiles reported by :meth:`Features.residue_table` (default 0.1, 0.5, 0.9).
    chunk
        frames read and processed at a time (memory bound for long trajectories).
    timestep_ps
        time between consecutive frames of the input (before ``stride``) when the file has no usable
        time (DCD); default: the trajectory's own time.
    """
    if int(stride) < 1:
        raise ValueError(f"stride must be >= 1, not {stride}")
    opts = EnergyOptions.coerce(options, burial=burial, smooth=smooth, dtype=dtype)
    stride = int(stride)
    chunks, desc = _open_trajectory(traj, top, stride, int(chunk))
    extractor = None
    feats: List[np.ndarray] = []
    chain: List[np.ndarray] = []
    times: List[np.ndarray] = []
    bar = None
    n_done = 0
    try:
        for c in chunks:
            if extractor is None:
                if structure is None:
                    try:
                        structure = load(c[0], name=name, **load_kwargs)
                    except StructureError as exc:
                        raise StructureError(f"features: {desc}: {exc}") from exc
                _check_topology(structure, c.topology, f"features: {desc}")
                extractor = _Extractor(structure, opts, inter_chain=inter_chain, contact_cutoff=contact_cutoff)
                if progress:
                    from tqdm.auto import tqdm

                    total = _frame_count(traj, stride)
                    bar = tqdm(total=total, desc="features", unit="frame", file=sys.stderr, dynamic_ncols=True)
            xyz = np.asarray(c.xyz, dtype=np.float64)[:, structure.source_index, :] * 10.0
            if not np.isfinite(xyz).all():
                raise StructureError(f"features: {desc}: non-finite coordinates in frames {n_done}.."
                                     f"{n_done + c.n_frames - 1}")
            f, g = extractor.chunk(c, xyz)
            feats.append(f)
            chain.append(g)
            times.append(np.asarray(c.time, dtype=np.float64) if c.time is not None else np.zeros(c.n_frames))
            n_done += c.n_frames
            if bar is not None:
                bar.update(c.n_frames)
    finally:
        if bar is not None:
            bar.close()
    if extractor is None:
        raise StructureError(f"features: {desc}: empty trajectory (no frames)")
    frames = np.concatenate(feats)
    frame_index = np.arange(frames.shape[0]) * stride
    time_ps = np.concatenate(times)
    if timestep_ps is not None:
        time_ps = frame_index * float(timestep_ps)
    chains = pd.DataFrame({
        "chain": [structure.residues[np.nonzero(extractor.res_chain == ci)[0][0]].chain_id for ci in extractor.chains],
        "chain_index": extractor.chains,
        "n_residues": [int((extractor.res_chain == ci).sum()) for ci in extractor.chains],
    })
    chains["sequence"] = ["".join(one_letter(structure.residues[k].resname)
                                  for k in np.nonzero(extractor.res_chain == ci)[0]) for ci in extractor.chains]
    meta = {"name": name or structure.name, "source": desc, "stride": stride, "burial": opts.burial,
            "smooth": opts.smooth, "contact_cutoff": float(contact_cutoff)}
    return Features(residues=_residue_keys(structure), chains=chains, frames=frames,
                    chain_frames=np.concatenate(chain), time_ps=time_ps, frame_index=frame_index,
                    quantiles=tuple(quantiles), structure=structure, meta=meta)
