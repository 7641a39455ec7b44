"""Boltzmann weights of conformers from their MadraX energies, with an effective-sample-size check.

The conformers are drawn from q(x) = prod p_bb(phi, psi) p(omega) p(chi) restricted to
self-avoiding chains.  MadraX's channels 7 (backbone entropy) and 10 (rotamer) are, up to their
clamps, -kT ln of those same densities (channel 7: 0.5 x 1.19 ln p_bb ~ kT ln p_bb at 298 K),
so the proposal already carries them; the weights use the other channels ("non-local" energy):

    ln w_k = -lambda E_k / (R T),   E_k = sum of the channels in ``WEIGHT_CHANNELS``

``lambda`` (``energy_scale``) is the one global knob; see docs/ensembles.md for how it was chosen
(grouped cross-validation over proteins) and why 1 is not usable (the effective sample size
collapses to ~1 for chains longer than ~30 residues).
"""
from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np

from .. import params
from .analysis import effective_sample_size

R_KCAL = 0.0019872043  # kcal / (mol K)
#: channels that enter the weights (all but backbone entropy and rotamer, which the proposal carries)
WEIGHT_CHANNELS: Tuple[str, ...] = tuple(c for c in params.CHANNELS if c not in ("backbone_entropy", "rotamer"))


def weight_energy(channel_totals: np.ndarray, channels: Sequence[str] = WEIGHT_CHANNELS) -> np.ndarray:
    """(n,) sum of the chosen channels of (n, 11) per-conformer channel totals."""
    idx = [params.CHANNELS.index(c) for c in channels]
    return np.asarray(channel_totals, np.float64)[:, idx].sum(1)


def boltzmann_weights(energy: np.ndarray, temperature: float, energy_scale: float = 1.0) -> np.ndarray:
    """Normalised weights exp(-lambda E / RT) (stable for any energy range; all-equal energies give
    uniform weights exactly)."""
    e = np.asarray(energy, np.float64)
    if e.ndim != 1 or e.size == 0:
        raise ValueError("energy must be a non-empty 1-D array")
    if not np.isfinite(e).all():
        bad = np.nonzero(~np.isfinite(e))[0]
        raise ValueError(f"non-finite energy for conformer(s) {bad[:10].tolist()}")
    a = -float(energy_scale) * (e - e.min()) / (R_KCAL * float(temperature))
    w = np.exp(a - a.max())
    return w / w.sum()


def systematic_resample(w: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n indices drawn by systematic resampling from normalised weights w (low variance)."""
    c = np.cumsum(np.asarray(w, np.float64))
    c[-1] = 1.0
    u = (rng.random() + np.arange(n)) / n
    return np.searchsorted(c, u, side="right").clip(max=len(w) - 1)


__all__ = ["R_KCAL", "WEIGHT_CHANNELS", "boltzmann_weights", "effective_sample_size", "systematic_resample",
           "weight_energy"]
