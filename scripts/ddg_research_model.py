"""Research copy of the mutant-building protocol with extra knobs (issue 17); not the library."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence

import numpy as np
import torch

from openmm_madrax import ddg as D
from openmm_madrax.ddg import protocol as DP
from openmm_madrax import mutate as mt
from openmm_madrax.params import CHANNELS
from openmm_madrax.energy import energy_module


@dataclass
class XProtocol(D.Protocol):
    #: per-channel multipliers of the smooth energy used for rotamer choice and relaxation
    relax_scale: Dict[str, float] = field(default_factory=dict)
    #: burial mode of the smooth energy used for rotamer choice and relaxation (None: ``burial``)
    relax_burial: Optional[str] = None
    #: extra rotamers: chi1/chi2 of every library rotamer shifted by +-expand_chi degrees (0: none)
    expand_chi: float = 0.0


class Weighted(torch.nn.Module):
    def __init__(self, module, scale):
        super().__init__()
        self.module = module
        self.register_buffer("w", torch.as_tensor(scale, dtype=torch.float64))

    def forward(self, x):
        return self.module(x) * self.w


class XModeller(D.MutationModeller):
    def _energy(self, s):
        p = self.protocol
        mod = energy_module(s, burial=p.relax_burial or p.burial, smooth=True, skin=2.0)
        if p.relax_scale:
            w = np.array([p.relax_scale.get(c, 1.0) for c in CHANNELS])
            mod = Weighted(mod, w)
        return mod

    def _repair(self, s):
        p = self.protocol
        if not p.repair:
            return s.coords.copy()
        relaxer = mt.TorsionRelaxer(s, range(s.n_residues))
        xyz, _ = relaxer.relax(self._energy(s), s.coords, max_eval=p.repair_evals)
        return xyz

    def _candidates(self, t, wt_chis):
        p = self.protocol
        base = mt.candidate_rotamers(t, wt_chis, p.max_rotamers)
        if not p.expand_chi or not base or not base[0]:
            return base
        out = list(base)
        for c in base:
            for i in range(min(2, len(c))):
                for d in (-p.expand_chi, p.expand_chi):
                    e = list(c)
                    e[i] += d
                    out.append(tuple(e))
        return out

    def _model(self, sites: Sequence[int], targets: Sequence[str], repeat: int) -> dict:
        p = self.protocol
        s0, x0 = self.structure, self.wt_coords
        wt_chis = {k: mt.measure_chis(s0, k, x0) for k in sites}
        cands = {k: self._candidates(t, wt_chis[k]) for k, t in zip(sites, targets)}
        full = mt.mutant_structure(s0, {k: (t, cands[k][0]) for k, t in zip(sites, targets)}, coords=x0)
        env = DP._near_residues(s0, x0, sites, p.env_radius)
        shell = DP._near_residues(s0, x0, sites, p.shell_radius)
        sub, atoms = full.subset(env), full.atom_indices(env)
        pos_in_env = {k: n for n, k in enumerate(env)}
        module = self._energy(sub)
        xs = sub.coords.copy()
        diag = {}
        for k, t in zip(sites, targets):
            r = sub.residues[pos_in_env[k]]
            idx = {sub.atom_names[a]: a for a in range(r.atom_start, r.atom_stop)}
            bb = {n: xs[idx[n]] for n in ("N", "CA", "C")}
            if mt.n_chi(t) == 0 and t != "PRO":
                continue
            es = []
            trials = []
            for chis in cands[k]:
                sc = mt.build_side_chain(t, bb, chis)
                trial = xs.copy()
                for n, v in sc.items():
                    trial[idx[n]] = v
                with torch.no_grad():
                    es.append(float(module(torch.as_tensor(trial)).sum()))
                trials.append(trial)
            es = np.array(es)
            self._last_es = es
            xs = trials[int(np.argmin(es))]
            diag = {"n_cand": len(es), "cand_gap": float(np.sort(es)[1] - es.min()) if len(es) > 1 else 0.0,
                    "cand_e": " ".join(f"{v - es.min():.3f}" for v in es)}
        shell_sub = [pos_in_env[k] for k in shell]
        relaxer = mt.TorsionRelaxer(sub, shell_sub)
        theta0 = None
        if repeat > 0 and p.perturb_deg > 0 and relaxer.n_params:
            theta0 = self._perturbation(sub, relaxer, env, repeat)
        xs, _ = relaxer.relax(module, xs, max_eval=p.relax_evals, theta0=theta0)
        xyz = full.coords.copy()
        xyz[atoms] = xs
        out = {"structure": full, "coords": xyz, "channels": DP._channel_sum(full, xyz, p.burial), "diag": diag,
               "terms": {"site_entropy": DP.site_free_energy(es, p.site_entropy_kT) if diag else 0.0}}
        return out

    def mutant(self, mutant, repeat: int = 0) -> dict:
        out = super().mutant(mutant, repeat)
        d = {f"mut_{k}": v for k, v in out["mut"].get("diag", {}).items()}
        d.update({f"ref_{k}": v for k, v in out["ref"].get("diag", {}).items()})
        out["diagnostics"] = d
        return out
