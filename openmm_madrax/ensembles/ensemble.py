"""Sequence -> weighted all-heavy-atom conformational ensemble (docs/ensembles.md)."""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import torch

from .analysis import (basin_fractions, contact_map, effective_sample_size, ensemble_rg_nm, rg_nm as _rg_nm,
                       ree_nm as _ree_nm, scaling_exponent, weighted_mean_sd)
from .builder import ChainBuilder
from .energy import conformer_energies, madrax_module, sequence_structure
from .growth import ChainGrower, GrowthStats
from .sampling import default_sampler
from .sequences import SequenceError, clean_sequence, residue_names
from .weights import boltzmann_weights, systematic_resample, weight_energy

#: default global energy scale lambda of the weights (docs/ensembles.md: chosen by grouped CV)
DEFAULT_ENERGY_SCALE = 0.1
#: default burial mode of the MadraX energy used for the weights
DEFAULT_BURIAL = "foldx"


@dataclass
class Ensemble:
    """A weighted conformational ensemble of one chain.

    ``coords`` (n, N, 3) heavy-atom coordinates in Angstrom in the atom order of ``structure``;
    ``weights`` (n,) sum to 1; ``energies`` (n, 11) MadraX channel totals (kcal/mol) or None
    when the ensemble was not reweighted; ``phi``/``psi`` (n, L) degrees (NaN where undefined)."""

    sequence: str
    name: str
    structure: object
    coords: np.ndarray
    weights: np.ndarray
    energies: Optional[np.ndarray]
    temperature: float
    ionic_strength: float
    phi: np.ndarray
    psi: np.ndarray
    info: Dict = field(default_factory=dict)

    # -- basic observables -----------------------------------------------------------------
    @property
    def n_conformers(self) -> int:
        return int(self.coords.shape[0])

    @property
    def n_residues(self) -> int:
        return len(self.sequence)

    def __len__(self) -> int:
        return self.n_conformers

    def __repr__(self) -> str:
        return (f"Ensemble({self.name!r}, {self.n_residues} residues, {self.n_conformers} conformers, "
                f"ESS {self.ess:.1f}, Rg {self.rg_mean_nm():.2f} nm)")

    @property
    def ca_index(self) -> np.ndarray:
        names = self.structure.atom_names
        return np.array([a for a in range(len(names)) if names[a] == "CA"], np.int64)

    @property
    def ess(self) -> float:
        return effective_sample_size(self.weights)

    def rg_nm(self) -> np.ndarray:
        """Radius of gyration of every conformer (nm, heavy atoms)."""
        return _rg_nm(self.coords)

    def ree_nm(self) -> np.ndarray:
        """End-to-end (first to last CA) distance of every conformer (nm)."""
        ca = self.ca_index
        return _ree_nm(self.coords, int(ca[0]), int(ca[-1]))

    def rg_mean_nm(self) -> float:
        """Ensemble radius of gyration sqrt(<Rg^2>) (nm), the SAXS observable."""
        return ensemble_rg_nm(self.rg_nm(), self.weights)

    def nu(self) -> float:
        """Apparent scaling exponent from internal CA distances (NaN below 15 residues)."""
        return scaling_exponent(self.coords[:, self.ca_index], self.weights)[0]

    def per_residue(self):
        """pandas DataFrame: resnum, resname, helix and PPII fractions (weighted phi/psi basins)."""
        import pandas as pd

        hel, ppii = basin_fractions(self.phi, self.psi, self.weights)
        return pd.DataFrame({"resnum": np.arange(1, self.n_residues + 1), "resname": residue_names(self.sequence),
                             "helix": hel, "ppii": ppii})

    def contact_map(self, cutoff_nm: float = 0.8) -> np.ndarray:
        return contact_map(self.coords[:, self.ca_index], self.weights, cutoff_nm)

    def summary(self) -> Dict:
        rg = self.rg_nm()
        ree = self.ree_nm()
        pr = self.per_residue()
        _, rg_sd = weighted_mean_sd(rg, self.weights)
        return {"id": self.name, "length": self.n_residues, "n": self.n_conformers, "ess": round(self.ess, 2),
                "rg_nm": self.rg_mean_nm(), "rg_sd_nm": rg_sd,
                "ree_nm": math.sqrt(float(np.sum(self.weights * ree ** 2))), "nu": self.nu(),
                "helix": float(np.nanmean(pr["helix"])) if self.n_residues > 2 else float("nan"),
                "ppii": float(np.nanmean(pr["ppii"])) if self.n_residues > 2 else float("nan"),
                "temperature_K": self.temperature, "ionic_strength_M": self.ionic_strength}

    # -- export ----------------------------------------------------------------------------
    def mdtraj_topology(self):
        import mdtraj

        top = mdtraj.Topology()
        chain = top.add_chain()
        st = self.structure
        for res in st.residues:
            r = top.add_residue(res.resname, chain, resSeq=res.resseq)
            for a in range(res.atom_start, res.atom_stop):
                name = st.atom_names[a]
                top.add_atom(name, mdtraj.element.get_by_symbol(name[0]), r)
        top.create_standard_bonds()
        return top

    def to_mdtraj(self):
        """mdtraj.Trajectory of the conformers (heavy atoms, nm); weights are not part of it."""
        import mdtraj

        return mdtraj.Trajectory(self.coords.astype(np.float32) / 10.0, self.mdtraj_topology())

    def save(self, outdir, name: Optional[str] = None) -> Dict[str, str]:
        """Write OUTDIR/NAME.dcd (trajectory), NAME.pdb (topology = first conformer) and
        NAME_weights.csv (frame, weight, rg_nm, ree_nm, energies); returns the paths."""
        import pandas as pd

        from .. import params

        name = name or self.name
        out = Path(outdir)
        out.mkdir(parents=True, exist_ok=True)
        traj = self.to_mdtraj()
        paths = {"dcd": str(out / f"{name}.dcd"), "pdb": str(out / f"{name}.pdb"),
                 "weights": str(out / f"{name}_weights.csv")}
        traj.save_dcd(paths["dcd"])
        traj[0].save_pdb(paths["pdb"])
        df = pd.DataFrame({"frame": np.arange(self.n_conformers), "weight": self.weights, "rg_nm": self.rg_nm(),
                           "ree_nm": self.ree_nm()})
        if self.energies is not None:
            for k, c in enumerate(params.CHANNELS):
                df[f"E_{c}"] = self.energies[:, k]
            df["E_total"] = self.energies.sum(1)
        df.to_csv(paths["weights"], index=False, float_format="%.6g")
        return paths

    def plot(self, path, title: Optional[str] = None) -> str:
        """Rg distribution (weighted histogram) and CA contact map, one PNG."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        rg = self.rg_nm()
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.2))
        a1.hist(rg, bins=min(40, max(10, self.n_conformers // 8)), weights=self.weights, color="tab:blue", alpha=0.8)
        a1.axvline(self.rg_mean_nm(), color="k", lw=1, label=f"sqrt(<Rg^2>) = {self.rg_mean_nm():.2f} nm")
        a1.set_xlabel("Rg (nm)")
        a1.set_ylabel("weighted fraction")
        a1.legend(fontsize=8)
        a1.set_title(f"Rg, {self.n_conformers} conformers, ESS {self.ess:.0f}", fontsize=10)
        cm = self.contact_map()
        im = a2.imshow(cm, origin="lower", cmap="viridis", vmin=0, vmax=max(0.05, float(np.max(np.triu(cm, 3)))))
        a2.set_xlabel("residue")
        a2.set_ylabel("residue")
        a2.set_title("CA-CA contact probability (< 0.8 nm)", fontsize=10)
        fig.colorbar(im, ax=a2, shrink=0.8)
        fig.suptitle(title or f"{self.name} ({self.n_residues} residues, {self.temperature:.0f} K, "
                              f"{self.ionic_strength:g} M)", fontsize=11)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return str(path)


# ----------------------------------------------------------------------------------------------


def _torsions_deg(tor, L: int):
    phi = np.degrees(tor.phi)
    psi = np.degrees(tor.psi)
    phi[:, 0] = np.nan
    psi[:, L - 1] = np.nan
    return phi, psi


def _check_args(n, temperature, ionic_strength, energy_scale):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer (number of conformers), not {n!r}")
    if not (200.0 <= float(temperature) <= 400.0):
        raise ValueError(f"temperature must be in kelvin (200-400 K), got {temperature}")
    if not (0.0 <= float(ionic_strength) <= 5.0):
        raise ValueError(f"ionic_strength must be in mol/L (0-5 M), got {ionic_strength}")
    if not (float(energy_scale) >= 0.0):
        raise ValueError(f"energy_scale must be >= 0, got {energy_scale}")


def _device(device):
    if device is None or device == "auto":
        return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    return torch.device(device)


def build_ensemble(sequence: str, n: int = 200, *, temperature: float = 298.0, ionic_strength: float = 0.15,
                   seed: int = 0, structure=None, reweight: bool = True, progress: bool = False,
                   name: Optional[str] = None, energy_scale: float = DEFAULT_ENERGY_SCALE,
                   burial: str = DEFAULT_BURIAL, min_ess: Optional[float] = None, max_rounds: int = 4,
                   device=None) -> Ensemble:
    """N weighted all-heavy-atom conformers of a sequence.

    Conformers are grown residue by residue with torsions drawn from the project's fitted
    densities (phi/psi per residue type with the pre-proline class, omega trans/cis, chi
    rotamers), exact ideal geometry and self-avoidance (contacts re-drawn); MadraX then weights
    them: w ~ exp(-energy_scale E / RT), E = the smooth MadraX energy at ``temperature`` (K) and
    ``ionic_strength`` (M) without the channels the proposal already carries (backbone entropy,
    rotamer).  When the effective sample size falls below ``min_ess`` (default n / 10), up to
    ``max_rounds`` - 1 more batches of n conformers are drawn and the pool is resampled to n
    conformers (then with equal weights).  ``reweight=False``: equal weights, no MadraX (the
    fast setting, about 3x faster).  ``structure``: not supported yet (raises).
    """
    seq = clean_sequence(sequence, name or "sequence")
    _check_args(n, temperature, ionic_strength, energy_scale)
    if structure is not None:
        raise NotImplementedError("build_ensemble(structure=...) (fixed folded parts) is not implemented yet")
    name = name or "sequence"
    dev = _device(device)
    t0 = time.perf_counter()
    resnames = residue_names(seq)
    sampler = default_sampler()
    builder = ChainBuilder(resnames, device=dev)
    grower = ChainGrower(builder, sampler)
    rng = np.random.default_rng(seed)
    stats = GrowthStats()

    def grow_batch(k: int):
        X, tor = grower.grow(rng, k, stats=stats, progress=progress)
        return X.cpu().numpy(), tor

    X, tor = grow_batch(n)
    t_grow = time.perf_counter() - t0
    st = sequence_structure(resnames, builder.top.atom_names, builder.top.atom_residue, X[0], name=name)
    info = {"seed": seed, "energy_scale": float(energy_scale), "burial": burial, "rounds": 1,
            "device": str(dev), "growth_redraws": 0, "growth_clones": 0}
    energies = None
    weights = np.full(n, 1.0 / n)
    t_energy = 0.0
    if reweight:
        t1 = time.perf_counter()
        module = madrax_module(st, temperature, ionic_strength, smooth=True, burial=burial, device=dev)
        E = conformer_energies(module, X, progress=progress)
        w = boltzmann_weights(weight_energy(E), temperature, energy_scale)
        threshold = float(min_ess) if min_ess is not None else n / 10.0
        pool_X, pool_tor, pool_E = [X], [tor], [E]
        while effective_sample_size(w) < threshold and info["rounds"] < max_rounds:
            Xk, tk = grow_batch(n)
            Ek = conformer_energies(module, Xk, progress=progress)
            pool_X.append(Xk)
            pool_tor.append(tk)
            pool_E.append(Ek)
            E = np.concatenate(pool_E)
            w = boltzmann_weights(weight_energy(E), temperature, energy_scale)
            info["rounds"] += 1
        info["pool_size"] = int(E.shape[0])
        info["pool_ess"] = effective_sample_size(w)
        if len(pool_X) > 1:
            X = np.concatenate(pool_X)
            phi_all = np.concatenate([t.phi for t in pool_tor])
            psi_all = np.concatenate([t.psi for t in pool_tor])
            idx = systematic_resample(w, n, rng)
            X, E = X[idx], E[idx]
            tor.phi, tor.psi = phi_all[idx], psi_all[idx]
            weights = np.full(n, 1.0 / n)
            info["unique_conformers"] = int(len(np.unique(idx)))
        else:
            weights = w
        energies = E
        t_energy = time.perf_counter() - t1
    info["growth_redraws"] = stats.redraws
    info["growth_clones"] = stats.clones
    info["growth_unresolved"] = stats.unresolved
    info["time_growth_s"] = t_grow
    info["time_energy_s"] = t_energy
    info["time_total_s"] = time.perf_counter() - t0
    phi, psi = _torsions_deg(tor, len(seq))
    return Ensemble(sequence=seq, name=name, structure=st, coords=X, weights=weights, energies=energies,
                    temperature=float(temperature), ionic_strength=float(ionic_strength), phi=phi, psi=psi,
                    info=info)


__all__ = ["DEFAULT_BURIAL", "DEFAULT_ENERGY_SCALE", "Ensemble", "SequenceError", "build_ensemble"]
