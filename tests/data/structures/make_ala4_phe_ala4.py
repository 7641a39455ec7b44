"""Write ``ala4_phe_ala4.pdb``: an extended Ala4-Phe-Ala4 peptide (heavy atoms + OXT) from ideal
internal coordinates (Engh & Huber 1991 bond lengths and angles; phi = psi = omega = 180 deg,
Phe chi1 = -65 deg, chi2 = 90 deg), placed with NeRF (Parsons et al. 2005).

It stands in for the reference peptide of ``../shared/spec/reference/inputs/alanine.pdb`` (the same
sequence, fully extended as that one) in tests that need a small peptide when ``../shared`` is
absent; it is our own construction, no third-party data.  Run from anywhere:
``python tests/data/structures/make_ala4_phe_ala4.py``.
"""
from pathlib import Path

import numpy as np


def place(a, b, c, bond, angle, torsion):
    """The atom d with |cd| = bond, angle bcd = angle, dihedral abcd = torsion (degrees)."""
    angle, torsion = np.radians(angle), np.radians(torsion)
    bc = c - b
    bc /= np.linalg.norm(bc)
    n = np.cross(b - a, bc)
    n /= np.linalg.norm(n)
    m = np.cross(n, bc)
    d2 = np.array([-bond * np.cos(angle), bond * np.sin(angle) * np.cos(torsion),
                   bond * np.sin(angle) * np.sin(torsion)])
    return c + d2[0] * bc + d2[1] * m + d2[2] * n


def build(sequence="AAAAFAAAA", phi=180.0, psi=180.0, omega=180.0):
    residues = []
    n = np.zeros(3)
    ca = np.array([1.458, 0.0, 0.0])
    c = ca + 1.525 * np.array([-np.cos(np.radians(111.2)), np.sin(np.radians(111.2)), 0.0])
    for k, aa in enumerate(sequence):
        if k > 0:
            prev = residues[-1]
            n = place(prev["N"], prev["CA"], prev["C"], 1.329, 116.2, psi)
            ca = place(prev["CA"], prev["C"], n, 1.458, 121.7, omega)
            c = place(prev["C"], n, ca, 1.525, 111.2, phi)
        atoms = {"N": n, "CA": ca, "C": c}
        atoms["O"] = place(n, ca, c, 1.231, 120.8, psi + 180.0)
        atoms["CB"] = place(n, c, ca, 1.530, 110.1, 122.7)  # L chirality
        if aa == "F":
            atoms["CG"] = place(n, ca, atoms["CB"], 1.502, 113.8, -65.0)
            atoms["CD1"] = place(ca, atoms["CB"], atoms["CG"], 1.384, 120.7, 90.0)
            atoms["CD2"] = place(ca, atoms["CB"], atoms["CG"], 1.384, 120.7, -90.0)
            atoms["CE1"] = place(atoms["CB"], atoms["CG"], atoms["CD1"], 1.382, 120.7, 180.0)
            atoms["CE2"] = place(atoms["CB"], atoms["CG"], atoms["CD2"], 1.382, 120.7, 180.0)
            atoms["CZ"] = place(atoms["CG"], atoms["CD1"], atoms["CE1"], 1.382, 120.0, 0.0)
        residues.append(atoms)
    last = residues[-1]
    last["OXT"] = place(last["N"], last["CA"], last["C"], 1.231, 117.0, psi)
    return residues


def pdb_text(sequence="AAAAFAAAA") -> str:
    names = {"A": "ALA", "F": "PHE"}
    lines = ["REMARK   1 EXTENDED ALA4-PHE-ALA4 FROM IDEAL GEOMETRY (tests/data/structures/make_ala4_phe_ala4.py)"]
    serial = 0
    for k, (aa, atoms) in enumerate(zip(sequence, build(sequence)), start=1):
        for name, xyz in atoms.items():
            serial += 1
            field = f" {name:<3}" if len(name) < 4 else name
            lines.append(f"ATOM  {serial:5d} {field} {names[aa]} A{k:4d}    {xyz[0]:8.3f}{xyz[1]:8.3f}{xyz[2]:8.3f}"
                         f"  1.00  0.00          {name[0]:>2}")
    lines += ["TER", "END"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    out = Path(__file__).with_name("ala4_phe_ala4.pdb")
    out.write_text(pdb_text())
    print(f"wrote {out}")
