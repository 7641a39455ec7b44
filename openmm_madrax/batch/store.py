"""Results that survive: a Parquet dataset directory written while a batch runs.

Layout of ``OUT.parquet/``::

    _openmm_madrax.json            what was run (task kind, options and their fingerprint)
    part-<ns>-<hex>.parquet        one fragment per flush: one row per finished item

Every row has ``item_id``, ``status`` (``ok``; ``error``: the item's own failure, e.g. a bad
mutation or an unreadable file; ``lost``: the infrastructure lost it, e.g. a task that killed
every worker it ran on), ``error``, ``warnings``, ``seconds`` (wall time of the task),
``cpu_seconds`` (CPU time of its process meanwhile; less than ``seconds`` on an oversubscribed node),
``setup_seconds`` (shared set-up built by this task, e.g. the repaired wild type), ``worker``,
``run_id`` (one per invocation) and ``finished_at`` (UTC), then the task's own columns.

Fragments are written atomically (temporary name, then :func:`os.replace`), so a killed client
loses at most the rows since the last flush; a run that finishes compacts the fragments into one.
Any Parquet reader reads the directory (``pandas.read_parquet``, ``pyarrow.dataset``,
``dask.dataframe.read_parquet``, DuckDB); :func:`read_results` also drops superseded rows (an
item rerun with ``--retry-errors`` keeps its last row).
"""
from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from pathlib import Path
from typing import Dict, Iterable, List

import numpy as np
import pandas as pd

from ..errors import MadraXError

META_NAME = "_openmm_madrax.json"
#: columns every row has, in this order, before the task's own columns
BASE_COLUMNS = ["item_id", "status", "error", "warnings", "seconds", "cpu_seconds", "setup_seconds", "worker",
                "run_id", "finished_at"]
#: statuses that count as finished (skipped by --resume); "lost" rows are rerun
FINISHED = ("ok", "error")


def require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise MadraXError("the Parquet result store needs pyarrow: pip install 'openmm-madrax[dask]' "
                          "(or pip install pyarrow)") from None


def fingerprint(obj) -> str:
    """Stable hash of JSON-able options (what decides the results of a batch)."""
    text = json.dumps(obj, sort_keys=True, default=_json_default)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "__dataclass_fields__"):
        from dataclasses import asdict

        return {"__class__": type(o).__name__, **asdict(o)}
    return repr(o)


def _fragments(path: Path) -> List[Path]:
    return sorted(p for p in path.glob("*.parquet") if not p.name.startswith((".", "_")))


def _read_fragments(files: Iterable[Path]) -> pd.DataFrame:
    frames = [pd.read_parquet(f) for f in files]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=BASE_COLUMNS)
    df = pd.concat(frames, ignore_index=True, sort=False)
    lead = [c for c in BASE_COLUMNS if c in df.columns]
    return df[lead + [c for c in df.columns if c not in lead]]


def read_results(path, *, latest: bool = True) -> pd.DataFrame:
    """All rows of a result directory (one per item with ``latest``: the last finished row of an item)."""
    path = Path(path)
    if not path.is_dir():
        raise MadraXError(f"{path}: no result directory there")
    require_pyarrow()
    df = _read_fragments(_fragments(path))
    if latest and len(df):
        df = df.sort_values("finished_at", kind="stable").drop_duplicates("item_id", keep="last")
        df = df.sort_index()
    return df.reset_index(drop=True)


class ResultStore:
    """Append-only Parquet result directory of one batch (see the module docstring).

    ``resume``: keep the rows already there (their options must be the same: fingerprint checked);
    without it an existing non-empty directory is an error unless ``overwrite``.
    """

    def __init__(self, path, *, kind: str, options: dict, resume: bool = False, overwrite: bool = False,
                 flush_every: int = 200, flush_seconds: float = 30.0):
        require_pyarrow()
        self.path = Path(path)
        self.kind = kind
        self.options = options
        self.fingerprint = fingerprint({"kind": kind, "options": options})
        self.flush_every = int(flush_every)
        self.flush_seconds = float(flush_seconds)
        self._pending: List[dict] = []
        self._last_flush = time.monotonic()
        self._columns: List[str] = list(BASE_COLUMNS)
        self.n_written = 0
        if self.path.exists() and not self.path.is_dir():
            raise MadraXError(f"{self.path}: exists and is not a directory (the result store is a Parquet "
                              "dataset directory; choose another --store)")
        existing = _fragments(self.path) if self.path.is_dir() else []
        meta_file = self.path / META_NAME
        if existing or meta_file.exists():
            if overwrite:
                for f in existing:
                    f.unlink()
                if meta_file.exists():
                    meta_file.unlink()
                existing = []
            elif not resume:
                n = len(read_results(self.path)) if existing else 0
                raise MadraXError(f"{self.path} already holds results ({n} item(s)); add --resume to skip the "
                                  "finished items, or --overwrite to start over")
            else:
                meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
                if meta.get("kind") not in (None, kind):
                    raise MadraXError(f"{self.path} holds '{meta.get('kind')}' results, not '{kind}'; "
                                      "choose another --store")
                if meta.get("fingerprint") not in (None, self.fingerprint):
                    changed = _changed_keys(meta.get("options", {}), _jsonable(options))
                    detail = "; ".join(changed[:6]) or f"fingerprint {meta.get('fingerprint')}"
                    raise MadraXError(f"{self.path} was made with other options ({detail}); resuming would mix "
                                      "results: use the same options, another --store, or --overwrite")
        self.path.mkdir(parents=True, exist_ok=True)
        if not meta_file.exists():
            meta_file.write_text(json.dumps({"kind": kind, "fingerprint": self.fingerprint,
                                             "options": _jsonable(options),
                                             "created": pd.Timestamp.now(tz="UTC").isoformat()}, indent=1) + "\n")

    # -- reading
    def rows(self) -> pd.DataFrame:
        return read_results(self.path)

    def finished(self, retry_errors: bool = False) -> pd.DataFrame:
        """Rows of the items a resumed run skips (``ok`` and, unless ``retry_errors``, ``error``)."""
        df = self.rows()
        if not len(df):
            return df
        keep = ("ok",) if retry_errors else FINISHED
        return df[df["status"].isin(keep)]

    # -- writing
    def add(self, row: dict) -> None:
        self._pending.append(row)
        for c in row:
            if c not in self._columns:
                self._columns.append(c)
        if len(self._pending) >= self.flush_every or time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        self._last_flush = time.monotonic()
        if not self._pending:
            return
        df = pd.DataFrame(self._pending).reindex(columns=self._columns)
        for c in df.columns:  # a column with no value in this fragment: float NaN, not a null type
            if df[c].isna().all() and c not in ("error", "warnings", "status", "item_id", "worker", "run_id"):
                df[c] = df[c].astype("float64")
        for c in ("error", "warnings", "worker"):
            df[c] = df[c].fillna("").astype(str)
        name = f"part-{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
        tmp = self.path / f".{name}.tmp"
        df.to_parquet(tmp, index=False)
        os.replace(tmp, self.path / name)
        self.n_written += len(df)
        self._pending = []

    def compact(self) -> None:
        """Merge the fragments into one (latest row per item); the old fragments are removed after."""
        self.flush()
        files = _fragments(self.path)
        if len(files) <= 1:
            return
        df = read_results(self.path)
        name = f"part-{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
        tmp = self.path / f".{name}.tmp"
        df.to_parquet(tmp, index=False)
        os.replace(tmp, self.path / name)
        for f in files:
            f.unlink()


def _jsonable(obj):
    return json.loads(json.dumps(obj, sort_keys=True, default=_json_default))


def _changed_keys(old: dict, new: dict, prefix: str = "") -> List[str]:
    out = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _changed_keys(a, b, f"{prefix}{k}.")
        elif a != b:
            out.append(f"{prefix}{k}: {a!r} -> {b!r}")
    return out


def rows_by_id(df: pd.DataFrame) -> Dict[str, dict]:
    return {r["item_id"]: r for r in df.to_dict("records")}
