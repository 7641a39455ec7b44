"""MadraX parameter tables (values with their publications).

``madrax_params.json`` is generated from the physics specification's tables by
``python scripts/import_params.py ../shared/spec/params``; every row keeps its ``source``
column (FoldX 2002/2005, Abagyan & Totrov 1994, Pace 1988, Engh & Huber 1991, Stouten 1993,
MadraX 2024).  This module only reads it; all typing logic lives in
:mod:`openmm_madrax.structure`.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Tuple

PARAMS_FILE = Path(__file__).with_name("madrax_params.json")

#: the 20 standard residues in MadraX's own residue-type order (order of the rotamer weights)
RESIDUE_ORDER: Tuple[str, ...] = (
    "CYS", "ASP", "SER", "GLN", "LYS", "ASN", "PRO", "THR", "PHE", "ALA",
    "HIS", "GLY", "ILE", "LEU", "ARG", "TRP", "VAL", "GLU", "TYR", "MET",
)
RESIDUE_INDEX: Dict[str, int] = {r: i for i, r in enumerate(RESIDUE_ORDER)}

#: output channels, MadraX order
CHANNELS: Tuple[str, ...] = (
    "disulfide", "hbond", "electrostatics", "clash", "solv_polar", "solv_hydrophobic",
    "vdw", "backbone_entropy", "sidechain_entropy", "peptide_bond", "rotamer",
)


@lru_cache(maxsize=1)
def tables() -> Dict[str, List[dict]]:
    return json.loads(PARAMS_FILE.read_text())["tables"]


@lru_cache(maxsize=1)
def source_checksums() -> Dict[str, str]:
    return json.loads(PARAMS_FILE.read_text())["sha256"]


@lru_cache(maxsize=1)
def constants() -> Dict[str, float]:
    out = {}
    for row in tables()["global_constants"]:
        v = row["value"]
        if isinstance(v, (int, float)):
            out[row["name"]] = float(v)
    return out


@lru_cache(maxsize=1)
def atom_types() -> Dict[Tuple[str, str], dict]:
    """(residue, atom) -> row of ``atom_types`` (terminal types keyed as (res, 'tN'/'OXT'))."""
    return {(r["residue"], r["atom"]): r for r in tables()["atom_types"]}


@lru_cache(maxsize=1)
def heavy_atoms() -> Dict[str, Tuple[str, ...]]:
    """Residue -> the real heavy atoms MadraX types for it (no terminal/virtual types), in table order."""
    out: Dict[str, List[str]] = {r: [] for r in RESIDUE_ORDER}
    for row in tables()["atom_types"]:
        if row["kind"] == "heavy":
            out[row["residue"]].append(row["atom"])
    return {k: tuple(v) for k, v in out.items()}


@lru_cache(maxsize=1)
def multipliers() -> Dict[str, float]:
    """Parameter name -> final multiplier (``term_multipliers``)."""
    return {row["parameter"]: float(row["multiplier"]) for row in tables()["term_multipliers"]}


def rotamer_multiplier(residue: str) -> float:
    for row in tables()["term_multipliers"]:
        if row["parameter"].startswith("angleScorer.weightSC[") and row["parameter"].endswith(f"({residue})"):
            return float(row["multiplier"])
    return 0.0


@lru_cache(maxsize=1)
def fake_atoms() -> Dict[Tuple[str, str], List[dict]]:
    """(residue, parent atom) -> fake-atom rows (H and LP slots) used by MadraX (hbond parents only)."""
    out: Dict[Tuple[str, str], List[dict]] = {}
    for row in tables()["fake_atoms"]:
        if int(row["parent_is_hbond_atom"]) != 1:
            continue
        out.setdefault((row["residue"], row["parent_atom"]), []).append(row)
    for rows in out.values():
        rows.sort(key=lambda r: int(r["slot"]))
    return out


@lru_cache(maxsize=1)
def frame_partners() -> Dict[Tuple[str, str], Tuple[str, int, str, int]]:
    return {(r["residue"], r["atom"]): (r["partner1"], int(r["partner1_residue_offset"]),
                                        r["partner2"], int(r["partner2_residue_offset"]))
            for r in tables()["frame_partners"]}


def by_key(table: str, key: str) -> Dict[str, dict]:
    return {row[key]: row for row in tables()[table]}


@lru_cache(maxsize=1)
def chi_definitions() -> Dict[str, List[dict]]:
    out: Dict[str, List[dict]] = {}
    for row in tables()["chi_definitions"]:
        out.setdefault(row["residue"], []).append(row)
    for rows in out.values():
        rows.sort(key=lambda r: int(r["chi"]))
    return out
