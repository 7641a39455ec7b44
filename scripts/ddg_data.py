"""Experimental ΔΔG data for developing and calibrating the ΔΔG workflow (not part of the library).

Two sets, both from ../shared/data (read-only, never shipped):

* Guerois et al. 2002 (``ddg_train/guerois.csv``, PMID 12079393): 1,005 mutations on 81 PDB entries,
  ``DDG > 0`` destabilising; structures ``ddg_train/pdbs/<PDB>.pdb`` (raw PDB entries).
* Tsuboyama et al. 2023 mega-scale cDNA display proteolysis (``ddg_megascale/``): 3,040 single
  substitutions on 3 domains; ``ddg_kcal > 0`` destabilising.  Its dynamic range is censored
  (README there): a destabilising ΔΔG cannot exceed about ΔG_WT + 1, so values within
  :data:`CENSOR_MARGIN` of a domain's largest ΔΔG are flagged ``censored = 1`` (a lower bound).

Every row gets a protein *group* (sequence cluster: entries sharing any exact 12-residue
segment are one group, so the T4 lysozyme mutant structures are one protein), the side-chain
volume change (Zamyatnin 1972) and its size class.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Dict, List

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
GUEROIS_DIR = SHARED / "ddg_train"
MEGA_DIR = SHARED / "ddg_megascale"

#: residue volumes (A^3) of Zamyatnin, Prog. Biophys. Mol. Biol. 24, 107-123 (1972), Table;
#: the same table the mega-scale README used for its size classes
ZAMYATNIN_VOLUME = {"G": 60.1, "A": 88.6, "S": 89.0, "C": 108.5, "D": 111.1, "P": 112.7, "N": 114.1, "T": 116.1,
                    "E": 138.4, "V": 140.0, "Q": 143.8, "H": 153.2, "M": 162.9, "I": 166.7, "L": 166.7, "K": 168.6,
                    "R": 173.4, "F": 189.9, "Y": 193.6, "W": 227.8}
SIZE_THRESHOLD = 20.0  # A^3
#: mega-scale rows within this of the domain's largest ΔΔG are treated as lower bounds (kcal/mol)
CENSOR_MARGIN = 1.0
THREE_TO_ONE = {"ALA": "A", "ARG": "R", "ASN": "N", "ASP": "D", "CYS": "C", "GLN": "Q", "GLU": "E", "GLY": "G",
                "HIS": "H", "ILE": "I", "LEU": "L", "LYS": "K", "MET": "M", "PHE": "F", "PRO": "P", "SER": "S",
                "THR": "T", "TRP": "W", "TYR": "Y", "VAL": "V", "MSE": "M"}


def size_class(dv: float) -> str:
    if dv >= SIZE_THRESHOLD:
        return "increase"
    if dv <= -SIZE_THRESHOLD:
        return "decrease"
    return "similar"


def volume_change(points: List[str]) -> float:
    """Sum over point mutations ('A:G44S') of V(mut) - V(wt)."""
    dv = 0.0
    for p in points:
        body = p.split(":", 1)[1]
        dv += ZAMYATNIN_VOLUME[body[-1]] - ZAMYATNIN_VOLUME[body[0]]
    return dv


def pdb_sequence(path: Path) -> str:
    """One-letter sequence of the CA atoms of the first model (all chains, first altloc)."""
    seq, seen = [], set()
    for line in Path(path).read_text(errors="replace").splitlines():
        if line.startswith("ENDMDL"):
            break
        if line.startswith(("ATOM", "HETATM")) and line[12:16].strip() == "CA":
            key = (line[21], line[22:27])
            if key in seen:
                continue
            seen.add(key)
            seq.append(THREE_TO_ONE.get(line[17:20].strip(), "X"))
    return "".join(seq)


def sequence_groups(paths: Dict[str, Path], k: int = 12) -> Dict[str, str]:
    """Group name of every entry: single-linkage clusters of entries that share an exact k-mer."""
    parent = {n: n for n in paths}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    owner: Dict[str, str] = {}
    for name in sorted(paths):
        s = pdb_sequence(paths[name])
        for i in range(len(s) - k + 1):
            kmer = s[i:i + k]
            if "X" in kmer:
                continue
            if kmer in owner:
                a, b = find(owner[kmer]), find(name)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                owner[kmer] = name
    return {n: find(n) for n in paths}


def parse_guerois(path) -> pd.DataFrame:
    """The Guerois CSV (``#`` comment header; ``DDG > 0`` = destabilising) as rows with
    ``record, pdb, mutations, ddg_exp`` and ``mutant`` (``A:G44S+...``; ``!message`` when unreadable)."""
    from openmm_madrax import mutate as mt
    from openmm_madrax.errors import MutationError

    header, rows = None, []
    for line in Path(path).read_text().splitlines():
        if line.startswith("#RecordID"):
            header = line[1:].split(",")
        elif line.strip() and not line.startswith("#"):
            rows.append(line.split(","))
    if header is None:
        raise ValueError(f"{path}: no '#RecordID,...' header line")
    df = pd.DataFrame(rows, columns=header)
    out = pd.DataFrame({"record": df["RecordID"].astype(int), "pdb": df["PDBFileID"].str.strip(),
                        "mutations": df["Mutations"], "ddg_exp": df["DDG"].astype(float)})
    muts = []
    for m in df["Mutations"]:
        try:
            muts.append("+".join(mt.parse_mutation(p).label for p in m.split("_")))
        except MutationError as exc:
            muts.append(f"!{exc}")
    out["mutant"] = muts
    return out


def read_guerois() -> pd.DataFrame:
    t = parse_guerois(GUEROIS_DIR / "guerois.csv")
    out = pd.DataFrame({
        "id": "G" + t["record"].astype(str), "set": "guerois", "pdb": t["pdb"],
        "pdb_path": [str(GUEROIS_DIR / "pdbs" / f"{p}.pdb") for p in t["pdb"]],
        "mutant": t["mutant"], "ddg_exp": t["ddg_exp"], "censored": 0,
    })
    return out


def read_megascale() -> pd.DataFrame:
    m = pd.read_csv(MEGA_DIR / "ddg_megascale.csv")
    top = m.groupby("domain")["ddg_kcal"].transform("max")
    return pd.DataFrame({
        "id": "M" + m["domain"] + "_" + m["mutation"], "set": "megascale", "pdb": m["domain"],
        "pdb_path": [str(MEGA_DIR / p) for p in m["pdb_file"]],
        "mutant": m["chain"] + ":" + m["mutation"], "ddg_exp": m["ddg_kcal"],
        "censored": (m["ddg_kcal"] >= top - CENSOR_MARGIN).astype(int),
    })


def dataset() -> pd.DataFrame:
    """Both sets with ``group`` (sequence cluster), ``dv`` (A^3) and ``size_class``."""
    df = pd.concat([read_guerois(), read_megascale()], ignore_index=True)
    paths = {p: Path(q) for p, q in zip(df["pdb"], df["pdb_path"])}
    groups = sequence_groups(paths)
    df["group"] = df["pdb"].map(groups)
    df["dv"] = [volume_change(m.split("+")) if not m.startswith("!") else np.nan for m in df["mutant"]]
    df["size_class"] = [size_class(v) if np.isfinite(v) else "" for v in df["dv"]]
    df["n_points"] = df["mutant"].str.count(r"\+") + 1
    return df


def _stable_hash(text: str) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest()[:8], 16)


def dev_subset(df: pd.DataFrame, per_cell: int = 35, guerois_fraction: float = 0.4) -> pd.DataFrame:
    """Development subset: mega-scale stratified by (domain, size class), ``per_cell`` rows each
    (fixed seed), plus the Guerois rows of a fixed ~40 % of the protein groups (by a hash of the
    group name, not by any result)."""
    mega = df[df["set"] == "megascale"]
    parts = []
    for _, g in mega.groupby(["pdb", "size_class"]):
        parts.append(g.sample(n=min(per_cell, len(g)), random_state=0))
    gue = df[df["set"] == "guerois"]
    keep = gue["group"].map(lambda x: (_stable_hash(x) % 1000) / 1000.0 < guerois_fraction)
    return pd.concat(parts + [gue[keep]]).sort_values(["set", "pdb", "id"]).reset_index(drop=True)


if __name__ == "__main__":
    d = dataset()
    print(d.groupby(["set", "size_class"]).size())
    print("groups:", d.groupby("set")["group"].nunique().to_dict(), "pdbs:", d.groupby("set")["pdb"].nunique().to_dict())
    print("censored:", int(d["censored"].sum()))
    dv = dev_subset(d)
    print("dev:", dv.groupby(["set", "size_class"]).size().to_dict(), "groups", dv["group"].nunique())
    big = d[d.set == "guerois"].groupby("group").agg(n=("id", "size"), pdbs=("pdb", "nunique")).sort_values("n")
    print(big.tail(12))
