"""Shared test helpers (imported by the tests as ``from helpers import ...``).

Tests that need the project material in ../shared skip cleanly, with the reason, without it.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REFERENCE = SHARED / "spec" / "reference"
REFERENCE_NAMES = ("1UBI", "1BHL", "alanine")
#: the ubiquitin crystal structure bundled with the package (needs nothing from ../shared)
UBIQUITIN = ROOT / "openmm_madrax" / "data" / "1ubi.pdb"


def quiet(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` with warnings silenced (tests of the warnings themselves do not use it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def shared_path(*parts) -> Path:
    """Path inside ../shared, or skip the test with the reason when it is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs the project material {path} (../shared next to the checkout); not present")
    return path


def reference_structure(name: str):
    from openmm_madrax import load

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load(shared_path("spec", "reference", "inputs", f"{name}.pdb"), preprocess="madrax", quiet=True)


def reference_table(name: str, burial: str):
    import pandas as pd

    return pd.read_csv(shared_path("spec", "reference", f"{name}_{burial}.csv"))
