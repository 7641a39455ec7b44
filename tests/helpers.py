"""Shared test helpers (imported by the tests as ``from helpers import ...``).

Tests that need the project material in ../shared skip cleanly, with the reason, without it.  The
small structures that may ship with the project are bundled in ``tests/data/structures`` (see its
README), so tests of them run from a plain clone.
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
#: structures bundled with the tests (gzipped copies of ../shared/data/structures files)
BUNDLED = ROOT / "tests" / "data" / "structures"
#: an extended Ala4-Phe-Ala4 peptide of our own (tests/data/structures/make_ala4_phe_ala4.py)
PEPTIDE = BUNDLED / "ala4_phe_ala4.pdb"
#: the original files of the MadraX reference inputs (reference_input without ../shared)
_REFERENCE_ORIGINALS = {"1UBI": UBIQUITIN, "1BHL": BUNDLED / "medium" / "1bhl_missing_res_CAS.pdb.gz",
                        "alanine": PEPTIDE}


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


def structure_path(name: str) -> Path:
    """A structure of ``../shared/data/structures`` by its MANIFEST name (``"small/5pti_bpti.cif"``):
    the copy bundled with the tests when there is one, else the file in ../shared, else skip."""
    if name == "medium/1ubi_ubiquitin.pdb":
        return UBIQUITIN
    bundled = BUNDLED / f"{name}.gz"
    if bundled.exists():
        return bundled
    path = SHARED / "data" / "structures" / name
    if not path.exists():
        pytest.skip(f"{name} is not bundled with the tests (large or not shippable, see tests/data/structures/"
                    f"README.md) and ../shared is not present")
    return path


def reference_input(name: str) -> Path:
    """The scored input of a MadraX reference structure (``spec/reference/inputs/NAME.pdb``) when
    ../shared is there; otherwise the bundled file it was made from (1UBI, 1BHL: the originals,
    which ``load(..., preprocess="madrax")`` turns into exactly the reference input) or, for the
    reference peptide "alanine", our own Ala4-Phe-Ala4 stand-in (same sequence, not the same
    coordinates)."""
    path = REFERENCE / "inputs" / f"{name}.pdb"
    return path if path.exists() else _REFERENCE_ORIGINALS[name]


def reference_structure(name: str):
    from openmm_madrax import load

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load(reference_input(name), preprocess="madrax", quiet=True)


def reference_table(name: str, burial: str):
    """MadraX's own per-residue energies (not copied into the project: skips without ../shared)."""
    import pandas as pd

    return pd.read_csv(shared_path("spec", "reference", f"{name}_{burial}.csv"))
