"""Stability and binding ΔΔG of mutations from the MadraX energy (docs/ddg.md).

Protocol (:class:`Protocol`; the same for the mutant and its wild-type reference):

1. *Repair* (once per structure): every side chain (not PRO) is relaxed in torsion space on the
   smooth MadraX energy (L-BFGS, ``repair_evals`` energy evaluations).  All models start from it.
2. For a mutant, the *shell* is every residue with a heavy atom within ``shell_radius`` of the
   site(s); the *environment* is every residue within ``env_radius`` of the site(s).
3. The site gets the new residue (template geometry, :mod:`openmm_madrax.mutate`); its rotamer is
   the candidate (torsion-density rotamers + wild-type chis) of lowest smooth MadraX energy of the
   environment.  The shell side chains (site included) are then relaxed in torsion space on the
   smooth energy of the environment (L-BFGS, ``relax_evals`` evaluations).
4. The model is scored with the exact MadraX energy of the *whole* structure (11 channels).
5. The wild-type reference is the mutation X -> X through steps 2-4 (same shell, same
   environment, same candidates), so a mutation to itself is exactly 0 and both sides share
   every approximation.  References are cached per site set and repeat.

ΔΔG = ΔG(mutant) − ΔG(reference), kcal/mol, positive = destabilising; per channel and weighted
(:func:`load_weights`: ``"madrax"`` = every channel weight 1, no offset; ``"calibrated"`` = the
non-negative fit on the Guerois set shipped as ``params/ddg_weights_calibrated.json``).

Binding (``partners=["AB", "C"]``): ΔG_bind = E(complex) − Σ E(partner alone, same coordinates),
and ΔΔG_bind = ΔG_bind(mutant) − ΔG_bind(reference).  The complex is the chains of the partner
groups; other chains take part in building the models but not in the binding energy.

Calibration: ``python -m openmm_madrax.ddg calibrate`` (see :func:`main`).
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd
import torch

from . import mutate as mt
from .errors import MadraXError, MutationError
from .params import CHANNELS
from .scoring import energy_module
from .structure import MadraXWarning, Structure, load

log = logging.getLogger("openmm_madrax")

PARAMS_DIR = Path(__file__).resolve().parent / "params"
CALIBRATED_WEIGHTS = PARAMS_DIR / "ddg_weights_calibrated.json"
DDG_COLUMNS = [f"ddg_{c}" for c in CHANNELS]


@dataclass
class Protocol:
    """Settings of the mutant-building protocol (defaults are the documented protocol)."""

    shell_radius: float = 6.0  # A: residues relaxed around the site(s)
    env_radius: float = 10.0  # A: residues whose energy drives rotamer choice and relaxation
    max_rotamers: int = 12  # library rotamers per residue type (most probable first)
    relax_evals: int = 30  # energy evaluations of the shell relaxation
    repair: bool = True  # relax every side chain of the wild type once before mutating
    repair_evals: int = 30
    perturb_deg: float = 20.0  # SD of the random start of the shell chis in repeats >= 1
    burial: str = "madrax"

    @classmethod
    def fast(cls) -> "Protocol":
        """Cheaper settings (used for the calibration run when time is short)."""
        return cls(env_radius=8.0, max_rotamers=8, relax_evals=15, repair_evals=20)


# ----------------------------------------------------------------------------------------------
# weights


def load_weights(weights: Union[str, dict, None] = "madrax") -> Tuple[np.ndarray, float, str]:
    """(per-channel weights (11,), offset, name) of a weight set: ``"madrax"`` (all 1, offset 0),
    ``"calibrated"`` (shipped fit), a JSON path, or a dict ``{"weights": {channel: w}, "intercept": b}``."""
    if weights is None or (isinstance(weights, str) and weights.lower() in ("madrax", "default")):
        return np.ones(len(CHANNELS)), 0.0, "madrax"
    if isinstance(weights, str) and weights.lower() == "calibrated":
        path = CALIBRATED_WEIGHTS
        if not path.exists():
            raise MadraXError(f"no calibrated weights at {path}; run 'python -m openmm_madrax.ddg calibrate'")
        data = json.loads(path.read_text())
        name = "calibrated"
    elif isinstance(weights, (str, Path)):
        data = json.loads(Path(weights).read_text())
        name = str(weights)
    elif isinstance(weights, dict):
        data = weights
        name = "custom"
    else:
        raise ValueError(f"weights must be 'madrax', 'calibrated', a JSON path or a dict, not {weights!r}")
    w = data.get("weights", data)
    unknown = sorted(set(w) - set(CHANNELS))
    if unknown:
        raise MadraXError(f"weights: unknown channel(s) {unknown}; channels are {list(CHANNELS)}")
    return np.array([float(w.get(c, 1.0)) for c in CHANNELS]), float(data.get("intercept", 0.0)), name


# ----------------------------------------------------------------------------------------------
# the model builder


def _near_residues(structure: Structure, coords: np.ndarray, sites: Sequence[int], radius: float) -> List[int]:
    """Residues with any heavy atom within ``radius`` of any atom of the site residues."""
    from scipy.spatial import cKDTree

    site_atoms = np.concatenate([np.arange(structure.residues[k].atom_start, structure.residues[k].atom_stop)
                                 for k in sites])
    tree = cKDTree(coords)
    hits = set()
    for lst in tree.query_ball_point(coords[site_atoms], r=radius):
        hits.update(int(structure.atom_residue[a]) for a in lst)
    hits.update(int(k) for k in sites)
    return sorted(hits)


def _channel_sum(structure: Structure, coords: np.ndarray, burial: str) -> np.ndarray:
    module = energy_module(structure.with_coords(coords), burial=burial, smooth=False)
    with torch.no_grad():
        return module(torch.as_tensor(coords, dtype=torch.float64)).sum(0).numpy().astype(np.float64)


class MutationModeller:
    """Builds and scores mutants of one structure; the wild type is repaired once and reused.

    Parameters
    ----------
    structure
        a prepared :class:`Structure` (or anything :func:`openmm_madrax.load` reads, with ``load_kwargs``).
    partners
        binding partners as chain groups, e.g. ``["AB", "C"]`` (or ``"AB,C"``); None: stability only.
    """

    def __init__(self, structure, *, protocol: Optional[Protocol] = None, partners=None, seed: int = 0,
                 load_kwargs: Optional[dict] = None):
        if not isinstance(structure, Structure):
            structure = load(structure, **(load_kwargs or {}))
        self.protocol = protocol or Protocol()
        self.seed = int(seed)
        self.structure = structure
        self.partners = _parse_partners(partners, structure)
        self.timings: Dict[str, float] = {}
        t0 = time.perf_counter()
        self.wt_coords = self._repair(structure)
        self.timings["repair_s"] = time.perf_counter() - t0
        self._ref_cache: Dict[tuple, dict] = {}

    # -- set-up
    def _repair(self, s: Structure) -> np.ndarray:
        p = self.protocol
        if not p.repair:
            return s.coords.copy()
        module = energy_module(s, burial=p.burial, smooth=True, skin=2.0)
        relaxer = mt.TorsionRelaxer(s, range(s.n_residues))
        xyz, _ = relaxer.relax(module, s.coords, max_eval=p.repair_evals)
        return xyz

    # -- one model (one side of a ΔΔG)
    def _model(self, sites: Sequence[int], targets: Sequence[str], repeat: int) -> dict:
        p = self.protocol
        s0, x0 = self.structure, self.wt_coords
        wt_chis = {k: mt.measure_chis(s0, k, x0) for k in sites}
        cands = {k: mt.candidate_rotamers(t, wt_chis[k], p.max_rotamers) for k, t in zip(sites, targets)}
        full = mt.mutant_structure(s0, {k: (t, cands[k][0]) for k, t in zip(sites, targets)}, coords=x0)
        env = _near_residues(s0, x0, sites, p.env_radius)
        shell = _near_residues(s0, x0, sites, p.shell_radius)
        sub, atoms = mt.residue_subset(full, env)
        pos_in_env = {k: n for n, k in enumerate(env)}
        module = energy_module(sub, burial=p.burial, smooth=True, skin=2.0)
        xs = sub.coords.copy()
        # rotamer choice, site by site
        for k, t in zip(sites, targets):
            r = sub.residues[pos_in_env[k]]
            idx = {sub.atom_names[a]: a for a in range(r.atom_start, r.atom_stop)}
            bb = {n: xs[idx[n]] for n in ("N", "CA", "C")}
            if mt.n_chi(t) == 0 and t != "PRO":
                continue
            best = (math.inf, None)
            for chis in cands[k]:
                sc = mt.build_side_chain(t, bb, chis)
                trial = xs.copy()
                for n, v in sc.items():
                    trial[idx[n]] = v
                with torch.no_grad():
                    e = float(module(torch.as_tensor(trial)).sum())
                if e < best[0]:
                    best = (e, trial)
            xs = best[1]
        # relaxation of the shell
        shell_sub = [pos_in_env[k] for k in shell]
        relaxer = mt.TorsionRelaxer(sub, shell_sub)
        theta0 = None
        if repeat > 0 and p.perturb_deg > 0 and relaxer.n_params:
            theta0 = self._perturbation(sub, relaxer, env, repeat)
        xs, _ = relaxer.relax(module, xs, max_eval=p.relax_evals, theta0=theta0)
        xyz = full.coords.copy()
        xyz[atoms] = xs
        out = {"structure": full, "coords": xyz, "channels": _channel_sum(full, xyz, p.burial)}
        if self.partners:
            parts = []
            for g in self.partners:
                part = mt.sub_structure(full, g, xyz)
                parts.append(_channel_sum(part, part.coords, p.burial))
            everything = "".join(self.partners)
            if set(everything) == {r.chain_id for r in full.residues}:
                cplx = out["channels"]
            else:  # chains in no partner group are left out of the binding energy
                sub = mt.sub_structure(full, everything, xyz)
                cplx = _channel_sum(sub, sub.coords, p.burial)
            out["bind"] = cplx - np.sum(parts, axis=0)
        return out

    def _perturbation(self, sub: Structure, relaxer: "mt.TorsionRelaxer", env: Sequence[int], repeat: int) -> np.ndarray:
        """Random chi start, a function of (seed, repeat, residue, chi) only, so that the mutant and
        its reference get the same start for every residue they share."""
        theta = np.zeros(relaxer.n_params)
        for (ri, ci), pi in relaxer.param_index.items():
            k = env[ri]
            rng = np.random.default_rng([self.seed & 0xFFFFFFFF, repeat, k, ci])
            theta[pi] = math.radians(self.protocol.perturb_deg) * rng.standard_normal()
        return theta

    # -- public
    def sites(self, points: Sequence[mt.PointMutation]) -> List[int]:
        return [mt.find_site(self.structure, q) for q in points]

    def mutant(self, mutant, repeat: int = 0) -> dict:
        """Build one mutant (and its cached reference); returns the models and per-channel ΔΔG."""
        points = mt.parse_mutant(mutant)
        sites = self.sites(points)
        order = np.argsort(sites)
        sites = [sites[i] for i in order]
        points = [points[i] for i in order]
        key = (tuple(sites), repeat)
        ref = self._ref_cache.get(key)
        if ref is None:
            ref = self._model(sites, [self.structure.residues[k].resname for k in sites], repeat)
            self._ref_cache[key] = ref
        mut = self._model(sites, [q.mut3 for q in points], repeat)
        out = {"mutant": mt.mutant_label(points), "ref": ref, "mut": mut, "ddg_channels": mut["channels"] - ref["channels"]}
        if self.partners:
            out["ddg_bind_channels"] = mut["bind"] - ref["bind"]
        return out


def _parse_partners(partners, structure: Structure) -> Optional[List[str]]:
    if partners is None or partners == "" or partners == []:
        return None
    groups = partners.split(",") if isinstance(partners, str) else list(partners)
    groups = [g.strip() for g in groups if g.strip()]
    chains = {r.chain_id for r in structure.residues}
    if len(groups) < 2:
        raise MutationError(f"partners {partners!r}: give at least two chain groups, e.g. AB,C")
    seen = set()
    for g in groups:
        for c in g:
            if c not in chains:
                raise MutationError(f"partners {partners!r}: chain {c!r} is not in {structure.name} "
                                    f"(chains: {', '.join(sorted(chains))})")
            if c in seen:
                raise MutationError(f"partners {partners!r}: chain {c!r} is in two groups")
            seen.add(c)
    return groups


# ----------------------------------------------------------------------------------------------
# public API


def read_mutation_file(path) -> List[str]:
    """Mutants from a text file: one mutant per line (point mutations joined by '+', ',' or ';'),
    '#' comments and blank lines ignored.  FoldX individual_list lines (``GA44S,IA3V;``) work too."""
    out = []
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip().rstrip(";").strip()
        if line:
            out.append(line)
    return out


def ddg(structure, mutations, *, partners=None, weights="madrax", seed: int = 0, repeats: int = 1,
        protocol: Optional[Protocol] = None, progress: bool = False, load_kwargs: Optional[dict] = None,
        modeller: Optional[MutationModeller] = None) -> pd.DataFrame:
    """ΔΔG (kcal/mol, positive = destabilising) of mutants of one structure.

    ``mutations``: a mutant string or a list of them; a mutant is ``"A:G44S"`` or several point
    mutations joined by ``+`` or ``,`` (``"A:G44S+A:I3V"``).  A failed mutant (unknown chain,
    missing residue, wild-type mismatch, nonstandard target, ...) gets ``status="error"`` and the
    message in ``error``; the others still run, and a :class:`MadraXWarning` lists the failures.

    Returns one row per mutant: ``mutant, status, error, ddg`` (weighted), ``ddg_sd`` (over
    repeats), the 11 unweighted channel differences ``ddg_<channel>``, ``dg_wt``/``dg_mut`` (total
    MadraX energy of the reference and the mutant models), and with ``partners`` the binding
    columns ``ddg_bind`` and ``ddg_bind_<channel>``.
    """
    if isinstance(mutations, str):
        mutations = [mutations]
    mutations = list(mutations)
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    w, b, wname = load_weights(weights)
    if modeller is None:
        modeller = MutationModeller(structure, protocol=protocol, partners=partners, seed=seed, load_kwargs=load_kwargs)
    rows = []
    it = mutations
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(mutations) * repeats, desc="ddg", unit="model")
    failed = []
    for text in it:
        row = {"mutant": str(text), "status": "ok", "error": ""}
        per: list = []
        try:
            for r in range(repeats):
                res = modeller.mutant(text, repeat=r)
                per.append(res)
                if bar is not None:
                    bar.update(1)
            row["mutant"] = per[0]["mutant"]
            ch = np.mean([p["ddg_channels"] for p in per], axis=0)
            tot = [float(b + w @ p["ddg_channels"]) for p in per]
            row["ddg"] = float(np.mean(tot))
            row["ddg_sd"] = float(np.std(tot, ddof=1)) if repeats > 1 else 0.0
            for c, v in zip(CHANNELS, ch):
                row[f"ddg_{c}"] = float(v)
            row["dg_wt"] = float(np.mean([p["ref"]["channels"].sum() for p in per]))
            row["dg_mut"] = float(np.mean([p["mut"]["channels"].sum() for p in per]))
            if modeller.partners:
                bch = np.mean([p["ddg_bind_channels"] for p in per], axis=0)
                btot = [float(w @ p["ddg_bind_channels"]) for p in per]
                row["ddg_bind"] = float(np.mean(btot))
                row["ddg_bind_sd"] = float(np.std(btot, ddof=1)) if repeats > 1 else 0.0
                for c, v in zip(CHANNELS, bch):
                    row[f"ddg_bind_{c}"] = float(v)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # reported in the row; the other mutants still run
            row["status"] = "error"
            row["error"] = str(exc) if isinstance(exc, MadraXError) else f"{type(exc).__name__}: {exc}"
            failed.append(row["error"] if str(text).strip() in row["error"] else f"{text}: {row['error']}")
            if bar is not None:
                bar.update(repeats - len(per))
        rows.append(row)
    if bar is not None:
        bar.close()
    if failed:
        warnings.warn(f"{len(failed)} of {len(mutations)} mutant(s) failed and have no ΔΔG: " + "; ".join(failed),
                      MadraXWarning, stacklevel=2)
    cols = ["mutant", "status", "error", "ddg", "ddg_sd"] + DDG_COLUMNS + ["dg_wt", "dg_mut"]
    if modeller.partners:
        cols += ["ddg_bind", "ddg_bind_sd"] + [f"ddg_bind_{c}" for c in CHANNELS]
    df = pd.DataFrame(rows).reindex(columns=cols)
    df.attrs.update(weights=wname, seed=seed, repeats=repeats, structure=modeller.structure.name,
                    protocol=asdict(modeller.protocol), partners=modeller.partners)
    return df


# ----------------------------------------------------------------------------------------------
# calibration on the Guerois set


def read_guerois(path) -> pd.DataFrame:
    """The Guerois CSV (``#`` comment header; ``DDG > 0`` = destabilising) as rows with
    ``record, pdb, mutant`` (``A:G44S+...``) and ``ddg_exp``."""
    lines = Path(path).read_text().splitlines()
    header = None
    rows = []
    for line in lines:
        if line.startswith("#RecordID"):
            header = line[1:].split(",")
            continue
        if not line.strip() or line.startswith("#"):
            continue
        rows.append(line.split(","))
    if header is None:
        raise MadraXError(f"{path}: no '#RecordID,...' header line")
    df = pd.DataFrame(rows, columns=header)
    out = pd.DataFrame({
        "record": df["RecordID"].astype(int),
        "pdb": df["PDBFileID"].str.strip(),
        "mutations": df["Mutations"],
        "ddg_exp": df["DDG"].astype(float),
    })
    muts = []
    for m in df["Mutations"]:
        try:
            muts.append("+".join(mt.parse_mutation(p).label for p in m.split("_")))
        except MutationError as exc:
            muts.append(f"!{exc}")
    out["mutant"] = muts
    return out


def compute_channels(data_dir, cache, *, protocol: Optional[Protocol] = None, limit_proteins: Optional[int] = None,
                     progress: bool = True, threads: int = 1) -> pd.DataFrame:
    """Per-channel ΔΔG of every Guerois mutation, appended to the CSV ``cache`` protein by protein
    (a rerun skips records already there).  Structures are read with ``altloc='first',
    drop_nonstandard=True, repair=True``; mutations that cannot be built are kept with their error."""
    torch.set_num_threads(threads)
    data_dir = Path(data_dir)
    table = read_guerois(data_dir / "guerois.csv")
    cache = Path(cache)
    cache.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if cache.exists() and cache.stat().st_size:
        done = set(pd.read_csv(cache)["record"].astype(int))
    protocol = protocol or Protocol()
    pdbs = list(dict.fromkeys(table["pdb"]))
    if limit_proteins:
        pdbs = pdbs[:limit_proteins]
    todo = table[table["pdb"].isin(pdbs) & ~table["record"].isin(done)]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc="guerois", unit="mut")
    for pdb in pdbs:
        rows_p = todo[todo["pdb"] == pdb]
        if rows_p.empty:
            continue
        out = []
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                s = load(data_dir / "pdbs" / f"{pdb}.pdb", altloc="first", drop_nonstandard=True, repair=True,
                         quiet=True)
                modeller = MutationModeller(s, protocol=protocol)
            setup = time.perf_counter() - t0
            err0 = None
        except Exception as exc:  # the whole protein fails: every record gets the error
            modeller, setup, err0 = None, 0.0, f"{type(exc).__name__}: {exc}"
        for _, r in rows_p.iterrows():
            row = {"record": r.record, "pdb": pdb, "mutant": r.mutant, "ddg_exp": r.ddg_exp, "status": "ok",
                   "error": "", "seconds": 0.0, "setup_seconds": setup}
            t1 = time.perf_counter()
            try:
                if err0:
                    raise MadraXError(err0)
                if r.mutant.startswith("!"):
                    raise MutationError(r.mutant[1:])
                res = modeller.mutant(r.mutant)
                for c, v in zip(CHANNELS, res["ddg_channels"]):
                    row[f"ddg_{c}"] = float(v)
            except Exception as exc:
                row["status"] = "error"
                row["error"] = f"{type(exc).__name__}: {exc}"
            row["seconds"] = time.perf_counter() - t1
            out.append(row)
            if bar is not None:
                bar.update(1)
        df = pd.DataFrame(out).reindex(columns=["record", "pdb", "mutant", "ddg_exp", "status", "error", "seconds",
                                               "setup_seconds"] + DDG_COLUMNS)
        df.to_csv(cache, mode="a", header=not cache.exists() or cache.stat().st_size == 0, index=False)
    if bar is not None:
        bar.close()
    return pd.read_csv(cache)


def metrics(pred: np.ndarray, obs: np.ndarray) -> Dict[str, float]:
    from scipy.stats import pearsonr, spearmanr

    pred = np.asarray(pred, float)
    obs = np.asarray(obs, float)
    return {"pearson_r": float(pearsonr(pred, obs)[0]), "spearman_rho": float(spearmanr(pred, obs)[0]),
            "rmse": float(np.sqrt(np.mean((pred - obs) ** 2))), "n": int(len(obs))}


def fit_nonneg_ridge(X: np.ndarray, y: np.ndarray, alpha: float = 1.0,
                     prior: Optional[np.ndarray] = None) -> Tuple[np.ndarray, float]:
    """min |y - b - X w|^2 + alpha n |w - prior|^2 subject to w >= 0 (intercept b free).

    The channels are all kcal/mol, so the penalty acts on the raw weights; ``prior`` defaults to
    the MadraX weights (all equal) times the least-squares scale of their sum, so a large alpha
    gives back the default weights (rescaled) and a small one the free non-negative fit."""
    from scipy.optimize import nnls

    n, k = X.shape
    mu_x = X.mean(0)
    mu_y = y.mean()
    Xc = X - mu_x
    if prior is None:
        tot = Xc.sum(1)
        scale = max(float(tot @ (y - mu_y)) / max(float(tot @ tot), 1e-12), 0.0)
        prior = np.full(k, scale)
    lam = math.sqrt(alpha * n)
    A = np.vstack([Xc, lam * np.eye(k)])
    rhs = np.concatenate([y - mu_y, lam * np.asarray(prior, float)])
    w, _ = nnls(A, rhs)
    return w, float(mu_y - mu_x @ w)


def protein_folds(groups: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Fold index of every row: the distinct groups (proteins) shuffled with ``seed`` and dealt
    round-robin into ``n_folds`` folds, so no protein is in two folds."""
    uniq = np.array(sorted(set(groups)))
    np.random.default_rng(seed).shuffle(uniq)
    fold_of = {g: i % n_folds for i, g in enumerate(uniq)}
    return np.array([fold_of[g] for g in groups])


def grouped_cv(X: np.ndarray, y: np.ndarray, groups: np.ndarray, alpha: float, n_folds: int = 5, seed: int = 0) -> np.ndarray:
    """Out-of-fold predictions, folds grouped by protein (no protein in training and validation)."""
    folds = protein_folds(groups, n_folds, seed)
    pred = np.zeros_like(y)
    for f in range(n_folds):
        tr = folds != f
        w, b = fit_nonneg_ridge(X[tr], y[tr], alpha)
        pred[~tr] = b + X[~tr] @ w
    return pred


def calibrate(table: pd.DataFrame, *, alphas=(0.001, 0.01, 0.1, 1.0, 10.0), n_folds: int = 5, seed: int = 0,
              clip: float = 50.0) -> dict:
    """Grouped-CV evaluation of default and calibrated weights and the final fit on all rows.

    Rows with ``status != ok`` are skipped (counted by reason).  The ridge strength is chosen by an
    inner grouped CV on the training folds only (nested), so the reported CV numbers are not tuned
    on their validation proteins."""
    ok = table[table["status"] == "ok"].copy()
    skipped = table[table["status"] != "ok"]
    X = ok[DDG_COLUMNS].to_numpy(float)
    # a few models with a large clash term would dominate a least-squares fit: features clipped
    X = np.clip(X, -clip, clip)
    y = ok["ddg_exp"].to_numpy(float)
    g = ok["pdb"].to_numpy()
    default = X.sum(1)

    def choose_alpha(Xt, yt, gt):
        best = None
        for a in alphas:
            p = grouped_cv(Xt, yt, gt, a, n_folds=min(n_folds, len(set(gt))), seed=seed + 1)
            r = float(np.corrcoef(p, yt)[0, 1])
            if best is None or r > best[1]:
                best = (a, r)
        return best[0]

    folds = protein_folds(g, n_folds, seed)
    pred = np.zeros_like(y)
    pred_scaled = np.zeros_like(y)
    chosen = []
    for f in range(n_folds):
        tr = folds != f
        a = choose_alpha(X[tr], y[tr], g[tr])
        chosen.append(a)
        w, b = fit_nonneg_ridge(X[tr], y[tr], a)
        pred[~tr] = b + X[~tr] @ w
        # default weights with only a scale and offset fitted (the fairest "default" for RMSE)
        A = np.vstack([default[tr], np.ones(tr.sum())]).T
        s, o = np.linalg.lstsq(A, y[tr], rcond=None)[0]
        pred_scaled[~tr] = o + s * default[~tr]
    alpha = choose_alpha(X, y, g)
    w, b = fit_nonneg_ridge(X, y, alpha)
    reasons: Dict[str, int] = {}
    for e in skipped["error"].astype(str):
        key = e.split(":")[0] if e.startswith(("MutationError", "StructureError")) else e[:60]
        reasons[key] = reasons.get(key, 0) + 1
    return {
        "weights": {c: float(v) for c, v in zip(CHANNELS, w)},
        "intercept": b,
        "alpha": alpha,
        "feature_clip_kcal": clip,
        "cv": {"folds": n_folds, "grouped_by": "protein (PDB id)", "seed": seed, "alphas_chosen": chosen,
               "default_madrax": metrics(default, y), "default_madrax_scaled": metrics(pred_scaled, y),
               "calibrated": metrics(pred, y)},
        "fit_all": metrics(b + X @ w, y),
        "n_used": int(len(ok)), "n_proteins": int(len(set(g))), "n_skipped": int(len(skipped)),
        "skipped": {str(r.record): f"{r.mutant}: {r.error}" for r in skipped.itertuples()},
        "skipped_reasons": reasons,
    }


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m openmm_madrax.ddg",
                                     description="Calibrate the ΔΔG channel weights on the Guerois set.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("calibrate", help="compute per-channel ΔΔGs (cached) and fit weights with grouped CV")
    c.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "ddg_train"),
                   help="folder with guerois.csv and pdbs/ (default ../shared/data/ddg_train)")
    c.add_argument("--cache", default="benchmarks/out/guerois_channels.csv",
                   help="per-mutation channel ΔΔG cache (appended; rerun skips done records)")
    c.add_argument("--out", default=str(CALIBRATED_WEIGHTS), help="weights JSON to write")
    c.add_argument("--protocol", choices=["default", "fast"], default="default")
    c.add_argument("--limit-proteins", type=int, default=None, help="only the first N proteins (testing)")
    c.add_argument("--fit-only", action="store_true", help="do not compute; fit on the cache as it is")
    c.add_argument("--folds", type=int, default=5)
    c.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    protocol = Protocol.fast() if args.protocol == "fast" else Protocol()
    if args.fit_only:
        table = pd.read_csv(args.cache)
    else:
        table = compute_channels(args.data, args.cache, protocol=protocol, limit_proteins=args.limit_proteins,
                                 threads=args.threads)
    table = table.drop_duplicates("record", keep="last")
    result = calibrate(table, n_folds=args.folds)
    result["protocol"] = {"name": args.protocol, **asdict(protocol)}
    result["data"] = "guerois.csv (Guerois et al. 2002, PMID 12079393; DDG > 0 destabilising)"
    result["command"] = f"python -m openmm_madrax.ddg calibrate --protocol {args.protocol} --cache {args.cache}"
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    cv = result["cv"]
    for k in ("default_madrax", "default_madrax_scaled", "calibrated"):
        m = cv[k]
        print(f"{k:24s} r={m['pearson_r']:.3f} rho={m['spearman_rho']:.3f} rmse={m['rmse']:.2f} n={m['n']}")
    print(f"used {result['n_used']} mutations on {result['n_proteins']} proteins; skipped {result['n_skipped']}: "
          f"{result['skipped_reasons']}")
    print(f"weights -> {args.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
