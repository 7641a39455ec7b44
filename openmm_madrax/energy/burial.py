"""Burial (physics spec section 4): atomic occupancy, facc, directional polar occupancy (cRP)."""
from __future__ import annotations

import math
from typing import Tuple

import torch
from torch import Tensor

from .geometry import acos_deg, safe_norm
from .smooth import gate_ge, gate_le, log1m, relu, smax_t, smin_t

GAUSS_DENOM = 24.5  # 2 sigma^2, sigma = 3.5 A (Stouten 1993 / FoldX)
OCC_CUTOFF = 6.0  # A: neighbours beyond this do not occupy
#: smooth mode switches the occupancy cutoff off over [6.0 - 0.5, 6.0 + 0.5] (half-width 0.5 A);
#: the list keeps pairs up to OCC_CUTOFF + SMOOTH_MARGIN so that the switch is complete
OCC_SWITCH = 0.5
SMOOTH_MARGIN = 0.25
ON_FIXED_DISTANCE = 3.5  # O(i)-N(i+1) pairs use this distance (MadraX)
ON_FIXED_WEIGHT = math.exp(-ON_FIXED_DISTANCE ** 2 / GAUSS_DENOM)  # 0.6065306597126334
CRP_DELTA_WINDOW = 2.8  # A: cRP neighbours within minradius sum + this
CRP_DELTA_SWITCH = 0.2


def occupancy_cutoff(smooth: bool, cutoff: float = OCC_CUTOFF, margin: float = SMOOTH_MARGIN) -> float:
    """Cutoff of the occupancy / cRP neighbour lists (before the skin)."""
    return cutoff + margin if smooth else cutoff


# ----------------------------------------------------------------------------------------------
# set-up (with the neighbour list)


def build_occupancy_list(i: Tensor, j: Tensor, d: Tensor, cons_ij: Tensor, cons_ji: Tensor, ci: Tensor,
                         cj: Tensor, cutoff: float, code_o: int, code_n: int) -> Tuple[Tensor, Tensor, Tensor]:
    """Pairs (i, j) within ``cutoff`` and whether each is an O(i)-N(i+1) pair (fixed distance)."""
    sel = torch.nonzero(d <= cutoff).squeeze(1)
    ci_s = ci.index_select(0, sel)
    cj_s = cj.index_select(0, sel)
    on = (cons_ij.index_select(0, sel) & (ci_s == code_o) & (cj_s == code_n)) \
        | (cons_ji.index_select(0, sel) & (cj_s == code_o) & (ci_s == code_n))
    return i.index_select(0, sel), j.index_select(0, sel), on


def build_polar_occupancy_list(i: Tensor, j: Tensor, d: Tensor, cons_ij: Tensor, cons_ji: Tensor, ci: Tensor,
                               cj: Tensor, cutoff: float, cons_excl: Tensor, resseq: Tensor, n_slots_atom: Tensor,
                               polar_class: Tensor, pol_his: int, slot_start: Tensor,
                               polar_window: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Directed (polar atom p, neighbour q) pairs of cRP, expanded to p's slots (spec 4.3).

    Returns ``(pair_p, pair_q, entry_pair, entry_slot, window_constants)``: one entry per (slot of p,
    q), with the window constants of p's polar class per entry (:func:`window_constants`)."""
    excl = (cons_ij & cons_excl[ci, cj]) | (cons_ji & cons_excl[cj, ci])
    base = (d <= cutoff) & (resseq.index_select(0, i) != resseq.index_select(0, j)) & ~excl
    pol_i = (n_slots_atom.index_select(0, i) > 0) & (polar_class.index_select(0, i) != pol_his)
    pol_j = (n_slots_atom.index_select(0, j) > 0) & (polar_class.index_select(0, j) != pol_his)
    s1 = torch.nonzero(base & pol_i).squeeze(1)
    s2 = torch.nonzero(base & pol_j).squeeze(1)
    par = torch.cat([i.index_select(0, s1), j.index_select(0, s2)])
    nbr = torch.cat([j.index_select(0, s1), i.index_select(0, s2)])
    cnt = n_slots_atom.index_select(0, par)
    rep = torch.repeat_interleave(torch.arange(par.shape[0], device=d.device), cnt)
    first = torch.cumsum(cnt, 0) - cnt
    off = torch.arange(rep.shape[0], device=d.device) - first.index_select(0, rep)
    parent = par.index_select(0, rep)
    entry_slot = slot_start.index_select(0, parent) + off
    wc = window_constants(polar_window)
    wc = wc.index_select(1, polar_class.index_select(0, parent).clamp(min=0)).contiguous()
    return par, nbr, rep, entry_slot, wc


# ----------------------------------------------------------------------------------------------
# terms


def occupancy(pos: Tensor, pi: Tensor, pj: Tensor, on_pair: Tensor, volume: Tensor, smooth: bool,
              gauss_denom: float = GAUSS_DENOM, cutoff: float = OCC_CUTOFF, switch: float = OCC_SWITCH,
              on_weight: float = ON_FIXED_WEIGHT) -> Tensor:
    """occ_i = sum_j V_j exp(-d_ij^2 / 24.5) over d_ij <= 6 A (spec 4.1), O(i)-N(i+1) at d = 3.5 A."""
    d = safe_norm(pos.index_select(0, pi) - pos.index_select(0, pj))
    w = torch.exp(-d * d / gauss_denom) * gate_le(d, cutoff, switch, smooth)
    w_on = torch.full_like(w, on_weight)
    w = torch.where(on_pair, w_on, w)
    occ = torch.zeros(pos.shape[0], dtype=pos.dtype, device=pos.device)
    occ = occ.index_add(0, pi, w * volume.index_select(0, pj))
    occ = occ.index_add(0, pj, w * volume.index_select(0, pi))
    return occ


def facc_from_occupancy(occ: Tensor, occ_ref: Tensor, occ_max: Tensor, madrax_burial: bool, smooth: bool) -> Tensor:
    """Relative burial.  "madrax" mode (as coded): both clamps go up, facc >= 1; "foldx": [0, 1]."""
    x = smax_t(occ, occ_ref, 2.0, smooth)
    if madrax_burial:
        x = smax_t(x, occ_max, 2.0, smooth)
    else:
        x = smin_t(x, occ_max, 2.0, smooth)
    denom = occ_max - occ_ref
    ok = denom != 0
    return torch.where(ok, (x - occ_ref) / torch.where(ok, denom, torch.ones_like(denom)), torch.zeros_like(x))


def window_constants(win: Tensor) -> Tensor:
    """Per-window constants of c(theta) (spec 4.3), (12, W): theta_min, theta_max, has_max (theta_max
    < 180), and the knots/slope changes of the piecewise-linear shape written as a relu sum
    (s1, optMinLow, s2 - s1, optMin, -s2, optMax, s4, optMaxHigh, s5 - s4).  Computed at
    neighbour-list build time so that the per-pair work is only the relu sum."""
    tmin = win[:, 0]
    tmax = win[:, 1]
    oml = win[:, 2]
    omin = win[:, 3]
    omax = win[:, 4]
    omh = win[:, 5]
    s1 = 0.1 / (oml - tmin).clamp(min=1e-9)
    s2 = 0.9 / (omin - oml).clamp(min=1e-9)
    straight = omh >= tmax  # the descending ramp goes from 1 straight to 0 at theta_max
    s4 = torch.where(straight, -1.0 / (omh - omax).clamp(min=1e-9), -0.9 / (omh - omax).clamp(min=1e-9))
    s5 = torch.where(straight, s4, -0.1 / (tmax - omh).clamp(min=1e-9))
    has_max = (tmax < 180.0).to(win.dtype)
    return torch.stack([tmin, tmax, has_max, s1, oml, s2 - s1, omin, -s2, omax, s4, omh, s5 - s4], dim=0)


def polar_occupancy(pos: Tensor, fake_pos: Tensor, slot_parent: Tensor, pair_p: Tensor, pair_q: Tensor,
                    entry_pair: Tensor, entry_slot: Tensor, wc: Tensor, minradius: Tensor, volume: Tensor,
                    crp_weight: Tensor, n_slots: int, smooth: bool, width: float = 1.0,
                    gauss_denom: float = GAUSS_DENOM, cutoff: float = OCC_CUTOFF, switch: float = OCC_SWITCH,
                    delta_window: float = CRP_DELTA_WINDOW, delta_switch: float = CRP_DELTA_SWITCH
                    ) -> Tuple[Tensor, Tensor]:
    """cRP[f] for every fake-atom slot f (spec 4.3), accumulated over (slot, neighbour) entries, and
    the slot's occlusion (exact: cRP > 0, i.e. some neighbour inside the windows).

    Layout (built with the neighbour list): directed (polar atom p, neighbour q) pairs
    ``pair_p, pair_q``; one entry per (slot of p, q) with ``entry_pair`` / ``entry_slot`` and the
    window constants ``wc`` (12, E) of :func:`window_constants`.  Distance terms are computed once
    per pair, only the angle theta = angle(p, f, q) at the slot's fake atom f per entry, with
    v = x_q - x_f = (x_q - x_p) + (x_p - x_f) built from the pair vector and the slot vector.

    Smooth occlusion: 1 - prod over neighbours of (1 - gate), the gates of the cRP windows, so it
    follows the windows themselves (half way on a window limit) instead of switching on a small
    slice of cRP (spec item 6 suggests S(cRP / 0.5), which changes by ~1 over ~0.01 A because cRP
    grows by several units as a neighbour enters).
    """
    xp = pos.index_select(0, pair_p)
    r = pos.index_select(0, pair_q) - xp
    d = safe_norm(r)
    delta = d - (minradius.index_select(0, pair_p) + minradius.index_select(0, pair_q))
    pair_gate = gate_le(d, cutoff, switch, smooth) * gate_le(delta, delta_window, delta_switch * width, smooth)
    pair_w = volume.index_select(0, pair_q) * torch.exp(-d * d / gauss_denom) * crp_weight.index_select(0, pair_p)
    base = 1.0 - delta / delta_window
    # the angle at the fake atom: u = x_p - x_f per slot, v = x_q - x_f = r + u per entry
    u_slot = pos.index_select(0, slot_parent) - fake_pos
    nu_slot = safe_norm(u_slot)
    u = u_slot.index_select(0, entry_slot)
    v = r.index_select(0, entry_pair) + u
    cos = (u * v).sum(-1) / (nu_slot.index_select(0, entry_slot) * safe_norm(v))
    theta = acos_deg(cos)
    tmin = wc[0]
    tmax = wc[1]
    if smooth:
        g_ang = gate_ge(theta - tmin, 0.0, 6.0 * width, True)
        g_ang = g_ang * (1.0 - wc[2] * (1.0 - gate_le(theta - tmax, 0.0, 6.0 * width, True)))
    else:
        g_ang = ((theta >= tmin) & (theta <= tmax)).to(pos.dtype)
    h = 2.0 * width
    c = wc[3] * relu(theta - tmin, h, smooth)
    c = c + wc[5] * relu(theta - wc[4], h, smooth)
    c = c + wc[7] * relu(theta - wc[6], h, smooth)
    c = c + wc[9] * relu(theta - wc[8], h, smooth)
    c = c + wc[11] * relu(theta - wc[10], h, smooth)
    gate = pair_gate.index_select(0, entry_pair) * g_ang
    val = pair_w.index_select(0, entry_pair) * (base.index_select(0, entry_pair) + c) * gate
    crp = torch.zeros(n_slots, dtype=pos.dtype, device=pos.device).index_add(0, entry_slot, val)
    if smooth:
        logs = log1m(gate.clamp(0.0, 1.0))
        tot = torch.zeros(n_slots, dtype=pos.dtype, device=pos.device).index_add(0, entry_slot, logs)
        occluded = 1.0 - torch.exp(tot)
    else:
        occluded = (crp > 0.0).to(pos.dtype)
    return crp, occluded
