"""Batch workflows (Python API): many mutants, many structures, many trajectories, on a cluster or serially.

Every function takes the same run options:

``client``
    a ``distributed.Client`` to run the tasks on; or ``workers=N`` (a ``LocalCluster`` of N
    single-threaded processes made for this call) or ``scheduler="tcp://host:8786"``; none of the
    three: serial, in this process.
``store``
    a result directory (Parquet dataset, :mod:`openmm_madrax.batch.store`) the rows stream to;
    ``resume=True`` skips the items it already has, ``retry_errors=True`` reruns its error rows,
    ``overwrite=True`` starts it over.
``progress``
    a tqdm bar over the finished items.

Each returns a DataFrame, one row per item in input order, with ``status``/``error``/``warnings``
and timing columns; ``df.attrs["stats"]`` is the :class:`~openmm_madrax.batch.runner.RunStats`.
"""
from __future__ import annotations

import os
import warnings
from contextlib import nullcontext
from pathlib import Path
from typing import Iterable, List, Optional, Sequence

import pandas as pd

from ..errors import MadraXError
from .runner import open_client, run_items
from .store import ResultStore
from .tasks import file_ref


def _execute(kind, items, options, store_options, *, client=None, workers=None, scheduler=None, store=None,
             resume=False, overwrite=False, retry_errors=False, progress=True, desc=None, on_row=None,
             threads: int = 1, flush_every: int = 200, flush_seconds: float = 30.0):
    rs = None
    if store is not None:
        rs = ResultStore(store, kind=kind, options=store_options, resume=resume, overwrite=overwrite,
                         flush_every=flush_every, flush_seconds=flush_seconds)
    elif resume:
        raise MadraXError("--resume needs a result store: give -o OUTPUT (results go to OUTPUT's .parquet "
                          "directory) or --store DIR")
    ctx = nullcontext(client) if client is not None else open_client(workers, scheduler, threads=threads)
    with ctx as cl:
        df, stats = run_items(kind, items, options, client=cl, store=rs, retry_errors=retry_errors,
                              progress=progress, desc=desc, on_row=on_row)
    df.attrs["stats"] = stats
    if rs is not None:
        df.attrs["store"] = str(rs.path)
    return df


# ----------------------------------------------------------------------------------------------
# ΔΔG: a list of mutants or a deep mutational scan of one structure


def ddg_options(*, partners=None, weights="calibrated", seed: int = 0, repeats: int = 1, protocol=None,
                load_kwargs: Optional[dict] = None) -> "tuple[dict, dict]":
    """(task options, options that decide the results, for the store fingerprint).  ``weights`` as
    in :func:`openmm_madrax.ddg.ddg` (default ``"calibrated"``, the same numbers as a serial call)."""
    from ..ddg import Protocol
    from ..ddg.weights import weight_set

    if repeats < 1:
        raise MadraXError("--repeats must be at least 1")
    protocol = protocol or Protocol()
    ws = weight_set(weights)
    # the whole weight set travels to the workers (they need not see a JSON file of this machine)
    full = {"weights": {c: float(v) for c, v in zip(_channels(), ws.channels)}, "intercept": float(ws.intercept),
            "terms": dict(ws.terms), "uncertainty": ws.uncertainty, "protocol": ws.protocol}
    opts = {"load_kwargs": dict(load_kwargs or {}), "protocol": protocol, "partners": partners,
            "seed": int(seed), "weights": ws, "repeats": int(repeats)}
    decide = dict(opts, weights=dict(full, name=ws.name))
    return opts, decide


def _channels():
    from ..params import CHANNELS

    return CHANNELS


def ddg_batch(structure, mutants: Sequence[str] = (), *, scan: Optional[str] = None, to: Optional[str] = None,
              partners=None, weights="calibrated", seed: int = 0, repeats: int = 1, protocol=None,
              load_kwargs: Optional[dict] = None, **run) -> pd.DataFrame:
    """ΔΔG of ``mutants`` (``"A:G44S"``, ``"A:G44S+A:I3V"``) and/or every substitution of a ``scan``
    (``"A:10-60"``, targets ``to``, default all 20) of the structure file ``structure``, one task per
    mutant.  The columns of :func:`openmm_madrax.ddg.ddg` (same values as a serial call), the scan
    columns ``chain, resseq, icode, wt, mut, position`` for scan rows, and the batch columns."""
    from ..mutate import mutant_label, parse_mutant

    if not isinstance(structure, (str, os.PathLike)):
        raise MadraXError("ddg_batch: give the structure as a file path (the workers read it)")
    ref = file_ref(structure)
    opts, decide = ddg_options(partners=partners, weights=weights, seed=seed, repeats=repeats, protocol=protocol,
                               load_kwargs=load_kwargs)
    items: List[dict] = []
    if scan:
        from .. import load
        from .scan import scan_mutants

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = load(ref["path"], quiet=True, **opts["load_kwargs"])
        for m in scan_mutants(s, scan, to):
            items.append({"item_id": m["mutant"], "structure": ref, "mutant": m["mutant"], "labels": m,
                          "group": f"{m['chain']}:{m['resseq']}{m['icode']}"})
    for text in mutants:
        try:
            points = sorted(parse_mutant(text), key=lambda p: (p.chain, p.resseq, p.icode))
            item_id = mutant_label(points)
            group = "+".join(f"{p.chain}:{p.resseq}{p.icode}" for p in points)
        except MadraXError:
            item_id, group = str(text).strip(), None
        items.append({"item_id": item_id, "structure": ref, "mutant": str(text), "labels": {}, "group": group})
    if not items:
        raise MadraXError("no mutations: give --scan CHAIN:FIRST-LAST and/or --mutations A:G44S")
    decide = dict(decide, structure={"name": ref["name"], "sha256": ref["sha256"]})
    df = _execute("ddg", items, opts, decide, desc=run.pop("desc", f"ddg {ref['name']}"), **run)
    if "mutant" in df.columns:
        raw = pd.Series([it["mutant"] for it in _unique(items)], index=df.index)
        df["mutant"] = df["mutant"].where(df["mutant"].notna(), raw)
    else:
        df["mutant"] = [it["mutant"] for it in _unique(items)]
    if "resseq" in df.columns:
        df["resseq"] = df["resseq"].astype("Int64")
    df = order_columns(df, ["mutant", "chain", "resseq", "icode", "wt", "mut", "position", "status", "error"])
    df.attrs.update(structure=ref["name"], weights=decide["weights"]["name"], seed=seed, repeats=repeats)
    return df


#: batch columns, last in a returned table
TAIL = ["warnings", "seconds", "cpu_seconds", "setup_seconds", "worker", "item_id", "run_id", "finished_at"]


def order_columns(df: pd.DataFrame, lead: Sequence[str]) -> pd.DataFrame:
    """``lead`` columns first, then the task's columns, then the batch columns (:data:`TAIL`)."""
    lead = [c for c in lead if c in df.columns]
    tail = [c for c in TAIL if c in df.columns and c not in lead]
    mid = [c for c in df.columns if c not in lead and c not in tail]
    out = df[lead + mid + tail]
    out.attrs = dict(df.attrs)
    return out


def _unique(items):
    seen, out = set(), []
    for it in items:
        if it["item_id"] not in seen:
            seen.add(it["item_id"])
            out.append(it)
    return out


def scan(structure, spec: str, to: Optional[str] = None, **kwargs) -> pd.DataFrame:
    """Deep mutational scan (see :mod:`openmm_madrax.batch.scan`): :func:`ddg_batch` with ``scan=spec``."""
    return ddg_batch(structure, (), scan=spec, to=to, **kwargs)


# ----------------------------------------------------------------------------------------------
# scoring many structures


def score_batch(files: Iterable, *, burial: str = "madrax", smooth: bool = False, dtype="float64",
                load_kwargs: Optional[dict] = None, **run) -> pd.DataFrame:
    """Total and per-channel MadraX energy (kcal/mol) of many structure files, one task per file."""
    items = []
    for f in files:
        p = Path(f)
        try:
            ref = file_ref(p)
        except FileNotFoundError:  # becomes the item's error row; the others still run
            ref = {"path": str(p.absolute()), "sha256": None, "name": p.stem}
        items.append({"item_id": _content_id(ref), "structure": ref, "labels": {"file": str(f)}})
    opts = {"burial": burial, "smooth": bool(smooth), "dtype": str(dtype), "load_kwargs": dict(load_kwargs or {})}
    df = _execute("score", items, opts, opts, desc=run.pop("desc", "score"), **run)
    for c in ("n_residues", "n_chains"):
        if c in df.columns:
            df[c] = df[c].astype("Int64")
    return order_columns(df, ["file", "status", "error", "name", "n_residues", "n_chains", "total"])


# ----------------------------------------------------------------------------------------------
# features of many trajectories


def read_trajectory_list(path) -> List[dict]:
    """A trajectory list (CSV or TSV with a header): ``trajectory`` (several files of one trajectory
    joined by ';'), optional ``top`` and ``name``; relative paths are relative to the list file."""
    path = Path(path)
    sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    try:
        df = pd.read_csv(path, sep=sep, dtype=str, comment="#").fillna("")
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise MadraXError(f"{path}: cannot read the trajectory list ({exc})") from None
    if "trajectory" not in df.columns:
        raise MadraXError(f"{path}: needs a 'trajectory' column (and optionally 'top', 'name'); "
                          f"found {', '.join(df.columns)}")
    base = path.parent
    out = []
    for i, r in df.iterrows():
        trajs = [t.strip() for t in r["trajectory"].split(";") if t.strip()]
        if not trajs:
            raise MadraXError(f"{path}: row {i + 2}: empty 'trajectory'")
        out.append({"trajectory": [str(base / t) for t in trajs],
                    "top": str(base / r["top"]) if r.get("top", "") else None,
                    "name": r.get("name", "") or None})
    return out


def features_batch(entries: Sequence[dict], *, stride: int = 1, burial: str = "madrax", inter_chain: bool = True,
                   quantiles=(0.1, 0.5, 0.9), chunk: int = 50, load_kwargs: Optional[dict] = None,
                   **run) -> pd.DataFrame:
    """The per-protein feature vector (:meth:`Features.protein_vector`) of many trajectories, one task
    each.  ``entries``: dicts with ``trajectory`` (a path or list of paths read in order), ``top``
    (topology, optional for PDB) and ``name`` (optional)."""
    items = []
    for e in entries:
        trajs = e["trajectory"] if isinstance(e["trajectory"], (list, tuple)) else [e["trajectory"]]
        refs = [_ref_or_missing(t) for t in trajs]
        top = _ref_or_missing(e["top"]) if e.get("top") else None
        name = e.get("name") or Path(trajs[0]).stem
        item_id = ";".join(_content_id(r) for r in refs + ([top] if top else []))
        items.append({"item_id": item_id, "trajectory": refs, "top": top, "name": name,
                      "labels": {"name": name, "trajectory": ";".join(str(t) for t in trajs)}})
    opts = {"stride": int(stride), "burial": burial, "inter_chain": bool(inter_chain),
            "quantiles": [float(q) for q in quantiles], "chunk": int(chunk), "load_kwargs": dict(load_kwargs or {})}
    df = _execute("features", items, opts, opts, desc=run.pop("desc", "features"), **run)
    return order_columns(df, ["name", "trajectory", "status", "error"])


def _content_id(ref: dict) -> str:
    """Item id of a file: its path and content hash (a changed file is a new item for --resume)."""
    return f"{ref['path']}#{(ref.get('sha256') or 'missing')[:16]}"


def _ref_or_missing(path) -> dict:
    try:
        return file_ref(path)
    except FileNotFoundError:
        return {"path": str(Path(path).absolute()), "sha256": None, "name": Path(path).stem}


# ----------------------------------------------------------------------------------------------
# LLPS prediction of many proteins


def llps_batch(inputs, *, weights=None, cache=None, **run) -> pd.DataFrame:
    """LLPS predictions (:mod:`openmm_madrax.llps`) of many proteins, one task per protein.

    ``inputs``: what :func:`openmm_madrax.llps.read_inputs` reads (FASTA / PDB / mmCIF file or folder,
    sequences, ``{id: sequence}``); the sequences are read here and sent to the workers. ``weights``:
    a weights file (default: the shipped ones); ``cache``: the physics cache folder (shared by the
    workers; ``False`` disables it).  Columns: those of ``LLPSPredictor.predict`` (``id, length,
    p_driver, p_client, csat_uM, ...``) and the batch columns; a record that cannot be predicted
    gets its error row."""
    import hashlib

    try:
        from ..llps import read_inputs
        from ..llps.predictor import WEIGHTS_FILE
    except ImportError as exc:
        raise MadraXError(f"the LLPS predictor (openmm_madrax.llps) is not in this installation ({exc})") from None
    records = read_inputs(inputs)
    items = []
    for rec in records:
        digest = hashlib.sha256(str(rec.sequence).encode()).hexdigest()[:16]
        items.append({"item_id": f"{rec.id}#{digest}", "name": rec.id, "sequence": rec.sequence,
                      "source": rec.source, "input_error": rec.error, "labels": {"id": rec.id}})
    wpath = Path(weights) if weights is not None else WEIGHTS_FILE
    wref = file_ref(wpath) if wpath.exists() else {"path": str(wpath), "sha256": None}
    opts = {"weights": None if weights is None else str(wpath), "cache": cache}
    decide = {"weights_sha256": wref["sha256"]}
    df = _execute("llps", items, opts, decide, desc=run.pop("desc", "llps"), **run)
    return order_columns(df, ["id", "length", "p_driver", "p_client", "csat_uM", "status", "error"])


def summarize(df: pd.DataFrame) -> str:
    stats = df.attrs.get("stats")
    n_bad = int((df["status"] != "ok").sum()) if "status" in df else 0
    text = f"{len(df) - n_bad} of {len(df)} item(s) done"
    if stats is not None and stats.n_skipped:
        text += f" ({stats.n_skipped} from the store, {stats.n_run} run now)"
    if df.attrs.get("store"):
        text += f"; results in {df.attrs['store']}"
    return text


__all__ = ["ddg_batch", "scan", "score_batch", "features_batch", "llps_batch", "read_trajectory_list", "summarize"]
