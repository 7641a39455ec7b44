"""Worker plugin (imports ``distributed``; loaded only when a cluster is used)."""
from __future__ import annotations

from distributed import WorkerPlugin


class TorchThreads(WorkerPlugin):
    """Set torch's intra-op threads of every worker process (default 1: one single-threaded worker per
    core is the layout that scales for the small MadraX tensors, see docs/dask.md).

    Registered by :func:`openmm_madrax.batch.runner.open_client`; applies to workers that join later too.
    The library itself never changes torch's threads."""

    idempotent = True

    def __init__(self, threads: int = 1):
        self.threads = int(threads)

    def setup(self, worker):
        import torch

        torch.set_num_threads(max(1, self.threads))
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # already set in this process
            pass
