#!/usr/bin/env python
"""Regenerate ``openmm_madrax/params/madrax_params.json`` from the physics spec tables.

Usage (from the project root)::

    python scripts/import_params.py ../shared/spec/params

The spec tables (``spec/params/*.csv``) hold MadraX's parameter *values* with the publication
of every value (FoldX 2002/2005, Abagyan & Totrov 1994, Pace 1988, Engh & Huber 1991,
Stouten 1993, MadraX 2024).  The package ships them re-encoded as one JSON document (numbers
parsed, the ``source`` column of every row kept, and a SHA-256 of each input table so
``tests/test_params.py`` can tell when the shipped file is stale).
"""
from __future__ import annotations

import csv
import hashlib
import json
import sys
from pathlib import Path

TABLES = [
    "atom_types", "charges", "chi_definitions", "clash_tolerances", "fake_atoms",
    "frame_partners", "global_constants", "hbond_angle_windows", "hbond_class_energies",
    "peptide_geometry", "polar_occupancy_windows", "residue_burial_normalisers",
    "sidechain_entropy", "term_multipliers",
]


def _convert(value: str):
    value = value.strip()
    if value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        return value
    if number.is_integer() and "." not in value and "e" not in value.lower():
        return int(number)
    return number


def build(src: Path) -> dict:
    out = {"generated_by": "scripts/import_params.py", "tables": {}, "sha256": {}}
    for name in TABLES:
        path = src / f"{name}.csv"
        raw = path.read_bytes()
        out["sha256"][name] = hashlib.sha256(raw).hexdigest()
        with open(path, newline="") as fh:
            rows = [{k: (_convert(v) if k != "source" else v) for k, v in row.items()}
                    for row in csv.DictReader(fh)]
        out["tables"][name] = rows
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    src = Path(argv[0] if argv else "../shared/spec/params")
    dest = Path(__file__).resolve().parents[1] / "openmm_madrax" / "params" / "madrax_params.json"
    data = build(src)
    dest.write_text(json.dumps(data, indent=0, sort_keys=False) + "\n")
    print(f"wrote {dest} ({sum(len(t) for t in data['tables'].values())} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
