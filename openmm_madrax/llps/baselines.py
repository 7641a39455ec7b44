"""Simple baselines on the same grouped folds: amino-acid composition + gradient boosting."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .sequences import STANDARD


def composition(sequences: Sequence[str]) -> np.ndarray:
    """(N, 20) fractions of the 20 standard residues (other letters ignored)."""
    out = np.zeros((len(sequences), 20))
    for i, s in enumerate(sequences):
        for k, c in enumerate(STANDARD):
            out[i, k] = s.count(c)
        out[i] /= max(out[i].sum(), 1.0)
    return out


def composition_classifier(seed: int = 0):
    """Three-way (driver / client-only / neither) gradient boosting on composition, class-balanced."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, max_leaf_nodes=15,
                                          l2_regularization=1.0, class_weight="balanced", random_state=seed)


def composition_regressor(seed: int = 0):
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05, max_leaf_nodes=15,
                                         l2_regularization=1.0, random_state=seed)
