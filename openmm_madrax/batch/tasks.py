"""Pure, picklable units of work: ``run_item(kind, item, options) -> row`` (a flat dict).

A task is a function of its *item* (what to compute: a structure file, a mutant of it, a
trajectory; with an ``item_id`` and ``labels`` copied into the row) and the batch *options* (the
same for every item).  It never raises for a bad item: the row gets ``status="error"`` and the
one-line message, so the other items of a batch still finish.  It keeps no state between items
except the per-process set-up cache below (e.g. the repaired wild type of a ΔΔG scan, built once
per worker process and structure, keyed by the file's content hash and the options that decide it).

Input files are referenced by path and SHA-256 (:func:`file_ref`): workers must see the same file
system as the client (as on a cluster with a shared home/scratch); a file that changed since the
batch started is an error, not a silently different result.

Task kinds: ``score`` (one structure: total and per-channel MadraX energy), ``ddg`` (one mutant
of one structure, through :func:`openmm_madrax.ddg.ddg` with a cached
:class:`~openmm_madrax.ddg.MutationModeller`), ``features`` (the per-protein feature vector of one
trajectory, :func:`openmm_madrax.features.compute_features`), ``llps`` (one protein sequence through
the LLPS predictor, when :mod:`openmm_madrax.llps` is installed).
"""
from __future__ import annotations

import hashlib
import os
import socket
import sys
import threading
import time
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Dict, List, Tuple

from ..errors import MadraXError

#: set-ups kept per process (LRU); a worker normally serves one or two structures at a time
CACHE_SIZE = 4
_cache: "OrderedDict[tuple, Tuple[str, object]]" = OrderedDict()
_cache_lock = threading.Lock()


# ----------------------------------------------------------------------------------------------
# inputs


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_ref(path) -> dict:
    """A picklable reference to an input file: absolute path, content hash, name (stem)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    p = p.resolve()
    return {"path": str(p), "sha256": sha256_file(p), "name": p.stem}


def checked_path(ref: dict) -> str:
    """The path of a :func:`file_ref` on this process, after checking it is the same file."""
    path = ref["path"]
    if not os.path.isfile(path):
        raise MadraXError(f"{path}: not found on {socket.gethostname()} (workers must see the same file system "
                          "as the client)")
    if ref.get("sha256") and sha256_file(path) != ref["sha256"]:
        raise MadraXError(f"{path}: the file changed since the batch was started (content hash differs)")
    return path


# ----------------------------------------------------------------------------------------------
# per-process set-up cache


def cached(key: tuple, build: Callable[[], object]) -> Tuple[object, float]:
    """``(object, seconds spent building it now)``; a failed build is cached too and re-raised as
    the same one-line error for every item that needs it (a bad structure fails once, not per mutant)."""
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            state, value = hit
            if state == "error":
                raise MadraXError(value)
            return value, 0.0
        t0 = time.perf_counter()
        try:
            value = build()
        except Exception as exc:
            _cache[key] = ("error", message(exc))
            _trim()
            raise
        _cache[key] = ("ok", value)
        _trim()
        return value, time.perf_counter() - t0


def _trim() -> None:
    while len(_cache) > CACHE_SIZE:
        _cache.popitem(last=False)


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def message(exc: BaseException) -> str:
    """One line for a row's ``error`` column: our own errors as they are, others with their type."""
    if isinstance(exc, (MadraXError, FileNotFoundError)):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


# ----------------------------------------------------------------------------------------------
# the tasks


def _score(item: dict, options: dict) -> dict:
    from ..params import CHANNELS
    from ..scoring import score

    path = checked_path(item["structure"])
    df = score(path, burial=options.get("burial", "madrax"), smooth=options.get("smooth", False),
               dtype=options.get("dtype", "float64"), **options.get("load_kwargs", {}))
    row = {"name": df.attrs["structure"], "n_residues": int(len(df)), "n_chains": int(df["chain"].nunique()),
           "total": float(df.attrs["total"])}
    row.update({c: float(df.attrs["channel_totals"][c]) for c in CHANNELS})
    return row


def _modeller_key(options: dict) -> dict:
    return {k: options.get(k) for k in ("load_kwargs", "protocol", "partners", "seed")}


def _ddg(item: dict, options: dict) -> dict:
    from ..ddg import MutationModeller, ddg
    from .store import fingerprint

    ref = item["structure"]

    def build():
        return MutationModeller(checked_path(ref), protocol=options.get("protocol"), partners=options.get("partners"),
                                seed=options.get("seed", 0), load_kwargs=options.get("load_kwargs") or {})

    modeller, setup = cached(("ddg", ref["sha256"], fingerprint(_modeller_key(options))), build)
    df = ddg(None, [item["mutant"]], modeller=modeller, weights=options.get("weights", "calibrated"),
             seed=options.get("seed", 0), repeats=options.get("repeats", 1), progress=False)
    row = {k: _scalar(v) for k, v in df.iloc[0].to_dict().items()}
    row["setup_seconds"] = setup
    return row


def _features(item: dict, options: dict) -> dict:
    from ..features import compute_features

    paths = [checked_path(r) for r in item["trajectory"]]
    top = checked_path(item["top"]) if item.get("top") else None
    opts = dict(options)
    lk = opts.pop("load_kwargs", {}) or {}
    feats = compute_features(paths if len(paths) > 1 else paths[0], top, name=item.get("name"), progress=False,
                             **opts, **lk)
    row = {"name": str(feats.meta.get("name"))}
    row.update({k: float(v) for k, v in feats.protein_vector().items()})
    return row


def _llps(item: dict, options: dict) -> dict:
    """One protein through the LLPS predictor (:func:`openmm_madrax.llps.predict_protein`, the predictor
    loaded once per process by :func:`openmm_madrax.llps.cached_predictor`)."""
    try:
        from ..llps import Record, cached_predictor, predict_protein
    except ImportError as exc:
        raise MadraXError(f"the LLPS predictor (openmm_madrax.llps) is not in this installation ({exc})") from None
    predictor = cached_predictor(options.get("weights"), options.get("cache"))
    row, _ = predict_protein(predictor, Record(item["name"], item.get("sequence", ""), item.get("source", ""),
                                               item.get("input_error", "")))
    row = {k: _scalar(v) for k, v in row.items() if k != "seconds"}
    if row.get("error"):
        row["status"] = "error"
    return row


TASKS: Dict[str, Callable[[dict, dict], dict]] = {"score": _score, "ddg": _ddg, "features": _features, "llps": _llps}


def _scalar(v):
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            return v.item()
        except (ValueError, AttributeError):
            return v
    return v


def worker_name() -> str:
    """The dask worker address when running inside one, else ``local`` (never imports distributed)."""
    if "distributed" in sys.modules:
        try:
            from distributed import get_worker

            return str(get_worker().address)
        except (ValueError, ImportError):
            pass
    return "local"


def run_item(kind: str, item: dict, options: dict) -> dict:
    """Run one item; always returns a row (``status`` ``ok`` or ``error``), never raises for a bad item."""
    t0, c0 = time.perf_counter(), time.process_time()
    row = {"item_id": item["item_id"], "status": "ok", "error": ""}
    row.update(item.get("labels", {}))
    try:
        fn = TASKS[kind]
    except KeyError:
        raise ValueError(f"unknown task kind {kind!r}; known: {', '.join(TASKS)}") from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = fn(item, options)
            row.update(out)
            row["status"] = out.get("status", "ok") or "ok"
            row["error"] = out.get("error", "") or ""
        except Exception as exc:  # the item's own failure: an error row, the batch goes on
            row["status"] = "error"
            row["error"] = message(exc)
    msgs = []
    for w in caught:
        if issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning, FutureWarning)):
            continue
        text = " ".join(str(w.message).split())
        if text not in msgs and not (row["error"] and row["error"] in text):  # not the error once more
            msgs.append(text)
    row["warnings"] = " | ".join(msgs)
    row["item_id"] = item["item_id"]
    row.update(item.get("labels", {}))  # the item's own labels win over a task's echo of them
    row["seconds"] = time.perf_counter() - t0
    row["cpu_seconds"] = time.process_time() - c0  # < seconds: the task waited for a CPU (an oversubscribed node)
    row.setdefault("setup_seconds", 0.0)
    row["worker"] = worker_name()
    return row


def run_group(kind: str, items: List[dict], options: dict) -> List[dict]:
    """Several items in one task, in order (they share this process's set-up cache); one row each."""
    return [run_item(kind, it, options) for it in items]
