"""Worker plugin (imports ``distributed``; loaded only when a cluster is used)."""
from __future__ import annotations

from distributed import WorkerPlugin


#: glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def fixed_malloc_thresholds(mmap_bytes: int = 32 << 20, trim_bytes: int = 64 << 20) -> bool:
    """Undo, in this process, what ``MALLOC_TRIM_THRESHOLD_`` (set by dask's nanny in every worker it
    starts, 65536) does to torch: setting any glibc malloc threshold switches off glibc's dynamic mmap
    threshold, so every tensor above 128 kB becomes a fresh ``mmap`` whose pages fault on first touch.
    Measured (a small cdist/exp forward + backward, one thread): 3-4x slower with the variable; with
    these fixed thresholds as fast as without it (docs/dask.md, "Performance").  Only where the
    variable is set and glibc is the C library; returns whether it changed anything."""
    import ctypes
    import os

    if not os.environ.get("MALLOC_TRIM_THRESHOLD_"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (macOS, musl): the variable means nothing there either
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, int(mmap_bytes)) and libc.mallopt(_M_TRIM_THRESHOLD, int(trim_bytes)))


class TorchThreads(WorkerPlugin):
    """Set torch's intra-op threads of every worker process (default 1: one single-threaded worker per
    core is the layout that scales for the small MadraX tensors, see docs/dask.md), and undo the
    malloc setting of dask's nanny that slows torch down (:func:`fixed_malloc_thresholds`).

    Registered by :func:`openmm_madrax.batch.runner.open_client`; applies to workers that join later too.
    The library itself never changes torch's threads."""

    idempotent = True

    def __init__(self, threads: int = 1):
        self.threads = int(threads)

    def setup(self, worker):
        import torch

        fixed_malloc_thresholds()

        torch.set_num_threads(max(1, self.threads))
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # already set in this process
            pass
