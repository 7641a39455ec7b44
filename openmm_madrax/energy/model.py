"""The MadraX energy as a TorchScript-compatible ``torch.nn.Module``.

``MadraXEnergy(tables, options)(positions)`` maps heavy-atom coordinates (N x 3, Angstrom) to the
per-residue energy matrix (R x 11, kcal/mol, MadraX channel order).  Everything topological is a
registered buffer built once; ``forward`` is tensor arithmetic on coordinates.

Neighbour state: one cell list (:func:`.neighbors.cell_list_pairs`) with cutoff 7 A (7.25 A in
smooth mode) plus a Verlet skin gives the master pair list; each channel derives its own static
sub-list from it (``build_*`` in the channel's file: occupancy and directional occupancy in
:mod:`.burial`, H-bond candidates and combinations in :mod:`.hbond`, clash pairs in :mod:`.clash`,
charged pairs in :mod:`.electrostatics`, disulfide candidates in :mod:`.disulfide`).  The lists are
non-persistent buffers (they follow ``.to(device)``, stay out of ``state_dict``) and are rebuilt,
all together, only when an atom has moved more than half the skin since the last build
(:meth:`MadraXEnergy.needs_rebuild`); each term applies its own exact cutoff / switch to the
current distances, so the result does not depend on the skin.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from .. import params
from ..structure.atomtypes import (CODE_C, CODE_CA, CODE_N, CODE_O, CODE_PRO_CD, HB_DONOR_ALCOHOL, HB_DONOR_DEFAULT,
                                   HB_DONOR_HIS, HB_DONOR_LYS, POL_HIS, POLAR_WINDOW_ROWS, Tables)
from . import burial, clash, disulfide, electrostatics, hbond, peptide, sidechain_entropy, solvation, vdw
from .geometry import local_frames, safe_norm
from .neighbors import cell_list_pairs
from .options import EnergyOptions
from .smooth import smax
from .torsions import TorsionChannels

N_CHANNELS = 11
#: master pair-list cutoff (A, before the skin): the longest range of any term (electrostatics)
LIST_CUTOFF = electrostatics.CUTOFF
LIST_CUTOFF_SMOOTH = electrostatics.CUTOFF + 0.25
#: residue assembly (spec 5.11): per-atom burial floors of the H-bond, electrostatics and clash terms
HBOND_FACC_FLOOR = 0.9
ELECTRO_FACC_FLOOR = 0.3
CLASH_FACC_FLOOR = 0.5
#: smooth mode: temperature (kcal/mol) of the HIS column choice of the residue assembly
HIS_CHOICE_TAU = 0.05

#: static per-atom / per-residue tables registered as buffers, by kind
_LONG_TABLES = ("residue", "chain", "resseq", "restype", "code", "level", "hb_donor_class", "polar_class",
                "frame_p1", "frame_p2", "n_h_slots", "n_lp_slots", "slot_parent", "slot_state", "res_restype",
                "res_next", "res_prev", "res_N", "res_CA", "res_C", "res_O", "res_resseq", "chi_atoms", "n_chi")
_BOOL_TABLES = ("cycle", "mainchain", "terminal", "donor", "acceptor", "charged", "has_hb_row", "sp2_o_orb2",
                "moving_proton", "sulfur_hb", "bb_donor", "in_glu", "in_gln", "his_ring_n", "is_sg", "is_pro_c",
                "is_ile_cg2", "is_ile_cd1", "slot_is_h")
_FLOAT_TABLES = ("radius", "minradius", "volume", "occ_ref", "occ_max", "vdw", "energ", "charge", "plane_dist",
                 "crp_weight", "polar_mult", "slot_local", "sc_A", "sc_B", "sc_entropy_L", "pep_mean", "pep_sd")
#: the neighbour state: sub-lists derived from the master pair list, (name, kind)
_LIST_STATE = (("occ_i", "long"), ("occ_j", "long"), ("occ_on", "bool"),
               ("crp_p", "long"), ("crp_q", "long"), ("crp_entry_pair", "long"), ("crp_entry_slot", "long"),
               ("hb_a", "long"), ("hb_b", "long"), ("hb_p1", "long"), ("hb_p2", "long"), ("hb_use_plane", "bool"),
               ("hb_plane_dist", "float"), ("hb_offset", "float"), ("hb_minr", "float"), ("hb_eclass", "float"),
               ("hb_salt", "bool"), ("hb_ss", "long"),
               ("cb_pair", "long"), ("cb_h", "long"), ("cb_l", "long"), ("cb_group", "long"),
               ("gr_a", "long"), ("gr_b", "long"), ("gr_ls", "long"), ("gr_hs", "long"),
               ("cl_i", "long"), ("cl_j", "long"), ("cl_hb", "long"), ("cl_ss", "long"), ("cl_tol", "float"),
               ("cl_cons", "bool"), ("el_i", "long"), ("el_j", "long"),
               ("ss_a", "long"), ("ss_b", "long"), ("ss_cba", "long"), ("ss_cbb", "long"), ("ss_sep", "long"))


def _residue_sum(x: Tensor, residue: Tensor, n_residues: int) -> Tensor:
    return torch.zeros(n_residues, dtype=x.dtype, device=x.device).index_add(0, residue, x)


def _master_map(n_pairs: int, sel: Tensor) -> Tensor:
    """Master-list position -> index in a sub-list (``sel`` = its master positions), -1 elsewhere."""
    out = torch.full((n_pairs,), -1, dtype=torch.long, device=sel.device)
    out[sel] = torch.arange(sel.shape[0], device=sel.device)
    return out


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


def _consecutive_exclusions(pairs) -> np.ndarray:
    """7 x 7 table (atom codes of residue i, of residue i+1) of excluded consecutive pairs."""
    out = np.zeros((7, 7), bool)
    for a, b in pairs:
        out[a, b] = True
    return out


def check_smooth_settings(smoothing: float, hbond_tau: float) -> None:
    """ValueError unless ``smoothing`` >= 1 and ``hbond_tau`` > 0 (see :class:`EnergyOptions`)."""
    EnergyOptions(smoothing=smoothing, hbond_tau=hbond_tau)


class MadraXEnergy(nn.Module):
    """Per-residue MadraX energy (kcal/mol) of heavy-atom coordinates (Angstrom).

    Parameters
    ----------
    tables
        static tables of a prepared structure (``Structure.tables()``).
    options
        :class:`~openmm_madrax.energy.EnergyOptions` (burial, smooth, precision, skin, smoothing,
        hbond_tau); keyword arguments (``smooth=True``, ``dtype=torch.float32``, ...) change them.
    torsions
        optional :class:`~openmm_madrax.energy.torsions.TorsionChannels` for channels 7 and 10
        (zeros without it; :func:`openmm_madrax.energy_module` adds the fitted densities).
    """

    def __init__(self, tables: Tables, options: Optional[EnergyOptions] = None,
                 torsions: Optional[TorsionChannels] = None, **changes):
        super().__init__()
        options = EnergyOptions.coerce(options, **changes)
        self.options = options
        self.burial = options.burial
        self.madrax_burial = options.burial == "madrax"
        self.smooth = options.smooth
        self.skin = options.skin
        #: smooth mode: Boltzmann temperature (kcal/mol) of the H-bond combination and state choices
        self.hbond_tau = options.hbond_tau
        #: multiplier of the angular/energy switch widths of the H-bond and polar-occupancy terms
        self.width = options.smoothing
        self.list_cutoff = LIST_CUTOFF_SMOOTH if options.smooth else LIST_CUTOFF
        self.n_atoms = int(tables.residue.shape[0])
        self.n_residues = int(tables.res_restype.shape[0])
        self.n_slots = int(tables.slot_parent.shape[0])
        self.code_o = CODE_O
        self.code_n = CODE_N
        self.code_pro_cd = CODE_PRO_CD
        self.pol_his = POL_HIS
        self._set_constants()
        # residue-assembly constants as attributes (TorchScript reads module attributes, not globals)
        self.hb_facc_floor = HBOND_FACC_FLOOR
        self.el_facc_floor = ELECTRO_FACC_FLOOR
        self.cl_facc_floor = CLASH_FACC_FLOOR
        self.his_choice_tau = HIS_CHOICE_TAU
        dtype = options.dtype
        self._register_tables(tables, dtype)
        self._register_derived_tables(tables, dtype)
        self.torsions = torsions if torsions is not None else TorsionChannels.empty(tables, dtype)
        self._init_neighbor_state(dtype)

    # -- set-up -----------------------------------------------------------------------------------
    def _set_constants(self) -> None:
        """Physical constants and MadraX's learned multipliers (plain floats: TorchScript constants)."""
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
        cls = params.by_key("hbond_class_energies", "class")
        self.e_neutral = float(cls["neutral"]["energy_kcal_per_mol"])
        self.e_charged = float(cls["charged"]["energy_kcal_per_mol"])
        self.e_sulfur = float(cls["sulfur"]["energy_kcal_per_mol"])

    def _reg(self, name: str, arr, dtype: torch.dtype) -> None:
        self.register_buffer(name, torch.as_tensor(np.ascontiguousarray(arr)).to(dtype))

    def _register_tables(self, t: Tables, dtype: torch.dtype) -> None:
        """The typing tables of the structure (spec sections 2-3), as buffers."""
        for name in _LONG_TABLES:
            self._reg(name, getattr(t, name), torch.long)
        for name in _BOOL_TABLES:
            self._reg(name, getattr(t, name), torch.bool)
        for name in _FLOAT_TABLES:
            self._reg(name, getattr(t, name), dtype)
        self._reg("sidechain", ~t.mainchain, torch.bool)

    def _register_derived_tables(self, t: Tables, dtype: torch.dtype) -> None:
        """Index tables derived once from the typing: slots per atom and state, windows, exclusions,
        static disulfides, peptide-bond residues."""
        n_slots_atom = t.n_h_slots + t.n_lp_slots
        slot_start = np.zeros(self.n_atoms, np.int64)  # slots of an atom are contiguous: H, then LP
        slot_start[1:] = np.cumsum(n_slots_atom)[:-1]
        self._reg("slot_start", slot_start, torch.long)
        self._reg("n_slots_atom", n_slots_atom, torch.long)
        # per-atom existing states, and slots per (polar atom, state) for the solvation test
        state_exists = np.zeros((self.n_atoms, 4), bool)
        for s, a in enumerate(t.slot_parent):
            state_exists[a, t.slot_state[s]] = True
        self._reg("state_exists", state_exists, torch.bool)
        polar_atoms = np.nonzero(n_slots_atom > 0)[0]
        state_slots = np.full((len(polar_atoms), 4, 3), -1, np.int64)
        fill = np.zeros((len(polar_atoms), 4), np.int64)
        row_of = {int(a): k for k, a in enumerate(polar_atoms)}
        for s, a in enumerate(t.slot_parent):
            k = row_of[int(a)]
            st = int(t.slot_state[s])
            state_slots[k, st, fill[k, st]] = s
            fill[k, st] += 1
        self._reg("state_slots", state_slots, torch.long)
        self._reg("state_atoms", polar_atoms, torch.long)
        # directional polar solvation is possible for atoms with an H-bond row and Occmax != Occ
        self._reg("directional_ok", t.has_hb_row & (t.occ_max != t.occ_ref) & (n_slots_atom > 0), torch.bool)
        hb_win, hb_override = _hb_window_table()
        self._reg("hb_window", hb_win, dtype)
        self._reg("hb_override", hb_override, dtype)
        self._reg("polar_window", _polar_window_table(), dtype)
        # consecutive-residue exclusions (first atom in residue i, second in i+1)
        self._reg("cons_clash_excl", _consecutive_exclusions(
            ((CODE_O, CODE_N), (CODE_C, CODE_N), (CODE_C, CODE_CA), (CODE_O, CODE_CA), (CODE_CA, CODE_N),
             (CODE_C, CODE_PRO_CD), (CODE_CA, CODE_PRO_CD))), torch.bool)
        self._reg("cons_crp_excl", _consecutive_exclusions(((CODE_O, CODE_CA), (CODE_O, CODE_N), (CODE_CA, CODE_N))),
                  torch.bool)
        # static disulfides (MD) as sorted atom-pair keys
        ss = t.ss_static.reshape(-1, 2)
        ss_keys = np.sort(np.minimum(ss[:, 0], ss[:, 1]) * self.n_atoms + np.maximum(ss[:, 0], ss[:, 1]))
        self._reg("ss_static_keys", ss_keys, torch.long)
        # peptide-bond residues (with a consecutive predecessor)
        self._reg("pep_res", np.nonzero(t.res_prev >= 0)[0], torch.long)

    def _init_neighbor_state(self, dtype: torch.dtype) -> None:
        """Empty neighbour state (non-persistent buffers; filled by :meth:`rebuild`)."""
        kinds = {"long": torch.long, "bool": torch.bool, "float": dtype}
        for name, kind in _LIST_STATE:
            self.register_buffer(name, torch.zeros(0, dtype=kinds[kind]), persistent=False)
        self.register_buffer("crp_wc", torch.zeros((12, 0), dtype=dtype), persistent=False)
        self.register_buffer("cb_win", torch.zeros((0, 10), dtype=dtype), persistent=False)
        #: coordinates at the last build (inf: never built)
        self.register_buffer("nl_ref", torch.full((self.n_atoms, 3), float("inf"), dtype=dtype), persistent=False)
        self.register_buffer("frame_sign", torch.ones(self.n_slots, dtype=dtype), persistent=False)
        self.n_groups = 0
        self.nl_builds = 0
        self.frame_fixed = False

    # ------------------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return (f"atoms={self.n_atoms}, residues={self.n_residues}, burial={self.burial!r}, "
                f"smooth={self.smooth}, skin={self.skin}")

    @torch.jit.export
    def needs_rebuild(self, pos: Tensor) -> bool:
        """True when the neighbour state is stale: never built, another device or atom count, or an
        atom moved more than half the skin (per coordinate: skin / (2 sqrt 3)) since the build."""
        if self.nl_ref.shape[0] != pos.shape[0] or self.nl_ref.device != pos.device:
            return True
        disp = (pos.detach() - self.nl_ref).abs().max()
        return bool(disp > 0.5 * self.skin / math.sqrt(3.0)) or not bool(torch.isfinite(disp))

    @torch.jit.export
    def fix_frames(self, pos: Tensor):
        """Decide, once, the sign of the planar-frame quirk (spec 2.2) for smooth mode.

        Called with the structure's own coordinates when the module is built from a structure
        (:func:`openmm_madrax.energy_module`), otherwise at the first neighbour-list build; later
        rebuilds never change it, so energies do not depend on the call history.
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
        """Build the master pair list and every channel's sub-list from the current coordinates."""
        p = pos.detach()
        skin = self.skin
        smooth = self.smooth
        pairs = cell_list_pairs(p, self.list_cutoff + skin)
        i = pairs[0]
        j = pairs[1]
        d = safe_norm(p.index_select(0, i) - p.index_select(0, j))
        ri = self.residue.index_select(0, i)
        rj = self.residue.index_select(0, j)
        same_res = ri == rj
        cons_ij = self.res_next.index_select(0, ri) == rj  # i in residue r, j in r + 1
        cons_ji = self.res_next.index_select(0, rj) == ri
        ci = self.code.index_select(0, i)
        cj = self.code.index_select(0, j)
        npairs = i.shape[0]
        bb_same = same_res & self.mainchain.index_select(0, i) & self.mainchain.index_select(0, j)

        occ_cut = burial.occupancy_cutoff(smooth) + skin
        self.occ_i, self.occ_j, self.occ_on = burial.build_occupancy_list(
            i, j, d, cons_ij, cons_ji, ci, cj, occ_cut, self.code_o, self.code_n)
        self.crp_p, self.crp_q, self.crp_entry_pair, self.crp_entry_slot, self.crp_wc = \
            burial.build_polar_occupancy_list(i, j, d, cons_ij, cons_ji, ci, cj, occ_cut, self.cons_crp_excl,
                                              self.resseq, self.n_slots_atom, self.polar_class, self.pol_his,
                                              self.slot_start, self.polar_window)

        a_all, b_all, da_pair = hbond.orient_pairs(i, j, self.acceptor, self.donor, self.his_ring_n)
        hsel = hbond.build_candidates(a_all, b_all, da_pair, d, same_res, bb_same, hbond.candidate_cutoff(smooth) + skin,
                                      self.n_lp_slots, self.n_h_slots, self.in_glu, self.in_gln)
        self.hb_a = a_all.index_select(0, hsel)
        self.hb_b = b_all.index_select(0, hsel)
        (self.hb_p1, self.hb_p2, self.hb_use_plane, self.hb_plane_dist, self.hb_offset, self.hb_minr,
         self.hb_eclass, self.hb_salt) = hbond.candidate_constants(
            self.hb_a, self.hb_b, self.frame_p1, self.frame_p2, self.sp2_o_orb2, self.plane_dist, self.bb_donor,
            self.minradius, self.charged, self.sulfur_hb, self.e_neutral, self.e_charged, self.e_sulfur)
        (self.cb_pair, self.cb_h, self.cb_l, self.cb_win, self.cb_group, self.n_groups, self.gr_a, self.gr_b,
         self.gr_ls, self.gr_hs) = hbond.build_combinations(
            self.hb_a, self.hb_b, self.n_lp_slots, self.n_h_slots, self.slot_start, self.slot_state, self.hb_window,
            self.hb_donor_class, self.moving_proton, self.hb_override)

        ssel, self.ss_a, self.ss_b, self.ss_cba, self.ss_cbb, self.ss_sep = disulfide.build_candidates(
            i, j, d, self.is_sg, self.ss_static_keys, self.n_atoms, self.frame_p1, self.resseq, smooth, skin)
        master_to_ss = _master_map(npairs, ssel)
        master_to_hb = _master_map(npairs, hsel)
        self.hb_ss = master_to_ss.index_select(0, hsel)

        csel, self.cl_i, self.cl_j, self.cl_tol, self.cl_cons, c_same = clash.build_pairs(
            i, j, d, same_res, cons_ij, cons_ji, ci, cj, bb_same, da_pair, self.level, self.cycle, self.terminal,
            self.is_ile_cg2, self.is_ile_cd1, self.is_pro_c, self.code_pro_cd, self.cons_clash_excl,
            self.mainchain, self.radius, self.tol, skin)
        hb_of = master_to_hb.index_select(0, csel)
        self.cl_hb = torch.where(c_same, torch.full_like(hb_of, -1), hb_of)
        self.cl_ss = master_to_ss.index_select(0, csel)

        self.el_i, self.el_j = electrostatics.build_pairs(i, j, d, self.charged, same_res, self.list_cutoff + skin)

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

    def disulfide_bonds(self, pos: Tensor) -> Tuple[Tensor, Tensor]:
        """Channel 0 per SS candidate: (energy before the channel multiplier, bond mask padded with a
        trailing 0 for index -1)."""
        e_ss, ss_mask = disulfide.pair_energies(pos, self.ss_a, self.ss_b, self.ss_cba, self.ss_cbb, self.ss_sep,
                                                self.temperature, self.ss_entropy_a, self.ss_entropy_b, self.smooth)
        return e_ss, torch.cat([ss_mask, torch.zeros(1, dtype=pos.dtype, device=pos.device)])

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

    def _atom_sum(self, pos: Tensor, i: Tensor, j: Tensor, e_pair: Tensor) -> Tensor:
        """Per-atom energies: half of every pair energy to each atom."""
        half = 0.5 * e_pair
        return torch.zeros(self.n_atoms, dtype=pos.dtype, device=pos.device).index_add(0, i, half).index_add(0, j, half)

    def forward(self, pos: Tensor) -> Tensor:
        """Per-residue energies (R x 11, kcal/mol) of heavy-atom coordinates (N x 3, Angstrom)."""
        pos = pos.to(self.radius.dtype)
        if self.needs_rebuild(pos):
            self.rebuild(pos)
        smooth = self.smooth
        dt = pos.dtype
        dev = pos.device
        fake = self.virtual_sites(pos)

        # burial (spec 4)
        occ = burial.occupancy(pos, self.occ_i, self.occ_j, self.occ_on, self.volume, smooth)
        facc = burial.facc_from_occupancy(occ, self.occ_ref, self.occ_max, self.madrax_burial, smooth)
        # channel 0: disulfides
        e_ss, ss_pad = self.disulfide_bonds(pos)
        e_ss_atom = self._atom_sum(pos, self.ss_a, self.ss_b, e_ss * self.w_ss)
        # channel 1: hydrogen bonds
        gate, e_group, b_group, w_group = self.hbond_groups(pos, fake, ss_pad)
        e_hb_atom = self._atom_sum(pos, self.gr_a, self.gr_b, e_group * w_group)
        no_hb = hbond.no_hbond_weight(b_group, w_group, self.gr_a, self.gr_b, e_hb_atom, smooth)
        hb_mask = hbond.pair_network_mask(gate, self.cb_pair, int(self.hb_a.shape[0]), smooth)
        # channel 2: electrostatics
        e_el = electrostatics.pair_energies(pos, self.el_i, self.el_j, self.charge, self.radius, self.coulomb_pref,
                                            self.kappa_elec, self.w_el_pair, smooth)
        e_el_atom = self._atom_sum(pos, self.el_i, self.el_j, e_el)
        # channel 3: clashes
        hb_pad = torch.cat([hb_mask, torch.zeros(1, dtype=dt, device=dev)])
        cl_hb = hb_pad.index_select(0, torch.where(self.cl_hb >= 0, self.cl_hb, torch.full_like(self.cl_hb, hb_mask.shape[0])))
        n_ss = ss_pad.shape[0] - 1
        cl_ss = ss_pad.index_select(0, torch.where(self.cl_ss >= 0, self.cl_ss, torch.full_like(self.cl_ss, n_ss)))
        tol_main = (1.0 - cl_ss) * self.cl_tol + cl_ss * self.tol[5]
        e_cl = clash.pair_energies(pos, self.cl_i, self.cl_j, self.radius, tol_main, self.tol[4], self.tol[3],
                                   self.cl_cons, cl_hb, smooth)
        e_cl_atom = self._atom_sum(pos, self.cl_i, self.cl_j, e_cl)
        # channels 4, 5: solvation
        crp, occluded = burial.polar_occupancy(pos, fake, self.slot_parent, self.crp_p, self.crp_q, self.crp_entry_pair,
                                               self.crp_entry_slot, self.crp_wc, self.minradius, self.volume,
                                               self.crp_weight, self.n_slots, smooth, self.width)
        e_pol = solvation.polar(self.energ, facc, occ, self.occ_ref, self.occ_max, crp, occluded, self.slot_parent,
                                self.polar_mult, self.directional_ok, no_hb, self.state_slots, self.state_atoms,
                                self.w_solv_plain, self.w_solv_dir, smooth)
        e_hyd = solvation.hydrophobic(self.energ, facc, self.w_hydro, self.dcp, self.corr_ionic)
        # channel 6: van der Waals
        e_vdw = vdw.atom_energies(self.vdw, facc, self.w_vdw, smooth)
        return self._assemble(pos, facc, occ, e_ss_atom, e_hb_atom, e_el_atom, e_cl_atom, e_pol, e_hyd, e_vdw)

    def _assemble(self, pos: Tensor, facc: Tensor, occ: Tensor, e_ss_atom: Tensor, e_hb_atom: Tensor,
                  e_el_atom: Tensor, e_cl_atom: Tensor, e_pol: Tensor, e_hyd: Tensor, e_vdw: Tensor) -> Tensor:
        """Residue assembly (spec 5.11): burial floors, the main/side-chain split, the HIS column
        choice, then channels 7-10 and the (R x 11) matrix."""
        smooth = self.smooth
        R = self.n_residues
        dt = pos.dtype
        hb_s = e_hb_atom * smax(facc, self.hb_facc_floor, 0.01, smooth)
        el_s = e_el_atom * smax(facc, self.el_facc_floor, 0.01, smooth) * self.w_el_res
        cl_s = e_cl_atom * smax(facc, self.cl_facc_floor, 0.01, smooth) * self.w_clash
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
            w = torch.softmax(-crit / self.his_choice_tau, dim=1)
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
        pr = self.pep_res
        prev = self.res_prev.index_select(0, pr)
        e9 = torch.zeros(R, dtype=dt, device=pos.device).index_put((pr,), peptide.residue_energies(
            pos, self.res_C.index_select(0, prev), self.res_N.index_select(0, pr), self.res_CA.index_select(0, pr),
            self.res_CA.index_select(0, prev), self.pep_mean.index_select(0, pr), self.pep_sd.index_select(0, pr),
            self.w_pep, smooth))
        e7, e10 = self.torsions(pos, smooth)
        return torch.stack([
            _residue_sum(e_ss_atom, res, R), hb_mc + hb_sc, el_mc + el_sc, cl_r, _residue_sum(e_pol, res, R),
            _residue_sum(e_hyd, res, R), vdw_mc + vdw_sc, e7, e8, e9, e10], dim=1)

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
        fake = self.virtual_sites(pos)
        occ = burial.occupancy(pos, self.occ_i, self.occ_j, self.occ_on, self.volume, self.smooth)
        _, ss_pad = self.disulfide_bonds(pos)
        _, e_group, b_group, w_group = self.hbond_groups(pos, fake, ss_pad)
        e_hb = self._atom_sum(pos, self.gr_a, self.gr_b, e_group * w_group)
        bonds = b_group * w_group
        z = torch.zeros(self.n_atoms, dtype=pos.dtype, device=pos.device)
        return occ, e_hb, z.index_add(0, self.gr_a, bonds), z.index_add(0, self.gr_b, bonds)
