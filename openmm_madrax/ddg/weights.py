"""Weight sets of the ΔΔG: how the per-channel energy differences become one number.

* ``"calibrated"`` (default): ``params/ddg_weights_calibrated.json``, fitted on experimental
  stability data with cross-validation grouped by protein (``scripts/ddg_calibrate.py``
  regenerates it; the library only reads it): ΔΔG in kcal/mol on the experimental scale, with a
  calibrated uncertainty.
* ``"madrax"``: every channel weight 1 and no offset, the MadraX energy difference as it is
  (about 4-5x the experimental scale; no uncertainty model).
* a JSON path or a dict ``{"weights": {channel: w}, "intercept": b, "terms": {term: w},
  "uncertainty": {...}}``.

ΔΔG = intercept + Σ_c w_c ΔE_c + Σ_t w_t ΔT_t, with ΔE_c the 11 MadraX channel differences and
ΔT_t the protocol terms (``site_entropy``, see :mod:`.protocol`).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import numpy as np

from ..errors import MadraXError
from ..params import CHANNELS

PARAMS_DIR = Path(__file__).resolve().parents[1] / "params"
CALIBRATED_WEIGHTS = PARAMS_DIR / "ddg_weights_calibrated.json"
#: protocol terms that a weight set may weight besides the 11 channels
TERMS = ("site_entropy",)


@dataclass(frozen=True)
class WeightSet:
    """A weight set: channel weights (11,), intercept, weights of protocol terms, and optionally an
    uncertainty model ``sd = a + b * |ddg - center|`` (kcal/mol; ``ddg ± z sd`` is the interval
    validated on held-out folds, see the JSON's ``uncertainty.coverage``)."""

    name: str
    channels: np.ndarray
    intercept: float = 0.0
    terms: Dict[str, float] = field(default_factory=dict)
    uncertainty: Optional[Dict[str, float]] = None
    protocol: Optional[Dict[str, object]] = None

    def apply(self, ddg_channels, terms: Optional[Dict[str, float]] = None) -> float:
        v = self.intercept + float(np.asarray(self.channels) @ np.asarray(ddg_channels, float))
        for t, w in self.terms.items():
            v += w * float((terms or {}).get(t, 0.0))
        return v

    def sd(self, ddg_value: float) -> float:
        """Calibrated standard uncertainty (kcal/mol) of a ΔΔG from this set; NaN without a model."""
        u = self.uncertainty
        if not u or not math.isfinite(ddg_value):
            return float("nan")
        return float(u["a"] + u["b"] * abs(ddg_value - u["center"]))


def weight_set(weights: Union[str, dict, Path, WeightSet, None] = "calibrated") -> WeightSet:
    """The :class:`WeightSet` named or given by ``weights`` (see the module doc)."""
    if isinstance(weights, WeightSet):
        return weights
    if weights is None or (isinstance(weights, str) and weights.lower() in ("madrax", "default", "raw")):
        return WeightSet("madrax", np.ones(len(CHANNELS)))
    if isinstance(weights, str) and weights.lower() == "calibrated":
        path = CALIBRATED_WEIGHTS
        if not path.exists():
            raise MadraXError(f"no calibrated weights at {path}; run 'python scripts/ddg_calibrate.py'")
        data = json.loads(path.read_text())
        name = "calibrated"
    elif isinstance(weights, (str, Path)):
        path = Path(weights)
        if not path.exists():
            raise MadraXError(f"weights: {weights!r} is not 'calibrated', 'madrax' or an existing JSON file")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise MadraXError(f"weights file {path}: not valid JSON ({exc})") from None
        name = str(weights)
    elif isinstance(weights, dict):
        data = weights
        name = "custom"
    else:
        raise ValueError(f"weights must be 'calibrated', 'madrax', a JSON path or a dict, not {weights!r}")
    w = data.get("weights", data)
    unknown = sorted(set(w) - set(CHANNELS))
    if unknown:
        raise MadraXError(f"weights: unknown channel(s) {unknown}; channels are {list(CHANNELS)}")
    terms = {str(k): float(v) for k, v in (data.get("terms") or {}).items()}
    bad = sorted(set(terms) - set(TERMS))
    if bad:
        raise MadraXError(f"weights: unknown term(s) {bad}; terms are {list(TERMS)}")
    unc = data.get("uncertainty")
    if unc is not None:
        unc = {k: float(unc[k]) for k in ("a", "b", "center")}
    return WeightSet(name, np.array([float(w.get(c, 1.0)) for c in CHANNELS]), float(data.get("intercept", 0.0)),
                     terms, unc, data.get("protocol"))


def load_weights(weights: Union[str, dict, None] = "calibrated") -> Tuple[np.ndarray, float, str]:
    """(per-channel weights (11,), offset, name) of a weight set (see :func:`weight_set`, which also
    carries the protocol-term weights and the uncertainty model)."""
    ws = weight_set(weights)
    return ws.channels, ws.intercept, ws.name
