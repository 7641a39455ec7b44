"""Input preparation of the ΔΔG workflow: raw PDB entries in, like FoldX's RepairPDB.

By default a structure *file* given to :func:`~openmm_madrax.ddg.ddg` or
:class:`~openmm_madrax.ddg.MutationModeller` is read with the highest-occupancy alternate
location of every residue, missing heavy atoms rebuilt and modified residues (MSE, CSO, SEP,
MODRES, ...) mapped to their standard parents by PDBFixer, and nonstandard residues PDBFixer
cannot map (caps, UNK, nucleic acids) dropped; waters, ligands and hydrogens are ignored as
everywhere.  Every change is listed in one warning line and in the report returned with the
structure (``ddg`` puts it in ``DataFrame.attrs["preparation"]``).  ``strict=True`` restores
stop-on-anything: every such problem is an error naming the residues (the default of
``score`` and of :func:`openmm_madrax.load`).
"""
from __future__ import annotations

import warnings
from typing import Dict, List, Optional, Tuple

from ..errors import MadraXWarning
from ..structure import Structure, load

#: load() options of the default (RepairPDB-like) preparation
REPAIR_DEFAULTS = {"altloc": "occupancy", "repair": True, "drop_nonstandard": True}
#: load() options of ``strict=True`` (load()'s own defaults: any such problem is an error)
STRICT_DEFAULTS = {"altloc": "error", "repair": False, "drop_nonstandard": False}

#: categories of Structure.dropped that are changes to the input, with their wording
_CHANGES = (
    ("added_atoms", "residue(s) with missing heavy atoms rebuilt by PDBFixer"),
    ("replaced", "modified residue(s) mapped to their parents"),
    ("altloc", "residue(s) with alternate locations, highest occupancy kept"),
    ("nonstandard", "nonstandard residue(s) dropped"),
    ("hetatm", "HETATM residue(s) dropped"),
    ("unknown_atoms", "unknown atom(s) dropped"),
    ("variants", "residue name(s) read as their parents"),
    ("waters", "water(s) ignored"),
    ("ligands", "ligand/ion/glycan residue(s) ignored"),
)


def load_kwargs_for(strict: bool = False, load_kwargs: Optional[dict] = None) -> dict:
    """The load() options of the ΔΔG preparation: the defaults of the mode, then ``load_kwargs``
    (entries that are None keep the default)."""
    kw = dict(STRICT_DEFAULTS if strict else REPAIR_DEFAULTS)
    kw.update({k: v for k, v in (load_kwargs or {}).items() if v is not None})
    return kw


def preparation_report(structure: Structure, options: Optional[dict] = None) -> Dict[str, object]:
    """What preparation changed: ``{"options": ..., "changes": {category: [labels]}, "summary": str}``."""
    changes: Dict[str, object] = {k: list(structure.dropped.get(k) or []) for k, _ in _CHANGES
                                  if structure.dropped.get(k)}
    if "waters" in changes:  # a count is enough
        changes["waters"] = len(changes["waters"])
    return {"structure": structure.name, "options": dict(options or {}), "changes": changes,
            "summary": summarise(structure.name, changes)}


def _short(items: List[str], n: int = 4) -> str:
    head = ", ".join(str(x).split(" (")[0] for x in items[:n])
    return head + (f", ... (+{len(items) - n})" if len(items) > n else "")


def summarise(name: str, changes: Dict[str, object]) -> str:
    """One line: every change category with its count and the first few residues."""
    parts = []
    for key, words in _CHANGES:
        items = changes.get(key)
        if not items:
            continue
        if key == "waters":
            parts.append(f"{items} {words}")
        else:
            parts.append(f"{len(items)} {words} ({_short(items)})")
    if not parts:
        return f"{name}: used as read (nothing repaired or dropped)"
    return f"{name}: prepared like FoldX RepairPDB (strict=True / --strict to stop instead): " + "; ".join(parts)


def prepare_structure(source, *, strict: bool = False, load_kwargs: Optional[dict] = None,
                      warn: bool = True) -> Tuple[Structure, Dict[str, object]]:
    """Read ``source`` for the ΔΔG workflow; returns the structure and its preparation report.

    A :class:`Structure` passes through unchanged (its own preparation is reported)."""
    if isinstance(source, Structure):
        return source, preparation_report(source, {"prepared_by_caller": True})
    kw = load_kwargs_for(strict, load_kwargs)
    structure = load(source, quiet=True, **kw)
    report = preparation_report(structure, kw)
    report["strict"] = bool(strict)
    substantive = {k: v for k, v in report["changes"].items() if k not in ("waters", "variants")}
    if warn and (substantive or report["changes"].get("waters")):
        warnings.warn(report["summary"], MadraXWarning, stacklevel=3)
    return structure, report
