"""Run items serially in this process or as tasks on a Dask cluster, streaming rows to a store.

:func:`open_client` makes the cluster from the CLI options (``--workers N``: a ``LocalCluster`` of
N single-threaded worker processes; ``--scheduler ADDRESS``: an existing cluster), :func:`run_items`
runs the items (skipping those a resumed store already has) and returns one row per item in the
order given.  Dask is imported only here, only when a cluster is asked for.
"""
from __future__ import annotations

import logging
import os
import sys
import uuid
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, List, Optional, Sequence

import pandas as pd

from ..errors import MadraXError
from .store import ResultStore, rows_by_id
from .tasks import message, run_group, run_item

log = logging.getLogger("openmm_madrax")

DASK_HINT = "pip install 'openmm-madrax[dask]' (or conda install dask distributed)"


def _import_distributed():
    try:
        import distributed  # noqa: F401
    except ImportError as exc:
        raise MadraXError(f"--workers/--scheduler need Dask's distributed scheduler, which is not installed "
                          f"({exc}); {DASK_HINT}") from None
    return distributed


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def parse_workers(value) -> int:
    """``--workers`` value: a positive number or ``auto`` (one per core)."""
    if value is None:
        return None
    if str(value).lower() == "auto":
        return default_workers()
    try:
        n = int(value)
    except ValueError:
        raise MadraXError(f"--workers {value!r}: give a number of worker processes or 'auto'") from None
    if n < 1:
        raise MadraXError(f"--workers {value}: must be at least 1")
    return n


def _has_bokeh() -> bool:
    import importlib.util

    return importlib.util.find_spec("bokeh") is not None


def dashboard_text(client) -> str:
    """Where the dashboard is, or why there is none (the scheduler serves its pages only with bokeh)."""
    try:
        has = "dashboard" in (client.scheduler_info().get("services") or {})
        has = has and bool(client.run_on_scheduler(_has_bokeh))
    except Exception:  # pragma: no cover - scheduler gone or refuses run_on_scheduler
        has = False
    if has and client.dashboard_link:
        return f"dashboard {client.dashboard_link}"
    return "no dashboard (the scheduler has no bokeh; pip install 'bokeh>=3.1' for one)"


_NOISY_LOGGERS = ("distributed", "tornado", "bokeh")


@contextmanager
def _quiet_dask_logs(level=logging.ERROR):
    """Dask logs every worker start/stop at INFO; a CLI run shows only errors (restored afterwards)."""
    loggers = [logging.getLogger(n) for n in _NOISY_LOGGERS]
    before = [lg.level for lg in loggers]
    quiet = not log.isEnabledFor(logging.INFO)
    if quiet:
        for lg in loggers:
            lg.setLevel(level)
    try:
        yield
    finally:
        if quiet:
            for lg, lv in zip(loggers, before):
                lg.setLevel(lv)


@contextmanager
def open_client(workers=None, scheduler: Optional[str] = None, *, threads: int = 1, memory_limit="auto",
                echo: Callable[[str], None] = None) -> Iterator[object]:
    """A ``distributed.Client`` for ``--workers``/``--scheduler``, or None for a serial run.

    ``workers``: number of local worker processes (``LocalCluster(processes=True)``, one thread
    each); ``scheduler``: address of a running scheduler (``tcp://host:8786``) or a scheduler file
    (``.json``, as written by ``dask scheduler --scheduler-file``).  Every worker sets its torch
    threads to ``threads`` (:class:`~openmm_madrax.batch.dask_plugin.TorchThreads`).
    """
    echo = echo or (lambda s: print(f"openmm-madrax: {s}", file=sys.stderr))
    if workers is not None and scheduler is not None:
        raise MadraXError("give --workers N (a cluster on this machine) or --scheduler ADDRESS (a running "
                          "cluster), not both")
    if workers is None and scheduler is None:
        yield None
        return
    _import_distributed()
    with _quiet_dask_logs():
        yield from _client(workers, scheduler, threads, memory_limit, echo)


def _client(workers, scheduler, threads, memory_limit, echo):
    from distributed import Client, LocalCluster

    from .dask_plugin import TorchThreads

    cluster = None
    if scheduler is not None:
        kw = {"scheduler_file": scheduler} if str(scheduler).endswith(".json") else {"address": scheduler}
        try:
            client = Client(timeout="30s", **kw)
        except (OSError, TimeoutError, ValueError) as exc:
            raise MadraXError(f"--scheduler {scheduler}: cannot connect ({' '.join(str(exc).split())[:200]}); "
                              "is 'dask scheduler' running there?") from None
        n = len(client.scheduler_info().get("workers", {}))
        echo(f"connected to {scheduler} ({n} worker(s) now{'; the tasks wait for workers to join' if not n else ''}); "
             f"{dashboard_text(client)}")
    else:
        n = parse_workers(workers)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                                   memory_limit=memory_limit, silence_logs=logging.ERROR)
        client = Client(cluster)
        echo(f"local cluster: {n} worker process(es), 1 thread each, at {cluster.scheduler_address}; "
             f"{dashboard_text(client)}")
    try:
        client.register_plugin(TorchThreads(threads), name="openmm-madrax-torch-threads")
        yield client
    finally:
        try:
            client.close()
        finally:
            if cluster is not None:
                cluster.close()


@dataclass
class RunStats:
    n_items: int = 0
    n_skipped: int = 0  # already in the store (resume)
    n_run: int = 0
    n_ok: int = 0
    n_error: int = 0
    n_lost: int = 0
    run_id: str = ""
    duplicates: List[str] = field(default_factory=list)
    n_tasks: int = 0
    #: task key (cluster runs) -> item ids it ran
    task_items: dict = field(default_factory=dict)


def _groups(items: Sequence[dict], min_tasks: int = 1) -> List[List[dict]]:
    """Tasks: items with the same ``group`` (e.g. the substitutions at one site of a scan, which share
    the site's wild-type reference model) run together in one task, in order; the others alone.

    With fewer tasks than ``min_tasks`` (workers), groups are split into chunks so that every worker
    gets work (each chunk then builds its own reference: a little more work, less wall time)."""
    out: List[List[dict]] = []
    index: dict = {}
    for it in items:
        g = it.get("group")
        if g is None:
            out.append([it])
        elif g in index:
            out[index[g]].append(it)
        else:
            index[g] = len(out)
            out.append([it])
    if 0 < len(out) < min_tasks:
        k = -(-min_tasks // len(out))
        split = []
        for g in out:
            size = -(-len(g) // min(k, len(g)))
            split += [g[i:i + size] for i in range(0, len(g), size)]
        out = split
    return out


def _lost_row(item: dict, exc: BaseException) -> dict:
    row = {"item_id": item["item_id"], "status": "lost", "error": message(exc), "warnings": "",
           "seconds": float("nan"), "cpu_seconds": float("nan"), "setup_seconds": 0.0, "worker": ""}
    row.update(item.get("labels", {}))
    return row


def run_items(kind: str, items: Sequence[dict], options: dict, *, client=None, store: Optional[ResultStore] = None,
              retry_errors: bool = False, progress: bool = True, desc: Optional[str] = None,
              on_row: Optional[Callable[[dict], None]] = None) -> "tuple[pd.DataFrame, RunStats]":
    """Run ``items`` (dicts with a unique ``item_id``) and return ``(rows, stats)``: one row per item, in order.

    ``client``: a ``distributed.Client`` (tasks on its cluster) or None (serial, in this process).
    ``store``: stream rows there as they finish; items it already has (``ok``/``error`` rows, or
    only ``ok`` with ``retry_errors``) are skipped and their stored rows returned.
    ``on_row``: called with every new row (after it is stored); an exception there stops the run
    (the rows so far are flushed, the remaining tasks cancelled).
    """
    stats = RunStats(run_id=uuid.uuid4().hex[:12])
    seen, uniq = set(), []
    for it in items:
        if it["item_id"] in seen:
            stats.duplicates.append(it["item_id"])
            continue
        seen.add(it["item_id"])
        uniq.append(it)
    if stats.duplicates:
        warnings.warn(f"{len(stats.duplicates)} duplicate item(s) run once: {', '.join(stats.duplicates[:20])}"
                      f"{' ...' if len(stats.duplicates) > 20 else ''}", stacklevel=2)
    stats.n_items = len(uniq)
    done = rows_by_id(store.finished(retry_errors)) if store is not None else {}
    done = {k: v for k, v in done.items() if k in seen}
    todo = [it for it in uniq if it["item_id"] not in done]
    stats.n_skipped = len(uniq) - len(todo)
    new: dict = {}

    def record(row: dict) -> None:
        row["run_id"] = stats.run_id
        row["finished_at"] = pd.Timestamp.now(tz="UTC")
        new[row["item_id"]] = row
        stats.n_run += 1
        if row["status"] == "ok":
            stats.n_ok += 1
        elif row["status"] == "lost":
            stats.n_lost += 1
        else:
            stats.n_error += 1
        if store is not None:
            store.add(row)
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(f"{stats.n_error + stats.n_lost} failed" if stats.n_error + stats.n_lost else "",
                                refresh=False)
        if on_row is not None:
            on_row(row)

    bar = None
    if progress and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(uniq), initial=stats.n_skipped, desc=desc or kind, unit="item", file=sys.stderr,
                   dynamic_ncols=True)
    pending: dict = {}
    n_workers = len(client.scheduler_info().get("workers", {})) if client is not None else 1
    groups = _groups(todo, min_tasks=n_workers)
    stats.n_tasks = len(groups)
    try:
        if client is None:
            for g in groups:
                for it in g:
                    record(run_item(kind, it, options))
        elif groups:
            from distributed import as_completed

            by_key = {}
            for i, g in enumerate(groups):
                f = client.submit(run_group, kind, g, options, key=f"omx-{kind}-{stats.run_id}-{i}", pure=False)
                by_key[f.key] = g
                stats.task_items[f.key] = [it["item_id"] for it in g]
                pending[f.key] = f
            for f in as_completed(list(pending.values())):
                try:
                    rows = f.result()
                except Exception as exc:  # the cluster lost the task (e.g. it killed its workers: KilledWorker)
                    rows = [_lost_row(it, exc) for it in by_key[f.key]]
                pending.pop(f.key, None)
                for row in rows:
                    record(row)
        if store is not None:
            store.flush()
            if stats.n_skipped + stats.n_run == stats.n_items:
                store.compact()
    finally:
        if bar is not None:
            bar.close()
        if pending and client is not None:  # interrupted: nothing left running on the cluster
            client.cancel(list(pending.values()))
        if store is not None:
            store.flush()
    rows = [new.get(it["item_id"]) or done[it["item_id"]] for it in uniq]
    df = pd.DataFrame(rows)
    return df, stats
