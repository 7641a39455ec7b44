"""Batch and distributed runs: every workflow as pure tasks, serially or on a Dask cluster (docs/dask.md).

* :mod:`~openmm_madrax.batch.tasks`: the units of work, ``run_item(kind, item, options) -> row``
  (score one structure, one mutant's ΔΔG, features of one trajectory), picklable, no global state
  but a per-process set-up cache.
* :mod:`~openmm_madrax.batch.runner`: :func:`open_client` (``--workers N`` / ``--scheduler ADDRESS``)
  and :func:`run_items` (futures, progress bar, rows streamed to the store, worker loss survived).
* :mod:`~openmm_madrax.batch.store`: the Parquet result directory (``--resume``).
* :mod:`~openmm_madrax.batch.scan`: deep mutational scan and its heat map.
* :mod:`~openmm_madrax.batch.workflows`: the Python API (:func:`ddg_batch`, :func:`scan`,
  :func:`score_batch`, :func:`features_batch`, :func:`llps_batch`).

Dask (``pip install 'openmm-madrax[dask]'``) is imported only when a cluster is used; without one
everything runs in this process.
"""
from __future__ import annotations

from .runner import RunStats, open_client, run_items
from .scan import plot_scan, scan_mutants
from .store import ResultStore, read_results
from .tasks import file_ref, run_item
from .workflows import ddg_batch, features_batch, llps_batch, read_trajectory_list, scan, score_batch

__all__ = ["ResultStore", "RunStats", "ddg_batch", "features_batch", "file_ref", "llps_batch", "open_client", "plot_scan",
           "read_results", "read_trajectory_list", "run_item", "run_items", "scan", "scan_mutants", "score_batch"]
