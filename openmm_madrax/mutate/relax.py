"""Torsion-space side-chain relaxation (rotations about chi bonds, L-BFGS on the smooth energy)."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from .. import params
from ..residues import BACKBONE_OXT
from ..structure import Structure
from .geometry import chi_definitions


class TorsionRelaxer:
    """Rotate the side chains of ``residues`` about their chi bonds to lower an energy.

    Every chi (all defined chis, scored or not; not PRO, whose ring would open) gets one angle
    increment; increments are applied outermost chi first, so an inner rotation carries the outer
    atoms rigidly.  Bond lengths and bond angles never change."""

    def __init__(self, structure: Structure, residues: Sequence[int], dtype=torch.float64):
        at = params.atom_types()
        # per chi level: axis atoms b, c per entry, moving atoms with their entry, parameter per entry
        axis_b: List[List[int]] = [[] for _ in range(5)]
        axis_c: List[List[int]] = [[] for _ in range(5)]
        mov: List[List[int]] = [[] for _ in range(5)]
        mov_entry: List[List[int]] = [[] for _ in range(5)]
        param: List[List[int]] = [[] for _ in range(5)]
        #: (residue index in ``structure``, chi index) -> parameter index
        self.param_index: Dict[Tuple[int, int], int] = {}
        n_param = 0
        for k in sorted(set(int(r) for r in residues)):
            res = structure.residues[k]
            if res.resname == "PRO":
                continue
            idx = {structure.atom_names[a]: a for a in range(res.atom_start, res.atom_stop)}
            for ci, q in enumerate(chi_definitions(res.resname)):
                if not all(n in idx for n in q):
                    break
                lvl = int(at[(res.resname, q[2])]["level"])
                moving = [idx[n] for n in idx if n not in BACKBONE_OXT and int(at[(res.resname, n)]["level"]) > lvl]
                if not moving:
                    continue
                e = len(axis_b[ci])
                axis_b[ci].append(idx[q[1]])
                axis_c[ci].append(idx[q[2]])
                param[ci].append(n_param)
                self.param_index[(k, ci)] = n_param
                n_param += 1
                mov[ci].extend(moving)
                mov_entry[ci].extend([e] * len(moving))
        self.n_params = n_param
        self.levels = []
        for ci in range(4, -1, -1):  # outermost chi first
            if not axis_b[ci]:
                continue
            lt = lambda x: torch.as_tensor(x, dtype=torch.long)  # noqa: E731
            self.levels.append((lt(axis_b[ci]), lt(axis_c[ci]), lt(mov[ci]), lt(mov_entry[ci]), lt(param[ci])))
        self.dtype = dtype

    def apply(self, base: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        pos = base
        for b_idx, c_idx, m_idx, entry, pidx in self.levels:
            th = theta.index_select(0, pidx).index_select(0, entry)
            b = pos.index_select(0, b_idx).index_select(0, entry)
            c = pos.index_select(0, c_idx).index_select(0, entry)
            u = c - b
            u = u / torch.linalg.norm(u, dim=1, keepdim=True)
            v = pos.index_select(0, m_idx) - c
            cos = torch.cos(th).unsqueeze(1)
            sin = torch.sin(th).unsqueeze(1)
            rot = v * cos + torch.cross(u, v, dim=1) * sin + u * (u * v).sum(1, keepdim=True) * (1.0 - cos)
            pos = pos.index_copy(0, m_idx, rot + c)
        return pos

    def relax(self, module, coords: np.ndarray, max_eval: int = 30, theta0: Optional[np.ndarray] = None,
              tolerance: float = 1e-3) -> Tuple[np.ndarray, float]:
        """Minimise ``module(x).sum()`` over the chi increments; returns (coordinates, energy)."""
        base = torch.as_tensor(coords, dtype=self.dtype)
        if self.n_params == 0 or max_eval <= 0:
            with torch.no_grad():
                return coords.copy(), float(module(base).sum())
        theta = torch.zeros(self.n_params, dtype=self.dtype) if theta0 is None else \
            torch.as_tensor(theta0, dtype=self.dtype).clone()

        def fg(th: torch.Tensor) -> Tuple[float, torch.Tensor]:
            t = th.detach().requires_grad_(True)
            e = module(self.apply(base, t)).sum()
            (g,) = torch.autograd.grad(e, t)
            return float(e.detach()), g.detach()

        th, e = lbfgs(fg, theta, max_eval=max_eval, tolerance=tolerance)
        best = {"theta": th, "e": e}
        with torch.no_grad():
            out = self.apply(base, best["theta"]).numpy().copy()
        return out, best["e"]



def lbfgs(fg, x0: torch.Tensor, max_eval: int = 30, history: int = 10, tolerance: float = 1e-3,
          max_step: float = 0.35) -> Tuple[torch.Tensor, float]:
    """Minimise f with limited-memory BFGS and a backtracking (Armijo) line search.

    ``fg(x) -> (f, grad)``; at most ``max_eval`` evaluations; a step never moves a variable by
    more than ``max_step`` (radians here).  Returns the best point seen and its value.
    (A small self-contained optimiser: ``torch.optim`` pulls in ``torch._dynamo``, seconds of import.)"""
    x = x0.clone()
    f, g = fg(x)
    n_eval = 1
    best_x, best_f = x.clone(), f
    s_hist: List[torch.Tensor] = []
    y_hist: List[torch.Tensor] = []
    while n_eval < max_eval and float(g.abs().max()) > tolerance:
        # two-loop recursion
        q = g.clone()
        alphas = []
        for s_k, y_k in zip(reversed(s_hist), reversed(y_hist)):
            rho = 1.0 / float(y_k @ s_k)
            a = rho * float(s_k @ q)
            q -= a * y_k
            alphas.append((rho, a))
        if y_hist:
            q *= float(s_hist[-1] @ y_hist[-1]) / float(y_hist[-1] @ y_hist[-1])
        else:
            q *= 0.1 / max(float(g.abs().max()), 1e-12)  # first step: 0.1 rad for the steepest chi
        for (s_k, y_k), (rho, a) in zip(zip(s_hist, y_hist), reversed(alphas)):
            b = rho * float(y_k @ q)
            q += (a - b) * s_k
        d = -q
        slope = float(g @ d)
        if slope >= 0.0:  # not a descent direction: restart from steepest descent
            s_hist.clear()
            y_hist.clear()
            d = -g * (0.1 / max(float(g.abs().max()), 1e-12))
            slope = float(g @ d)
        big = float(d.abs().max())
        t = min(1.0, max_step / big) if big > 0 else 1.0
        accepted = False
        while n_eval < max_eval:
            x_new = x + t * d
            f_new, g_new = fg(x_new)
            n_eval += 1
            if f_new <= f + 1e-4 * t * slope:
                accepted = True
                break
            t *= 0.3
        if not accepted:
            break
        s_k = x_new - x
        y_k = g_new - g
        if float(s_k @ y_k) > 1e-10:
            s_hist.append(s_k)
            y_hist.append(y_k)
            if len(s_hist) > history:
                s_hist.pop(0)
                y_hist.pop(0)
        x, f, g = x_new, f_new, g_new
        if f < best_f:
            best_x, best_f = x.clone(), f
        if abs(float(t * slope)) < 1e-6:
            break
    return best_x, best_f
