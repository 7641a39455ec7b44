"""pytest fixtures shared by the test modules (helpers live in ``helpers.py``)."""
from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """One torch intra-op thread for the whole test session.

    The MadraX tensors of the test systems are small (<= 10^5 elements): with two intra-op threads on a
    loaded 2-core machine the OpenMP wake-ups cost more than the work (a suite that takes 2 minutes
    with one thread took 8-10 with two), and they compete with OpenMM's own threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
