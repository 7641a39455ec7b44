"""Trajectory-averaged physics features: per residue, per chain and per protein.

From an MD trajectory (mdtraj ``Trajectory``, trajectory file(s) + topology, or the output of
:func:`simulate`) compute, for every frame and residue:

* the 11 MadraX channels and their sum (kcal/mol, exact MadraX energy as :func:`~openmm_madrax.score`);
* with two or more chains (or copies of one chain): the inter-chain MadraX energy per residue and
  channel, ``E(complex) - E(own chain alone)`` -- what FoldX calls the interaction energy, with
  desolvation and burial effects included (MadraX is not pairwise additive, so a pair sum would
  miss them); zero for a single chain;
* burial: mean relative burial of the residue's heavy atoms, 0 (exposed) .. 1 (buried), from the
  MadraX atomic occupancy with FoldX-style normalisation (facc clamped to [0, 1]);
* H-bond satisfaction: fraction of the residue's donor (acceptor) atoms that make at least one
  H-bond in the MadraX H-bond network (NaN for a residue without donors / acceptors), and the
  number of buried (burial >= 0.5) polar atoms without any H-bond;
* solvent accessible surface (Shrake-Rupley, mdtraj, heavy atoms, A^2) and relative SASA;
* secondary structure (mdtraj DSSP, simplified to helix / strand / coil), as one-hot columns;
* contact numbers: residues with a heavy atom within 4.5 A (same-chain neighbours |i - j| < 3
  excluded), in total and with other chains;

and per chain: radius of gyration and end-to-end (first to last CA) distance (heavy atoms, A).

:func:`compute_features` returns a :class:`Features` object holding the per-frame tensor
(``frames``, F x R x K, names in ``names``); :meth:`Features.residue_table` aggregates over frames
(mean, std, quantiles) into a per-residue DataFrame, :meth:`Features.protein_vector` into a
fixed-length per-protein vector.  :class:`MadraXFeatureModule` is the differentiable torch path
of the MadraX part (frames -> per-residue channels and inter-chain energies, autograd through
coordinates).  :func:`plot_profile` draws the per-residue profile.
"""
from __future__ import annotations

import json
import math
import os
import sys
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from .errors import MadraXError, StructureError
from .params import CHANNELS
from .structure import Structure, load

#: per-residue features, in the order of the last axis of :attr:`Features.frames`
INTER_CHANNELS = tuple(f"inter_{c}" for c in CHANNELS)
ENERGY_FEATURES = (*CHANNELS, "madrax_total", *INTER_CHANNELS, "inter_total")
DESCRIPTOR_FEATURES = ("burial", "hb_donor_sat", "hb_acceptor_sat", "hb_buried_unsat", "sasa", "rsasa",
                       "contacts", "contacts_inter", "ss_helix", "ss_strand", "ss_coil")
RESIDUE_FEATURES = ENERGY_FEATURES + DESCRIPTOR_FEATURES
CHAIN_FEATURES = ("rg", "end_to_end")
#: one-hot secondary structure: only the mean (a fraction of frames) is reported
SS_FEATURES = ("ss_helix", "ss_strand", "ss_coil")
DEFAULT_QUANTILES = (0.1, 0.5, 0.9)
CONTACT_CUTOFF = 4.5
BURIED = 0.5
#: maximal accessible surface of residue X in Gly-X-Gly (A^2), Tien et al., PLoS ONE 2013 (theoretical)
MAX_ASA = {"ALA": 129.0, "ARG": 274.0, "ASN": 195.0, "ASP": 193.0, "CYS": 167.0, "GLN": 225.0, "GLU": 223.0,
           "GLY": 104.0, "HIS": 224.0, "ILE": 197.0, "LEU": 201.0, "LYS": 236.0, "MET": 224.0, "PHE": 240.0,
           "PRO": 159.0, "SER": 155.0, "THR": 172.0, "TRP": 285.0, "TYR": 263.0, "VAL": 174.0}
UNITS = {**{f: "kcal/mol" for f in ENERGY_FEATURES}, "burial": "0-1", "hb_donor_sat": "fraction",
         "hb_acceptor_sat": "fraction", "hb_buried_unsat": "atoms", "sasa": "A^2", "rsasa": "0-1",
         "contacts": "residues", "contacts_inter": "residues", "ss_helix": "fraction", "ss_strand": "fraction",
         "ss_coil": "fraction", "rg": "A", "end_to_end": "A"}


# ----------------------------------------------------------------------------------------------
# sub-structures and the differentiable MadraX part


def chain_substructure(structure: Structure, chain_index: int) -> Structure:
    """The residues of one chain (``ResidueInfo.chain_index``) as a :class:`Structure` of their own
    (same atom types, chain breaks and disulfides within the chain; ``source_index`` kept)."""
    res_idx = [k for k, r in enumerate(structure.residues) if r.chain_index == chain_index]
    if not res_idx:
        raise StructureError(f"{structure.name}: no chain with index {chain_index}")
    if res_idx != list(range(res_idx[0], res_idx[-1] + 1)):
        raise StructureError(f"{structure.name}: chain {chain_index} is not contiguous in atom order")
    r0, r1 = res_idx[0], res_idx[-1] + 1
    a0 = structure.residues[r0].atom_start
    a1 = structure.residues[r1 - 1].atom_stop
    from dataclasses import replace

    residues = [replace(r, atom_start=r.atom_start - a0, atom_stop=r.atom_stop - a0, chain_index=0)
                for r in structure.residues[r0:r1]]
    nxt = np.array(structure.next_consecutive[r0:r1], dtype=bool)
    nxt[-1] = False
    ss = [(i - a0, j - a0) for i, j in structure.disulfides if a0 <= i < a1 and a0 <= j < a1]
    cid = residues[0].chain_id
    return Structure(name=f"{structure.name}:{cid or chain_index}", residues=residues,
                     atom_names=list(structure.atom_names[a0:a1]),
                     atom_residue=np.asarray(structure.atom_residue[a0:a1]) - r0,
                     coords=np.array(structure.coords[a0:a1], dtype=np.float64),
                     source_index=np.array(structure.source_index[a0:a1]), chain_ids=[cid], next_consecutive=nxt,
                     disulfides=ss, breaks=[b for b in structure.breaks if b.startswith(f"chain {cid}:")],
                     n_input_atoms=structure.n_input_atoms, source=structure.source)


def _chain_index_list(structure: Structure) -> List[int]:
    out: List[int] = []
    for r in structure.residues:
        if r.chain_index not in out:
            out.append(r.chain_index)
    return out


class MadraXFeatureModule(nn.Module):
    """Differentiable MadraX features of frames: coordinates (F, N, 3) or (N, 3), Angstrom, in the
    atom order of ``structure`` -> ``(energies, inter)``, both (F, R, 11) kcal/mol.

    ``energies`` are the per-residue channels of the whole system (as :func:`score`), ``inter`` the
    inter-chain part ``E(complex) - E(chain alone)`` (zeros for a single chain).  Gradients flow
    to the coordinates (``smooth=True`` gives the C1 surrogate used for MD, better behaved for
    optimisation).  :meth:`descriptors` adds per-residue burial and H-bond satisfaction.
    """

    def __init__(self, structure: Structure, *, burial: str = "madrax", smooth: bool = False, dtype="float64",
                 torsions: bool = True, inter_chain: bool = True):
        super().__init__()
        from .scoring import _dtype, energy_module

        self.dtype = _dtype(dtype)
        self.n_atoms = structure.n_atoms
        self.n_residues = structure.n_residues
        self.energy = energy_module(structure, burial=burial, smooth=smooth, dtype=dtype, torsions=torsions)
        chains = _chain_index_list(structure)
        self.chain_modules = nn.ModuleList()
        self.chain_atoms: List[Tuple[int, int]] = []
        self.chain_residues: List[Tuple[int, int]] = []
        if inter_chain and len(chains) > 1:
            for ci in chains:
                sub = chain_substructure(structure, ci)
                rk = [k for k, r in enumerate(structure.residues) if r.chain_index == ci]
                a0 = structure.residues[rk[0]].atom_start
                self.chain_atoms.append((a0, a0 + sub.n_atoms))
                self.chain_residues.append((rk[0], rk[-1] + 1))
                self.chain_modules.append(energy_module(sub, burial=burial, smooth=smooth, dtype=dtype,
                                                        torsions=torsions))
        t = structure.tables()
        self.register_buffer("residue", torch.as_tensor(np.asarray(t.residue), dtype=torch.long))
        m = self.energy
        self.register_buffer("donor", (m.donor & (m.n_h_slots > 0)).clone())
        self.register_buffer("acceptor", (m.acceptor & (m.n_lp_slots > 0)).clone())

    def _frames(self, xyz: Tensor) -> Tensor:
        xyz = torch.as_tensor(xyz)
        if xyz.dim() == 2:
            xyz = xyz.unsqueeze(0)
        if xyz.dim() != 3 or xyz.shape[1] != self.n_atoms or xyz.shape[2] != 3:
            raise StructureError(f"expected coordinates of shape (F, {self.n_atoms}, 3), got {tuple(xyz.shape)}")
        return xyz.to(self.dtype)

    def forward(self, xyz: Tensor) -> Tuple[Tensor, Tensor]:
        xyz = self._frames(xyz)
        energies = []
        inters = []
        for f in range(xyz.shape[0]):
            e = self.energy(xyz[f])
            energies.append(e)
            if len(self.chain_modules):
                alone = torch.zeros_like(e)
                for k, mod in enumerate(self.chain_modules):
                    a0, a1 = self.chain_atoms[k]
                    r0, r1 = self.chain_residues[k]
                    alone = alone.index_copy(0, torch.arange(r0, r1), mod(xyz[f, a0:a1]))
                inters.append(e - alone)
            else:
                inters.append(torch.zeros_like(e))
        return torch.stack(energies), torch.stack(inters)

    def descriptors(self, xyz: Tensor) -> Tensor:
        """Per-residue burial, donor / acceptor H-bond satisfaction and buried unsatisfied polar
        atoms, (F, R, 4) (see the module doc)."""
        from .energy.burial import facc_from_occupancy

        xyz = self._frames(xyz)
        R = self.n_residues
        res = self.residue
        dt = xyz.dtype
        n_atoms_res = torch.zeros(R, dtype=dt).index_add(0, res, torch.ones(self.n_atoms, dtype=dt))
        don = self.donor.to(dt)
        acc = self.acceptor.to(dt)
        n_don_res = torch.zeros(R, dtype=dt).index_add(0, res, don)
        n_acc_res = torch.zeros(R, dtype=dt).index_add(0, res, acc)
        nan = torch.full((R,), float("nan"), dtype=dt)
        out = []
        m = self.energy
        for f in range(xyz.shape[0]):
            occ, _, n_acc, n_don = m.atom_features(xyz[f])
            facc = facc_from_occupancy(occ, m.occ_ref, m.occ_max, False, False).clamp(0.0, 1.0)
            burial = torch.zeros(R, dtype=dt).index_add(0, res, facc) / n_atoms_res
            don_ok = torch.zeros(R, dtype=dt).index_add(0, res, don * n_don.clamp(max=1.0))
            acc_ok = torch.zeros(R, dtype=dt).index_add(0, res, acc * n_acc.clamp(max=1.0))
            polar = (self.donor | self.acceptor).to(dt)
            unsat = polar * (1.0 - (n_acc + n_don).clamp(max=1.0)) * (facc >= BURIED).to(dt)
            out.append(torch.stack([
                burial,
                torch.where(n_don_res > 0, don_ok / n_don_res.clamp(min=1.0), nan),
                torch.where(n_acc_res > 0, acc_ok / n_acc_res.clamp(min=1.0), nan),
                torch.zeros(R, dtype=dt).index_add(0, res, unsat)], dim=1))
        return torch.stack(out)


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

    def __init__(self, structure: Structure, *, burial: str, smooth: bool, dtype, inter_chain: bool,
                 contact_cutoff: float):
        self.structure = structure
        self.module = MadraXFeatureModule(structure, burial=burial, smooth=smooth, dtype=dtype,
                                          inter_chain=inter_chain)
        self.contact_cutoff = float(contact_cutoff)
        res = structure.residues
        self.res_chain = np.array([r.chain_index for r in res])
        self.atom_residue = np.asarray(structure.atom_residue)
        self.chains = _chain_index_list(structure)
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


def compute_features(traj, top=None, *, stride: int = 1, structure: Optional[Structure] = None,
                     burial: str = "madrax", smooth: bool = False, dtype="float64", inter_chain: bool = True,
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
    burial, smooth, dtype
        MadraX options (default: the exact MadraX energy in float64, as :func:`score`).
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
                extractor = _Extractor(structure, burial=burial, smooth=smooth, dtype=dtype,
                                       inter_chain=inter_chain, contact_cutoff=contact_cutoff)
                if progress:
                    from tqdm.auto import tqdm

                    total = None
                    if hasattr(traj, "n_frames"):
                        total = len(range(0, traj.n_frames, stride))
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
    chains["sequence"] = ["".join(_one_letter(structure.residues[k].resname)
                                  for k in np.nonzero(extractor.res_chain == ci)[0]) for ci in extractor.chains]
    meta = {"name": name or structure.name, "source": desc, "stride": stride, "burial": burial,
            "smooth": bool(smooth), "contact_cutoff": float(contact_cutoff)}
    return Features(residues=_residue_keys(structure), chains=chains, frames=frames,
                    chain_frames=np.concatenate(chain), time_ps=time_ps, frame_index=frame_index,
                    quantiles=tuple(quantiles), structure=structure, meta=meta)


def _one_letter(resname: str) -> str:
    from .atomtypes import ONE_LETTER

    return ONE_LETTER.get(resname, "X")


# ----------------------------------------------------------------------------------------------
# simulation: structure -> MadraX MD trajectory (replace mode), with copies, checkpoint / resume


@dataclass
class SimulationOutput:
    """Files of :func:`simulate` (``prefix`` + suffix) and what was run."""

    topology: str  # PDB with hydrogens: the minimised start, topology of the trajectory
    trajectory: str  # DCD, one frame every report_interval steps (not the start)
    energies: str  # per-channel MadraX energy CSV (MadraXEnergyReporter)
    checkpoint: str
    settings: str  # JSON: the run's parameters (checked on resume)
    steps: int
    report_interval: int
    timestep_fs: float
    resumed_from: int = 0

    @property
    def frame_ps(self) -> float:
        return self.report_interval * self.timestep_fs * 1e-3


def place_copies(topology, positions, copies: int, gap: float = 10.0):
    """``copies`` copies of a model (OpenMM topology + positions) side by side along x, each slid
    towards the previous ones until their closest heavy atoms are ``gap`` A apart (within 0.25 A);
    waters and non-amino-acid residues are left out, chains renamed A, B, ...  Returns an
    ``openmm.app.Modeller``."""
    from openmm import Vec3, app, unit

    xyz = np.asarray(positions.value_in_unit(unit.angstrom) if unit.is_quantity(positions) else positions,
                     dtype=np.float64).reshape(-1, 3)
    base = app.Modeller(topology, [Vec3(*p) for p in xyz * 0.1] * unit.nanometer)
    # waters, ions and ligands are removed by prepare_system anyway; drop them here so the copies'
    # chains are the protein chains only
    base.delete([r for r in base.topology.residues() if not any(a.name == "CA" for a in r.atoms())
                 or r.name in ("HOH", "WAT")])
    base.delete([c for c in base.topology.chains() if not list(c.residues())])
    top1 = base.topology
    pos1 = base.positions
    xyz = np.asarray(pos1.value_in_unit(unit.angstrom), dtype=np.float64).reshape(-1, 3)
    heavy = np.array([a.element is None or a.element.symbol != "H" for a in top1.atoms()])
    span = float(np.ptp(xyz[heavy, 0])) if heavy.any() else float(np.ptp(xyz[:, 0]))
    modeller = app.Modeller(top1, pos1)
    from scipy.spatial import cKDTree

    placed = xyz[heavy]
    offset = 0.0
    for k in range(1, int(copies)):
        # slide the new copy along x towards the others until its closest heavy atom is ~gap away
        tree = cKDTree(placed)
        s = offset + span + float(gap)
        while s > offset and tree.query(xyz[heavy] + [s - 0.25, 0.0, 0.0])[0].min() >= float(gap):
            s -= 0.25
        offset = s
        shifted = xyz + np.array([s, 0.0, 0.0])
        placed = np.concatenate([placed, shifted[heavy]])
        modeller.add(top1, [Vec3(*p) for p in shifted * 0.1] * unit.nanometer)
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    for k, chain in enumerate(modeller.topology.chains()):
        chain.id = letters[k % len(letters)]
    return modeller


def _read_model(path: str):
    from openmm import app

    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    if path.lower().endswith((".cif", ".mmcif", ".pdbx")):
        return app.PDBxFile(path)
    return app.PDBFile(path)


def _truncate_outputs(traj_path: str, top_path: str, energies_path: str, n_frames: int, step: int) -> None:
    """Make the DCD and the energy CSV end at the checkpoint (frames written after it are dropped)."""
    import mdtraj as md

    if os.path.exists(traj_path) and os.path.getsize(traj_path) > 0:
        t = md.load(traj_path, top=top_path)
        if t.n_frames < n_frames:
            raise MadraXError(f"{traj_path} has {t.n_frames} frames, fewer than the checkpoint needs ({n_frames}); "
                              "cannot resume: start a new run")
        if t.n_frames > n_frames:
            t[:n_frames].save_dcd(traj_path)
    if os.path.exists(energies_path) and os.path.getsize(energies_path) > 0:
        df = pd.read_csv(energies_path)
        df[df["step"] <= step].to_csv(energies_path, index=False, float_format="%.4f")


def simulate(structure: str, prefix: str, *, ns: float, copies: int = 1, gap: float = 10.0,
             temperature: float = 300.0, timestep_fs: float = 2.0, friction: float = 1.0,
             report_interval: int = 500, minimize_iterations: int = 200, seed: Optional[int] = None,
             platform: Optional[str] = None, threads: Optional[int] = None, precision: str = "single",
             torch_threads: int = 1, resume: bool = True, progress: bool = True) -> SimulationOutput:
    """MadraX MD of ``structure`` (replace mode: amber14 bonded terms + MadraX), ``copies`` copies
    placed ``gap`` A apart along x and free to meet (no box, no restraints).

    Writes ``PREFIX_top.pdb`` (minimised start with hydrogens), ``PREFIX.dcd`` (a frame every
    ``report_interval`` steps), ``PREFIX_energies.csv``, ``PREFIX.chk`` (OpenMM checkpoint at every
    frame) and ``PREFIX_run.json`` (settings).  With ``resume`` an existing run with the same
    settings continues from its checkpoint up to ``ns`` in total (frames written after the last
    checkpoint are dropped first, so the trajectory has no duplicates); a longer ``ns`` extends it.
    """
    import openmm
    from openmm import app, unit

    from .commands.md import _trajectory_reporter
    from .commands.minimize import write_structure
    from .openmm import MadraXEnergyReporter, prepare_system, select_platform

    if ns <= 0 or copies < 1 or report_interval < 1:
        raise MadraXError("simulate: need ns > 0, copies >= 1 and report_interval >= 1")
    if torch_threads:
        torch.set_num_threads(int(torch_threads))
    steps = int(round(ns * 1e6 / timestep_fs))
    out = SimulationOutput(topology=f"{prefix}_top.pdb", trajectory=f"{prefix}.dcd",
                           energies=f"{prefix}_energies.csv", checkpoint=f"{prefix}.chk",
                           settings=f"{prefix}_run.json", steps=steps, report_interval=int(report_interval),
                           timestep_fs=float(timestep_fs))
    settings = {"structure": os.path.abspath(structure), "copies": int(copies), "gap": float(gap),
                "temperature": float(temperature), "timestep_fs": float(timestep_fs), "friction": float(friction),
                "report_interval": int(report_interval), "precision": precision, "mode": "replace",
                "minimize_iterations": int(minimize_iterations), "seed": seed}
    restart = False
    if resume and os.path.exists(out.settings) and os.path.exists(out.checkpoint):
        with open(out.settings) as fh:
            old = json.load(fh)
        diff = [k for k in settings if old.get(k) != settings[k]]
        if diff:
            raise MadraXError(f"{out.settings}: an earlier run with different settings ({', '.join(diff)}) is there; "
                              "use another output prefix, or --no-resume to start over")
        restart = True
    d = os.path.dirname(os.path.abspath(prefix))
    os.makedirs(d, exist_ok=True)

    model = _read_model(structure)
    placed = place_copies(model.topology, model.positions, copies, gap)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        prepared = prepare_system((placed.topology, placed.positions), mode="replace", precision=precision)
    plat = select_platform(platform, prepared.system)
    props = {"Threads": str(threads)} if (threads and plat.getName() == "CPU") else {}
    integrator = openmm.LangevinMiddleIntegrator(temperature * unit.kelvin, friction / unit.picosecond,
                                                 timestep_fs * unit.femtosecond)
    if seed is not None:
        integrator.setRandomNumberSeed(int(seed))
    sim = app.Simulation(prepared.topology, prepared.system, integrator, plat, props)
    sim.context.setPositions(prepared.positions)
    madrax = prepared.madrax
    log = sys.stderr
    print(f"simulate: {copies} cop{'y' if copies == 1 else 'ies'} of {os.path.basename(structure)}, "
          f"{prepared.topology.getNumAtoms()} atoms ({madrax.structure.n_atoms} MadraX heavy atoms), platform "
          f"{plat.getName()}, {timestep_fs:g} fs, {temperature:g} K, {steps} steps", file=log)
    if restart:
        sim.loadCheckpoint(out.checkpoint)
        out.resumed_from = int(sim.currentStep)
        _truncate_outputs(out.trajectory, out.topology, out.energies, out.resumed_from // report_interval,
                          out.resumed_from)
        print(f"simulate: resumed from {out.checkpoint} at step {out.resumed_from}", file=log)
    else:
        for p in (out.trajectory, out.energies, out.checkpoint):
            if os.path.exists(p):
                os.remove(p)
        if minimize_iterations:
            sim.minimizeEnergy(maxIterations=int(minimize_iterations))
        state = sim.context.getState(getPositions=True)
        write_structure(out.topology, prepared.topology, state.getPositions())
        sim.context.setVelocitiesToTemperature(temperature * unit.kelvin, *([int(seed)] if seed is not None else []))
        with open(out.settings, "w") as fh:
            json.dump(settings, fh, indent=1)
        sim.saveCheckpoint(out.checkpoint)
    if sim.currentStep >= steps:
        print(f"simulate: already at step {sim.currentStep} >= {steps}", file=log)
        return out
    append = os.path.exists(out.trajectory) and os.path.getsize(out.trajectory) > 0
    sim.reporters.append(_trajectory_reporter(out.trajectory, report_interval, append))
    energy_reporter = MadraXEnergyReporter(out.energies, report_interval, madrax, append=restart)
    sim.reporters.append(energy_reporter)
    from tqdm import tqdm

    try:
        with tqdm(total=steps, initial=int(sim.currentStep), unit="step", desc="MadraX MD", file=log,
                  disable=(not progress) or None, dynamic_ncols=True) as bar:
            while sim.currentStep < steps:
                n = min(report_interval - sim.currentStep % report_interval, steps - sim.currentStep)
                try:
                    sim.step(n)
                except openmm.OpenMMException as exc:
                    raise MadraXError(f"MD failed near step {sim.currentStep}: {str(exc).strip()[-300:]}") from exc
                bar.update(n)
                e = sim.context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
                if not math.isfinite(e):
                    raise MadraXError(f"the simulation blew up (NaN/inf energy) at step {sim.currentStep}")
                sim.saveCheckpoint(out.checkpoint)  # after the frame of this step: resume drops later frames
    finally:
        energy_reporter.close()
        for rep in sim.reporters:
            fh = getattr(rep, "_out", None)
            if fh is not None and hasattr(fh, "flush") and not getattr(fh, "closed", True):
                fh.flush()
        sim.reporters.clear()
    return out


def features_from_simulation(run: SimulationOutput, **kwargs) -> Features:
    """:func:`compute_features` of a :func:`simulate` run (time axis from the report interval)."""
    kwargs.setdefault("timestep_ps", run.frame_ps)
    f = compute_features(run.trajectory, run.topology, **kwargs)
    f.time_ps = f.time_ps + run.frame_ps  # the first frame is written after report_interval steps
    return f


# ----------------------------------------------------------------------------------------------
# per-residue profile plot

#: channel colours of the profile plot (fixed, so plots of different proteins compare)
CHANNEL_COLORS = {
    "disulfide": "#e6ab02", "hbond": "#1f78b4", "electrostatics": "#6a3d9a", "clash": "#e31a1c",
    "solv_polar": "#fb9a99", "solv_hydrophobic": "#33a02c", "vdw": "#b2df8a", "backbone_entropy": "#ff7f00",
    "sidechain_entropy": "#fdbf6f", "peptide_bond": "#999999", "rotamer": "#a6761d",
}


def _stacked(ax, x, values: np.ndarray, names: Sequence[str], labels: Sequence[str], bars: bool = True,
             width: float = 0.9) -> None:
    """Several signed components per x, stacked: positives up, negatives down.  Bars (short
    sequences) or step areas (long ones: as readable, and a few artists instead of thousands)."""
    pos = np.zeros(len(x))
    neg = np.zeros(len(x))
    for k, name in enumerate(names):
        v = np.nan_to_num(values[:, k])
        up = np.where(v > 0, v, 0.0)
        down = np.where(v < 0, v, 0.0)
        color = CHANNEL_COLORS.get(name.replace("inter_", ""), None)
        if bars:
            ax.bar(x, up, width, bottom=pos, color=color, label=labels[k], linewidth=0)
            ax.bar(x, down, width, bottom=neg, color=color, linewidth=0)
        else:
            ax.fill_between(x, pos, pos + up, step="mid", color=color, label=labels[k], linewidth=0)
            ax.fill_between(x, neg, neg + down, step="mid", color=color, linewidth=0)
        pos += up
        neg += down


def plot_profile(features: Features, path: str, *, title: Optional[str] = None, min_share: float = 0.01,
                 dpi: int = 130) -> str:
    """Per-residue profile (PNG): frame-mean MadraX channels stacked along the sequence with the net
    energy, the inter-chain energy (several chains), burial / relative SASA / contacts, H-bond
    satisfaction and the secondary structure.  Channels whose summed |mean| is below
    ``min_share`` of the total are left out of the bars (listed in the legend title)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fr = features.frames
    R = features.n_residues
    x = np.arange(R)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # residues without donors / acceptors: NaN
        mean = np.nanmean(fr, axis=0)
    idx = {n: k for k, n in enumerate(features.names)}
    chans = list(CHANNELS)
    e = mean[:, [idx[c] for c in chans]]
    share = np.abs(e).sum(0) / max(np.abs(e).sum(), 1e-12)
    shown = [c for c, s in zip(chans, share) if s >= min_share]
    hidden = [c for c, s in zip(chans, share) if s < min_share]
    multi = features.chain_frames.shape[1] > 1
    inter = mean[:, [idx[f"inter_{c}"] for c in chans]]
    heights = [3.4] + ([1.6] if multi else []) + [1.4, 1.1, 0.55]
    width = min(max(9.0, 0.03 * R + 5.0), 24.0)
    fig, axes = plt.subplots(len(heights), 1, sharex=True, figsize=(width, sum(heights) + 1.3),
                             gridspec_kw={"height_ratios": heights, "hspace": 0.12})
    k = 0
    ax = axes[k]
    ax.axhline(0.0, color="k", lw=0.6)
    bars = R <= 150
    _stacked(ax, x, e[:, [chans.index(c) for c in shown]], shown, shown, bars=bars)
    total = mean[:, idx["madrax_total"]]
    if bars:
        ax.plot(x, total, color="k", lw=0.8, marker="o", ms=2.0, label="net per residue")
    w = min(9, max(3, R // 40 * 2 + 1))
    if R >= 3 * w:
        ax.plot(x, pd.Series(total).rolling(w, center=True, min_periods=1).mean(), color="k" if not bars
                else "#d62728", lw=1.8, label=f"net, {w}-residue running mean")
    ax.set_ylabel("MadraX energy\n(kcal/mol, frame mean)")
    leg_title = "channel" + (f" (not shown, <{100 * min_share:g}%: {', '.join(hidden)})" if hidden else "")
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, title=leg_title, title_fontsize=7,
              frameon=False)
    ax.grid(axis="y", lw=0.3, alpha=0.6)
    if multi:
        k += 1
        ax = axes[k]
        ax.axhline(0.0, color="k", lw=0.6)
        ishow = [c for c in chans if np.abs(inter[:, chans.index(c)]).sum() > 1e-6]
        if ishow:
            # the interface is a few residues: bars for those only, wide enough to see on long sequences
            nz = np.abs(inter).sum(1) > 1e-9
            _stacked(ax, x[nz], inter[nz][:, [chans.index(c) for c in ishow]], ishow, ishow,
                     width=max(0.9, R / 250.0))
            ax.plot(x[nz], mean[nz, idx["inter_total"]], ls="none", marker="_", ms=8, color="k",
                    label="net inter-chain")
            ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False)
        else:
            ax.text(0.5, 0.5, "no inter-chain MadraX energy (chains never within 7 A)", transform=ax.transAxes,
                    ha="center", va="center", fontsize=9, color="0.4")
        ax.set_ylabel("inter-chain\n(kcal/mol)")
        ax.grid(axis="y", lw=0.3, alpha=0.6)
    k += 1
    ax = axes[k]
    ax.plot(x, mean[:, idx["burial"]], color="#8c510a", lw=1.2, label="burial (0-1)")
    ax.plot(x, np.clip(mean[:, idx["rsasa"]], 0, 1.2), color="#01665e", lw=1.2, label="relative SASA")
    c = mean[:, idx["contacts"]]
    cmax = max(float(np.nanmax(c)), 1.0)
    ax.fill_between(x, 0, c / cmax, step="mid", color="0.75", alpha=0.6, lw=0,
                    label=f"contacts / {cmax:.0f}")
    if multi:
        ax.fill_between(x, 0, mean[:, idx["contacts_inter"]] / cmax, step="mid", color="#d62728", alpha=0.6,
                        lw=0, label="inter-chain contacts")
    ax.set_ylim(0, 1.25)
    ax.set_ylabel("burial, SASA,\ncontacts")
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False)
    k += 1
    ax = axes[k]
    ax.plot(x, mean[:, idx["hb_donor_sat"]], ls="none", marker="^", ms=3.5, color="#1f78b4", label="donors H-bonded")
    ax.plot(x, mean[:, idx["hb_acceptor_sat"]], ls="none", marker="v", ms=3.5, color="#e31a1c",
            label="acceptors H-bonded")
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel("H-bond\nsatisfaction")
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False)
    k += 1
    ax = axes[k]
    h, s_, c_ = (mean[:, idx[n]] for n in SS_FEATURES)
    ax.bar(x, h, 1.0, color="#d7301f", lw=0, label="helix")
    ax.bar(x, s_, 1.0, bottom=h, color="#2171b5", lw=0, label="strand")
    ax.bar(x, c_, 1.0, bottom=h + s_, color="0.88", lw=0, label="coil")
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.set_ylabel("DSSP", rotation=0, ha="right", va="center")
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.2), fontsize=8, frameon=False, ncol=3)
    # chains and residue numbers
    res = features.residues
    starts = [int(np.nonzero(res["chain_index"].to_numpy() == ci)[0][0]) for ci in features.chains["chain_index"]]
    for a in axes:
        for s in starts[1:]:
            a.axvline(s - 0.5, color="k", lw=1.0, ls="--")
    if multi:
        for s, cid in zip(starts, features.chains["chain"]):
            axes[0].text(s, 1.01, f"chain {cid or '-'}", transform=axes[0].get_xaxis_transform(), fontsize=8,
                         va="bottom")
    step = next(v for v in (5, 10, 20, 25, 50, 100, 200, 500) if R / v <= 30)
    resnum = res["resnum"].to_numpy()
    ticks = [i for i in range(R) if resnum[i] % step == 0 or i in starts]
    axes[-1].set_xticks(ticks)
    axes[-1].set_xticklabels([str(resnum[i]) for i in ticks], fontsize=8)
    if R <= 130:  # one-letter sequence under the residue numbers
        for i, rn in enumerate(res["resname"]):
            axes[-1].text(i, -0.62, _one_letter(rn), transform=axes[-1].get_xaxis_transform(), ha="center",
                          va="top", fontsize=6.5, family="monospace")
    axes[-1].set_xlabel("residue" + ("\n" if R <= 130 else ""), labelpad=(16 if R <= 130 else 4))
    axes[-1].set_xlim(-0.7, R - 0.3)
    name = title or str(features.meta.get("name", ""))
    fig.suptitle(f"{name}: per-residue MadraX profile, mean over {features.n_frames} frame(s)"
                 + (f", {features.chain_frames.shape[1]} chains" if multi else ""), fontsize=11, x=0.45, y=0.93)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path
