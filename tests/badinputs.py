"""A corpus of bad structure files, written on demand (``write_corpus(folder)``).

Every file is something a user could hand to any command: nothing in it can be scored as it is.
Each entry names the fragment the one-line error must contain, so that a test can check that the
message names the problem (and, where there is one, the line).  The files are built from the
ATOM records of the bundled ubiquitin (``openmm_madrax/data/1ubi.pdb``), so they need nothing
from ``../shared``.
"""
from __future__ import annotations

import gzip
import random
from pathlib import Path
from typing import Dict, List, Tuple

from helpers import UBIQUITIN

#: residues of ubiquitin used as the good base of the edited files (small: fast if anything passes)
BASE_RESIDUES = 8


def base_lines(n_residues: int = BASE_RESIDUES) -> List[str]:
    """The ATOM records of the first ``n_residues`` residues of the bundled ubiquitin."""
    out = []
    for line in UBIQUITIN.read_text().splitlines():
        if line.startswith("ATOM  ") and int(line[22:26]) <= n_residues:
            out.append(line)
    return out


def _with_xyz(line: str, x: str, y: str, z: str) -> str:
    return line[:30] + f"{x:>8}{y:>8}{z:>8}" + line[54:]


def _line_of(lines: List[str], name: str, resseq: int) -> int:
    for k, line in enumerate(lines):
        if line[12:16].strip() == name and int(line[22:26]) == resseq:
            return k
    raise KeyError((name, resseq))


def corpus() -> Dict[str, Tuple[bytes, str]]:
    """``{file name: (content, fragment of the expected error)}``."""
    base = base_lines()
    files: Dict[str, Tuple[bytes, str]] = {}

    def pdb(name: str, lines: List[str], fragment: str) -> None:
        files[name] = (("\n".join(lines) + "\nEND\n").encode(), fragment)

    files["empty.pdb"] = (b"", "empty")
    files["text.pdb"] = (b"This is not a structure.\nJust some notes about a protein.\n", "no atoms")
    files["random.pdb"] = (random.Random(7).randbytes(3000), "no atoms")
    files["notgzip.pdb.gz"] = (b"ATOM  not really gzip data\n", "cannot read")
    water = ["HETATM%5d  O   HOH A%4d    %8.3f%8.3f%8.3f  1.00 20.00           O" % (k + 1, 100 + k, k * 3.0, 1.0, 2.0)
             for k in range(5)]
    pdb("water.pdb", water, "no protein residues")
    ca2 = _line_of(base, "CA", 2)
    pdb("truncated_atom.pdb", base[:ca2] + [base[ca2][:40]] + base[ca2 + 1:], f"line {ca2 + 1}")
    # residue 3 with two alternate locations
    altloc = []
    for line in base:
        if int(line[22:26]) == 3:
            altloc.append(line[:16] + "A" + line[17:54] + "  0.50" + line[60:])
            moved = _with_xyz(line, f"{float(line[30:38]) + 0.3:.3f}", line[38:46].strip(), line[46:54].strip())
            altloc.append(moved[:16] + "B" + moved[17:54] + "  0.50" + moved[60:])
        else:
            altloc.append(line)
    pdb("altloc.pdb", altloc, "alternate location")
    nan = list(base)
    nan[ca2] = _with_xyz(nan[ca2], "nan", "1.000", "2.000")
    pdb("nan.pdb", nan, "non-finite")
    huge = list(base)
    huge[ca2] = _with_xyz(huge[ca2], "1.0e+30", "1.000", "2.000")
    pdb("huge.pdb", huge, f"line {ca2 + 1}")
    pdb("duplicated.pdb", base + base, "twice")
    res3 = [k for k, line in enumerate(base) if int(line[22:26]) == 3]
    res4 = [k for k, line in enumerate(base) if int(line[22:26]) == 4]
    swapped = base[:res3[0]] + [base[k] for k in res4] + [base[k] for k in res3] + base[res4[-1] + 1:]
    pdb("shuffled.pdb", swapped, "not next to each other")
    wrong_el = list(base)
    wrong_el[ca2] = wrong_el[ca2][:76] + " H" + wrong_el[ca2][78:]
    pdb("wrong_element.pdb", wrong_el, "element column")
    pdb("overlap.pdb", [_with_xyz(line, "1.000", "1.000", "1.000") for line in base], "overlapping")
    cif = ["data_broken", "loop_", "_atom_site.group_PDB", "_atom_site.id", "_atom_site.type_symbol",
           "_atom_site.label_atom_id", "_atom_site.label_comp_id", "_atom_site.label_asym_id",
           "_atom_site.label_seq_id", "_atom_site.Cartn_x", "_atom_site.Cartn_y", "_atom_site.Cartn_z",
           "ATOM 1 N N MET A 1 27.340 24.430 2.614", "ATOM 2 C CA MET A 1 26.266 25.413"]
    files["truncated.cif"] = (("\n".join(cif) + "\n").encode(), "incomplete row")
    return files


def write_corpus(folder: Path) -> Dict[str, Tuple[Path, str]]:
    """Write the corpus into ``folder``; ``{name: (path, expected error fragment)}``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, (content, fragment) in corpus().items():
        path = folder / name
        if name.endswith(".gz") and content.startswith(b"\x1f\x8b"):
            content = gzip.compress(content)
        path.write_bytes(content)
        out[name] = (path, fragment)
    return out
