"""Fit the backbone and side-chain torsion densities of channels 7 and 10 (physics spec 5.7, 5.10, 6).

Command (the shipped ``openmm_madrax/params/torsion_densities.npz`` is regenerated, from the project
root, by exactly this; it takes a few minutes on 2 CPU cores)::

    openmm-madrax fit-torsions ../shared/data/ddg_train/pdbs ../shared/data/structures/complexes \\
        ../shared/data/structures/large ../shared/data/structures/medium ../shared/data/structures/small \\
        -o openmm_madrax/params/torsion_densities.npz --seed 0

``PDB_DIR`` arguments are directories (every ``*.pdb``, ``*.cif``, ``*.mmcif``, ``*.ent`` and ``.gz``
of those, sorted by name, not recursive) or single files.  The AlphaFold models (``af_llps/``) are not
passed; the NMR ensembles (``nmr/``) are not passed either and would be dropped by the resolution rule,
like the villin MD frames in ``small/``.  ``--max-files N`` keeps N files drawn with ``--seed``;
the fit itself is deterministic (no random initialisation).

Corpus and filters (all stored in the npz metadata, with the sha256 of every file read)
---------------------------------------------------------------------------------------
* file level: an experimental resolution record is required (PDB ``REMARK   2 RESOLUTION``, mmCIF
  ``_refine.ls_d_res_high`` / ``_em_3d_reconstruction.resolution`` / ``_reflns.d_resolution_high``)
  and must be <= ``max_resolution`` (2.5 A); files without one (NMR, models, MD frames) are skipped.
  Byte-identical files are read once.  R-free is not used: most legacy entries of the corpus report
  none.
* structure preparation: exactly :func:`openmm_madrax.load` with ``altloc="first"`` (blank + altloc
  A), ``drop_nonstandard=True`` and geometric chain breaks (C-N <= 2.0 A), first model only.  A file
  that fails only because some residues miss heavy atoms is not dropped: those residues are removed
  from the records and the file is prepared again (per-residue filtering; their neighbours then lose
  phi/psi through the chain-break rule).  Any other :class:`~openmm_madrax.StructureError` skips the
  file with the reason logged and stored.
* angles: :meth:`TorsionChannels.angles` of the energy itself (spec 2.3, chi definitions of
  ``params.chi_definitions()``; only residues with a consecutive predecessor and successor, i.e. no
  chain break within +-1 residue).
* residue level: every atom of the phi, psi and omega dihedrals (C(i-1), N, CA, C, N(i+1), CA(i+1))
  has B <= ``max_bfactor`` (40 A^2) and occupancy > 0; a side chain is used when, in addition, every
  atom of its scored chi dihedrals passes the same test.
* redundancy: protein chains are clustered by shared 3-mers (single linkage; two chains are linked
  when >= 50 % of the 3-mers of the shorter one occur in the other, roughly >= 50 % sequence
  identity); every residue is weighted 1 / (number of chains in its cluster), so the 40 T4 lysozyme
  mutants of the ddG set count about as one protein.

Models (hyper-parameters in :data:`HYPER`, stored in the npz)
-------------------------------------------------------------
* phi/psi, one density per residue type (GLY has its own, as every type) plus one pooled
  pre-proline class (a non-GLY, non-PRO residue whose successor is PRO; those residues are left out
  of their own type, and the class is dropped if it has less than ``pre_pro_min_weight``): weighted
  kernel density with a product von Mises kernel, mixed with a uniform pseudo-count, evaluated on a
  72 x 72 (5 deg) periodic grid, stored as ln p through periodic bicubic B-spline coefficients and
  normalised numerically on the torus.  The kernel concentration is chosen per class among
  ``bb_kappa_grid`` (20-80, i.e. sd 13-6 deg; not sharper than the grid) by 5-fold cross-validated
  log-likelihood over whole sequence clusters.  Why a smoothed grid and not a mixture: the
  Ramachandran densities have ridges and bridges (alpha-beta bridge, polyPro/beta continuum) that a
  handful of von Mises products models badly; the spline is C2 and periodic by construction and
  costs 16 gathered coefficients per residue.
* omega, per residue type plus the pre-proline class: two trans von Mises (the narrow peak and its
  heavier tails), one cis von Mises and a uniform background of weight n0 / (N + n0), by weighted EM
  from the pooled fit.  Classes with little data keep the pooled shapes; classes with little cis data
  keep the pooled cis shape and a cis fraction shrunk towards the pooled non-proline one.  The
  concentration is capped at 500 (sd 2.6 deg): sharper peaks in the corpus come from omega restraints
  in refinement, and they would make channel 7 needlessly stiff.
* chi_1..chi_n (n = scored chis of T2), per residue type: mixture of products of von Mises plus a
  uniform background, weighted EM started from the populated rotamer bins (at most 3^n, at most 81),
  number of components by BIC along a backward elimination (remove the component whose loss costs the
  least likelihood, refit).  PHE chi2, TYR chi2, ASP chi2 and GLU chi3 are pi-periodic
  (``symmetric_pi_periodic``): their factors are von Mises in the doubled angle,
  exp(kappa cos 2(x - mu)) / (2 pi I0(kappa)), normalised on (-pi, pi] and independent of the O/C
  atom naming.  Mixtures here, not grids, because the densities are up to 5-dimensional and rotamers
  are compact modes; a mixture of products also has exact marginals (``n_chi`` < n drops factors).

All densities are normalised over the torus [-pi, pi)^n in rad^-n and smooth (C2 for phi/psi,
analytic otherwise) and periodic, as spec section 6 asks.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import random
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import params

log = logging.getLogger("openmm_madrax")

FORMAT = "openmm-madrax torsion densities v1"
N_TYPES = len(params.RESIDUE_ORDER)
PRE_PRO_CLASS = N_TYPES  # class index of the pooled pre-proline phi/psi and omega densities
MAX_CHI = 5
SUFFIXES = (".pdb", ".ent", ".cif", ".mmcif", ".pdb.gz", ".ent.gz", ".cif.gz", ".mmcif.gz")

#: hyper-parameters of filters and fits (stored in the npz metadata)
HYPER: Dict[str, Any] = {
    "max_resolution": 2.5,  # A; files without a resolution record are skipped
    "max_bfactor": 40.0,  # A^2, every atom of the dihedrals used
    "cluster_kmer": 3,
    "cluster_min_shared": 0.5,  # fraction of the shorter chain's k-mers
    "bb_grid": 72,  # phi/psi grid points per axis (5 deg)
    "bb_kappa": 40.0,  # kernel concentration when cross-validation is not possible (sd ~ 9 deg)
    "bb_kappa_grid": (20.0, 30.0, 40.0, 60.0, 80.0),  # candidates, chosen per class by cross-validation
    "cv_folds": 5,  # folds of whole sequence clusters
    "bb_pseudocount": 2.0,  # weight of the uniform density mixed into phi/psi (in residue weights)
    "bb_norm_oversample": 4,  # quadrature points per grid cell and axis for the normalisation
    "pre_pro_min_weight": 50.0,  # pre-proline class only if it has this much weight
    "omega_pseudocount": 1.0,  # uniform background weight n0 (omega)
    "omega_min_weight": 20.0,  # below this class weight: pooled trans/cis shapes, own weights
    "omega_cis_min_weight": 5.0,  # below this own cis weight: pooled cis shape
    "omega_cis_prior": 20.0,  # shrinkage of the cis fraction towards the pooled non-Pro fraction
    "omega_kappa_max": 500.0,  # sd >= 2.6 deg: sharper peaks are refinement restraints
    "chi_pseudocount": 1.0,  # uniform background weight n0 (chi)
    "chi_max_components": 81,
    "chi_kappa_max": 500.0,
    "chi_kappa_min": 0.5,
    "chi_min_component_weight": 1e-3,  # components lighter than this are dropped during EM
    "em_max_iter": 500,
    "em_tol": 1e-7,  # change of the mean weighted log-likelihood
    "bic_patience": 4,  # stop the backward elimination after this many BIC increases
}

LOG2PI = math.log(2.0 * math.pi)


# ----------------------------------------------------------------------------------------------
# corpus


def list_files(paths: Sequence[str]) -> List[Path]:
    """Structure files under the given directories (not recursive) or the given files, sorted."""
    out: List[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.is_file() and f.name.lower().endswith(SUFFIXES)))
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or directory")
    return out


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _header_text(path: Path) -> List[str]:
    import gzip

    if path.name.lower().endswith(".gz"):
        with gzip.open(path, "rt", errors="replace") as fh:
            return fh.read().splitlines()
    with open(path, "r", errors="replace") as fh:
        return fh.read().splitlines()


_CIF_RES_KEYS = ("_refine.ls_d_res_high", "_em_3d_reconstruction.resolution", "_reflns.d_resolution_high")


def experimental_resolution(path: Path, lines: Optional[List[str]] = None) -> Tuple[str, Optional[float]]:
    """(method, resolution in A or None) from the PDB header or the mmCIF categories."""
    lines = _header_text(path) if lines is None else lines
    method = ""
    res: Optional[float] = None
    name = path.name.lower()
    if ".cif" in name:
        values: Dict[str, str] = {}
        for k, line in enumerate(lines):
            s = line.strip()
            if not s.startswith("_"):
                continue
            parts = s.split(None, 1)
            key = parts[0]
            if key in _CIF_RES_KEYS or key == "_exptl.method":
                val = parts[1] if len(parts) > 1 else (lines[k + 1].strip() if k + 1 < len(lines) else "")
                values.setdefault(key, val.strip().strip("'\""))
        method = values.get("_exptl.method", "")
        for key in _CIF_RES_KEYS:
            try:
                res = float(values.get(key, ""))
                break
            except ValueError:
                continue
    else:
        for line in lines:
            if line.startswith("EXPDTA") and not method:
                method = line[10:].strip()
            elif line.startswith("REMARK   2 RESOLUTION"):
                m = re.search(r"RESOLUTION\.\s*([0-9.]+)", line)
                if m:
                    try:
                        res = float(m.group(1))
                    except ValueError:
                        res = None
            elif line.startswith(("ATOM  ", "HETATM")):
                break
    return method, res


@dataclass
class FileTorsions:
    """Angles of one structure that passed the residue filters (radians, IUPAC)."""

    bb_class: np.ndarray  # (n,) density class (residue type or PRE_PRO_CLASS)
    bb_restype: np.ndarray
    phi: np.ndarray
    psi: np.ndarray
    omega: np.ndarray
    bb_chain: np.ndarray  # chain index (within the file) of every backbone row
    sc_restype: np.ndarray
    chi: np.ndarray  # (m, 5)
    sc_chain: np.ndarray
    chain_sequences: List[str] = field(default_factory=list)


class _PreProProbe:
    """Stand-in density module that makes TorsionChannels compute the pre-proline classes."""

    available = False
    pre_pro_class = PRE_PRO_CLASS


def _prepare(path: Path):
    """Structure and per-atom B-factors/occupancies; per-residue filtering of incomplete residues."""
    from .errors import StructureError
    from .io import read_file
    from .structure import RESIDUE_ATOM_ALIASES, ATOM_ALIASES, VARIANTS, prepare_records

    result = read_file(path)
    if not result.records:
        raise StructureError(f"{path}: no atoms")
    first = min(r.model for r in result.records)
    records = [r for r in result.records if r.model == first]
    for k, r in enumerate(records):
        r.source_index = k
    bfac = np.array([r.bfactor for r in records], np.float64)
    occ = np.array([r.occupancy for r in records], np.float64)
    result.records = records
    note = ""
    kwargs = dict(altloc="first", drop_nonstandard=True, repair=False, chain_breaks="geometry",
                  name=path.name.split(".")[0])
    try:
        # identical to openmm_madrax.load(path, altloc="first", drop_nonstandard=True, quiet=True)
        structure = prepare_records(result, **kwargs)
    except StructureError as exc:
        if "miss heavy atoms" not in str(exc):
            raise
        heavy = params.heavy_atoms()
        present: Dict[tuple, set] = {}
        for r in records:
            rn = VARIANTS.get(r.resname.upper(), r.resname.upper())
            if rn in heavy:
                nm = r.name.upper()
                nm = RESIDUE_ATOM_ALIASES.get((rn, nm), ATOM_ALIASES.get(nm, nm))
                present.setdefault((r.chain_key, r.resseq, r.icode, rn), set()).add(nm)
        incomplete = {key[:3] for key, names in present.items() if not set(heavy[key[3]]) <= names}
        kept = [r for r in records if (r.chain_key, r.resseq, r.icode) not in incomplete]
        note = f"removed {len(incomplete)} residue(s) with missing heavy atoms"
        from .io import ReadResult

        structure = prepare_records(ReadResult(kept, result.n_models, result.source, result.ssbonds), **kwargs)
    return structure, bfac, occ, note


def extract_file(path: Path, max_bfactor: float) -> Tuple[FileTorsions, str]:
    """Filtered torsions of one file (raises StructureError for unreadable files)."""
    import torch

    from .atomtypes import ONE_LETTER
    from .energy.torsions import TorsionChannels

    structure, bfac, occ, note = _prepare(path)
    tables = structure.tables()
    tc = TorsionChannels(tables, torch.float64, _PreProProbe())
    with torch.no_grad():
        phi, psi, omega, chi = (x.numpy() for x in tc.angles(torch.as_tensor(structure.coords)))
    src = structure.source_index
    atom_ok = (bfac[src] <= max_bfactor) & (occ[src] > 0.0)

    def ok(idx: np.ndarray) -> np.ndarray:
        return atom_ok[idx.reshape(idx.shape[0], int(np.prod(idx.shape[1:])))].all(1)

    bb_ok = ok(tc.phi_atoms.numpy()) & ok(tc.psi_atoms.numpy()) & ok(tc.omega_atoms.numpy())
    bb_res = tc.bb_res.numpy()
    bb_ok_of_res = np.zeros(structure.n_residues, bool)
    bb_ok_of_res[bb_res[bb_ok]] = True
    sc_res = tc.sc_res.numpy()
    sc_ok = bb_ok_of_res[sc_res] & ok(tc.chi_atoms.numpy())
    res_chain = np.array([r.chain_index for r in structure.residues], np.int64)
    chains = sorted(set(res_chain.tolist()))
    seqs = ["".join(ONE_LETTER[structure.residues[r].resname] for r in range(structure.n_residues)
                    if res_chain[r] == c) for c in chains]
    chain_pos = {c: k for k, c in enumerate(chains)}
    ft = FileTorsions(
        bb_class=tc.bb_class.numpy()[bb_ok], bb_restype=tc.bb_restype.numpy()[bb_ok], phi=phi[bb_ok], psi=psi[bb_ok],
        omega=omega[bb_ok], bb_chain=np.array([chain_pos[c] for c in res_chain[bb_res[bb_ok]]], np.int64),
        sc_restype=tc.sc_restype.numpy()[sc_ok], chi=chi[sc_ok],
        sc_chain=np.array([chain_pos[c] for c in res_chain[sc_res[sc_ok]]], np.int64), chain_sequences=seqs)
    return ft, note


def cluster_chains(seqs: Sequence[str], k: int, min_shared: float) -> np.ndarray:
    """Single-linkage clusters of sequences by shared k-mers; returns a cluster id per sequence."""
    kmers = [set(s[i:i + k] for i in range(len(s) - k + 1)) or {s} for s in seqs]
    n = len(seqs)
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    index: Dict[str, List[int]] = {}
    for i, ks in enumerate(kmers):
        for km in ks:
            index.setdefault(km, []).append(i)
    for i, ks in enumerate(kmers):
        shared: Dict[int, int] = {}
        for km in ks:
            for j in index[km]:
                if j > i:
                    shared[j] = shared.get(j, 0) + 1
        for j, c in shared.items():
            if c >= min_shared * min(len(ks), len(kmers[j])):
                a, b = find(i), find(j)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    return np.array([find(i) for i in range(n)], np.int64)


# ----------------------------------------------------------------------------------------------
# von Mises mixtures (weighted EM)


def _log_i0(kappa: np.ndarray) -> np.ndarray:
    from scipy.special import i0e

    kappa = np.asarray(kappa, np.float64)
    return np.log(i0e(kappa)) + kappa


def _kappa_mle(rbar: np.ndarray) -> np.ndarray:
    """Solve A(kappa) = I1/I0 = rbar (Newton from Best & Fisher's approximation)."""
    from scipy.special import i0e, i1e

    r = np.clip(rbar, 1e-8, 1.0 - 1e-10)
    k = np.where(r < 0.53, 2 * r + r ** 3 + 5 * r ** 5 / 6,
                 np.where(r < 0.85, -0.4 + 1.39 * r + 0.43 / (1 - r), 1.0 / (r ** 3 - 4 * r ** 2 + 3 * r)))
    for _ in range(6):
        a = i1e(k) / i0e(k)
        da = 1.0 - a / np.maximum(k, 1e-12) - a * a
        k = np.maximum(k - (a - r) / np.maximum(da, 1e-12), 1e-8)
    return k


@dataclass
class VMMixture:
    """sum_k w_k prod_d vM(m_d x_d; m_d mu_kd, kappa_kd) + w_bg (2 pi)^-n."""

    weight: np.ndarray  # (K,)
    mu: np.ndarray  # (K, n), in the x angle (mu of the doubled angle / 2 for m = 2)
    kappa: np.ndarray  # (K, n)
    freq: np.ndarray  # (n,) 1 or 2
    bg_weight: float

    def component_logpdf(self, x: np.ndarray, features: Optional[Tuple[np.ndarray, np.ndarray]] = None) -> np.ndarray:
        """(N, K + 1) ln [prod_d vM] of every component, the background last.

        kappa (cos m(x - mu) - 1) is expanded as kappa (cos mx cos m mu + sin mx sin m mu) - kappa so
        that all components cost one matrix product (``features`` = (cos mx, sin mx) if precomputed).
        """
        cx, sx = features if features is not None else (np.cos(self.freq[None] * x), np.sin(self.freq[None] * x))
        fm = self.freq[None] * self.mu
        lp = cx @ (self.kappa * np.cos(fm)).T + sx @ (self.kappa * np.sin(fm)).T \
            - (self.kappa + _log_i0(self.kappa) - self.kappa).sum(-1)[None] - x.shape[1] * LOG2PI
        bg = np.full((x.shape[0], 1), -x.shape[1] * LOG2PI)
        return np.concatenate([lp, bg], axis=1)

    def logpdf(self, x: np.ndarray, features: Optional[Tuple[np.ndarray, np.ndarray]] = None) -> np.ndarray:
        lw = np.log(np.concatenate([self.weight, [self.bg_weight]]) + 1e-300)
        return _logsumexp_rows(self.component_logpdf(x, features) + lw[None])


def _logsumexp_rows(a: np.ndarray) -> np.ndarray:
    top = a.max(1)
    return top + np.log(np.exp(a - top[:, None]).sum(1))


def em_vm_mixture(x: np.ndarray, w: np.ndarray, mu0: np.ndarray, kappa0: np.ndarray, freq: np.ndarray,
                  bg_weight: float, *, kappa_max: float, kappa_min: float, min_weight: float,
                  max_iter: int, tol: float, fixed_shape: Optional[np.ndarray] = None,
                  weight0: Optional[np.ndarray] = None) -> Tuple[VMMixture, float]:
    """Weighted EM for a mixture of products of von Mises with a fixed uniform background weight.

    ``fixed_shape`` (K,) bool: components whose mu/kappa are kept (only their weight is fitted);
    ``weight0``: starting weights (default equal).
    Returns the mixture and the weighted log-likelihood.  Components whose weight drops below
    ``min_weight`` are removed.  Deterministic (no random initialisation).
    """
    K = mu0.shape[0]
    fixed = np.zeros(K, bool) if fixed_shape is None else fixed_shape.astype(bool)
    freq = freq.astype(np.float64)
    start = np.full(K, 1.0 / K) if weight0 is None else weight0 / weight0.sum()
    mix = VMMixture((1.0 - bg_weight) * start, mu0.copy(), kappa0.copy(), freq, bg_weight)
    feats = (np.cos(freq[None] * x), np.sin(freq[None] * x))
    W = float(w.sum())
    prev = -np.inf
    for _ in range(max_iter):
        lw = np.log(np.concatenate([mix.weight, [bg_weight]]) + 1e-300)
        lp = mix.component_logpdf(x, feats) + lw[None]
        tot = _logsumexp_rows(lp)
        ll = float((w * tot).sum())
        r = np.exp(lp[:, :-1] - tot[:, None]) * w[:, None]  # (N, K) weighted responsibilities
        nk = r.sum(0)
        keep = nk / W >= min_weight
        if not keep.all() and keep.any():
            mix = VMMixture(mix.weight[keep], mix.mu[keep], mix.kappa[keep], mix.freq, bg_weight)
            fixed = fixed[keep]
            prev = -np.inf
            continue
        if abs(ll - prev) <= tol * W:
            break
        prev = ll
        # M step: weights of the non-background components share 1 - bg_weight
        mix.weight = (1.0 - bg_weight) * nk / max(nk.sum(), 1e-300)
        c = r.T @ feats[0]
        s = r.T @ feats[1]
        rbar = np.sqrt(c * c + s * s) / np.maximum(nk[:, None], 1e-300)
        new_mu = np.arctan2(s, c) / freq[None]
        new_kappa = np.clip(_kappa_mle(rbar), kappa_min, kappa_max)
        mix.mu = np.where(fixed[:, None], mix.mu, new_mu)
        mix.kappa = np.where(fixed[:, None], mix.kappa, new_kappa)
    ll = float((w * mix.logpdf(x, feats)).sum())
    return mix, ll


def _rotamer_inits(x: np.ndarray, w: np.ndarray, freq: np.ndarray, cap: int) -> np.ndarray:
    """Circular means of the most populated rotamer bins (3 per chi: 60, 180, -60 deg; for the
    pi-periodic chis 0, 60, 120 deg), at most ``cap`` of them, heaviest first."""
    n = x.shape[1]
    # bins of 120 deg centred on 60, 180, -60 deg (chi) or, in the doubled angle, on 0, 120, 240 deg
    y = (freq[None] * x + math.pi / 3.0 * (freq[None] == 2)) % (2 * math.pi)
    bins = np.minimum((y / (2 * math.pi / 3)).astype(np.int64), 2)
    code = (bins * (3 ** np.arange(n))[None]).sum(1)
    heavy: Dict[int, float] = {}
    for c, wi in zip(code.tolist(), w.tolist()):
        heavy[c] = heavy.get(c, 0.0) + wi
    order = sorted(heavy, key=lambda c: (-heavy[c], c))[:cap]
    mus = []
    for c in order:
        sel = code == c
        ang = freq[None] * x[sel]
        m = np.arctan2((w[sel, None] * np.sin(ang)).sum(0), (w[sel, None] * np.cos(ang)).sum(0)) / freq
        mus.append(m)
    return np.array(mus, np.float64).reshape(-1, n)


def _cheapest_component(mix: VMMixture, x: np.ndarray, w: np.ndarray, feats) -> int:
    """Index of the component whose removal (other weights rescaled) loses the least log-likelihood."""
    lp = mix.component_logpdf(x, feats)  # (N, K + 1)
    K = mix.weight.shape[0]
    dens = np.exp(lp - lp.max(1, keepdims=True))
    top = lp.max(1)
    comp = dens[:, :K] * mix.weight[None]
    bg = dens[:, K] * mix.bg_weight
    total = comp.sum(1)
    loss = np.zeros(K)
    for k in range(K):
        scale = (1.0 - mix.bg_weight) / max(1.0 - mix.bg_weight - mix.weight[k], 1e-300)
        loss[k] = -float((w * (np.log((total - comp[:, k]) * scale + bg + 1e-300) + top)).sum())
    return int(np.argmin(loss))


def fit_chi_density(x: np.ndarray, w: np.ndarray, freq: np.ndarray, hyper: Dict[str, float]) -> Tuple[VMMixture, Dict]:
    """Mixture of products of von Mises for one residue type, components by BIC.

    EM starts from the populated rotamer bins; then, repeatedly, the component whose removal costs
    the least log-likelihood (weights renormalised, no refit) is removed and EM is rerun from the
    remaining components; the model with the lowest BIC on this path is kept (the path stops after
    ``bic_patience`` consecutive increases).
    """
    n = x.shape[1]
    W = float(w.sum())
    bg = hyper["chi_pseudocount"] / (W + hyper["chi_pseudocount"])
    if W <= 0 or x.shape[0] == 0:
        return VMMixture(np.zeros(0), np.zeros((0, n)), np.zeros((0, n)), freq.astype(np.float64), 1.0), \
            {"n_components": 0, "bic": None, "weight": 0.0}
    cap = int(min(3 ** n, hyper["chi_max_components"]))
    mu0 = _rotamer_inits(x, w, freq, cap)
    em = dict(kappa_max=hyper["chi_kappa_max"], kappa_min=hyper["chi_kappa_min"],
              min_weight=hyper["chi_min_component_weight"], max_iter=int(hyper["em_max_iter"]), tol=hyper["em_tol"])
    mix, ll = em_vm_mixture(x, w, mu0, np.full_like(mu0, 10.0), freq, bg, **em)
    n_eff = max(W, 2.0)

    def bic(m: VMMixture, ll_: float) -> float:
        K = m.weight.shape[0]
        return -2.0 * ll_ + (2 * n * K + max(K - 1, 0)) * math.log(n_eff)

    best, best_bic = mix, bic(mix, ll)
    path = [(mix.weight.shape[0], best_bic)]
    worse = 0
    feats = (np.cos(freq[None] * x), np.sin(freq[None] * x))
    while mix.weight.shape[0] > 1 and worse < hyper["bic_patience"]:
        drop = _cheapest_component(mix, x, w, feats)
        keep = np.arange(mix.weight.shape[0]) != drop
        mix, ll = em_vm_mixture(x, w, mix.mu[keep], mix.kappa[keep], freq, bg, weight0=mix.weight[keep], **em)
        b = bic(mix, ll)
        path.append((mix.weight.shape[0], b))
        if b < best_bic:
            best, best_bic, worse = mix, b, 0
        else:
            worse += 1
    return best, {"n_components": int(best.weight.shape[0]), "bic": float(best_bic), "weight": W,
                  "bic_path": [[int(k), float(b)] for k, b in path]}


def fit_omega_densities(omega: np.ndarray, cls: np.ndarray, w: np.ndarray, n_classes: int,
                        hyper: Dict[str, float]) -> Tuple[List[VMMixture], Dict]:
    """Per class: two trans von Mises (a narrow peak and its heavier tails), one cis von Mises and a
    uniform background, by weighted EM started from the pooled fit of all classes.

    Classes with less than ``omega_min_weight`` keep the pooled shapes (only weights are fitted);
    classes with less than ``omega_cis_min_weight`` cis weight keep the pooled cis shape and get the
    cis fraction (own cis weight + prior x pooled non-proline fraction) / (own weight + prior).
    """
    em = dict(kappa_max=hyper["omega_kappa_max"], kappa_min=hyper["chi_kappa_min"], min_weight=0.0,
              max_iter=int(hyper["em_max_iter"]), tol=hyper["em_tol"])
    one = np.ones(1)
    x = omega[:, None]
    is_cis = np.abs(omega) < math.pi / 2
    mu0 = np.array([[math.pi], [math.pi], [0.0]])
    kappa0 = np.array([[300.0], [30.0], [20.0]])
    W = float(w.sum())
    if W > 0:
        pooled, _ = em_vm_mixture(x, w, mu0, kappa0, one, hyper["omega_pseudocount"] / (W + hyper["omega_pseudocount"]),
                                  **em)
    else:
        pooled = VMMixture(np.array([0.5, 0.5, 0.0]), mu0, kappa0, one, 0.0)
    non_pro = (cls != params.RESIDUE_INDEX["PRO"]) & (cls != PRE_PRO_CLASS)
    f_cis = float((w * (is_cis & non_pro)).sum() / max((w * non_pro).sum(), 1e-12))
    out: List[VMMixture] = []
    info = {"pooled": {"mu": pooled.mu[:, 0].tolist(), "kappa": pooled.kappa[:, 0].tolist(),
                       "w": pooled.weight.tolist()},
            "non_pro_cis_fraction": f_cis, "classes": []}
    prior = hyper["omega_cis_prior"]
    for c in range(n_classes):
        sel = cls == c
        Wc = float(w[sel].sum())
        bg = hyper["omega_pseudocount"] / (Wc + hyper["omega_pseudocount"])
        wc_cis = float((w[sel] * is_cis[sel]).sum())
        frac = (wc_cis + prior * f_cis) / (Wc + prior)
        own_trans = Wc >= hyper["omega_min_weight"]
        own_cis = wc_cis >= hyper["omega_cis_min_weight"]
        if Wc > 0:
            fixed = np.array([not own_trans, not own_trans, not own_cis])
            mix, _ = em_vm_mixture(x[sel], w[sel], pooled.mu.copy(), pooled.kappa.copy(), one, bg, fixed_shape=fixed, **em)
        else:
            mix = VMMixture(pooled.weight.copy(), pooled.mu.copy(), pooled.kappa.copy(), one, bg)
        if not own_cis:  # shrink the cis weight towards the pooled non-proline fraction
            trans = mix.weight[:2] / max(mix.weight[:2].sum(), 1e-300)
            mix.weight = np.concatenate([trans * (1.0 - frac), [frac]]) * (1.0 - bg)
        out.append(mix)
        info["classes"].append({"weight": Wc, "cis_weight": wc_cis, "own_trans_shape": bool(own_trans),
                                "own_cis_shape": bool(own_cis), "w": mix.weight.tolist(),
                                "mu": mix.mu[:, 0].tolist(), "kappa": mix.kappa[:, 0].tolist()})
    return out, info


# ----------------------------------------------------------------------------------------------
# phi/psi grids and periodic cubic B-splines


def periodic_bspline_coefficients(values: np.ndarray) -> np.ndarray:
    """Coefficients c of the periodic cubic B-spline interpolating ``values`` on a regular 2-D grid:
    values[j] = (c[j-1] + 4 c[j] + c[j+1]) / 6 along each axis (solved by FFT)."""
    G0, G1 = values.shape
    k0 = (4.0 + 2.0 * np.cos(2 * math.pi * np.arange(G0) / G0)) / 6.0
    k1 = (4.0 + 2.0 * np.cos(2 * math.pi * np.arange(G1) / G1)) / 6.0
    return np.real(np.fft.ifft2(np.fft.fft2(values) / (k0[:, None] * k1[None, :])))


def bspline_weights(t: np.ndarray) -> np.ndarray:
    """Cubic B-spline weights of the 4 coefficients i-1, i, i+1, i+2 for t in [0, 1)."""
    t2 = t * t
    t3 = t2 * t
    return np.stack([(1 - t) ** 3 / 6.0, (3 * t3 - 6 * t2 + 4) / 6.0, (-3 * t3 + 3 * t2 + 3 * t + 1) / 6.0, t3 / 6.0], -1)


def eval_bspline(coef: np.ndarray, phi: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """numpy twin of TorsionDensities.log_bb for one coefficient grid."""
    G = coef.shape[0]
    h = 2 * math.pi / G
    u = (phi + math.pi) / h
    v = (psi + math.pi) / h
    iu = np.floor(u).astype(np.int64)
    iv = np.floor(v).astype(np.int64)
    wu = bspline_weights(u - iu)
    wv = bspline_weights(v - iv)
    ju = (iu[:, None] + np.arange(-1, 3)[None]) % G
    jv = (iv[:, None] + np.arange(-1, 3)[None]) % G
    c = coef[ju[:, :, None], jv[:, None, :]]
    return (wu[:, :, None] * wv[:, None, :] * c).sum((1, 2))


def fit_phipsi_density(phi: np.ndarray, psi: np.ndarray, w: np.ndarray, hyper: Dict[str, float],
                       kappa: Optional[float] = None) -> np.ndarray:
    """ln p spline coefficients (G x G) of one class: von Mises KDE + uniform pseudo-count, normalised."""
    from scipy.special import i0e

    G = int(hyper["bb_grid"])
    kappa = hyper["bb_kappa"] if kappa is None else kappa
    grid = -math.pi + 2 * math.pi * np.arange(G) / G
    W = float(w.sum())
    n0 = hyper["bb_pseudocount"]
    dens = np.full((G, G), n0 / (4 * math.pi ** 2))
    if W > 0:
        norm = 1.0 / (2 * math.pi * i0e(kappa))
        A = np.exp(kappa * (np.cos(grid[None, :] - phi[:, None]) - 1.0)) * norm  # (N, G)
        B = np.exp(kappa * (np.cos(grid[None, :] - psi[:, None]) - 1.0)) * norm
        dens = dens + (A * w[:, None]).T @ B
    dens /= (W + n0)
    coef = periodic_bspline_coefficients(np.log(dens))
    return normalise_bspline(coef, int(hyper["bb_norm_oversample"]))


def select_bb_kappa(phi: np.ndarray, psi: np.ndarray, w: np.ndarray, fold: np.ndarray,
                    hyper: Dict[str, float]) -> Tuple[float, Dict[str, float]]:
    """Kernel concentration of one class by cross-validated log-likelihood over whole sequence clusters.

    Held-out residues are scored with the exact kernel density of the other folds (plus the uniform
    pseudo-count); ties go to the smoother kernel.  Falls back to ``bb_kappa`` with fewer than two
    non-empty folds.
    """
    from scipy.special import i0e

    grid = [float(k) for k in hyper["bb_kappa_grid"]]
    n0 = hyper["bb_pseudocount"]
    folds = sorted(set(fold.tolist()))
    if len(folds) < 2:
        return float(hyper["bb_kappa"]), {}
    score = np.zeros(len(grid))
    for f in folds:
        te = fold == f
        tr = ~te
        Wtr = float(w[tr].sum())
        for start in range(0, int(te.sum()), 512):
            idx = np.nonzero(te)[0][start:start + 512]
            cphi = np.cos(phi[idx, None] - phi[None, tr]) - 1.0
            cpsi = np.cos(psi[idx, None] - psi[None, tr]) - 1.0
            csum = cphi + cpsi
            for k, kappa in enumerate(grid):
                dens = (np.exp(kappa * csum) @ w[tr]) / (2 * math.pi * i0e(kappa)) ** 2
                p = (dens + n0 / (4 * math.pi ** 2)) / (Wtr + n0)
                score[k] += float((w[idx] * np.log(p)).sum())
    best = int(np.argmax(score))
    return grid[best], {f"{k:g}": float(v / max(w.sum(), 1e-300)) for k, v in zip(grid, score)}


def bspline_basis(G: int, x: np.ndarray) -> np.ndarray:
    """(len(x), G) matrix of the periodic cubic B-spline basis on G knots at angles x."""
    u = (x + math.pi) / (2 * math.pi / G)
    i = np.floor(u).astype(np.int64)
    wts = bspline_weights(u - i)
    B = np.zeros((x.shape[0], G))
    for k in range(4):
        np.add.at(B, (np.arange(x.shape[0]), (i + k - 1) % G), wts[:, k])
    return B


def normalise_bspline(coef: np.ndarray, oversample: int) -> np.ndarray:
    """Shift the coefficients so that exp(spline) integrates to 1 on the torus (midpoint rule on a
    grid ``oversample`` times finer than the knots; exponentially accurate for a smooth periodic
    integrand)."""
    G = coef.shape[0]
    M = G * oversample
    x = -math.pi + 2 * math.pi * (np.arange(M) + 0.5) / M
    B = bspline_basis(G, x)
    vals = B @ coef @ B.T
    top = vals.max()
    log_z = float(np.log(np.mean(np.exp(vals - top))) + top + 2 * LOG2PI)
    return coef - log_z


# ----------------------------------------------------------------------------------------------
# the whole fit


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

    from .errors import StructureError

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


def build_parser(parser: Optional[argparse.ArgumentParser] = None) -> argparse.ArgumentParser:
    p = parser or argparse.ArgumentParser(prog="openmm-madrax fit-torsions")
    p.add_argument("paths", nargs="+", metavar="PDB_DIR",
                   help="directories of PDB/mmCIF files (not recursive) or single files")
    p.add_argument("-o", "--output", required=True, help="output .npz")
    p.add_argument("--max-files", type=int, default=None, help="use N files drawn with --seed (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the --max-files draw (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def run_args(args) -> int:
    files = list_files(args.paths)
    if args.max_files is not None and args.max_files < len(files):
        rng = random.Random(args.seed)
        files = sorted(rng.sample(files, args.max_files))
    if not files:
        raise FileNotFoundError("no structure files (.pdb, .cif, .ent, optionally .gz) found")
    cmd = "openmm-madrax fit-torsions " + " ".join(args.paths) + f" -o {args.output}" + \
        (f" --max-files {args.max_files}" if args.max_files is not None else "") + f" --seed {args.seed}"
    arrays, meta = fit(files, seed=args.seed, progress=not args.quiet, command=cmd)
    save(Path(args.output), arrays, meta)
    c = meta["counts"]
    print(f"fit-torsions: {c['n_files_used']} of {len(files)} files used, {c['bb_rows']} backbone and "
          f"{c['sc_rows']} side-chain rows ({c['n_clusters']} sequence clusters); wrote {args.output} "
          f"(checksum {meta['checksum_sha256'][:12]})", file=sys.stderr)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``openmm-madrax fit-torsions PDB_DIR [PDB_DIR ...] -o params.npz [--max-files N] [--seed S]``."""
    args = build_parser().parse_args(argv)
    return run_args(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
