"""The mutant-building protocol: repair once, build the site, choose its rotamer, relax the shell,
score the whole structure (module doc of :mod:`openmm_madrax.ddg`)."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from .. import mutate as mt
from ..energy import energy_module
from ..errors import MutationError
from ..structure import Structure, load

#: Verlet skin (A) of the energy modules used for relaxation (atoms move a little per evaluation)
RELAX_SKIN = 2.0


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
    module = energy_module(structure.with_coords(coords), burial=burial)
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
        module = energy_module(s, burial=p.burial, smooth=True, skin=RELAX_SKIN)
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
        sub, atoms = full.subset(env), full.atom_indices(env)
        pos_in_env = {k: n for n, k in enumerate(env)}
        module = energy_module(sub, burial=p.burial, smooth=True, skin=RELAX_SKIN)
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
                part = full.select_chains(list(g), coords=xyz)
                parts.append(_channel_sum(part, part.coords, p.burial))
            everything = "".join(self.partners)
            if set(everything) == {r.chain_id for r in full.residues}:
                cplx = out["channels"]
            else:  # chains in no partner group are left out of the binding energy
                sub = full.select_chains(list(everything), coords=xyz)
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
