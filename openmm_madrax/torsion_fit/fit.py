"""The whole fit: corpus -> parameter arrays + metadata (checksum), and saving the npz."""
from __future__ import annotations

import hashlib
import json
import logging
import math
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import params
from ..residues import MAX_CHI
from .bspline import fit_phipsi_density, select_bb_kappa
from .corpus import FileTorsions, cluster_chains, experimental_resolution, extract_file, sha256_of
from .settings import FORMAT, HYPER, LOG2PI, N_TYPES, PRE_PRO_CLASS
from .vonmises import _log_i0, fit_chi_density, fit_omega_densities

log = logging.getLogger("openmm_madrax")


def _param_checksum(arrays: Dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for k in sorted(arrays):
        a = np.ascontiguousarray(arrays[k])
        h.update(k.encode())
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def chi_frequencies() -> np.ndarray:
    """(20, 5) frequency of every scored chi: 2 for the pi-periodic ones, else 1 (0 = unused)."""
    freq = np.zeros((N_TYPES, MAX_CHI), np.float64)
    for rn, rows in params.chi_definitions().items():
        k = 0
        for row in rows:
            if not int(row["scored_in_channel10"]):
                continue
            freq[params.RESIDUE_INDEX[rn], k] = 2.0 if int(row["symmetric_pi_periodic"]) else 1.0
            k += 1
    return freq


def collect(files: Sequence[Path], hyper: Dict[str, float], progress: bool = True):
    """Read the corpus: per-file records (path, sha256, status) and the pooled filtered angles."""
    from tqdm import tqdm

    from ..errors import StructureError

    corpus: List[Dict] = []
    parts: List[Tuple[int, FileTorsions]] = []
    seen: Dict[str, str] = {}
    for path in tqdm(files, desc="fit-torsions", unit="file", disable=not progress, file=sys.stderr):
        entry = {"path": str(path), "sha256": sha256_of(path)}
        corpus.append(entry)
        if entry["sha256"] in seen:
            entry["status"] = f"skipped: identical to {seen[entry['sha256']]}"
            log.info("%s: %s", path, entry["status"])
            continue
        seen[entry["sha256"]] = str(path)
        method, res = experimental_resolution(path)
        entry["method"] = method
        entry["resolution"] = res
        if res is None:
            entry["status"] = "skipped: no resolution record (NMR, model or MD frame)"
        elif res > hyper["max_resolution"]:
            entry["status"] = f"skipped: resolution {res:g} A > {hyper['max_resolution']:g} A"
        if "status" in entry:
            log.info("%s: %s", path, entry["status"])
            continue
        try:
            ft, note = extract_file(path, hyper["max_bfactor"])
        except StructureError as exc:
            entry["status"] = f"skipped: {exc}"
            log.warning("%s: %s", path, entry["status"])
            continue
        entry["status"] = "used" + (f" ({note})" if note else "")
        entry["n_backbone"] = int(ft.phi.shape[0])
        entry["n_sidechain"] = int(ft.chi.shape[0])
        parts.append((len(corpus) - 1, ft))
    return corpus, parts


def fit(files: Sequence[Path], hyper: Optional[Dict[str, float]] = None, seed: int = 0, progress: bool = True,
        command: str = "") -> Tuple[Dict[str, np.ndarray], Dict]:
    """Fit every density; returns (arrays for the npz, metadata)."""
    hyper = dict(HYPER if hyper is None else hyper)
    corpus, parts = collect(files, hyper, progress)
    return fit_collected(corpus, parts, hyper, seed=seed, command=command)


def fit_collected(corpus: List[Dict], parts: List[Tuple[int, FileTorsions]], hyper: Dict[str, float], seed: int = 0,
                  command: str = "") -> Tuple[Dict[str, np.ndarray], Dict]:
    """The fits of :func:`fit` on an already collected corpus."""

    # redundancy weights from sequence clusters of all chains of all used files
    seqs, owners = [], []
    for fi, ft in parts:
        for c, s in enumerate(ft.chain_sequences):
            seqs.append(s)
            owners.append((fi, c))
    cluster = cluster_chains(seqs, int(hyper["cluster_kmer"]), hyper["cluster_min_shared"])
    size = np.bincount(cluster) if len(cluster) else np.zeros(0, np.int64)
    chain_weight = {o: 1.0 / size[cl] for o, cl in zip(owners, cluster)}
    # cross-validation folds: whole clusters, round robin in order of first appearance
    rank = {cl: k for k, cl in enumerate(sorted(set(cluster.tolist())))}
    chain_fold = {o: rank[cl] % int(hyper["cv_folds"]) for o, cl in zip(owners, cluster.tolist())}

    def cat(name, dtype=None):
        arrs = [getattr(ft, name) for _, ft in parts]
        return np.concatenate(arrs) if arrs else np.zeros(0, dtype or np.float64)

    bb_w = np.concatenate([[chain_weight[(fi, c)] for c in ft.bb_chain] for fi, ft in parts]) if parts else np.zeros(0)
    sc_w = np.concatenate([[chain_weight[(fi, c)] for c in ft.sc_chain] for fi, ft in parts]) if parts else np.zeros(0)
    bb_w = np.asarray(bb_w, np.float64)
    bb_fold = np.concatenate([[chain_fold[(fi, c)] for c in ft.bb_chain] for fi, ft in parts]).astype(np.int64) \
        if parts else np.zeros(0, np.int64)
    sc_w = np.asarray(sc_w, np.float64)
    bb_class = cat("bb_class", np.int64).astype(np.int64)
    phi, psi, omega = cat("phi"), cat("psi"), cat("omega")
    sc_type = cat("sc_restype", np.int64).astype(np.int64)
    chi = np.concatenate([ft.chi for _, ft in parts]) if parts else np.zeros((0, MAX_CHI))

    pre_pro_weight = float(bb_w[bb_class == PRE_PRO_CLASS].sum())
    use_pre_pro = pre_pro_weight >= hyper["pre_pro_min_weight"]
    if not use_pre_pro:  # too little data: pre-proline residues go back to their own type
        bb_class = np.where(bb_class == PRE_PRO_CLASS, cat("bb_restype", np.int64).astype(np.int64), bb_class)
    n_classes = N_TYPES + (1 if use_pre_pro else 0)
    class_names = list(params.RESIDUE_ORDER) + (["PRE_PRO"] if use_pre_pro else [])

    # phi/psi
    G = int(hyper["bb_grid"])
    bb_coef = np.zeros((n_classes, G, G))
    bb_kappa: Dict[str, float] = {}
    bb_cv: Dict[str, Dict[str, float]] = {}
    for c in range(n_classes):
        sel = bb_class == c
        kappa, cv = select_bb_kappa(phi[sel], psi[sel], bb_w[sel], bb_fold[sel], hyper)
        bb_kappa[class_names[c]] = kappa
        bb_cv[class_names[c]] = cv
        bb_coef[c] = fit_phipsi_density(phi[sel], psi[sel], bb_w[sel], hyper, kappa)
    # stored as float32 (normalised in float64; the rounding changes ln Z by ~1e-7)
    bb_coef32 = bb_coef.astype(np.float32)

    # omega
    om_mix, om_info = fit_omega_densities(omega, bb_class, bb_w, n_classes, hyper)
    M = 4  # narrow trans, broad trans, cis, background
    om_mu = np.zeros((n_classes, M))
    om_kappa = np.zeros((n_classes, M))
    om_logc = np.zeros((n_classes, M))
    for c, mix in enumerate(om_mix):
        om_mu[c, :3] = mix.mu[:, 0]
        om_kappa[c, :3] = mix.kappa[:, 0]
        om_logc[c, :3] = np.log(mix.weight + 1e-300) - LOG2PI - (_log_i0(mix.kappa[:, 0]) - mix.kappa[:, 0])
        om_logc[c, 3] = math.log(mix.bg_weight) - LOG2PI

    # chi
    freq_all = chi_frequencies()
    chi_info = {}
    mixes = {}
    for t in range(N_TYPES):
        n = int((freq_all[t] > 0).sum())
        if n == 0:
            continue
        sel = sc_type == t
        mix, inf = fit_chi_density(chi[sel][:, :n], sc_w[sel], freq_all[t, :n], hyper)
        mixes[t] = mix
        chi_info[params.RESIDUE_ORDER[t]] = inf
    kmax = max([m.weight.shape[0] for m in mixes.values()] + [0]) + 1  # + background
    # component k of type t: ln w_tk + sum_{d < n_chi} [lognorm_tkd - 2 kappa_tkd sin^2(m_d (x_d - mu_tkd) / 2)]
    sc_mu = np.zeros((N_TYPES, kmax, MAX_CHI))
    sc_kappa = np.zeros((N_TYPES, kmax, MAX_CHI))
    sc_lognorm = np.full((N_TYPES, kmax, MAX_CHI), -LOG2PI)
    sc_logw = np.full((N_TYPES, kmax), -1e30)
    for t, mix in mixes.items():
        n = mix.mu.shape[1]
        K = mix.weight.shape[0]
        sc_mu[t, :K, :n] = mix.mu
        sc_kappa[t, :K, :n] = mix.kappa
        if K:
            sc_logw[t, :K] = np.log(mix.weight)
            sc_lognorm[t, :K, :n] = -LOG2PI - (_log_i0(mix.kappa) - mix.kappa)
        sc_logw[t, K] = math.log(mix.bg_weight)  # uniform background (kappa 0)
    arrays = {
        "bb_coef": bb_coef32,
        "omega_mu": om_mu, "omega_kappa": om_kappa, "omega_logc": om_logc,
        "sc_mu": sc_mu, "sc_kappa": sc_kappa, "sc_logw": sc_logw, "sc_lognorm": sc_lognorm, "sc_freq": freq_all,
        "pre_pro_class": np.array(PRE_PRO_CLASS if use_pre_pro else -1, np.int64),
    }
    counts = {
        "bb_rows": int(phi.shape[0]), "bb_weight": float(bb_w.sum()),
        "bb_weight_per_class": {class_names[c]: float(bb_w[bb_class == c].sum()) for c in range(n_classes)},
        "bb_rows_per_class": {class_names[c]: int((bb_class == c).sum()) for c in range(n_classes)},
        "sc_rows": int(chi.shape[0]), "sc_weight": float(sc_w.sum()),
        "n_chains": len(seqs), "n_clusters": int(len(set(cluster.tolist()))) if len(seqs) else 0,
        "n_files_used": len(parts),
    }
    meta = {
        "format": FORMAT,
        "command": command,
        "seed": seed,
        "classes": class_names,
        "hyper_parameters": hyper,
        "filters": {
            "file": f"experimental resolution record <= {hyper['max_resolution']} A; byte-identical files once",
            "preparation": "openmm_madrax.load(altloc='first', drop_nonstandard=True), geometric chain breaks, "
                           "first model; residues with missing heavy atoms removed (per-residue filtering)",
            "residue": f"consecutive predecessor and successor; every atom of phi/psi/omega (and of the scored chi "
                       f"dihedrals for side chains) with B <= {hyper['max_bfactor']} A^2 and occupancy > 0",
            "redundancy": f"chains clustered by shared {int(hyper['cluster_kmer'])}-mers (>= "
                          f"{hyper['cluster_min_shared']:.0%} of the shorter chain, single linkage); residue "
                          "weight 1 / chains in cluster",
        },
        "counts": counts,
        "phi_psi": {"kappa": bb_kappa, "cv_mean_log_likelihood": bb_cv},
        "omega": om_info,
        "chi": chi_info,
        "corpus": corpus,
        "checksum_sha256": _param_checksum(arrays),
        "checksum_of": "sha256 over the parameter arrays (sorted by name: name, dtype, shape, bytes)",
    }
    return arrays, meta


def save(path: Path, arrays: Dict[str, np.ndarray], meta: Dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        np.savez_compressed(fh, meta=np.array(json.dumps(meta, indent=1, sort_keys=True)), **arrays)


def fit_files(paths: Sequence[str], output: str, *, max_files: Optional[int] = None, seed: int = 0,
              progress: bool = True) -> Dict:
    """Fit on the structure files under ``paths`` (directories, not recursive, or single files;
    ``max_files`` drawn with ``seed``) and save the npz to ``output``; returns the metadata."""
    import random

    from .corpus import list_files

    files = list_files(paths)
    if max_files is not None and max_files < len(files):
        rng = random.Random(seed)
        files = sorted(rng.sample(files, max_files))
    if not files:
        raise FileNotFoundError("no structure files (.pdb, .cif, .ent, optionally .gz) found")
    cmd = "openmm-madrax fit-torsions " + " ".join(map(str, paths)) + f" -o {output}" + \
        (f" --max-files {max_files}" if max_files is not None else "") + f" --seed {seed}"
    arrays, meta = fit(files, seed=seed, progress=progress, command=cmd)
    save(Path(output), arrays, meta)
    meta["n_files_given"] = len(files)
    return meta
