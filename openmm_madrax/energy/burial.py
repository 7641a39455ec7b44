"""Burial (physics spec section 4): atomic occupancy, facc, directional polar occupancy (cRP)."""
from __future__ import annotations

from typing import Tuple

import torch
from torch import Tensor

from .geometry import angle_deg, safe_norm
from .smooth import gate_le, gate_ge, log1m, relu, sclamp, smax, smin, smax_t, smin_t

GAUSS_DENOM = 24.5  # 2 sigma^2, sigma = 3.5 A (Stouten 1993 / FoldX)
OCC_CUTOFF = 6.0
ON_FIXED_DISTANCE = 3.5  # O(i)-N(i+1) pairs use this distance (MadraX)
CRP_DELTA_WINDOW = 2.8


def occupancy(pos: Tensor, pi: Tensor, pj: Tensor, on_pair: Tensor, volume: Tensor, smooth: bool) -> Tensor:
    """occ_i = sum_j V_j exp(-d_ij^2 / 24.5) over d_ij <= 6 A (spec 4.1), O(i)-N(i+1) at d = 3.5 A."""
    d = safe_norm(pos.index_select(0, pi) - pos.index_select(0, pj))
    w = torch.exp(-d * d / 24.5) * gate_le(d, 6.0, 0.5, smooth)
    w_on = torch.full_like(w, 0.6065306597126334)
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


def _window_shape(theta: Tensor, win: Tensor, smooth: bool) -> Tensor:
    """c(theta) of spec 4.3: piecewise linear through the window knots, written as a relu sum."""
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
    h = 2.0
    c = s1 * relu(theta - tmin, h, smooth)
    c = c + (s2 - s1) * relu(theta - oml, h, smooth)
    c = c - s2 * relu(theta - omin, h, smooth)
    c = c + s4 * relu(theta - omax, h, smooth)
    c = c + (s5 - s4) * relu(theta - omh, h, smooth)
    return c


def polar_occupancy(pos: Tensor, fake_pos: Tensor, slot: Tensor, parent: Tensor, nb: Tensor,
                    minradius: Tensor, volume: Tensor, crp_weight: Tensor, window: Tensor,
                    n_slots: int, smooth: bool) -> Tuple[Tensor, Tensor]:
    """cRP[f] for every fake-atom slot f (spec 4.3), accumulated over (slot, neighbour) pairs, and
    the slot's occlusion (exact: cRP > 0, i.e. some neighbour inside the windows).

    ``window`` holds per slot-pair (theta_min, theta_max, optMinLow, optMin, optMax, optMaxHigh).
    Smooth occlusion: 1 - prod over neighbours of (1 - gate), the gates of the cRP windows, so it
    follows the windows themselves (half way on a window limit) instead of switching on a small
    slice of cRP (spec item 6 suggests S(cRP / 0.5), which changes by ~1 over ~0.01 A because cRP
    grows by several units as a neighbour enters).
    """
    xp = pos.index_select(0, parent)
    xq = pos.index_select(0, nb)
    xf = fake_pos.index_select(0, slot)
    d = safe_norm(xp - xq)
    delta = d - (minradius.index_select(0, parent) + minradius.index_select(0, nb))
    theta = angle_deg(xp, xf, xq)
    tmin = window[:, 0]
    tmax = window[:, 1]
    if smooth:
        g_ang = gate_ge(theta - tmin, 0.0, 6.0, True)
        g_ang = g_ang * torch.where(tmax < 180.0, gate_le(theta - tmax, 0.0, 6.0, True), torch.ones_like(theta))
    else:
        g_ang = ((theta >= tmin) & (theta <= tmax)).to(pos.dtype)
    gate = gate_le(d, 6.0, 0.5, smooth) * gate_le(delta, 2.8, 0.2, smooth) * g_ang
    c = _window_shape(theta, window, smooth)
    val = volume.index_select(0, nb) * torch.exp(-d * d / 24.5) * crp_weight.index_select(0, parent)
    val = val * ((1.0 - delta / 2.8) + c) * gate
    crp = torch.zeros(n_slots, dtype=pos.dtype, device=pos.device).index_add(0, slot, val)
    if smooth:
        logs = log1m(gate.clamp(0.0, 1.0))
        tot = torch.zeros(n_slots, dtype=pos.dtype, device=pos.device).index_add(0, slot, logs)
        occluded = 1.0 - torch.exp(tot)
    else:
        occluded = (crp > 0.0).to(pos.dtype)
    return crp, occluded
