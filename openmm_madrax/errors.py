"""Exceptions and warnings raised at the input boundary.

Every error names what is wrong and where (file line, chain, residue, atom) so that a user can
fix the input without reading a traceback.
"""
from __future__ import annotations


class MadraXError(Exception):
    """Base class for all openmm-madrax errors."""


class StructureError(MadraXError, ValueError):
    """The input structure cannot be scored as it is (bad file, missing atoms, altlocs, ...)."""


class MutationError(MadraXError, ValueError):
    """A requested mutation does not match the structure or names an unknown residue."""


class MadraXWarning(UserWarning):
    """Warnings about input that was changed or ignored during preparation."""
