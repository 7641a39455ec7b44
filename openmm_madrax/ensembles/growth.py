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

from .builder import BOND_C_O as BOND_C_O_
from .builder import ChainBuilder
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
    resamples: int = 0  # population resamplings of the Rosenbluth growth
    window_growths: int = 0
    per_block_attempts: list = field(default_factory=list)


class ChainGrower:
    """Draws torsions for a sequence and grows self-avoiding conformers."""

    def __init__(self, builder: ChainBuilder, sampler: TorsionSampler, allow_cis: bool = True,
                 contact_polar: float = CONTACT_POLAR, contact_other: float = CONTACT_OTHER,
                 fixed: Optional["FixedParts"] = None):
        self.b = builder
        self.fixed = fixed
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
        self._pol_nca = torch.tensor([True, False], device=dev)
        self._bb_nca = torch.tensor([True, True], device=dev)
        self.cp = float(contact_polar)
        self.co = float(contact_other)
        L = len(top.resnames)
        dom = np.full(L, -1, np.int64)
        self.domain_of_start = {}
        if fixed is not None:
            for k, (a, b) in enumerate(fixed.domains):
                dom[a:b + 1] = k
                self.domain_of_start[a] = (k, a, b)
        self.res_domain = torch.as_tensor(dom, device=dev)
        self.domain_np = dom
        # growth steps: one flexible residue, or a whole kept domain
        steps = []
        i = 0
        while i < L:
            if i in self.domain_of_start:
                b_ = self.domain_of_start[i][2]
                steps.append((i, b_ + 1))
                i = b_ + 1
            else:
                steps.append((i, i + 1))
                i += 1
        self.steps = steps

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
        xyz = X[rows.view(-1, 1, 1), ra.clamp(min=0).unsqueeze(0)]  # (m, k, A, 3)
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
        if self.fixed is not None:  # contacts inside a kept domain are its own, not tested
            di = self.res_domain[start:stop].view(1, -1, 1)
            dj = self.res_domain[:stop].view(1, 1, -1)
            near = near & ~((di == dj) & (di >= 0))
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
    # ------------------------------------------------------------------------------------------
    def _place(self, X: Tensor, rows: Tensor, start: int, stop: int, phi, psi, omega, chi) -> None:
        """Build residues start..stop-1 (flexible runs by NeRF, kept domains as rigid bodies)."""
        b = self.b
        i = start
        while i < stop:
            if i in self.domain_of_start:
                _, a, e = self.domain_of_start[i]
                self.fixed.place(b, X, rows, a, e, phi, psi, omega)
                i = e + 1
                continue
            j = i
            while j < stop and j not in self.domain_of_start:
                j += 1
            if i == 0:
                b.first_residue(X, rows)
                b.oxygens(X, rows, 0, 1, psi)
                b.side_chains(X, rows, 0, 1, chi)
                if j > 1:
                    b.backbone(X, rows, 1, j, phi, psi, omega)
                    b.side_chains(X, rows, 1, j, chi)
            else:
                b.backbone(X, rows, i, j, phi, psi, omega)
                b.side_chains(X, rows, i, j, chi)
            i = j

    def _window_start(self, w: int, s: int) -> int:
        """Move a re-draw window start out of kept domains (to the domain start, or past an
        N-terminal domain, which never moves)."""
        w = max(1, w)
        dom = self.domain_np
        while w < s and dom[w] >= 0 and (w == 0 or dom[w - 1] == dom[w]):
            a = int(np.nonzero(dom == dom[w])[0][0])
            if a == 0:
                return int(np.nonzero(dom == dom[w])[0][-1]) + 1
            w = a
        return min(w, s)

    def grow(self, rng: np.random.Generator, n: int, candidates: int = 8, tries_per_window: int = 2,
             window_step: int = 2, max_tries: int = 8, stats: Optional[GrowthStats] = None,
             progress: bool = False, block: int = 4, block_rows: int = 32):
        """n self-avoiding conformers: (coordinates (n, N, 3) tensor, Torsions).

        The chain grows one residue (or one kept domain) at a time for all conformers.  A
        conformer whose new residue makes a contact tries ``candidates`` re-draws at once: when
        only the new side chain (beyond CB) is involved, half of them re-draw its chis and half the
        backbone window; otherwise all re-draw the torsions of a window ending at the new residue
        (first the residue and its predecessor, whose psi places it; ``window_step`` residues more
        every ``tries_per_window`` rounds).  The first candidate without contact is kept.  A
        conformer still stuck after ``max_tries`` rounds continues as a copy of one that got past
        the residue (``GrowthStats.clones``).

        Few conformers (n < ``block_rows`` / 2): ``block`` residues are first tried at once with
        block_rows // n candidates per conformer (the first candidate without contact in the whole
        block is kept); conformers without one fall back to the residue-by-residue growth.  This
        only saves Python overhead (long chains, a few conformers)."""
        b = self.b
        L = b.n_residues
        dev = b.device
        tor = self.draw(rng, n)
        if self.fixed is not None:
            self.fixed.restore(tor, slice(None), 0, L)
        phi, psi, omega, chi = self._tensors(tor)
        X = b.empty(n)
        rows = torch.arange(n, device=dev)
        cen = torch.zeros((n, L, 3), dtype=b.dtype, device=dev)
        rad = torch.zeros((n, L), dtype=b.dtype, device=dev)
        stats = stats if stats is not None else GrowthStats()
        state = (X, cen, rad, phi, psi, omega, chi)
        s0, e0 = self.steps[0]
        self._place(X, rows, 0, e0, phi, psi, omega, chi)
        cen[:, 0:e0], rad[:, 0:e0] = self.centroids(X, rows, 0, e0)
        steps = self.steps[1:]
        kb = min(8, block_rows // n) if (block > 1 and n * 2 <= block_rows) else 0
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(steps), desc=f"growing {n} chains", unit="res", leave=False)
        i = 0
        while i < len(steps):
            k = 0
            if kb:
                while k < block and i + k < len(steps) and steps[i + k][1] == steps[i + k][0] + 1:
                    k += 1
            if k >= 2:
                failed = self._try_block(state, rows, steps[i][0], steps[i + k - 1][1], kb, rng)
                for s, e in steps[i:i + k]:
                    if failed.numel():
                        self._grow_step(state, failed, s, e, rng, candidates, tries_per_window, window_step,
                                        max_tries, stats, donors=rows)
                    stats.blocks += 1
                i += k
                if bar is not None:
                    bar.update(k)
                continue
            s, e = steps[i]
            self._grow_step(state, rows, s, e, rng, candidates, tries_per_window, window_step, max_tries, stats,
                            donors=rows)
            stats.blocks += 1
            i += 1
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        out = Torsions(phi.cpu().numpy(), psi.cpu().numpy(), omega.cpu().numpy(), chi.cpu().numpy())
        return X, out

    def _try_block(self, state, rows: Tensor, s: int, e: int, kb: int, rng) -> Tensor:
        """Residues s..e-1 at once with kb candidates per conformer; returns the rows that found
        no candidate without contact (their residues s..e-1 are left to the per-residue growth)."""
        b = self.b
        dev = b.device
        f = lambda x: torch.as_tensor(x, dtype=b.dtype, device=dev)  # noqa: E731
        m = int(rows.numel())
        cand = _expand(state, rows, kb)
        _, _, _, pc, qc, oc, hc = cand
        t = self.draw(rng, m * kb, s, e)
        if self.fixed is not None:
            self.fixed.restore(t, slice(None), s, e)
        pc[:, s:e], qc[:, s:e], oc[:, s:e], hc[:, s:e] = f(t.phi), f(t.psi), f(t.omega), f(t.chi)
        success, src = self._settle(cand, m, kb, s, e)
        _copy_rows(state, rows[success], cand, src)
        return rows[~success]

    def _settle(self, cand, m: int, k: int, s: int, e: int):
        """Place residues s..e-1 of the ``m * k`` candidate rows ``cand`` (k per conformer) and pick,
        per conformer, the first candidate without contact: returns (success (m,), the picked
        candidate rows of the successful conformers)."""
        Xc, cc, rc, pc, qc, oc, hc = cand
        crow = torch.arange(m * k, device=Xc.device)
        self._place(Xc, crow, s, e, pc, qc, oc, hc)
        cc[:, s:e], rc[:, s:e] = self.centroids(Xc, crow, s, e)
        bad_c, _ = self.clashes(Xc, crow, s, e, cc, rc)
        ok = (~bad_c).view(m, k)
        success = ok.any(1)
        pick = torch.arange(m, device=Xc.device) * k + torch.argmax(ok.to(torch.int8), dim=1)
        return success, pick[success]

    def _grow_step(self, state, active: Tensor, s: int, e: int, rng, candidates: int, tries_per_window: int,
                   window_step: int, max_tries: int, stats: GrowthStats, donors: Tensor) -> None:
        """Add residues s..e-1 (one flexible residue or one kept domain) to the ``active`` rows."""
        X, cen, rad, phi, psi, omega, chi = state
        b = self.b
        dev = b.device
        K = max(1, int(candidates))
        f = lambda x: torch.as_tensor(x, dtype=b.dtype, device=dev)  # noqa: E731
        self._place(X, active, s, e, phi[active], psi[active], omega[active], chi[active])
        cen[active, s:e], rad[active, s:e] = self.centroids(X, active, s, e)
        bad, hard = self.clashes(X, active, s, e, cen, rad)
        pending = active[bad]
        soft = (~hard[bad]).cpu().numpy() & (e == s + 1)
        attempt = 1
        while pending.numel():
            stats.redraws += int(pending.numel())
            if attempt > max_tries:
                done = donors[~torch.isin(donors, pending)]
                if done.numel() == 0:
                    stats.unresolved += int(pending.numel())
                    break
                # prune and enrich: a conformer stuck at this residue continues as a copy of
                # one that got past it (the copies diverge from the next residue on)
                donor = done[torch.as_tensor(rng.integers(0, done.numel(), pending.numel()), device=dev)]
                _copy_rows(state, pending, state, donor)
                stats.clones += int(pending.numel())
                break
            m = int(pending.numel())
            back = 1 + window_step * ((attempt - 1) // tries_per_window)
            win = self._window_start(s - back, s)
            if back > 1:
                stats.window_growths += m
            cand = _expand(state, pending, K)
            _, _, _, pc, qc, oc, hc = cand
            t = self.draw(rng, m * K, win, e)
            if self.fixed is not None:
                self.fixed.restore(t, slice(None), win, e)
            full = np.ones(m * K, bool)
            if attempt == 1:  # soft contacts: half of the candidates only re-draw the new chis
                full = ~(np.repeat(soft, K) & (np.arange(m * K) % K < K // 2))
            sel = torch.as_tensor(np.nonzero(full)[0], device=dev)
            pc[sel, win:e] = f(t.phi[full])
            qc[sel, win:e] = f(t.psi[full])
            oc[sel, win:e] = f(t.omega[full])
            hc[sel, win:e] = f(t.chi[full])
            if (~full).any():
                sel_sc = torch.as_tensor(np.nonzero(~full)[0], device=dev)
                hc[sel_sc, s:s + 1] = f(t.chi[~full][:, -1:])
            success, src = self._settle(cand, m, K, win, e)
            _copy_rows(state, pending[success], cand, src)
            pending = pending[~success]
            soft = soft[(~success).cpu().numpy()]
            attempt += 1
        stats.per_block_attempts.append(attempt)


    # ------------------------------------------------------------------------------------------
    def _residue_candidates(self, X: Tensor, parent: Tensor, s: int, phi_c: Tensor, psi_c: Tensor, chi_c: Tensor,
                            psi_prev: Tensor, omega_prev: Tensor) -> Tensor:
        """Coordinates (c, A, 3) of residue s's atoms (builder order) for candidate torsions, placed
        on the already built residue s-1 of rows ``parent``; A = the residue's atom count."""
        from .builder import place, ideal_side_chain

        b = self.b
        top = b.top
        t0, t1 = int(top.res_start[s]), int(top.res_start[s + 1])
        names = top.atom_names[t0:t1]
        pN = X[parent, int(top.idx_N[s - 1])]
        pA = X[parent, int(top.idx_CA[s - 1])]
        pC = X[parent, int(top.idx_C[s - 1])]
        pos = {}
        pos["N"] = place(pN, pA, pC, b.b_cn[s], b.a_cacn[s], psi_prev)
        pos["CA"] = place(pA, pC, pos["N"], b.b_nca[s], b.a_cnca[s], omega_prev)
        pos["C"] = place(pC, pos["N"], pos["CA"], b.b_cac[s], b.a_ncac[s], phi_c)
        pos["O"] = place(pos["N"], pos["CA"], pos["C"], BOND_C_O_, b.a_caco[s], psi_c + np.pi)
        if "OXT" in names:
            pos["OXT"] = place(pos["N"], pos["CA"], pos["C"], BOND_C_O_, b.a_cacn[s], psi_c)
        for name, a, bb, c, bond, ang, dih, ci, off in ideal_side_chain(top.resnames[s]):
            if ci >= 0:
                val = chi_c[:, ci]
                tors = torch.where(torch.isfinite(val), torch.nan_to_num(val) + off, torch.full_like(val, dih))
            else:
                tors = torch.full_like(phi_c, dih)
            pos[name] = place(pos[a], pos[bb], pos[c], bond, ang, tors)
        return torch.stack([pos[nm] for nm in names], 1)

    def _next_n_ca(self, atoms: Tensor, s: int, psi_c: Tensor, om_c: Tensor) -> Tensor:
        """(c, 2, 3) N and CA of residue s+1 for candidate atoms of residue s."""
        from .builder import place

        b = self.b
        top = b.top
        names = top.atom_names[int(top.res_start[s]):int(top.res_start[s + 1])]
        n_, a_, c_ = (atoms[:, names.index(k)] for k in ("N", "CA", "C"))
        n1 = place(n_, a_, c_, b.b_cn[s + 1], b.a_cacn[s + 1], psi_c)
        a1 = place(a_, c_, n1, b.b_nca[s + 1], b.a_cnca[s + 1], om_c)
        return torch.stack([n1, a1], 1)

    def _candidate_contacts(self, X: Tensor, parent: Tensor, r: int, atoms: Tensor, polar: Tensor, backbone: Tensor,
                            cen: Tensor, rad: Tensor, upto: int) -> Tensor:
        """(c,) bool: candidate atoms (c, A, 3) belonging to residue r come closer than the contact
        distances to an atom of residues 0..upto-1 (and at most r-2) of their parent row
        (residue-level prefilter, then atom pairs).  ``polar``/``backbone``: (A,) flags."""
        c = atoms.shape[0]
        dev = atoms.device
        out = torch.zeros(c, dtype=torch.bool, device=dev)
        last = min(upto, r - 1)
        if last < 1:
            return out
        A = atoms.shape[1]
        cen_c = atoms.mean(1)  # (c, 3)
        rad_c = torch.linalg.norm(atoms - cen_c.unsqueeze(1), dim=-1).amax(1)
        d = torch.cdist(cen_c.unsqueeze(1), cen[parent, :last]).squeeze(1)  # (c, last)
        near = d < rad_c.unsqueeze(1) + rad[parent, :last] + self.co
        k, j = torch.nonzero(near, as_tuple=True)
        if k.numel() == 0:
            return out
        aj = self.res_atoms[j]  # (T, MAX)
        xj = X[parent[k].unsqueeze(1), aj.clamp(min=0)]  # (T, MAX, 3)
        dd = torch.cdist(atoms[k], xj)  # (T, A, MAX)
        pol = polar.view(1, -1, 1) & self.res_polar[j].unsqueeze(1)
        thr = torch.where(pol, self.cp, self.co)
        ok = self.valid[j].unsqueeze(1).expand(-1, A, -1)
        bb2 = ((r - j) == 2).view(-1, 1, 1) & backbone.view(1, -1, 1) & self.res_bb[j].unsqueeze(1)
        hit = ((dd < thr) & ok & ~bb2).flatten(1).any(1)
        out.index_put_((k,), hit, accumulate=True)
        return out

    def grow_smc(self, rng: np.random.Generator, n: int, candidates: int = 8, resample_ess: float = 0.3,
                 stats: Optional[GrowthStats] = None, progress: bool = False):
        """n self-avoiding conformers by Rosenbluth growth with resampling (sequential Monte Carlo).

        At every residue each conformer draws ``candidates`` torsion sets from the densities, keeps
        one of those without contact uniformly at random and multiplies its weight by (number
        without contact) / candidates -- the Rosenbluth factor that makes the weighted conformers
        samples of prod p(torsions) restricted to self-avoiding chains (plain rejection growth is
        biased towards compact chains).  A conformer without any candidate (weight 0) is replaced by
        a copy of a live one drawn in proportion to the weights, which shares the donor's weight
        (pruning and enrichment, PERM).  When the effective sample size of the weights falls below
        ``resample_ess`` x n the population is resampled (systematic) and the weights reset.
        Returns (coordinates, Torsions, log weights (n,))."""
        from .weights import systematic_resample

        b = self.b
        L = b.n_residues
        dev = b.device
        K = max(1, int(candidates))
        stats = stats if stats is not None else GrowthStats()
        tor = self.draw(rng, n)
        phi, psi, omega, chi = self._tensors(tor)
        f = lambda x: torch.as_tensor(x, dtype=b.dtype, device=dev)  # noqa: E731
        X = b.empty(n)
        rows = torch.arange(n, device=dev)
        cen = torch.zeros((n, L, 3), dtype=b.dtype, device=dev)
        rad = torch.zeros((n, L), dtype=b.dtype, device=dev)
        self._place(X, rows, 0, 1, phi, psi, omega, chi)
        cen[:, 0:1], rad[:, 0:1] = self.centroids(X, rows, 0, 1)
        logw = np.zeros(n)
        parent = rows.repeat_interleave(K)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=L - 1, desc=f"growing {n} chains", unit="res", leave=False)
        for s in range(1, L):
            t = self.draw(rng, n * K, s, s + 1)
            phi_c, psi_c, om_c = f(t.phi[:, 0]), f(t.psi[:, 0]), f(t.omega[:, 0])
            chi_c = f(t.chi[:, 0])
            atoms = self._residue_candidates(X, parent, s, phi_c, psi_c, chi_c, psi[parent, s - 1], omega[parent, s - 1])
            A = atoms.shape[1]
            bad = self._candidate_contacts(X, parent, s, atoms, self.res_polar[s, :A], self.res_bb[s, :A], cen, rad, s)
            if s + 1 < L:
                # the next residue's N and CA are fixed by this candidate's psi and omega: test them
                # now, so that no conformer is left with a residue that has no possible placement
                nxt = self._next_n_ca(atoms, s, psi_c, om_c)
                bad |= self._candidate_contacts(X, parent, s + 1, nxt, self._pol_nca, self._bb_nca, cen, rad, s)
            bad = bad.view(n, K)
            ok = ~bad
            m = ok.sum(1).cpu().numpy()
            stats.redraws += int(bad.sum())
            with np.errstate(divide="ignore"):
                logw += np.log(m / K)
            key = torch.as_tensor(rng.random((n, K)), device=dev) + ok.to(b.dtype)  # ok candidates score > 1
            pick = rows * K + torch.argmax(key, dim=1)
            t0_, t1_ = int(b.top.res_start[s]), int(b.top.res_start[s + 1])
            X[:, t0_:t1_] = atoms[pick]
            phi[:, s], psi[:, s], omega[:, s], chi[:, s] = phi_c[pick], psi_c[pick], om_c[pick], chi_c[pick]
            cen[:, s:s + 1], rad[:, s:s + 1] = self.centroids(X, rows, s, s + 1)
            stats.blocks += 1
            dead = np.nonzero(m == 0)[0]
            stats.unresolved += len(dead)
            finite = np.isfinite(logw)
            if not finite.any():
                raise RuntimeError(f"chain growth: every conformer is stuck at residue {s + 1}")
            if len(dead):
                # prune and enrich (PERM): a dead conformer is replaced by a copy of a live one drawn
                # in proportion to the weights; each donor's weight is split among its copies
                live = np.nonzero(finite)[0]
                wl = np.exp(logw[live] - logw[live].max())
                donors = live[systematic_resample(wl / wl.sum(), len(dead), rng)]
                uniq, counts = np.unique(donors, return_counts=True)
                logw[uniq] -= np.log1p(counts)
                logw[dead] = logw[donors]
                di, dd = torch.as_tensor(dead, device=dev), torch.as_tensor(donors, device=dev)
                X[di], cen[di], rad[di] = X[dd], cen[dd], rad[dd]
                phi[di], psi[di], omega[di], chi[di] = phi[dd], psi[dd], omega[dd], chi[dd]
                stats.clones += len(dead)
            w = np.exp(logw - logw.max())
            ess = w.sum() ** 2 / (w * w).sum()
            if ess < resample_ess * n and s < L - 1:
                idx = torch.as_tensor(systematic_resample(w / w.sum(), n, rng), device=dev)
                X, cen, rad = X[idx], cen[idx], rad[idx]
                phi, psi, omega, chi = phi[idx], psi[idx], omega[idx], chi[idx]
                logw = np.zeros(n)
                stats.resamples += 1
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        out = Torsions(phi.cpu().numpy(), psi.cpu().numpy(), omega.cpu().numpy(), chi.cpu().numpy())
        return X, out, logw


class FixedParts:
    """Kept (folded) domains of a chain: residue ranges placed as rigid bodies from a structure.

    ``ref`` (N, 3): reference coordinates in the builder's atom order (only the atoms of kept
    residues are used); ``domains``: inclusive 0-based residue ranges; ``phi``/``psi``/``chi``
    (L,), (L,), (L, 5): the structure's torsions (radians), restored in every draw for kept
    residues.  A domain at the N terminus keeps its structure frame (centred); any other domain
    is attached to the grown chain by its first residue's N-CA-C frame (the peptide bond to it is
    ideal, its own phi the structure's; the linker's psi and omega before it are drawn)."""

    def __init__(self, ref: np.ndarray, domains, phi: np.ndarray, psi: np.ndarray, chi: np.ndarray, top):
        self.ref = np.asarray(ref, np.float64)
        self.domains = [(int(a), int(b)) for a, b in domains]
        self.phi = np.asarray(phi, np.float64)
        self.psi = np.asarray(psi, np.float64)
        self.chi = np.asarray(chi, np.float64)
        self.top = top
        self.mask = np.zeros(len(top.resnames), bool)
        for a, b in self.domains:
            self.mask[a:b + 1] = True
        self._atoms = {}
        for a, b in self.domains:
            self._atoms[a] = np.arange(top.res_start[a], top.res_start[b + 1])

    def restore(self, t: Torsions, rows, start: int, stop: int) -> None:
        """Overwrite the drawn torsions of kept residues in columns start..stop-1 of ``t`` (whose
        arrays cover exactly that range, or the whole chain when start == 0 and stop == L)."""
        m = self.mask[start:stop]
        if not m.any():
            return
        cols = np.nonzero(m)[0]
        t.phi[:, cols] = self.phi[start:stop][cols]
        t.psi[:, cols] = self.psi[start:stop][cols]
        t.chi[:, cols] = self.chi[start:stop][cols]

    def place(self, b: ChainBuilder, X: Tensor, rows: Tensor, a: int, e: int, phi, psi, omega) -> None:
        from .builder import place

        top = self.top
        idx = torch.as_tensor(self._atoms[a], device=X.device)
        ref = torch.as_tensor(self.ref, dtype=X.dtype, device=X.device)
        dom = ref[idx]
        if a == 0:
            X[rows.unsqueeze(1), idx.unsqueeze(0)] = (dom - dom.mean(0)).unsqueeze(0).expand(rows.shape[0], -1, -1)
            return
        pN, pA, pC = (X[rows, int(top.idx_N[a - 1])], X[rows, int(top.idx_CA[a - 1])], X[rows, int(top.idx_C[a - 1])])
        n_a = place(pN, pA, pC, b.b_cn[a], b.a_cacn[a], psi[:, a - 1])
        ca_a = place(pA, pC, n_a, b.b_nca[a], b.a_cnca[a], omega[:, a - 1])
        c_a = place(pC, n_a, ca_a, b.b_cac[a], b.a_ncac[a], phi[:, a])

        def frame(n_, ca_, c_):
            e1 = ca_ - n_
            e1 = e1 / torch.linalg.norm(e1, dim=-1, keepdim=True)
            v = c_ - ca_
            e2 = v - (v * e1).sum(-1, keepdim=True) * e1
            e2 = e2 / torch.linalg.norm(e2, dim=-1, keepdim=True)
            return torch.stack([e1, e2, torch.cross(e1, e2, dim=-1)], -1)  # columns e1 e2 e3

        Fb = frame(n_a, ca_a, c_a)  # (m, 3, 3)
        rN, rA, rC = (ref[int(top.idx_N[a])], ref[int(top.idx_CA[a])], ref[int(top.idx_C[a])])
        Fr = frame(rN, rA, rC)  # (3, 3)
        local = (dom - rN) @ Fr  # (k, 3)
        X[rows.unsqueeze(1), idx.unsqueeze(0)] = n_a.unsqueeze(1) + torch.einsum("kj,mij->mki", local, Fb)


def _expand(state, rows: Tensor, k: int) -> tuple:
    """Candidate copies of a growth state (X, centroids, radii, phi, psi, omega, chi): each of
    ``rows`` repeated ``k`` times (the torsions cloned: they are redrawn in place)."""
    rep = rows.repeat_interleave(k)
    X, cen, rad, phi, psi, omega, chi = state
    return X[rep], cen[rep], rad[rep], phi[rep].clone(), psi[rep].clone(), omega[rep].clone(), chi[rep].clone()


def _copy_rows(state, dst: Tensor, source, src: Tensor) -> None:
    """Rows ``src`` of the state tuple ``source`` into rows ``dst`` of ``state``, tensor by tensor."""
    if dst.numel():
        for a, b in zip(state, source):
            a[dst] = b[src]
