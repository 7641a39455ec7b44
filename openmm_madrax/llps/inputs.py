"""Per-protein network inputs: residue features (with metapredict disorder) and the physics profile."""
from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from .model import global_features, sequence_features
from .physics import PhysicsCache, PhysicsProfile
from .sequences import network_sequence, physics_sequence


def disorder(sequences: Sequence[str]) -> List[np.ndarray]:
    """metapredict (v3) per-residue disorder (0-1) of physics sequences (20 standard letters)."""
    if not sequences:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import metapredict as meta

        out = meta.predict_disorder(list(sequences))
    return [np.asarray(r[1], np.float32) for r in out]


@dataclass
class ProteinInput:
    """Everything the network needs for one protein."""

    id: str
    sequence: str  # as given (cleaned, upper case)
    seq_feats: np.ndarray  # (L, N_SEQ)
    profile: PhysicsProfile
    disorder: np.ndarray  # (L,)
    glob: np.ndarray = None  # (N_GLOBAL,) per-protein sequence features

    @property
    def length(self) -> int:
        return len(self.sequence)


class InputBuilder:
    """Builds :class:`ProteinInput` s with the physics cache (and a disorder cache beside it)."""

    def __init__(self, cache: PhysicsCache):
        self.cache = cache

    def _disorder_path(self, phys: str) -> Optional[Path]:
        if not self.cache.enabled:
            return None
        key = hashlib.sha256(("metapredict-v3|" + phys).encode()).hexdigest()[:32]
        return self.cache.directory / "disorder" / f"{key}.npy"

    def disorder(self, phys_seqs: Sequence[str]) -> List[np.ndarray]:
        out: Dict[int, np.ndarray] = {}
        todo = []
        for i, s in enumerate(phys_seqs):
            p = self._disorder_path(s)
            if p is not None and p.exists():
                out[i] = np.load(p)
            else:
                todo.append(i)
        for i, d in zip(todo, disorder([phys_seqs[i] for i in todo])):
            out[i] = d
            p = self._disorder_path(phys_seqs[i])
            if p is not None:
                p.parent.mkdir(parents=True, exist_ok=True)
                np.save(p, d)
        return [out[i] for i in range(len(phys_seqs))]

    def build(self, ids: Sequence[str], sequences: Sequence[str], progress=None, physics: bool = True) -> List[ProteinInput]:
        """Inputs of cleaned sequences (see :func:`~openmm_madrax.llps.sequences.clean_sequence`);
        ``physics=False``: all-zero profiles (for models that do not read them)."""
        phys = [physics_sequence(s) for s in sequences]
        dis = self.disorder(phys)
        out = []
        it = range(len(sequences))
        if progress is not None:
            it = progress(it)
        for i in it:
            prof = self.cache(phys[i]) if physics else zero_profile(phys[i], self.cache.options)
            ns = network_sequence(sequences[i])
            out.append(ProteinInput(ids[i], sequences[i], sequence_features(ns, dis[i]), prof, dis[i],
                                    global_features(ns, dis[i])))
        return out


def zero_profile(sequence: str, options) -> PhysicsProfile:
    """An all-zero :class:`PhysicsProfile` of the right shapes (no atoms)."""
    from .physics import segments

    L = len(sequence)
    S = max(1, min(options.conformer_sets, options.rounds))
    window = np.zeros(L, np.int64)
    for w, (_, _, c0, c1) in enumerate(segments(L, options.core, options.flank)):
        window[c0:c1] = w
    return PhysicsProfile(sequence, np.zeros((S, L, 11), np.float32), np.zeros((options.rounds, L, 11), np.float32),
                          window, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((S, 0, 3), np.float32),
                          np.zeros((options.rounds, 0, 3), np.float32), options.key())
