"""Residue vocabulary shared by reading, typing, mutation and features (one definition each).

Names only, no parameters: the physics parameters of the residues are in :mod:`openmm_madrax.params`.
"""
from __future__ import annotations

from typing import Dict, FrozenSet, Optional, Tuple

from .params import RESIDUE_ORDER

#: the 20 standard amino acids (MadraX types these and nothing else)
STANDARD: FrozenSet[str] = frozenset(RESIDUE_ORDER)

ONE_LETTER: Dict[str, str] = {
    "ALA": "A", "ARG": "R", "ASN": "N", "ASP": "D", "CYS": "C", "GLN": "Q", "GLU": "E", "GLY": "G",
    "HIS": "H", "ILE": "I", "LEU": "L", "LYS": "K", "MET": "M", "PHE": "F", "PRO": "P", "SER": "S",
    "THR": "T", "TRP": "W", "TYR": "Y", "VAL": "V",
}
THREE_LETTER: Dict[str, str] = {v: k for k, v in ONE_LETTER.items()}

#: protonation variants and force-field names of the standard residues -> their parent
VARIANTS: Dict[str, str] = {
    "HID": "HIS", "HIE": "HIS", "HIP": "HIS", "HSD": "HIS", "HSE": "HIS", "HSP": "HIS",
    "HISD": "HIS", "HISE": "HIS", "HISH": "HIS", "HISA": "HIS", "HISB": "HIS", "HIS1": "HIS",
    "HIS2": "HIS", "HSH": "HIS", "CYX": "CYS", "CYM": "CYS", "CYS2": "CYS", "CYSH": "CYS",
    "LYN": "LYS", "LYSN": "LYS", "LSN": "LYS", "LYSH": "LYS", "ASH": "ASP", "ASPH": "ASP",
    "ASPP": "ASP", "GLH": "GLU", "GLUH": "GLU", "GLUP": "GLU",
}
WATERS: FrozenSet[str] = frozenset({"HOH", "WAT", "H2O", "DOD", "D2O", "TIP", "TIP3", "TIP4", "TIP5", "SOL",
                                    "T3P", "T4P", "T5P", "SPC", "SPCE", "HHO", "OHH"})
#: terminal caps (polymer-like nonstandard residues)
CAPS: FrozenSet[str] = frozenset({"ACE", "NME", "NMA", "NH2", "FOR", "NHE", "CT3"})

#: main-chain heavy atoms of a residue (OXT, the C-terminal oxygen, is extra)
BACKBONE: Tuple[str, ...] = ("N", "CA", "C", "O")
BACKBONE_OXT: Tuple[str, ...] = BACKBONE + ("OXT",)

#: most side-chain dihedrals of any standard residue (ARG, LYS: chi1-chi5 in MadraX's tables)
MAX_CHI = 5

#: maximum solvent-accessible surface of residue X in a Gly-X-Gly tripeptide (A^2), theoretical
#: values of Tien et al., PLoS ONE 8:e80635 (2013), for relative SASA
MAX_ASA: Dict[str, float] = {
    "ALA": 129.0, "ARG": 274.0, "ASN": 195.0, "ASP": 193.0, "CYS": 167.0, "GLN": 225.0, "GLU": 223.0,
    "GLY": 104.0, "HIS": 224.0, "ILE": 197.0, "LEU": 201.0, "LYS": 236.0, "MET": 224.0, "PHE": 240.0,
    "PRO": 159.0, "SER": 155.0, "THR": 172.0, "TRP": 285.0, "TYR": 263.0, "VAL": 174.0,
}


def parent_residue(name: str) -> Optional[str]:
    """Standard parent of a residue name (itself, a protonation variant, or an N/C-terminal
    force-field name such as NALA/CALA), else None."""
    rn = name.upper()
    if rn in STANDARD:
        return rn
    if rn in VARIANTS:
        return VARIANTS[rn]
    if len(rn) == 4 and rn[0] in "NC":
        inner = rn[1:]
        return inner if inner in STANDARD else VARIANTS.get(inner)
    return None


def one_letter(resname: str, unknown: str = "X") -> str:
    """One-letter code of a standard residue name (``unknown`` for anything else)."""
    return ONE_LETTER.get(resname, unknown)
