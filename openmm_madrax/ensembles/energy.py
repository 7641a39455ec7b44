"""MadraX energies of conformers at a given temperature and ionic strength.

The MadraX module is built once per sequence (:func:`openmm_madrax.energy_module`, smooth mode);
the solution conditions then enter where the FoldX/MadraX formulas carry them (physics spec 5.2,
5.5 and table T11; FoldX 2002):

* electrostatics: Debye-like screening exp(-K d) with K = sqrt(200 |q_i q_j| Ic / T) and the
  corrected ionic strength Ic = 0.02 + I / 1.4; the dielectric's temperature factor
  cT = exp(-0.004314 (T - 273)); the H-bond salt-bridge screening K_salt = sqrt(50 Ic / T);
* hydrophobic solvation: corr_ionic = sqrt(I) / 3.9 and DCp = (0.008 - 5e-5 (T - 273)) ln(T / 273);
* side-chain and disulfide entropies: T dS with the given T.

MadraX's own constants are T = 298 K, I = 0.05 M; at those values the module is unchanged.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch

from .. import params


def condition_constants(temperature: float, ionic_strength: float) -> dict:
    """The MadraX constants that depend on T (K) and I (M)."""
    T = float(temperature)
    ionic = float(ionic_strength)
    c = params.constants()
    ic = 0.02 + ionic / 1.4
    ct = math.exp(-0.004314 * (T - 273.0))
    return {
        "temperature": T,
        "Ic": ic,
        "cT": ct,
        "coulomb_pref": c["coulomb_constant"] / (c["dielectric_factor"] * ct),
        "kappa_elec": c["K_electro_factor"] * ic / T,
        "kappa_salt": math.sqrt(c["K_saltbridge_factor"] * ic / T),
        "dcp": (0.008 - 5e-5 * (T - 273.0)) * math.log(T / 273.0),
        "corr_ionic": math.sqrt(max(ionic, 0.0)) / 3.9,
    }


def set_conditions(module, temperature: float, ionic_strength: float):
    """Set the temperature (K) and ionic strength (M) of a MadraXEnergy module in place."""
    if not (200.0 <= float(temperature) <= 400.0):
        raise ValueError(f"temperature must be in kelvin (200-400 K), got {temperature}")
    if not (0.0 <= float(ionic_strength) <= 5.0):
        raise ValueError(f"ionic strength must be in mol/L (0-5 M), got {ionic_strength}")
    k = condition_constants(temperature, ionic_strength)
    t_old = float(module.temperature)
    for name in ("coulomb_pref", "kappa_elec", "kappa_salt", "dcp", "corr_ionic"):
        setattr(module, name, float(k[name]))
    # T dS terms: side-chain entropy scale L = w T S_max (per residue buffer), disulfide loop entropy
    with torch.no_grad():
        module.sc_entropy_L.mul_(k["temperature"] / t_old)
    module.temperature = k["temperature"]
    return module


def sequence_structure(resnames, atom_names, atom_residue, coords: np.ndarray, name: str = "ensemble"):
    """A one-chain :class:`~openmm_madrax.Structure` (chain A, residues numbered from 1)."""
    from ..structure import ResidueInfo, Structure

    L = len(resnames)
    starts = np.searchsorted(atom_residue, np.arange(L + 1))
    residues = [ResidueInfo("A", 0, i + 1, "", rn, rn, int(starts[i]), int(starts[i + 1]))
                for i, rn in enumerate(resnames)]
    nxt = np.ones(L, bool)
    nxt[-1] = False
    n = len(atom_names)
    return Structure(name=name, residues=residues, atom_names=list(atom_names),
                     atom_residue=np.asarray(atom_residue, np.int64), coords=np.asarray(coords, np.float64).reshape(n, 3),
                     source_index=np.arange(n, dtype=np.int64), chain_ids=["A"], next_consecutive=nxt,
                     disulfides=[], n_input_atoms=n, source="openmm_madrax.ensembles")


def madrax_module(structure, temperature: float = 298.0, ionic_strength: float = 0.15, smooth: bool = True, burial: str = "madrax",
                  dtype=torch.float64, device=None):
    """The MadraX energy module of a structure at the given conditions (smooth by default)."""
    from ..scoring import energy_module

    mod = energy_module(structure, smooth=smooth, dtype=dtype, fix_frames=True, burial=burial)
    set_conditions(mod, temperature, ionic_strength)
    if device is not None:
        mod = mod.to(device)
    return mod


def conformer_energies(module, coords, progress: bool = False, desc: str = "MadraX energies") -> np.ndarray:
    """(n, 11) MadraX channel totals (kcal/mol) of conformers ``coords`` (n, N, 3) Angstrom."""
    X = torch.as_tensor(coords)
    dt = module.radius.dtype
    dev = module.radius.device
    out = np.empty((X.shape[0], len(params.CHANNELS)))
    it = range(X.shape[0])
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc=desc, unit="conf", leave=False)
    with torch.no_grad():
        for k in it:
            e = module(X[k].to(device=dev, dtype=dt))
            out[k] = e.sum(0).double().cpu().numpy()
    return out
