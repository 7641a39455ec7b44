"""Training and evaluation data in ``../shared/data/llps`` (read in place, never copied).

* :func:`ppmc_table`: the PPMC training table (Pintado-Grima et al., Genome Biol 26:198, 2025;
  MIT licence), one row per protein, with the class (``DE`` driver-exclusive, ``CE``
  client-exclusive, ``C_D`` both client and driver, ``NP`` ordered non-LLPS from the PDB, ``ND``
  disordered non-LLPS from DisProt) and the homology ``cluster``.
* :func:`csat_table`: SIMULATED saturation concentrations (CALVADOS 2 slab simulations, 293 K,
  150 mM; von Buelow, Tesei & Lindorff-Larsen, PNAS 2025; no licence: use, never ship).
* :func:`grouped_folds`: cross-validation folds grouped by cluster (stratified by class).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import MadraXError

#: classes, and the three-way label of the network (0 = driver, 1 = client only, 2 = neither)
CLASSES = ("DE", "C_D", "CE", "NP", "ND")
LABEL3 = {"DE": 0, "C_D": 0, "CE": 1, "NP": 2, "ND": 2}


def shared_dir() -> Path:
    """``$OPENMM_MADRAX_SHARED`` or ``../shared`` beside the repository checkout."""
    env = os.environ.get("OPENMM_MADRAX_SHARED")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared"


def llps_dir() -> Path:
    d = shared_dir() / "data" / "llps"
    if not (d / "ppmc_train.tsv").exists():
        raise MadraXError(f"LLPS training data not found in {d} (set OPENMM_MADRAX_SHARED to the shared folder)")
    return d


def _class_of(datasets: str) -> str:
    tokens = datasets.split(";")
    for c in CLASSES:
        if c in tokens:
            return c
    raise ValueError(f"no class in {datasets!r}")


def ppmc_table(path=None) -> pd.DataFrame:
    """Columns ``id, gene, sequence, cluster, cls, label3`` (2,301 rows)."""
    path = Path(path) if path is not None else llps_dir() / "ppmc_train.tsv"
    d = pd.read_csv(path, sep="\t")
    out = pd.DataFrame({"id": d["UniProt.Acc"].astype(str), "gene": d["Gene.Name"].astype(str),
                        "sequence": d["Full.seq"].astype(str).str.upper(), "cluster": d["cluster"].astype(str)})
    out["cls"] = d["Datasets"].astype(str).map(_class_of)
    out["label3"] = out["cls"].map(LABEL3).astype(int)
    return out


def csat_table(directory=None) -> pd.DataFrame:
    """SIMULATED c_sat (CALVADOS 2) of disordered regions: ``id, sequence, source, uniprot, group,
    log10_csat_uM, censored`` (``censored``: the slab did not phase-separate, dG = 0; the value is
    then the box concentration, a lower bound of c_sat)."""
    d = Path(directory) if directory is not None else llps_dir() / "csat_sim"
    frames = []
    for name in ("df_training", "df_validation_IDRome90", "df_validation_IDRome10"):
        t = pd.read_csv(d / f"{name}.csv")
        t["source"] = name.replace("df_", "")
        frames.append(t)
    t = pd.concat(frames, ignore_index=True)
    out = pd.DataFrame({"id": t["seq_name"].astype(str), "sequence": t["fasta"].astype(str).str.upper(),
                        "source": t["source"], "uniprot": t["UniProt_ID"].fillna("").astype(str),
                        "gene": t["gene_name"].fillna("").astype(str)})
    out["log10_csat_uM"] = np.log10(t["cdil"].astype(float) * 1000.0)
    out["censored"] = t["dG"].astype(float) >= 0.0
    out["group"] = csat_groups(out)
    return out


def csat_groups(t: pd.DataFrame) -> np.ndarray:
    """Groups for the c_sat folds: regions of one UniProt entry together; the YTHDF/ECT ortholog
    family (non-IDRome names) as one group; and any two sequences sharing an exact 20-residue
    substring joined (single linkage), so near-duplicates never straddle folds."""
    n = len(t)
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i, j):
        a, b = find(i), find(j)
        if a != b:
            parent[b] = a

    import re

    first = {}
    for i, (u, name) in enumerate(zip(t["uniprot"], t["id"])):
        m = re.match(r"^([A-Z0-9]{6,10})_\d+_\d+$", name)
        key = u if u else (m.group(1) if m else "YTHDF/ECT-family")
        if key in first:
            union(first[key], i)
        else:
            first[key] = i
    kmer = {}
    for i, s in enumerate(t["sequence"]):
        for k in range(0, max(len(s) - 19, 0)):
            w = s[k:k + 20]
            if w in kmer:
                union(kmer[w], i)
            else:
                kmer[w] = i
    roots = [find(i) for i in range(n)]
    _, inv = np.unique(roots, return_inverse=True)
    return inv


def grouped_folds(labels: np.ndarray, groups: np.ndarray, n_folds: int = 5, seed: int = 0) -> np.ndarray:
    """Fold index (0 .. n_folds-1) per row: whole groups per fold (StratifiedGroupKFold on the
    labels, shuffled with ``seed``)."""
    from sklearn.model_selection import StratifiedGroupKFold

    fold = np.full(len(labels), -1, np.int64)
    skf = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    for k, (_, test) in enumerate(skf.split(np.zeros(len(labels)), labels, groups)):
        fold[test] = k
    return fold


def cluster_order(groups: np.ndarray, seed: int = 0) -> np.ndarray:
    """Row order with whole groups in a random order (any prefix is a group-wise random subset)."""
    rng = np.random.default_rng(seed)
    uniq = np.unique(groups)
    rank = {g: r for r, g in enumerate(rng.permutation(uniq))}
    key = np.array([rank[g] for g in groups])
    return np.argsort(key, kind="stable")
