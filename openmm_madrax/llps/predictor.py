"""User-facing predictor: sequences / FASTA / PDB / mmCIF in, a table of LLPS predictions out.

``LLPSPredictor.load().predict(inputs)`` returns a DataFrame whose first columns are exactly
``id, length, p_driver, p_client, csat_uM``; :func:`predict_protein` is the pure per-protein
function (protein in, one row + per-residue table out) that batch / Dask drivers call with a
predictor cached per process (:func:`cached_predictor`).
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd
import torch

from ..errors import MadraXError
from .inputs import InputBuilder, ProteinInput
from .model import PHYS_FEATURES, LLPSNet, make_batch
from .physics import PhysicsCache, PhysicsOptions
from .sequences import SequenceError, clean_sequence, physics_sequence, read_fasta

FIRST_COLUMNS = ["id", "length", "p_driver", "p_client", "csat_uM"]
WEIGHTS_FILE = Path(__file__).with_name("weights") / "llps_weights.pt"
STRUCTURE_SUFFIXES = (".pdb", ".ent", ".cif", ".mmcif", ".pdb.gz", ".cif.gz", ".ent.gz", ".mmcif.gz")
FASTA_SUFFIXES = (".fasta", ".fa", ".faa", ".fas", ".fna", ".seq", ".txt")
CHANNEL_NAMES = ("disulfide", "hbond", "electrostatics", "clash", "solv_polar", "solv_hydrophobic", "vdw",
                 "backbone_entropy", "sidechain_entropy", "peptide_bond", "rotamer")


@dataclass
class Record:
    """One protein to predict: an id and a raw sequence (or the error that prevents it)."""

    id: str
    sequence: str = ""
    source: str = ""
    error: str = ""


def _is_structure(path: Path) -> bool:
    name = path.name.lower()
    return any(name.endswith(s) for s in STRUCTURE_SUFFIXES)


def read_inputs(inputs, **load_kwargs) -> List[Record]:
    """Records from: a sequence string, a FASTA / PDB / mmCIF path or a folder of them, a dict
    id -> sequence, or a list of sequences / (id, sequence) pairs / paths.  ``load_kwargs`` go to
    :func:`openmm_madrax.load` for structure files (``altloc``, ``drop_nonstandard``, ``repair``, ...)."""
    if isinstance(inputs, dict):
        return [Record(str(k), str(v), "sequence") for k, v in inputs.items()]
    if isinstance(inputs, (list, tuple)):
        out: List[Record] = []
        for k, item in enumerate(inputs):
            if isinstance(item, (tuple, list)) and len(item) == 2:
                out.append(Record(str(item[0]), str(item[1]), "sequence"))
            elif isinstance(item, Path) or (isinstance(item, str) and os.path.exists(item)):
                out += read_inputs(item, **load_kwargs)
            else:
                out.append(Record(f"seq{k + 1}", str(item), "sequence"))
        return out
    if isinstance(inputs, (str, Path)):
        p = Path(inputs)
        if isinstance(inputs, str) and not os.path.exists(inputs):
            if len(inputs) > 0 and "/" not in inputs and "." not in inputs:
                return [Record("seq1", inputs, "sequence")]
            raise FileNotFoundError(f"input not found: {inputs}")
        if p.is_dir():
            files = sorted(f for f in p.iterdir() if f.is_file() and (
                _is_structure(f) or f.name.lower().endswith(FASTA_SUFFIXES)))
            if not files:
                raise MadraXError(f"{p}: no FASTA, PDB or mmCIF files in the folder")
            out = []
            for f in files:
                out += read_inputs(f, **load_kwargs)
            return out
        if _is_structure(p):
            return _structure_records(p, **load_kwargs)
        return [Record(i, s, str(p)) for i, s in read_fasta(p)]
    raise TypeError(f"cannot read inputs of type {type(inputs).__name__}")


def _structure_records(path: Path, **load_kwargs) -> List[Record]:
    """One record per protein chain of a PDB / mmCIF file (id ``STEM_CHAIN``), read with
    :func:`openmm_madrax.load` (its checks and options, e.g. ``altloc="first"``)."""
    import warnings

    from ..structure import load

    stem = path.name.split(".")[0]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            st = load(str(path), quiet=True, **load_kwargs)
    except MadraXError as exc:
        return [Record(stem, "", str(path), f"{path}: {exc}")]
    out = []
    for cid in st.chain_ids:
        out.append(Record(f"{stem}_{cid}" if len(st.chain_ids) > 1 else stem, st.sequence(cid), str(path)))
    return out


class LLPSPredictor:
    """An ensemble of trained :class:`LLPSNet` s with the physics encoder and cache they need."""

    def __init__(self, models: Sequence[LLPSNet], options: PhysicsOptions = PhysicsOptions(), meta: Optional[dict] = None,
                 cache=None):
        self.models = list(models)
        for m in self.models:
            m.eval()
        self.options = options
        self.meta = dict(meta or {})
        self.cache = cache if isinstance(cache, PhysicsCache) else PhysicsCache(cache, options)
        self.builder = InputBuilder(self.cache)

    # -- persistence
    def save(self, path) -> None:
        payload = {"format": "openmm-madrax-llps/1", "options": self.options.key(), "meta": self.meta,
                   "models": [{"config": m.config, "state": m.state_dict()} for m in self.models]}
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        torch.save(payload, path)

    @classmethod
    def load(cls, path=None, cache=None) -> "LLPSPredictor":
        """The shipped weights (``openmm_madrax/llps/weights/llps_weights.pt``) or a saved file."""
        p = Path(path) if path is not None else WEIGHTS_FILE
        if not p.exists():
            raise MadraXError(f"LLPS weights not found: {p} (train them with 'openmm-madrax llps train')")
        payload = torch.load(p, map_location="cpu", weights_only=False)
        if payload.get("format") != "openmm-madrax-llps/1":
            raise MadraXError(f"{p}: not an openmm-madrax LLPS weights file")
        opts = {k: v for k, v in payload["options"].items() if k != "encoder_version"}
        models = []
        for m in payload["models"]:
            cfg = dict(m["config"])
            net = LLPSNet(**cfg)
            net.load_state_dict(m["state"])
            models.append(net)
        return cls(models, PhysicsOptions(**opts), payload.get("meta"), cache=cache)

    # -- prediction
    def predict(self, inputs, *, plot_dir=None, progress: bool = True, residues: bool = False,
                errors: str = "warn", **load_kwargs):
        """Predict ``inputs`` (see :func:`read_inputs`; or a list of :class:`Record`); a DataFrame,
        first columns ``id, length, p_driver, p_client, csat_uM``.  Records that cannot be predicted
        keep their row with NaN values and the reason in ``error`` (``errors="raise"`` raises
        instead, ``"warn"`` prints one line per failed record, ``"ignore"`` is silent).
        ``residues=True`` also returns the per-residue tables (dict id -> DataFrame)."""
        from ..threads import default_torch_threads, torch_threads

        if isinstance(inputs, list) and inputs and all(isinstance(r, Record) for r in inputs):
            records = inputs
        else:
            records = read_inputs(inputs, **load_kwargs)
        with torch_threads(default_torch_threads()):
            return self._predict_records(records, plot_dir, progress, residues, errors)

    def _predict_records(self, records, plot_dir, progress, residues, errors):
        rows, tables = [], {}
        it = records
        if progress:
            from tqdm.auto import tqdm

            it = tqdm(records, desc="llps predict", unit="protein", file=sys.stderr)
        for rec in it:
            row, table = predict_protein(self, rec)
            if row.get("error"):
                if errors == "raise":
                    raise SequenceError(row["error"])
                if errors == "warn":
                    print(f"openmm-madrax: error: {row['error']}", file=sys.stderr)
            else:
                tables[rec.id] = table
                if plot_dir is not None:
                    from .plot import plot_residue_profile

                    Path(plot_dir).mkdir(parents=True, exist_ok=True)
                    plot_residue_profile(row, table, Path(plot_dir) / f"{_safe(rec.id)}.png")
            rows.append(row)
        df = pd.DataFrame(rows)
        cols = FIRST_COLUMNS + [c for c in df.columns if c not in FIRST_COLUMNS]
        df = df.reindex(columns=cols)
        return (df, tables) if residues else df

    def _forward(self, inp: ProteinInput) -> Tuple[Dict[str, float], pd.DataFrame]:
        batch = make_batch([inp.seq_feats], [inp.profile], glob=[inp.glob])
        probs, csat = [], []
        attr_res = np.zeros(inp.length)
        attr_phys = np.zeros((inp.length, len(PHYS_FEATURES)))
        sticker = np.zeros((inp.length, 11))
        for m in self.models:
            x = m.residue_inputs(batch)
            x = {k: v.detach().requires_grad_(True) for k, v in x.items()}
            out = m.trunk(x, batch)
            logp = torch.log_softmax(out["logits"], -1)[0]
            grads = torch.autograd.grad(logp[0], list(x.values()))
            for (k, v), g in zip(x.items(), grads):
                gi = (g * v)[0].detach().numpy()
                attr_res += gi.sum(-1)
                if k == "phys":
                    attr_phys += gi
            probs.append(logp.exp().detach().numpy())
            csat.append(float(out["log10_csat"][0].detach()))
            with torch.no_grad():
                phys = m.physics(batch)[0].numpy()
            sticker += phys[:, 11:22]
        n = len(self.models)
        p = np.mean(probs, axis=0)
        cols = {"position": np.arange(1, inp.length + 1), "residue": np.array(list(inp.sequence), dtype=object),
                "disorder": inp.disorder, "attribution": attr_res / n}
        for k, name in enumerate(PHYS_FEATURES):
            if name.startswith("inter_") or name.startswith("intra_"):
                ch = CHANNEL_NAMES[int(name.split("_")[1])]
                name = f"{name.split('_')[0]}_{ch}"
            cols[f"attr_{name}"] = attr_phys[:, k] / n
        for c in range(11):
            cols[f"inter_energy_{CHANNEL_NAMES[c]}"] = sticker[:, c] / n
        table = pd.DataFrame(cols)
        table.attrs["sticker_energy_per_residue"] = float(sticker.sum(1).mean() / n)
        row = {"p_driver": float(p[0]), "p_client": float(p[1]), "p_neither": float(p[2]),
               "log10_csat_uM": float(np.mean(csat)), "csat_uM": float(10.0 ** np.mean(csat))}
        return row, table


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:120] or "protein"


def predict_protein(predictor: LLPSPredictor, record: Union[Record, Tuple[str, str]]) -> Tuple[dict, Optional[pd.DataFrame]]:
    """The pure per-protein function: (predictor, record) -> (row dict, per-residue DataFrame).

    Never raises for a bad record: the row then carries ``error`` (one line naming the record)."""
    if not isinstance(record, Record):
        record = Record(str(record[0]), str(record[1]), "sequence")
    row = {"id": record.id, "length": np.nan, "p_driver": np.nan, "p_client": np.nan, "csat_uM": np.nan}
    if record.error:
        row["error"] = record.error
        return row, None
    try:
        seq = clean_sequence(record.sequence, record.id)
    except SequenceError as exc:
        row["length"] = len("".join(str(record.sequence).split()))
        row["error"] = str(exc)
        return row, None
    t0 = time.perf_counter()
    path = predictor.cache.path(physics_sequence(seq))
    cached = path is not None and path.exists()
    try:
        inp = predictor.builder.build([record.id], [seq])[0]
        out, table = predictor._forward(inp)
    except (MadraXError, ValueError, RuntimeError, MemoryError) as exc:  # one record must not stop a batch
        row["length"] = len(seq)
        row["error"] = f"record {record.id!r}: prediction failed: {type(exc).__name__}: {exc}".splitlines()[0]
        return row, None
    row.update({"length": len(seq), **out})
    row["disordered_fraction"] = float((inp.disorder >= 0.5).mean())
    row["sticker_energy_per_residue"] = table.attrs["sticker_energy_per_residue"]
    top = _top_region(table["attribution"].values)
    row["top_region"] = f"{top[0] + 1}-{top[1]}" if top else ""
    row["physics_cached"] = bool(cached)
    row["seconds"] = time.perf_counter() - t0
    row["source"] = record.source
    row["error"] = ""
    return row, table


def _top_region(attr: np.ndarray, width: int = 25) -> Optional[Tuple[int, int]]:
    if len(attr) == 0:
        return None
    w = min(width, len(attr))
    s = np.convolve(attr, np.ones(w), mode="valid")
    i = int(np.argmax(s))
    return i, i + w


@lru_cache(maxsize=4)
def cached_predictor(path: Optional[str] = None, cache: Optional[str] = None) -> LLPSPredictor:
    """One loaded predictor per process and (weights, cache) pair (for batch / Dask workers)."""
    return LLPSPredictor.load(path, cache=cache)
