"""Channel 1: FoldX-style hydrogen bonds with virtual hydrogens and lone pairs (spec 5.1).

Work is organised on three static lists built with the neighbour list:
* H-bond candidate pairs (acceptor a, donor b), stored once in the orientation of spec 3.1;
* combinations (H slot of b) x (LP slot of a) of every candidate pair;
* groups (pair, LP state, H state): the best combination of each group is kept (step 6).
Proton / lone-pair states are then chosen per atom (step 7) and the atom energies assembled.
"""
from __future__ import annotations

from typing import Tuple

import torch
from torch import Tensor

from .geometry import RAD_TO_DEG, angle_deg, dihedral, safe_norm
from .smooth import gate_ge, gate_le, log1m, qstep, relu, segment_softmin_weights, smin, smoothstep

HB_MAX_DA = 3.5  # A: donor-acceptor distance limit (spec 5.1 step 3)
HB_DA_SWITCH = 0.2  # A: smooth half-width of that limit
SMOOTH_MARGIN = 0.1  # A: the candidate list keeps pairs to HB_MAX_DA + this in smooth mode
ANGLE_SWITCH = 6.0  # degrees: smooth half-width of the angular windows (x smoothing)
KINK_H = 2.0  # degrees, kink blend of the piecewise-linear penalties (smooth mode)


def candidate_cutoff(smooth: bool, max_da: float = HB_MAX_DA, margin: float = SMOOTH_MARGIN) -> float:
    """Cutoff of the H-bond candidate list (before the skin)."""
    return max_da + margin if smooth else max_da


# ----------------------------------------------------------------------------------------------
# set-up (with the neighbour list)


def orient_pairs(i: Tensor, j: Tensor, acceptor: Tensor, donor: Tensor,
                 his_ring_n: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """Every pair stored once, (a, b): in the orientation (acceptor, donor) when exactly one
    orientation is one, else (earlier, later) (spec 3.1).  Returns ``(a, b, is_donor_acceptor)``.

    For this orientation decision MadraX counts HIS ND1/NE2 as acceptors too (their tautomer roles)
    although they have no lone pairs: a HIS ring N stored before a dual atom (SER OG, THR OG1, TYR
    OH, CYS SG) therefore makes no H-bond with it (reproduced; checked on 1BHL)."""
    acc_orient = acceptor | his_ring_n
    ij_ok = acc_orient.index_select(0, i) & donor.index_select(0, j)
    ji_ok = acc_orient.index_select(0, j) & donor.index_select(0, i)
    a_all = torch.where(ij_ok | ~ji_ok, i, j)
    b_all = torch.where(ij_ok | ~ji_ok, j, i)
    da_pair = acceptor.index_select(0, a_all) & donor.index_select(0, b_all)
    return a_all, b_all, da_pair


def build_candidates(a_all: Tensor, b_all: Tensor, da_pair: Tensor, d: Tensor, same_res: Tensor, bb_same: Tensor,
                     cutoff: float, n_lp_slots: Tensor, n_h_slots: Tensor, in_glu: Tensor, in_gln: Tensor) -> Tensor:
    """Master-list positions of the H-bond candidate pairs (spec 3.1 and 5.1 step 1)."""
    cand = da_pair & (d <= cutoff)
    cand = cand & (n_lp_slots.index_select(0, a_all) > 0) & (n_h_slots.index_select(0, b_all) > 0)
    cand = cand & ~bb_same & (~same_res | in_glu.index_select(0, a_all) | in_gln.index_select(0, b_all))
    return torch.nonzero(cand).squeeze(1)


def candidate_constants(ha: Tensor, hbd: Tensor, frame_p1: Tensor, frame_p2: Tensor, sp2_o_orb2: Tensor,
                        plane_dist: Tensor, bb_donor: Tensor, minradius: Tensor, charged: Tensor, sulfur_hb: Tensor,
                        e_neutral: float, e_charged: float, e_sulfur: float
                        ) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Per candidate (acceptor ``ha``, donor ``hbd``): plane partners, plane test, plane distance,
    distance offset, minradius sum, class energy and salt-bridge flag (spec 5.1 steps 3-5)."""
    p1 = frame_p1.index_select(0, ha).clamp(min=0)
    p2 = frame_p2.index_select(0, ha).clamp(min=0)
    use_plane = sp2_o_orb2.index_select(0, ha) | sp2_o_orb2.index_select(0, hbd)
    pdist = plane_dist.index_select(0, ha)
    offset = torch.where(bb_donor.index_select(0, hbd), 0.2, 0.1).to(minradius.dtype)
    minr = minradius.index_select(0, ha) + minradius.index_select(0, hbd)
    cha = charged.index_select(0, ha)
    chb = charged.index_select(0, hbd)
    sulfur = sulfur_hb.index_select(0, ha) | sulfur_hb.index_select(0, hbd)
    ecls = torch.full(ha.shape, e_neutral, dtype=minradius.dtype, device=ha.device)
    ecls = torch.where(sulfur, torch.full_like(ecls, e_sulfur), ecls)
    ecls = torch.where(cha ^ chb, torch.full_like(ecls, e_charged), ecls)
    return p1, p2, use_plane, pdist, offset, minr, ecls, cha & chb


def build_combinations(ha: Tensor, hbd: Tensor, n_lp_slots: Tensor, n_h_slots: Tensor, slot_start: Tensor,
                       slot_state: Tensor, hb_window: Tensor, hb_donor_class: Tensor, moving_proton: Tensor,
                       hb_override: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, int, Tensor, Tensor,
                                                     Tensor, Tensor]:
    """Combinations (every H slot of the donor with every LP slot of the acceptor) and their groups
    (pair, LP state, H state).

    Returns ``(combo_pair, combo_h, combo_l, combo_window, combo_group, n_groups, group_a, group_b,
    group_lstate, group_hstate)``."""
    nh = ha.shape[0]
    nlp = n_lp_slots.index_select(0, ha)
    ncomb = n_h_slots.index_select(0, hbd) * nlp
    cpair = torch.repeat_interleave(torch.arange(nh, device=ha.device), ncomb)
    first = torch.cumsum(ncomb, 0) - ncomb
    k = torch.arange(cpair.shape[0], device=ha.device) - first.index_select(0, cpair)
    nlp_c = nlp.index_select(0, cpair)
    ca = ha.index_select(0, cpair)
    cb = hbd.index_select(0, cpair)
    combo_h = slot_start.index_select(0, cb) + torch.div(k, nlp_c, rounding_mode="floor")
    combo_l = slot_start.index_select(0, ca) + n_h_slots.index_select(0, ca) + torch.remainder(k, nlp_c)
    win = hb_window.index_select(0, hb_donor_class.index_select(0, cb))
    mp = moving_proton.index_select(0, ca).unsqueeze(1)
    override = win.clone()
    override[:, 5] = hb_override[0]
    override[:, 6] = hb_override[1]
    override[:, 7] = hb_override[2]
    combo_win = torch.where(mp, override, win)
    ls = slot_state.index_select(0, combo_l)
    hs = slot_state.index_select(0, combo_h)
    gkey = cpair * 16 + ls * 4 + hs
    uniq, ginv = torch.unique(gkey, sorted=True, return_inverse=True)
    gpair = torch.div(uniq, 16, rounding_mode="floor")
    group_a = ha.index_select(0, gpair)
    group_b = hbd.index_select(0, gpair)
    group_ls = torch.div(torch.remainder(uniq, 16), 4, rounding_mode="floor")
    group_hs = torch.remainder(uniq, 4)
    return cpair, combo_h, combo_l, combo_win, ginv, int(uniq.shape[0]), group_a, group_b, group_ls, group_hs


# ----------------------------------------------------------------------------------------------
# terms


def _penalty_range(x: Tensor, lo: Tensor, opt_lo: Tensor, opt_hi: Tensor, hi: Tensor, smooth: bool,
                   width: float = 1.0) -> Tensor:
    """(opt_lo - x)/(opt_lo - lo) below the optimum, (x - opt_hi)/(hi - opt_hi) above, 0 inside."""
    below = relu(opt_lo - x, 2.0 * width, smooth) / (opt_lo - lo).clamp(min=1e-9)
    above = relu(x - opt_hi, 2.0 * width, smooth) / (hi - opt_hi).clamp(min=1e-9)
    return below + above


def combination_energies(pos: Tensor, fake_pos: Tensor, pair_a: Tensor, pair_b: Tensor, combo_pair: Tensor,
                         combo_h: Tensor, combo_l: Tensor, win: Tensor, plane_p1: Tensor, plane_p2: Tensor,
                         use_plane: Tensor, plane_dist: Tensor, dist_offset: Tensor, minr_sum: Tensor,
                         class_energy: Tensor, salt_bridge: Tensor, kappa_salt: float, coulomb_pref: float,
                         smooth: bool, width: float = 1.0, max_da: float = HB_MAX_DA,
                         da_switch: float = HB_DA_SWITCH, angle_switch: float = ANGLE_SWITCH,
                         to_deg: float = RAD_TO_DEG) -> Tuple[Tensor, Tensor]:
    """Energy and acceptability gate of every (H slot, LP slot) combination (steps 2-5).

    Per-combination window columns of ``win``: alpha min/max/opt_min/opt_max, beta min/max/
    opt_min/opt_max, |chi| min, |chi| opt (degrees).  Returns (E_combo <= 0 before the gate,
    gate in [0, 1]); the combination's energy is their product.
    """
    a = pair_a.index_select(0, combo_pair)
    b = pair_b.index_select(0, combo_pair)
    xa = pos.index_select(0, a)
    xb = pos.index_select(0, b)
    xh = fake_pos.index_select(0, combo_h)
    xl = fake_pos.index_select(0, combo_l)
    d = safe_norm(xa - xb)
    alpha = angle_deg(xl, xh, xb)
    beta = angle_deg(xh, xl, xa)
    chi = torch.abs(dihedral(xb, xh, xl, xa)) * to_deg

    a_min, a_max, a_omin, a_omax = win[:, 0], win[:, 1], win[:, 2], win[:, 3]
    b_min, b_max, b_omin, b_omax = win[:, 4], win[:, 5], win[:, 6], win[:, 7]
    c_min, c_opt = win[:, 8], win[:, 9]

    # step 3: acceptability (no gate on a limit at the end of the angle's range, 180 deg)
    ones = torch.ones_like(d)
    gate = gate_le(d, max_da, da_switch, smooth)
    gate = gate * gate_ge(alpha - a_min, 0.0, angle_switch * width, smooth)
    gate = gate * torch.where(a_max < 180.0, gate_le(alpha - a_max, 0.0, angle_switch * width, smooth), ones)
    gate = gate * gate_ge(beta - b_min, 0.0, angle_switch * width, smooth)
    gate = gate * torch.where(b_max < 180.0, gate_le(beta - b_max, 0.0, angle_switch * width, smooth), ones)
    g_chi = gate_ge(chi - c_min, 0.0, angle_switch * width, smooth)
    p_chi = relu(c_opt - chi, 2.0 * width, smooth) / (c_opt - c_min).clamp(min=1e-9) / 4.0
    if smooth and width > 1.0:
        # chi (dihedral b-h-l-a) is undefined where b-h-l or h-l-a is collinear (alpha or beta -> 180 deg,
        # the optimum of a linear H-bond): there it turns by tens of degrees for a 0.01 A move, and its
        # gate and penalty switch within a fraction of a 2 fs step (measured: one such switch moved the
        # polar solvation of one residue by 0.8 kcal/mol inside 0.005 A).  The MD surface (width > 1)
        # fades the chi condition out over the last 10 (width - 1) degrees before collinearity, so its
        # force stays bounded; width 1 (scoring) is unchanged.  Ubiquitin, replace mode, NVE at 2 fs
        # after 1 ps of Langevin (benchmarks/md_nve_drift.py --nve-ps 2, seeds 7 / 11 / 23): total-energy
        # drift 199 / 118 / 186 kJ/mol/ps without the fade, 26 / 6.5 / 8.5 with it.
        span = 10.0 * (width - 1.0)
        free = (1.0 - smoothstep((alpha - (180.0 - span)) / span)) * (1.0 - smoothstep((beta - (180.0 - span)) / span))
        g_chi = 1.0 - (1.0 - g_chi) * free
        p_chi = p_chi * free
    gate = gate * g_chi
    # plane test for sp2 carbonyl/carboxyl acceptors: dist(H, plane of a and its frame partners)/|a-H|
    pa1 = pos.index_select(0, plane_p1.index_select(0, combo_pair))
    pa2 = pos.index_select(0, plane_p2.index_select(0, combo_pair))
    normal = torch.cross(pa1 - xa, pa2 - xa, dim=-1)
    normal = normal / safe_norm(normal).unsqueeze(-1)
    ratio = torch.abs(((xh - xa) * normal).sum(-1)) / safe_norm(xa - xh)
    pd = plane_dist.index_select(0, combo_pair)
    gate = gate * torch.where(use_plane.index_select(0, combo_pair), gate_le(ratio - pd, 0.0, 0.04 * width, smooth), ones)
    # step 4: penalty
    # distance relu: quadratic kink blend over +-0.02 A (exact outside; softplus would weaken every
    # H-bond near the onset of the distance penalty by up to 0.014 in P)
    pen = relu(d - (minr_sum.index_select(0, combo_pair) + dist_offset.index_select(0, combo_pair)), 0.02 * width, smooth)
    pen = pen + _penalty_range(beta, b_min, b_omin, b_omax, b_max, smooth, width) / 3.0
    pen = pen + _penalty_range(alpha, a_min, a_omin, a_omax, a_max, smooth, width) / 5.0
    pen = pen + p_chi

    # step 5: class energy (salt bridges: screened Coulomb-like term of the donor-acceptor distance)
    e_class = class_energy.index_select(0, combo_pair)
    salt = -0.88 * 0.2 * coulomb_pref / d * torch.exp(-kappa_salt * d) / d
    e_class = torch.where(salt_bridge.index_select(0, combo_pair), salt, e_class)
    energy = smin(e_class * (1.0 - pen), 0.0, 0.01 * width, smooth)
    return energy, gate


def best_per_group(energy: Tensor, bonded: Tensor, group: Tensor, n_groups: int,
                   smooth: bool, width: float = 1.0, tau: float = 0.02) -> Tuple[Tensor, Tensor]:
    """Step 6: the most negative combination per (pair, LP state, H state); smooth: Boltzmann mean
    at temperature ``tau * width`` kcal/mol (scoring default 0.02; the spec suggests 0.05, which
    weakens the H-bond channel by ~1 %).

    ``energy`` = gated combination energies.  Also returns ``bonded`` (a per-combination "is an
    H-bond" weight, see :func:`bond_weight`) of the selected combination (smooth: its mean with
    the same Boltzmann weights)."""
    z = torch.zeros(n_groups, dtype=energy.dtype, device=energy.device)
    if smooth:
        w = segment_softmin_weights(energy, group, n_groups, tau * width)
        return z.index_add(0, group, w * energy), z.index_add(0, group, w * bonded)
    best = z.scatter_reduce(0, group, energy, reduce="amin", include_self=True)
    return best, (best < 0.0).to(energy.dtype)


def bond_weight(raw: Tensor, gate: Tensor, smooth: bool, width: float = 1.0) -> Tensor:
    """Per combination, 1 for an H-bond and 0 otherwise: gate x q(-E / 0.3) with E before the gate
    (q the piecewise-quadratic smoothstep; E >= 0, i.e. P >= 1, is no H-bond).  Exact: E gate < 0."""
    if smooth:
        return gate * qstep(-raw / (0.3 * width))
    return ((raw * gate) < 0.0).to(raw.dtype)


def state_weights(group_energy: Tensor, group_a: Tensor, group_b: Tensor, group_lstate: Tensor,
                  group_hstate: Tensor, state_exists: Tensor, smooth: bool, width: float = 1.0,
                  tau: float = 0.02) -> Tensor:
    """Step 7: per-atom state choice from S_i(k) = sum of E/2 over its groups in state k.

    Returns the weight of every group: 1/0 for the argmin state (exact, lowest k on ties) or the
    product of soft state weights softmax(-S/0.02) of its acceptor and donor (smooth; tau 0.02 instead
    of the spec's 0.05 keeps smooth-vs-exact H-bond totals within 1 %).
    """
    n = state_exists.shape[0]
    half = 0.5 * group_energy
    s = torch.zeros(n * 4, dtype=group_energy.dtype, device=group_energy.device)
    s = s.index_add(0, group_a * 4 + group_lstate, half)
    s = s.index_add(0, group_b * 4 + group_hstate, half)
    s = s.view(n, 4)
    if smooth:
        z = torch.where(state_exists, -s / (tau * width), torch.full_like(s, -1e30))
        w = torch.softmax(z, dim=1)
        wa = w.index_select(0, group_a).gather(1, group_lstate.unsqueeze(1)).squeeze(1)
        wb = w.index_select(0, group_b).gather(1, group_hstate.unsqueeze(1)).squeeze(1)
        return wa * wb
    best = torch.argmin(s, dim=1)
    keep = (best.index_select(0, group_a) == group_lstate) & (best.index_select(0, group_b) == group_hstate)
    return keep.to(group_energy.dtype)


def pair_network_mask(gate: Tensor, combo_pair: Tensor, n_pairs: int, smooth: bool) -> Tensor:
    """H-bond network mask per candidate pair: any acceptable combination (smooth: 1 - prod(1 - g))."""
    if smooth:
        logs = log1m(gate.clamp(0.0, 1.0))
        tot = torch.zeros(n_pairs, dtype=gate.dtype, device=gate.device).index_add(0, combo_pair, logs)
        return 1.0 - torch.exp(tot)
    out = torch.zeros(n_pairs, dtype=gate.dtype, device=gate.device)
    return out.scatter_reduce(0, combo_pair, gate, reduce="amax", include_self=True)


def no_hbond_weight(group_bonded: Tensor, group_weight: Tensor, group_a: Tensor, group_b: Tensor,
                    atom_energy: Tensor, smooth: bool) -> Tensor:
    """Per atom: 1 when it makes no H-bond, 0 when it does (the switch of polar solvation, 5.4).

    Exact: E_i == 0 (spec 5.4).  Smooth: prod over the atom's groups of (1 - b_g w_g), b_g the
    group's bond weight (:func:`bond_weight`, proportional to the H-bond gates) and w_g its state
    weight: the switch follows the H-bond gates themselves (half way at a window limit, like the
    gates), so it is symmetric about the exact decision and no steeper than the H-bond energy.
    (Spec item 6 suggests 1 - S(-E_i / 0.1); composed with the fast H-bond energies that concentrates
    a change of ~1 kcal/mol of polar solvation into ~0.01 A.)
    """
    if not smooth:
        return (atom_energy == 0.0).to(atom_energy.dtype)
    logs = log1m((group_bonded * group_weight).clamp(0.0, 1.0))
    tot = torch.zeros_like(atom_energy).index_add(0, group_a, logs).index_add(0, group_b, logs)
    return torch.exp(tot)
