"""Self-avoiding chain growth: torsions drawn from the fitted densities, blocks re-drawn on contact.

The chain grows in blocks of ``block`` residues for all conformers at once.  After a block is
built (backbone and side chains), its heavy atoms are compared with every atom built before
(residues two or more apart, including the block itself): a conformer whose block has any pair
closer than the contact distance (``CONTACT_POLAR`` for N/O-N/O pairs, which H-bond at 2.8-3.0 A,
``CONTACT_OTHER`` otherwise) draws new torsions for that block and tries again.  A conformer that
fails ``tries_per_window`` times in a row re-draws the previous block as well (the window grows
back towards the N terminus); after ``max_tries`` the block is kept as it is and the conformer is
counted in ``GrowthStats.unresolved``.

Pairs are found with a residue-level prefilter (centroid distance < radius_i + radius_j + the
contact distance) and then checked atom by atom, so the cost per block is proportional to the
number of residues in contact, not to the chain length squared.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch
from torch import Tensor

from .builder import MAX_ATOMS, ChainBuilder
from .sampling import TorsionSampler, backbone_classes, restype_index, PRO

#: contact distances (A): about the 0.5 % quantile of heavy-atom distances between residues two or
#: more apart in crystal structures of the torsion-fit corpus (N/O-N/O pairs: 2.47-2.59; other
#: pairs: 2.79-3.02; docs/ensembles.md)
CONTACT_POLAR = 2.5
CONTACT_OTHER = 2.9


@dataclass
class Torsions:
    """(n, L) phi, psi, omega and (n, L, 5) chi, radians (numpy)."""

    phi: np.ndarray
    psi: np.ndarray
    omega: np.ndarray
    chi: np.ndarray


@dataclass
class GrowthStats:
    blocks: int = 0
    redraws: int = 0  # block builds beyond the first, summed over conformers
    unresolved: int = 0  # conformers with a residue kept despite a contact
    clones: int = 0  # conformers stuck at a residue that continued as a copy of another
    window_growths: int = 0
    per_block_attempts: list = field(default_factory=list)


class ChainGrower:
    """Draws torsions for a sequence and grows self-avoiding conformers."""

    def __init__(self, builder: ChainBuilder, sampler: TorsionSampler, allow_cis: bool = True,
                 contact_polar: float = CONTACT_POLAR, contact_other: float = CONTACT_OTHER):
        self.b = builder
        self.s = sampler
        top = builder.top
        self.restype = restype_index(top.resnames)
        self.cls = backbone_classes(self.restype, sampler.pre_pro_class)
        self.next_pro = np.zeros(len(self.restype), bool)
        self.next_pro[:-1] = self.restype[1:] == PRO
        self.allow_cis = allow_cis
        dev = builder.device
        self.res_atoms = torch.as_tensor(top.res_atoms, device=dev)
        self.valid = self.res_atoms >= 0
        polar = torch.as_tensor(np.r_[top.polar, False], device=dev)
        bbm = torch.as_tensor(np.r_[[nm in ("N", "CA", "C", "O") for nm in top.atom_names], False], device=dev)
        self.res_bb = bbm[torch.where(self.valid, self.res_atoms, torch.full_like(self.res_atoms, top.n_atoms))]
        core = torch.as_tensor(np.r_[[nm in ("N", "CA", "C", "O", "CB", "OXT") for nm in top.atom_names], True],
                               device=dev)
        self.res_core = core[torch.where(self.valid, self.res_atoms, torch.full_like(self.res_atoms, top.n_atoms))]
        self.res_polar = polar[torch.where(self.valid, self.res_atoms, torch.full_like(self.res_atoms, top.n_atoms))]
        self.cp = float(contact_polar)
        self.co = float(contact_other)

    # ------------------------------------------------------------------------------------------
    def draw(self, rng: np.random.Generator, n: int, start: int = 0, stop: Optional[int] = None) -> Torsions:
        """Torsions of residues start..stop-1 for n conformers (arrays of width stop - start)."""
        stop = len(self.restype) if stop is None else stop
        cls = self.cls[start:stop]
        phi, psi = self.s.sample_phi_psi(rng, cls, n)
        omega = self.s.sample_omega(rng, cls, self.next_pro[start:stop], n, self.allow_cis)
        chi = self.s.sample_chi(rng, self.restype[start:stop], n)
        return Torsions(phi, psi, omega, chi)

    def _tensors(self, t: Torsions):
        f = lambda x: torch.as_tensor(x, dtype=self.b.dtype, device=self.b.device)  # noqa: E731
        return f(t.phi), f(t.psi), f(t.omega), f(t.chi)

    def build_free(self, rng: np.random.Generator, n: int):
        """Conformers without self-avoidance: (coordinates (n, N, 3), Torsions)."""
        t = self.draw(rng, n)
        return self.b.build(t.phi, t.psi, t.omega, t.chi), t

    # ------------------------------------------------------------------------------------------
    def centroids(self, X: Tensor, rows: Tensor, start: int, stop: int):
        ra = self.res_atoms[start:stop]
        va = self.valid[start:stop]
        xyz = X[rows][:, ra.clamp(min=0)]  # (m, k, A, 3)
        w = va.to(X.dtype).unsqueeze(0).unsqueeze(-1)
        cen = (xyz * w).sum(2) / w.sum(2)
        rad = (torch.linalg.norm(xyz - cen.unsqueeze(2), dim=-1) * va.to(X.dtype)).amax(-1)
        return cen, rad

    def clashes(self, X: Tensor, rows: Tensor, start: int, stop: int, cen: Tensor, rad: Tensor):
        """Contacts of residues start..stop-1 with residues 0..stop-1 at least two residues away.

        Returns two (len(rows),) bool tensors: any contact, and a contact that involves more than
        the side chain (beyond CB) of residue stop-1 (then re-drawing its chis cannot help)."""
        m = rows.shape[0]
        dev = X.device
        c_blk = cen[rows, start:stop]  # (m, k, 3)
        c_all = cen[rows, :stop]  # (m, e, 3)
        r_blk = rad[rows, start:stop]
        r_all = rad[rows, :stop]
        d = torch.cdist(c_blk, c_all)  # (m, k, e)
        near = d < (r_blk.unsqueeze(2) + r_all.unsqueeze(1) + self.co)
        ri = torch.arange(start, stop, device=dev).view(1, -1, 1)
        rj = torch.arange(0, stop, device=dev).view(1, 1, -1)
        near = near & ((ri - rj).abs() >= 2)
        # pairs inside the window are seen twice; keep i > j there
        near = near & ~((rj >= start) & (rj >= ri))
        b, i, j = torch.nonzero(near, as_tuple=True)
        out = torch.zeros(m, dtype=torch.bool, device=dev)
        hard = torch.zeros(m, dtype=torch.bool, device=dev)
        if b.numel() == 0:
            return out, hard
        i = i + start
        ai = self.res_atoms[i]
        aj = self.res_atoms[j]
        rr = rows[b]
        xi = X[rr.unsqueeze(1), ai.clamp(min=0)]  # (T, A, 3)
        xj = X[rr.unsqueeze(1), aj.clamp(min=0)]
        dd = torch.cdist(xi, xj)  # (T, A, A)
        pol = self.res_polar[i].unsqueeze(2) & self.res_polar[j].unsqueeze(1)
        thr = torch.where(pol, self.cp, self.co)
        ok = self.valid[i].unsqueeze(2) & self.valid[j].unsqueeze(1)
        # backbone pairs of residues i, i+2 (1-5 and 1-6 pairs across residue i+1) are decided by
        # that residue's (phi, psi), which the fitted density already restricts (C(i)-N(i+2) is
        # 2.9-3.0 A in a helix): not tested
        bb2 = ((i - j).abs() == 2).view(-1, 1, 1) & self.res_bb[i].unsqueeze(2) & self.res_bb[j].unsqueeze(1)
        hit = (dd < thr) & ok & ~bb2  # (T, A, A)
        # a hit is "soft" when its window atom is a side-chain atom beyond CB of the last residue
        soft_atom = ~self.res_core[i] & (i == stop - 1).unsqueeze(1)  # (T, A)
        any_hit = hit.flatten(1).any(1)
        hard_hit = (hit & ~soft_atom.unsqueeze(2)).flatten(1).any(1)
        out.index_put_((b,), any_hit, accumulate=True)
        hard.index_put_((b,), hard_hit, accumulate=True)
        return out, hard

    # ------------------------------------------------------------------------------------------
    def grow(self, rng: np.random.Generator, n: int, candidates: int = 8, tries_per_window: int = 2,
             window_step: int = 2, max_tries: int = 8, stats: Optional[GrowthStats] = None,
             progress: bool = False):
        """n self-avoiding conformers: (coordinates (n, N, 3) tensor, Torsions).

        The chain grows one residue at a time for all conformers.  A conformer whose new residue
        makes a contact tries ``candidates`` re-draws at once: when only the new side chain
        (beyond CB) is involved, half of them re-draw its chis and half the backbone window;
        otherwise all re-draw the torsions of a window ending at the new residue (first the
        residue and its predecessor, whose psi places it; ``window_step`` residues more every
        ``tries_per_window`` rounds).  The first candidate without contact is kept.  A conformer
        still stuck after ``max_tries`` rounds continues as a copy of one that got past the
        residue (``GrowthStats.clones``)."""
        b = self.b
        L = b.n_residues
        dev = b.device
        K = max(1, int(candidates))
        tor = self.draw(rng, n)
        phi, psi, omega, chi = self._tensors(tor)
        f = lambda x: torch.as_tensor(x, dtype=b.dtype, device=dev)  # noqa: E731
        X = b.empty(n)
        rows = torch.arange(n, device=dev)
        cen = torch.zeros((n, L, 3), dtype=b.dtype, device=dev)
        rad = torch.zeros((n, L), dtype=b.dtype, device=dev)
        stats = stats if stats is not None else GrowthStats()
        b.first_residue(X, rows)
        b.oxygens(X, rows, 0, 1, psi)
        b.side_chains(X, rows, 0, 1, chi)
        cen[:, 0:1], rad[:, 0:1] = self.centroids(X, rows, 0, 1)
        steps = range(1, L)
        if progress:
            from tqdm.auto import tqdm

            steps = tqdm(steps, desc=f"growing {n} chains", unit="res", leave=False)
        for s in steps:
            b.backbone(X, rows, s, s + 1, phi, psi, omega)
            b.side_chains(X, rows, s, s + 1, chi)
            cen[:, s:s + 1], rad[:, s:s + 1] = self.centroids(X, rows, s, s + 1)
            bad, hard = self.clashes(X, rows, s, s + 1, cen, rad)
            pending = rows[bad]
            soft = (~hard[bad]).cpu().numpy()
            attempt = 1
            while pending.numel():
                stats.redraws += int(pending.numel())
                if attempt > max_tries:
                    done = rows[~torch.isin(rows, pending)]
                    if done.numel() == 0:
                        stats.unresolved += int(pending.numel())
                        break
                    # prune and enrich: a conformer stuck at this residue continues as a copy of
                    # one that got past it (the copies diverge from the next residue on)
                    donor = done[torch.as_tensor(rng.integers(0, done.numel(), pending.numel()), device=dev)]
                    X[pending], cen[pending], rad[pending] = X[donor], cen[donor], rad[donor]
                    phi[pending], psi[pending], omega[pending], chi[pending] = \
                        phi[donor], psi[donor], omega[donor], chi[donor]
                    stats.clones += int(pending.numel())
                    break
                m = int(pending.numel())
                back = 1 + window_step * ((attempt - 1) // tries_per_window)
                win = max(1, s - back)
                if back > 1:
                    stats.window_growths += m
                rep = pending.repeat_interleave(K)
                Xc, cc, rc = X[rep], cen[rep], rad[rep]
                pc, qc, oc, hc = phi[rep].clone(), psi[rep].clone(), omega[rep].clone(), chi[rep].clone()
                t = self.draw(rng, m * K, win, s + 1)
                full = np.ones(m * K, bool)
                if attempt == 1:  # soft contacts: half of the candidates only re-draw the new chis
                    full = ~(np.repeat(soft, K) & (np.arange(m * K) % K < K // 2))
                sel = torch.as_tensor(np.nonzero(full)[0], device=dev)
                pc[sel, win:s + 1] = f(t.phi[full])
                qc[sel, win:s + 1] = f(t.psi[full])
                oc[sel, win:s + 1] = f(t.omega[full])
                hc[sel, win:s + 1] = f(t.chi[full])
                if (~full).any():
                    sel_sc = torch.as_tensor(np.nonzero(~full)[0], device=dev)
                    hc[sel_sc, s:s + 1] = f(t.chi[~full][:, -1:])
                crow = torch.arange(m * K, device=dev)
                b.backbone(Xc, crow, win, s + 1, pc, qc, oc)
                b.side_chains(Xc, crow, win, s + 1, hc)
                cc[:, win:s + 1], rc[:, win:s + 1] = self.centroids(Xc, crow, win, s + 1)
                bad_c, _ = self.clashes(Xc, crow, win, s + 1, cc, rc)
                ok = (~bad_c).view(m, K)
                success = ok.any(1)
                first = torch.argmax(ok.to(torch.int8), dim=1)
                pick = torch.arange(m, device=dev) * K + first
                src = pick[success]
                dst = pending[success]
                if dst.numel():
                    X[dst], cen[dst], rad[dst] = Xc[src], cc[src], rc[src]
                    phi[dst], psi[dst], omega[dst], chi[dst] = pc[src], qc[src], oc[src], hc[src]
                pending = pending[~success]
                soft = soft[(~success).cpu().numpy()]
                attempt += 1
            stats.blocks += 1
            stats.per_block_attempts.append(attempt)
        out = Torsions(phi.cpu().numpy(), psi.cpu().numpy(), omega.cpu().numpy(), chi.cpu().numpy())
        return X, out
