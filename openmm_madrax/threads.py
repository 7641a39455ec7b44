"""Torch intra-op threads for the duration of a call, restored afterwards.

The MadraX tensors are small (thousands of atoms): torch's intra-op parallelism costs more in
synchronisation than it saves, and on a machine where OpenMM's CPU platform runs its own worker
threads the two fight for the cores (a minimisation of ubiquitin: 29 s with one torch thread,
5 minutes with torch's default).  Library code that runs the energy therefore wraps its work in
:func:`torch_threads` instead of changing torch's process-wide setting for good.
"""
from __future__ import annotations

import contextlib
import os
from typing import Iterator, Optional

#: the thread count openmm-madrax chooses when the user did not (override: OPENMM_MADRAX_TORCH_THREADS)
DEFAULT_TORCH_THREADS = 1


def default_torch_threads() -> int:
    value = os.environ.get("OPENMM_MADRAX_TORCH_THREADS")
    if value:
        try:
            n = int(value)
        except ValueError:
            raise ValueError(f"OPENMM_MADRAX_TORCH_THREADS must be a positive integer, not {value!r}") from None
        if n >= 1:
            return n
        raise ValueError(f"OPENMM_MADRAX_TORCH_THREADS must be a positive integer, not {value!r}")
    return DEFAULT_TORCH_THREADS


@contextlib.contextmanager
def torch_threads(n: Optional[int]) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads (``None``: leave torch's setting alone)."""
    if n is None:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    if previous == n:
        yield
        return
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(previous)
