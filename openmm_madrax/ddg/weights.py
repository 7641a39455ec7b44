"""Channel weight sets of the ΔΔG: ``"madrax"`` (all 1) or a fitted set (``"calibrated"``)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Tuple, Union

import numpy as np

from ..errors import MadraXError
from ..params import CHANNELS

PARAMS_DIR = Path(__file__).resolve().parents[1] / "params"
CALIBRATED_WEIGHTS = PARAMS_DIR / "ddg_weights_calibrated.json"


def load_weights(weights: Union[str, dict, None] = "madrax") -> Tuple[np.ndarray, float, str]:
    """(per-channel weights (11,), offset, name) of a weight set: ``"madrax"`` (all 1, offset 0),
    ``"calibrated"`` (shipped fit), a JSON path, or a dict ``{"weights": {channel: w}, "intercept": b}``."""
    if weights is None or (isinstance(weights, str) and weights.lower() in ("madrax", "default")):
        return np.ones(len(CHANNELS)), 0.0, "madrax"
    if isinstance(weights, str) and weights.lower() == "calibrated":
        path = CALIBRATED_WEIGHTS
        if not path.exists():
            raise MadraXError(f"no calibrated weights at {path}; run 'python scripts/calibrate_ddg.py'")
        data = json.loads(path.read_text())
        name = "calibrated"
    elif isinstance(weights, (str, Path)):
        data = json.loads(Path(weights).read_text())
        name = str(weights)
    elif isinstance(weights, dict):
        data = weights
        name = "custom"
    else:
        raise ValueError(f"weights must be 'madrax', 'calibrated', a JSON path or a dict, not {weights!r}")
    w = data.get("weights", data)
    unknown = sorted(set(w) - set(CHANNELS))
    if unknown:
        raise MadraXError(f"weights: unknown channel(s) {unknown}; channels are {list(CHANNELS)}")
    return np.array([float(w.get(c, 1.0)) for c in CHANNELS]), float(data.get("intercept", 0.0)), name
