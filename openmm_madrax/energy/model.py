"""The MadraX energy as a TorchScript-compatible ``torch.nn.Module``.

``MadraXEnergy(tables)(positions)`` maps heavy-atom coordinates (N x 3, Angstrom) to the
per-residue energy matrix (R x 11, kcal/mol, MadraX channel order).  Everything topological is a
registered buffer built once; ``forward`` is tensor arithmetic on coordinates.

Neighbour search: one cell list (``neighbors.cell_list_pairs``) with cutoff 7 A (7.25 A in smooth
mode) plus a Verlet skin.  The half list and every static sub-list derived from it (occupancy,
directional occupancy, H-bond candidates and their slot combinations, clash, electrostatics,
disulfide candidates) are cached in module attributes and rebuilt only when an atom has moved more
than half the skin since the last build.  Each term applies its own exact cutoff / switch to the
current distances, so the result does not depend on the skin.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from .. import params
from ..atomtypes import (CODE_C, CODE_CA, CODE_N, CODE_O, CODE_PRO_CD, HB_DONOR_ALCOHOL, HB_DONOR_DEFAULT,
                         HB_DONOR_HIS, HB_DONOR_LYS, POL_HIS, POLAR_WINDOW_ROWS, Tables)
from . import burial, clash, disulfide, electrostatics, hbond, peptide, sidechain_entropy, solvation, vdw
from .geometry import local_frames, safe_norm
from .neighbors import cell_list_pairs
from .smooth import smax
from .torsions import TorsionChannels

N_CHANNELS = 11


def _residue_sum(x: Tensor, residue: Tensor, n_residues: int) -> Tensor:
    return torch.zeros(n_residues, dtype=x.dtype, device=x.device).index_add(0, residue, x)


def _hb_window_table() -> Tuple[np.ndarray, np.ndarray]:
    rows = params.by_key("hbond_angle_windows", "class")
    cols = ["alpha_min_deg", "alpha_max_deg", "alpha_opt_min_deg", "alpha_opt_max_deg", "beta_min_deg",
            "beta_max_deg", "beta_opt_min_deg", "beta_opt_max_deg", "chi_min_abs_deg", "chi_opt_abs_deg"]
    order = {HB_DONOR_DEFAULT: "default", HB_DONOR_ALCOHOL: "donor_moving_proton_alcohol",
             HB_DONOR_LYS: "donor_moving_proton_lys", HB_DONOR_HIS: "donor_his_sidechain"}
    table = np.zeros((4, 10))
    for k, name in order.items():
        table[k] = [float(rows[name][c]) for c in cols]
    ov = rows["acceptor_override_moving_proton"]
    override = np.array([float(ov["beta_max_deg"]), float(ov["beta_opt_min_deg"]), float(ov["beta_opt_max_deg"])])
    return table, override


def _polar_window_table() -> np.ndarray:
    rows = params.by_key("polar_occupancy_windows", "class")
    cols = ["theta_min_deg", "theta_max_deg", "opt_min_low_deg", "opt_min_deg", "opt_max_deg", "opt_max_high_deg"]
    return np.array([[float(rows[name][c]) for c in cols] for name in POLAR_WINDOW_ROWS])


def check_smooth_settings(smoothing: float, hbond_tau: float) -> None:
    """ValueError unless ``smoothing`` >= 1 and ``hbond_tau`` > 0 (the smooth-mode settings of
    :class:`MadraXEnergy`; also checked where they are first given, e.g. ``MadraXForce``)."""
    if not hbond_tau > 0.0:
        raise ValueError(f"hbond_tau must be > 0 (kcal/mol), not {hbond_tau}")
    if not smoothing >= 1.0:
        raise ValueError(f"smoothing must be >= 1 (a multiplier of the smooth-mode switch widths), not {smoothing}")


class MadraXEnergy(nn.Module):
    """Per-residue MadraX energy (kcal/mol) of heavy-atom coordinates (Angstrom).

    Parameters
    ----------
    tables
        static tables of a prepared structure (``Structure.tables()``).
    burial
        ``"madrax"`` (as coded in MadraX, the reference) or ``"foldx"`` (facc clamped to [0, 1]).
    smooth
        ``False``: exact MadraX; ``True``: the C1 surrogate of spec section 7 (for MD/minimisation).
    dtype
        float64 (default) or float32.
    skin
        Verlet skin (Angstrom) of the cached neighbour list.
    torsions
        optional :class:`~openmm_madrax.energy.torsions.TorsionChannels` for channels 7 and 10
        (zeros without it).
    """

    def __init__(self, tables: Tables, burial: str = "madrax", smooth: bool = False,
                 dtype: torch.dtype = torch.float64, skin: float = 1.0,
                 torsions: Optional[TorsionChannels] = None, smoothing: float = 1.0, hbond_tau: float = 0.02):
        super().__init__()
        check_smooth_settings(smoothing, hbond_tau)
        #: smooth mode: Boltzmann temperature (kcal/mol) of the H-bond combination and state choices
        #: (spec 7 suggests 0.05; 0.02 keeps scores within 1 % of exact; MD needs more, see MadraXForce)
        self.hbond_tau = float(hbond_tau)
        #: multiplier of the angular/energy switch widths of the H-bond and polar-occupancy terms in
        #: smooth mode (1: the calibrated widths; >1: softer forces for MD, see docs/openmm.md)
        self.width = float(smoothing)
        if burial not in ("madrax", "foldx"):
            raise ValueError(f"burial must be 'madrax' or 'foldx', not {burial!r}")
        self.madrax_burial = burial == "madrax"
        self.burial = burial
        self.smooth = bool(smooth)
        self.skin = float(skin)
        self.list_cutoff = 7.25 if smooth else 7.0
        self.n_atoms = int(tables.residue.shape[0])
        self.n_residues = int(tables.res_restype.shape[0])
        self.n_slots = int(tables.slot_parent.shape[0])

        c = params.constants()
        m = params.multipliers()
        T = c["T"]
        self.temperature = T
        self.coulomb_pref = c["coulomb_constant"] / (c["dielectric_factor"] * c["cT"])
        self.kappa_elec = c["K_electro_factor"] * c["Ic"] / T
        self.kappa_salt = math.sqrt(c["K_saltbridge_factor"] * c["Ic"] / T)
        self.dcp = c["DCp"]
        self.corr_ionic = c["corr_ionic"]
        self.ss_entropy_a = c["disulfide_loop_entropy_a"]
        self.ss_entropy_b = c["disulfide_loop_entropy_b"]
        self.w_ss = m["disulfide_net.weight"]
        self.w_el_pair = m["electro_net.weightNonVirt"]
        self.w_el_res = m["electro_net.weight"]
        self.w_clash = m["clash_net.weight"]
        self.w_solv_plain = m["solvatation.solvPolarWeight"]
        self.w_solv_dir = m["solvatation.solvPolarWithWaterWeight"]
        self.w_hydro = m["solvatation.solvHydroWeight"]
        self.w_vdw = m["vdw.weight"]
        self.w_pep = m["bondLenConstraint.weight"]
        tol = {int(r["group"]): float(r["tolerance_A"]) for r in params.tables()["clash_tolerances"]}
        self.tol = [tol[k] for k in range(6)]

        fdt = dtype
        t = tables

        def reg(name: str, arr, dt=None):
            ten = torch.as_tensor(np.ascontiguousarray(arr))
            if dt is not None:
                ten = ten.to(dt)
            elif ten.is_floating_point():
                ten = ten.to(fdt)
            self.register_buffer(name, ten)

        for name in ("residue", "chain", "resseq", "restype", "code", "level", "hb_donor_class", "polar_class",
                     "frame_p1", "frame_p2", "n_h_slots", "n_lp_slots", "slot_parent", "slot_state", "res_restype",
                     "res_next", "res_prev", "res_N", "res_CA", "res_C", "res_O", "res_resseq", "chi_atoms",
                     "n_chi"):
            reg(name, getattr(t, name), torch.long)
        for name in ("cycle", "mainchain", "terminal", "donor", "acceptor", "charged", "has_hb_row", "sp2_o_orb2",
                     "moving_proton", "sulfur_hb", "bb_donor", "in_glu", "in_gln", "his_ring_n", "is_sg",
                     "is_pro_c", "is_ile_cg2", "is_ile_cd1", "slot_is_h"):
            reg(name, getattr(t, name), torch.bool)
        for name in ("radius", "minradius", "volume", "occ_ref", "occ_max", "vdw", "energ", "charge",
                     "plane_dist", "crp_weight", "polar_mult", "slot_local", "sc_A", "sc_B", "sc_entropy_L",
                     "pep_mean", "pep_sd"):
            reg(name, getattr(t, name))

        # first slot of every atom (slots of an atom are contiguous: H slots, then LP slots)
        slot_start = np.zeros(self.n_atoms, np.int64)
        n_slots_atom = t.n_h_slots + t.n_lp_slots
        slot_start[1:] = np.cumsum(n_slots_atom)[:-1]
        reg("slot_start", slot_start, torch.long)
        reg("n_slots_atom", n_slots_atom, torch.long)
        # per-atom existing states, and slots per (polar atom, state) for the solvation test
        state_exists = np.zeros((self.n_atoms, 4), bool)
        for s, a in enumerate(t.slot_parent):
            state_exists[a, t.slot_state[s]] = True
        reg("state_exists", state_exists, torch.bool)
        polar_atoms = np.nonzero(n_slots_atom > 0)[0]
        state_slots = np.full((len(polar_atoms), 4, 3), -1, np.int64)
        fill = np.zeros((len(polar_atoms), 4), np.int64)
        row_of = {int(a): k for k, a in enumerate(polar_atoms)}
        for s, a in enumerate(t.slot_parent):
            k = row_of[int(a)]
            st = int(t.slot_state[s])
            state_slots[k, st, fill[k, st]] = s
            fill[k, st] += 1
        reg("state_slots", state_slots, torch.long)
        reg("state_atoms", polar_atoms, torch.long)
        # directional polar solvation is possible for atoms with an H-bond row and Occmax != Occ
        reg("directional_ok", t.has_hb_row & (t.occ_max != t.occ_ref) & (n_slots_atom > 0), torch.bool)

        hb_win, hb_override = _hb_window_table()
        reg("hb_window", hb_win)
        reg("hb_override", hb_override)
        reg("polar_window", _polar_window_table())
        # H-bond class energy per atom pair is decided from per-atom flags at list build
        cls = params.by_key("hbond_class_energies", "class")
        self.e_neutral = float(cls["neutral"]["energy_kcal_per_mol"])
        self.e_charged = float(cls["charged"]["energy_kcal_per_mol"])
        self.e_sulfur = float(cls["sulfur"]["energy_kcal_per_mol"])
        # consecutive-residue exclusion tables (first atom in residue i, second in i+1)
        clash_excl = np.zeros((7, 7), bool)
        for a, b in ((CODE_O, CODE_N), (CODE_C, CODE_N), (CODE_C, CODE_CA), (CODE_O, CODE_CA), (CODE_CA, CODE_N),
                     (CODE_C, CODE_PRO_CD), (CODE_CA, CODE_PRO_CD)):
            clash_excl[a, b] = True
        crp_excl = np.zeros((7, 7), bool)
        for a, b in ((CODE_O, CODE_CA), (CODE_O, CODE_N), (CODE_CA, CODE_N)):
            crp_excl[a, b] = True
        reg("cons_clash_excl", clash_excl, torch.bool)
        reg("cons_crp_excl", crp_excl, torch.bool)
        # static disulfides (MD) as sorted atom-pair keys
        ss = t.ss_static.reshape(-1, 2)
        ss_keys = np.sort(np.minimum(ss[:, 0], ss[:, 1]) * self.n_atoms + np.maximum(ss[:, 0], ss[:, 1]))
        reg("ss_static_keys", ss_keys, torch.long)
        # peptide-bond residues (with a consecutive predecessor)
        pep_res = np.nonzero(t.res_prev >= 0)[0]
        reg("pep_res", pep_res, torch.long)
        # MC/SC split
        reg("sidechain", ~t.mainchain, torch.bool)

        self.code_o = CODE_O
        self.code_n = CODE_N
        self.code_pro_cd = CODE_PRO_CD
        self.pol_his = POL_HIS
        self.torsions = torsions if torsions is not None else TorsionChannels.empty(t, fdt)

        # ---- cached neighbour list and derived lists (rebuilt on demand)
        z = torch.zeros(0, dtype=torch.long)
        zb = torch.zeros(0, dtype=torch.bool)
        zf = torch.zeros(0, dtype=fdt)
        self.nl_ref = torch.full((self.n_atoms, 3), float("inf"), dtype=fdt)
        self.nl_builds = 0
        self.frame_sign = torch.ones(self.n_slots, dtype=fdt)
        self.frame_fixed = False
        self.occ_i, self.occ_j, self.occ_on = z, z, zb
        self.crp_p, self.crp_q, self.crp_entry_pair, self.crp_entry_slot = z, z, z, z
        self.crp_wc = torch.zeros((12, 0), dtype=fdt)
        self.hb_a, self.hb_b = z, z
        self.hb_p1, self.hb_p2, self.hb_use_plane = z, z, zb
        self.hb_plane_dist, self.hb_offset, self.hb_minr, self.hb_eclass = zf, zf, zf, zf
        self.hb_salt, self.hb_ss = zb, z
        self.cb_pair, self.cb_h, self.cb_l, self.cb_group = z, z, z, z
        self.cb_win = torch.zeros((0, 10), dtype=fdt)
        self.gr_a, self.gr_b, self.gr_ls, self.gr_hs = z, z, z, z
        self.n_groups = 0
        self.cl_i, self.cl_j, self.cl_hb, self.cl_ss = z, z, z, z
        self.cl_tol, self.cl_cons = zf, zb
        self.el_i, self.el_j = z, z
        self.ss_a, self.ss_b, self.ss_cba, self.ss_cbb, self.ss_sep = z, z, z, z, z

    # ------------------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return (f"atoms={self.n_atoms}, residues={self.n_residues}, burial={self.burial!r}, "
                f"smooth={self.smooth}, skin={self.skin}")

    @torch.jit.export
    def needs_rebuild(self, pos: Tensor) -> bool:
        if self.nl_ref.shape[0] != pos.shape[0] or self.nl_ref.device != pos.device:
            return True
        disp = (pos.detach() - self.nl_ref).abs().max()
        return bool(disp > 0.5 * self.skin / math.sqrt(3.0)) or not bool(torch.isfinite(disp))

    @torch.jit.export
    def fix_frames(self, pos: Tensor):
        """Decide, once, the sign of the planar-frame quirk (spec 2.2) for smooth mode.

        Called with the structure's own coordinates when the module is built from a structure
        (:func:`openmm_madrax.scoring.energy_module`), otherwise at the first neighbour-list
        build; later rebuilds never change it, so energies do not depend on the call history.
        """
        p = pos.detach()
        par = self.slot_parent
        p1 = self.frame_p1.index_select(0, par)
        p2 = self.frame_p2.index_select(0, par)
        _, _, ey0, _ = local_frames(p, par, p1, p2, False)
        _, _, ey1, _ = local_frames(p, par, p1, p2, True)
        self.frame_sign = torch.where((ey0 * ey1).sum(-1) < 0.0, -1.0, 1.0).to(p.dtype)
        self.frame_fixed = True

    @torch.jit.export
    def rebuild(self, pos: Tensor):
        """Build the half pair list and every static sub-list from the current coordinates."""
        p = pos.detach()
        skin = self.skin
        pairs = cell_list_pairs(p, self.list_cutoff + skin)
        i = pairs[0]
        j = pairs[1]
        d = safe_norm(p.index_select(0, i) - p.index_select(0, j))
        ri = self.residue.index_select(0, i)
        rj = self.residue.index_select(0, j)
        same_res = ri == rj
        cons_ij = self.res_next.index_select(0, ri) == rj
        cons_ji = self.res_next.index_select(0, rj) == ri
        ci = self.code.index_select(0, i)
        cj = self.code.index_select(0, j)
        npairs = i.shape[0]
        smooth = self.smooth

        # occupancy
        occ_cut = (6.25 if smooth else 6.0) + skin
        sel = torch.nonzero(d <= occ_cut).squeeze(1)
        oi = i.index_select(0, sel)
        oj = j.index_select(0, sel)
        on = (cons_ij.index_select(0, sel) & (ci.index_select(0, sel) == self.code_o) & (cj.index_select(0, sel) == self.code_n)) \
            | (cons_ji.index_select(0, sel) & (cj.index_select(0, sel) == self.code_o) & (ci.index_select(0, sel) == self.code_n))
        self.occ_i, self.occ_j, self.occ_on = oi, oj, on

        # directional polar occupancy: directed (polar p, neighbour q), expanded to p's slots
        excl = (cons_ij & self.cons_crp_excl[ci, cj]) | (cons_ji & self.cons_crp_excl[cj, ci])
        base = (d <= occ_cut) & (self.resseq.index_select(0, i) != self.resseq.index_select(0, j)) & ~excl
        pol_i = (self.n_slots_atom.index_select(0, i) > 0) & (self.polar_class.index_select(0, i) != self.pol_his)
        pol_j = (self.n_slots_atom.index_select(0, j) > 0) & (self.polar_class.index_select(0, j) != self.pol_his)
        s1 = torch.nonzero(base & pol_i).squeeze(1)
        s2 = torch.nonzero(base & pol_j).squeeze(1)
        par = torch.cat([i.index_select(0, s1), j.index_select(0, s2)])
        nbr = torch.cat([j.index_select(0, s1), i.index_select(0, s2)])
        cnt = self.n_slots_atom.index_select(0, par)
        rep = torch.repeat_interleave(torch.arange(par.shape[0], device=p.device), cnt)
        first = torch.cumsum(cnt, 0) - cnt
        off = torch.arange(rep.shape[0], device=p.device) - first.index_select(0, rep)
        parent = par.index_select(0, rep)
        self.crp_p, self.crp_q = par, nbr
        self.crp_entry_pair = rep
        self.crp_entry_slot = self.slot_start.index_select(0, parent) + off
        wc = burial.window_constants(self.polar_window)
        self.crp_wc = wc.index_select(1, self.polar_class.index_select(0, parent).clamp(min=0)).contiguous()

        # H-bond candidates (spec 3.1 and 5.1 step 1).  Every pair is stored once, (a, b): in the
        # orientation (acceptor, donor) when exactly one orientation is one, else (earlier, later).
        # For this orientation decision MadraX counts HIS ND1/NE2 as acceptors too (their tautomer
        # roles) although they have no lone pairs: a HIS ring N stored before a dual atom (SER OG,
        # THR OG1, TYR OH, CYS SG) therefore makes no H-bond with it (reproduced; checked on 1BHL).
        acc_orient = self.acceptor | self.his_ring_n
        ij_ok = acc_orient.index_select(0, i) & self.donor.index_select(0, j)
        ji_ok = acc_orient.index_select(0, j) & self.donor.index_select(0, i)
        a_all = torch.where(ij_ok | ~ji_ok, i, j)
        b_all = torch.where(ij_ok | ~ji_ok, j, i)
        da_pair = self.acceptor.index_select(0, a_all) & self.donor.index_select(0, b_all)
        hb_cut = (3.6 if smooth else 3.5) + skin
        cand = da_pair & (d <= hb_cut)
        cand = cand & (self.n_lp_slots.index_select(0, a_all) > 0) & (self.n_h_slots.index_select(0, b_all) > 0)
        bb_same = same_res & self.mainchain.index_select(0, i) & self.mainchain.index_select(0, j)
        cand = cand & ~bb_same & (~same_res | self.in_glu.index_select(0, a_all) | self.in_gln.index_select(0, b_all))
        hsel = torch.nonzero(cand).squeeze(1)
        ha = a_all.index_select(0, hsel)
        hbd = b_all.index_select(0, hsel)
        nh = hsel.shape[0]
        master_to_hb = torch.full((npairs,), -1, dtype=torch.long, device=p.device)
        master_to_hb[hsel] = torch.arange(nh, device=p.device)
        self.hb_a, self.hb_b = ha, hbd
        self.hb_p1 = self.frame_p1.index_select(0, ha).clamp(min=0)
        self.hb_p2 = self.frame_p2.index_select(0, ha).clamp(min=0)
        self.hb_use_plane = self.sp2_o_orb2.index_select(0, ha) | self.sp2_o_orb2.index_select(0, hbd)
        self.hb_plane_dist = self.plane_dist.index_select(0, ha)
        self.hb_offset = torch.where(self.bb_donor.index_select(0, hbd), 0.2, 0.1).to(p.dtype)
        self.hb_minr = self.minradius.index_select(0, ha) + self.minradius.index_select(0, hbd)
        cha = self.charged.index_select(0, ha)
        chb = self.charged.index_select(0, hbd)
        sulfur = self.sulfur_hb.index_select(0, ha) | self.sulfur_hb.index_select(0, hbd)
        ecls = torch.full((nh,), self.e_neutral, dtype=p.dtype, device=p.device)
        ecls = torch.where(sulfur, torch.full_like(ecls, self.e_sulfur), ecls)
        ecls = torch.where(cha ^ chb, torch.full_like(ecls, self.e_charged), ecls)
        self.hb_eclass = ecls
        self.hb_salt = cha & chb
        # combinations: every H slot of b with every LP slot of a
        nlp = self.n_lp_slots.index_select(0, ha)
        ncomb = self.n_h_slots.index_select(0, hbd) * nlp
        cpair = torch.repeat_interleave(torch.arange(nh, device=p.device), ncomb)
        first = torch.cumsum(ncomb, 0) - ncomb
        k = torch.arange(cpair.shape[0], device=p.device) - first.index_select(0, cpair)
        nlp_c = nlp.index_select(0, cpair)
        ca = ha.index_select(0, cpair)
        cb = hbd.index_select(0, cpair)
        self.cb_pair = cpair
        self.cb_h = self.slot_start.index_select(0, cb) + torch.div(k, nlp_c, rounding_mode="floor")
        self.cb_l = self.slot_start.index_select(0, ca) + self.n_h_slots.index_select(0, ca) + torch.remainder(k, nlp_c)
        win = self.hb_window.index_select(0, self.hb_donor_class.index_select(0, cb))
        mp = self.moving_proton.index_select(0, ca).unsqueeze(1)
        override = win.clone()
        override[:, 5] = self.hb_override[0]
        override[:, 6] = self.hb_override[1]
        override[:, 7] = self.hb_override[2]
        self.cb_win = torch.where(mp, override, win)
        ls = self.slot_state.index_select(0, self.cb_l)
        hs = self.slot_state.index_select(0, self.cb_h)
        gkey = cpair * 16 + ls * 4 + hs
        uniq, ginv = torch.unique(gkey, sorted=True, return_inverse=True)
        self.cb_group = ginv
        self.n_groups = int(uniq.shape[0])
        gpair = torch.div(uniq, 16, rounding_mode="floor")
        self.gr_a = ha.index_select(0, gpair)
        self.gr_b = hbd.index_select(0, gpair)
        self.gr_ls = torch.div(torch.remainder(uniq, 16), 4, rounding_mode="floor")
        self.gr_hs = torch.remainder(uniq, 4)

        # disulfide candidates (exact: geometric test on SG-SG pairs; smooth: the static list)
        sg = self.is_sg.index_select(0, i) & self.is_sg.index_select(0, j)
        if smooth:
            sg = sg & torch.isin(i * self.n_atoms + j, self.ss_static_keys)
        else:
            sg = sg & (d <= 3.0 + skin)
        ssel = torch.nonzero(sg).squeeze(1)
        master_to_ss = torch.full((npairs,), -1, dtype=torch.long, device=p.device)
        master_to_ss[ssel] = torch.arange(ssel.shape[0], device=p.device)
        self.ss_a = i.index_select(0, ssel)
        self.ss_b = j.index_select(0, ssel)
        self.ss_cba = self.frame_p1.index_select(0, self.ss_a).clamp(min=0)  # CYS SG frame partner 1 = CB
        self.ss_cbb = self.frame_p1.index_select(0, self.ss_b).clamp(min=0)
        self.ss_sep = torch.abs(self.resseq.index_select(0, self.ss_a) - self.resseq.index_select(0, self.ss_b))
        self.hb_ss = master_to_ss.index_select(0, hsel)

        # clashes: static exclusions and tolerance groups
        lvl = torch.abs(self.level.index_select(0, i) - self.level.index_select(0, j))
        cyc = self.cycle.index_select(0, i) & self.cycle.index_select(0, j)
        term = self.terminal.index_select(0, i) | self.terminal.index_select(0, j)
        ile = (self.is_ile_cg2.index_select(0, i) & self.is_ile_cd1.index_select(0, j)) \
            | (self.is_ile_cd1.index_select(0, i) & self.is_ile_cg2.index_select(0, j))
        excl = same_res & ((lvl < 3) | ile | cyc | term | bb_same)
        excl = excl | (cons_ij & self.cons_clash_excl[ci, cj]) | (cons_ji & self.cons_clash_excl[cj, ci])
        excl = excl | (self.is_pro_c.index_select(0, i) & (cj == self.code_pro_cd)) \
            | (self.is_pro_c.index_select(0, j) & (ci == self.code_pro_cd))
        rsum = self.radius.index_select(0, i) + self.radius.index_select(0, j)
        csel = torch.nonzero(~excl & (d <= torch.clamp(rsum + 0.6, max=5.0) + skin)).squeeze(1)
        self.cl_i = i.index_select(0, csel)
        self.cl_j = j.index_select(0, csel)
        c_same = same_res.index_select(0, csel)
        c_cons = (cons_ij | cons_ji).index_select(0, csel) & self.mainchain.index_select(0, self.cl_i) \
            & self.mainchain.index_select(0, self.cl_j)
        c_da = da_pair.index_select(0, csel)
        tol = torch.where(c_da, self.tol[2], self.tol[1])
        tol = torch.where(c_same, self.tol[0], tol)
        self.cl_tol = tol.to(p.dtype)
        self.cl_cons = c_cons
        hb_of = master_to_hb.index_select(0, csel)
        self.cl_hb = torch.where(c_same, torch.full_like(hb_of, -1), hb_of)
        self.cl_ss = master_to_ss.index_select(0, csel)

        # electrostatics: charged pairs of different residues
        esel = torch.nonzero(self.charged.index_select(0, i) & self.charged.index_select(0, j) & ~same_res
                             & (d <= self.list_cutoff + skin)).squeeze(1)
        self.el_i = i.index_select(0, esel)
        self.el_j = j.index_select(0, esel)

        if not self.frame_fixed:
            self.fix_frames(p)
        self.nl_ref = p.clone()
        self.nl_builds += 1

    # ------------------------------------------------------------------------------------------
    def virtual_sites(self, pos: Tensor) -> Tensor:
        """Virtual hydrogens and lone pairs (one per slot) from the local frames of spec 2.2."""
        par = self.slot_parent
        xa, ex, ey, ez = local_frames(pos, par, self.frame_p1.index_select(0, par), self.frame_p2.index_select(0, par),
                                      not self.smooth)
        if self.smooth:
            # MadraX's planar-frame orientation, decided once (fix_frames; static, so the smooth
            # energy stays continuous when atoms leave the exactly planar configuration)
            ey = ey * self.frame_sign.unsqueeze(-1)
            ez = ez * self.frame_sign.unsqueeze(-1)
        loc = self.slot_local
        return xa + loc[:, 0:1] * ex + loc[:, 1:2] * ey + loc[:, 2:3] * ez

    def hbond_groups(self, pos: Tensor, fake: Tensor, ss_pad: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """H-bond steps 2-7 (spec 5.1): (combination gates, group energies, group bond weights,
        group state weights).  ``ss_pad``: disulfide mask per SS pair, padded with a trailing 0."""
        smooth = self.smooth
        pad = ss_pad.shape[0] - 1
        not_ss = 1.0 - ss_pad.index_select(0, torch.where(self.hb_ss >= 0, self.hb_ss, torch.full_like(self.hb_ss, pad)))
        e_raw, gate = hbond.combination_energies(
            pos, fake, self.hb_a, self.hb_b, self.cb_pair, self.cb_h, self.cb_l, self.cb_win, self.hb_p1, self.hb_p2,
            self.hb_use_plane, self.hb_plane_dist, self.hb_offset, self.hb_minr, self.hb_eclass, self.hb_salt,
            self.kappa_salt, self.coulomb_pref, smooth, self.width)
        gate = gate * not_ss.index_select(0, self.cb_pair)
        e_group, b_group = hbond.best_per_group(e_raw * gate, hbond.bond_weight(e_raw, gate, smooth, self.width),
                                                self.cb_group, self.n_groups, smooth, self.width, self.hbond_tau)
        w_group = hbond.state_weights(e_group, self.gr_a, self.gr_b, self.gr_ls, self.gr_hs, self.state_exists, smooth,
                                      self.width, self.hbond_tau)
        return gate, e_group, b_group, w_group

    def forward(self, pos: Tensor) -> Tensor:
        """Per-residue energies (R x 11, kcal/mol) of heavy-atom coordinates (N x 3, Angstrom)."""
        pos = pos.to(self.radius.dtype)
        if self.needs_rebuild(pos):
            self.rebuild(pos)
        smooth = self.smooth
        n = self.n_atoms
        R = self.n_residues
        dt = pos.dtype
        dev = pos.device

        fake = self.virtual_sites(pos)

        # burial
        occ = burial.occupancy(pos, self.occ_i, self.occ_j, self.occ_on, self.volume, smooth)
        facc = burial.facc_from_occupancy(occ, self.occ_ref, self.occ_max, self.madrax_burial, smooth)

        # channel 0: disulfides
        e_ss, ss_mask = disulfide.pair_energies(pos, self.ss_a, self.ss_b, self.ss_cba, self.ss_cbb, self.ss_sep,
                                                self.temperature, self.ss_entropy_a, self.ss_entropy_b, smooth)
        e_ss_atom = torch.zeros(n, dtype=dt, device=dev)
        e_ss_atom = e_ss_atom.index_add(0, self.ss_a, 0.5 * e_ss * self.w_ss).index_add(0, self.ss_b, 0.5 * e_ss * self.w_ss)
        ss_pad = torch.cat([ss_mask, torch.zeros(1, dtype=dt, device=dev)])

        # channel 1: hydrogen bonds
        gate, e_group, b_group, w_group = self.hbond_groups(pos, fake, ss_pad)
        kept = 0.5 * e_group * w_group
        e_hb_atom = torch.zeros(n, dtype=dt, device=dev).index_add(0, self.gr_a, kept).index_add(0, self.gr_b, kept)
        no_hb = hbond.no_hbond_weight(b_group, w_group, self.gr_a, self.gr_b, e_hb_atom, smooth)
        hb_mask = hbond.pair_network_mask(gate, self.cb_pair, int(self.hb_a.shape[0]), smooth)

        # channel 2: electrostatics
        e_el = electrostatics.pair_energies(pos, self.el_i, self.el_j, self.charge, self.radius, self.coulomb_pref,
                                            self.kappa_elec, self.w_el_pair, smooth)
        e_el_atom = torch.zeros(n, dtype=dt, device=dev).index_add(0, self.el_i, 0.5 * e_el).index_add(0, self.el_j, 0.5 * e_el)

        # channel 3: clashes
        hb_pad = torch.cat([hb_mask, torch.zeros(1, dtype=dt, device=dev)])
        cl_hb = hb_pad.index_select(0, torch.where(self.cl_hb >= 0, self.cl_hb, torch.full_like(self.cl_hb, hb_mask.shape[0])))
        cl_ss = ss_pad.index_select(0, torch.where(self.cl_ss >= 0, self.cl_ss, torch.full_like(self.cl_ss, ss_mask.shape[0])))
        tol_main = (1.0 - cl_ss) * self.cl_tol + cl_ss * self.tol[5]
        e_cl = clash.pair_energies(pos, self.cl_i, self.cl_j, self.radius, tol_main, self.tol[4], self.tol[3],
                                   self.cl_cons, cl_hb, smooth)
        e_cl_atom = torch.zeros(n, dtype=dt, device=dev).index_add(0, self.cl_i, 0.5 * e_cl).index_add(0, self.cl_j, 0.5 * e_cl)

        # channel 4, 5: solvation
        crp, occluded = burial.polar_occupancy(pos, fake, self.slot_parent, self.crp_p, self.crp_q, self.crp_entry_pair,
                                               self.crp_entry_slot, self.crp_wc, self.minradius, self.volume,
                                               self.crp_weight, self.n_slots, smooth, self.width)
        e_pol = solvation.polar(self.energ, facc, occ, self.occ_ref, self.occ_max, crp, occluded, self.slot_parent,
                                self.polar_mult, self.directional_ok, no_hb, self.state_slots, self.state_atoms,
                                self.w_solv_plain, self.w_solv_dir, smooth)
        e_hyd = solvation.hydrophobic(self.energ, facc, self.w_hydro, self.dcp, self.corr_ionic)
        # channel 6: van der Waals
        e_vdw = vdw.atom_energies(self.vdw, facc, self.w_vdw, smooth)

        # residue assembly with burial floors and the HIS column choice (spec 5.11)
        hb_s = e_hb_atom * smax(facc, 0.9, 0.01, smooth)
        el_s = e_el_atom * smax(facc, 0.3, 0.01, smooth) * self.w_el_res
        cl_s = e_cl_atom * smax(facc, 0.5, 0.01, smooth) * self.w_clash
        sc = self.sidechain.to(dt)
        mc = 1.0 - sc
        keep1 = (~self.his_ring_n).to(dt)
        res = self.residue
        hb_mc = _residue_sum(hb_s * mc, res, R)
        el_mc = _residue_sum(el_s * mc, res, R)
        vdw_mc = _residue_sum(e_vdw * mc, res, R)
        vdw_sc = _residue_sum(e_vdw * sc, res, R)
        hb_sc0 = _residue_sum(hb_s * sc, res, R)
        el_sc0 = _residue_sum(el_s * sc, res, R)
        cl0 = _residue_sum(cl_s, res, R)
        hb_sc1 = _residue_sum(hb_s * sc * keep1, res, R)
        el_sc1 = _residue_sum(el_s * sc * keep1, res, R)
        cl1 = _residue_sum(cl_s * keep1, res, R)
        crit = torch.stack([hb_sc0 + el_sc0 + cl0, hb_sc1 + el_sc1 + cl1, hb_sc1 + el_sc1 + cl1], dim=1)
        if smooth:
            w = torch.softmax(-crit / 0.05, dim=1)
            w0 = w[:, 0]
            w1 = w[:, 1] + w[:, 2]
        else:
            w0 = (torch.argmin(crit, dim=1) == 0).to(dt)
            w1 = 1.0 - w0
        hb_sc = w0 * hb_sc0 + w1 * hb_sc1
        el_sc = w0 * el_sc0 + w1 * el_sc1
        cl_r = w0 * cl0 + w1 * cl1

        sc_occ = _residue_sum(occ * sc, res, R)
        e8 = sidechain_entropy.residue_energies(sc_occ, self.sc_A, self.sc_B, self.sc_entropy_L, hb_sc, vdw_sc,
                                                el_sc, smooth)
        e9 = torch.zeros(R, dtype=dt, device=dev)
        pr = self.pep_res
        prev = self.res_prev.index_select(0, pr)
        e9 = e9.index_put((pr,), peptide.residue_energies(
            pos, self.res_C.index_select(0, prev), self.res_N.index_select(0, pr), self.res_CA.index_select(0, pr),
            self.res_CA.index_select(0, prev), self.pep_mean.index_select(0, pr), self.pep_sd.index_select(0, pr),
            self.w_pep, smooth))
        e7, e10 = self.torsions(pos, smooth)

        out = torch.stack([
            _residue_sum(e_ss_atom, res, R), hb_mc + hb_sc, el_mc + el_sc, cl_r, _residue_sum(e_pol, res, R), _residue_sum(e_hyd, res, R), vdw_mc + vdw_sc,
            e7, e8, e9, e10], dim=1)
        return out

    @torch.jit.export
    def total(self, pos: Tensor) -> Tensor:
        return self.forward(pos).sum()

    @torch.jit.export
    def atom_features(self, pos: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """Per-atom intermediates for descriptors (:mod:`openmm_madrax.features`), not energies.

        Returns ``(occ, e_hb, n_acc, n_don)``, each of shape (N,): the atomic occupancy (spec 4.1;
        ``burial.facc_from_occupancy`` turns it into facc), the atom's share of the kept H-bond energy
        before the burial floor (kcal/mol; the per-atom H-bond term of ``forward``), and the number of
        kept H-bonds the atom makes as acceptor and as donor (exact: integers; smooth: soft counts).
        Mirrors the burial and H-bond steps of ``forward`` (which it does not change).
        """
        pos = pos.to(self.radius.dtype)
        if self.needs_rebuild(pos):
            self.rebuild(pos)
        smooth = self.smooth
        n = self.n_atoms
        dt = pos.dtype
        dev = pos.device
        fake = self.virtual_sites(pos)
        occ = burial.occupancy(pos, self.occ_i, self.occ_j, self.occ_on, self.volume, smooth)
        _, ss_mask = disulfide.pair_energies(pos, self.ss_a, self.ss_b, self.ss_cba, self.ss_cbb, self.ss_sep,
                                             self.temperature, self.ss_entropy_a, self.ss_entropy_b, smooth)
        ss_pad = torch.cat([ss_mask, torch.zeros(1, dtype=dt, device=dev)])
        _, e_group, b_group, w_group = self.hbond_groups(pos, fake, ss_pad)
        kept = 0.5 * e_group * w_group
        e_hb = torch.zeros(n, dtype=dt, device=dev).index_add(0, self.gr_a, kept).index_add(0, self.gr_b, kept)
        bonds = b_group * w_group
        n_acc = torch.zeros(n, dtype=dt, device=dev).index_add(0, self.gr_a, bonds)
        n_don = torch.zeros(n, dtype=dt, device=dev).index_add(0, self.gr_b, bonds)
        return occ, e_hb, n_acc, n_don
