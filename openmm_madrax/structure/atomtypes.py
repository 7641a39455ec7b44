"""Atom typing: a prepared :class:`~openmm_madrax.structure.Structure` -> static numpy tables.

Everything that depends only on the topology is decided here, once (physics spec sections 2 and
3.2): residue-specific atom types, terminal retyping (``tN``/``OXT``), hard-coded donor/acceptor
roles, H-bond and polar-occupancy window classes, fake-atom (virtual H / lone pair) slots with
their local frames, torsion atom quadruplets and per-residue constants.  The energy module turns
these arrays into buffers; its ``forward`` is then pure tensor arithmetic.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Dict, List

import numpy as np

from .. import params
from ..residues import MAX_CHI

# atom codes used by static pair rules
CODE_NONE, CODE_N, CODE_CA, CODE_C, CODE_O, CODE_OXT, CODE_PRO_CD = 0, 1, 2, 3, 4, 5, 6
_NAME_CODE = {"N": CODE_N, "CA": CODE_CA, "C": CODE_C, "O": CODE_O, "OXT": CODE_OXT}

# H-bond donor classes (table T8 rows) and acceptor override
HB_DONOR_DEFAULT, HB_DONOR_ALCOHOL, HB_DONOR_LYS, HB_DONOR_HIS = 0, 1, 2, 3
ALCOHOLS = {("SER", "OG"), ("THR", "OG1"), ("TYR", "OH"), ("CYS", "SG")}
HIS_RING_N = {("HIS", "ND1"), ("HIS", "NE2")}

# polar-occupancy window classes (table T9), -1 = not a polar atom
POL_NONE, POL_DONOR_DEFAULT, POL_ALCOHOL, POL_LYS, POL_HIS, POL_ACCEPTOR = -1, 0, 1, 2, 3, 4
POLAR_WINDOW_ROWS = ("donor_default", "donor_alcohol", "donor_lys", "donor_his_sidechain", "acceptor")



@dataclass
class Tables:
    """Static per-atom / per-slot / per-residue arrays (numpy; converted to tensors by the energy)."""

    # per atom (N)
    residue: np.ndarray
    chain: np.ndarray
    resseq: np.ndarray
    restype: np.ndarray
    code: np.ndarray
    radius: np.ndarray
    minradius: np.ndarray
    volume: np.ndarray
    occ_ref: np.ndarray
    occ_max: np.ndarray
    vdw: np.ndarray
    energ: np.ndarray
    level: np.ndarray
    cycle: np.ndarray
    mainchain: np.ndarray
    terminal: np.ndarray
    donor: np.ndarray
    acceptor: np.ndarray
    charge: np.ndarray
    charged: np.ndarray
    has_hb_row: np.ndarray
    sp2_o_orb2: np.ndarray
    plane_dist: np.ndarray
    hb_donor_class: np.ndarray
    moving_proton: np.ndarray
    sulfur_hb: np.ndarray
    bb_donor: np.ndarray
    in_glu: np.ndarray
    in_gln: np.ndarray
    his_ring_n: np.ndarray
    is_sg: np.ndarray
    is_pro_c: np.ndarray
    is_ile_cg2: np.ndarray
    is_ile_cd1: np.ndarray
    polar_class: np.ndarray
    crp_weight: np.ndarray
    polar_mult: np.ndarray
    frame_p1: np.ndarray
    frame_p2: np.ndarray
    n_h_slots: np.ndarray
    n_lp_slots: np.ndarray
    # fake-atom slots (F)
    slot_parent: np.ndarray
    slot_is_h: np.ndarray
    slot_state: np.ndarray
    slot_local: np.ndarray  # (F, 3) components along (e_x, e_y, e_z)
    # per residue (R)
    res_restype: np.ndarray
    res_chain: np.ndarray
    res_resseq: np.ndarray
    res_next: np.ndarray  # index of the consecutive next residue or -1
    res_prev: np.ndarray
    res_N: np.ndarray
    res_CA: np.ndarray
    res_C: np.ndarray
    res_O: np.ndarray
    chi_atoms: np.ndarray  # (R, MAX_CHI, 4), -1 = undefined
    n_chi: np.ndarray
    sc_A: np.ndarray
    sc_B: np.ndarray
    sc_entropy_L: np.ndarray  # 0.006017 * T * S_max
    rotamer_weight: np.ndarray
    pep_mean: np.ndarray  # (R, 3) C-N length, C-N-CA, CA-C-N (rad) for residue i's bond (i-1, i)
    pep_sd: np.ndarray
    # disulfides from the topology (static list for MD), (S, 2)
    ss_static: np.ndarray

    def as_dict(self) -> Dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def build_tables(structure) -> Tables:
    """Type every atom, fake-atom slot and residue of ``structure`` (spec sections 2 and 3.2)."""
    residues = structure.residues
    R = len(residues)
    N = structure.n_atoms
    names = structure.atom_names
    index_of: List[Dict[str, int]] = [{names[a]: a for a in range(res.atom_start, res.atom_stop)}
                                      for res in residues]
    is_first, is_last = _chain_ends(residues)
    res_next = np.full(R, -1, np.int64)
    res_prev = np.full(R, -1, np.int64)
    for r in range(R - 1):
        if structure.next_consecutive[r]:
            res_next[r] = r + 1
            res_prev[r + 1] = r

    f = lambda: np.zeros(N, np.float64)  # noqa: E731
    i = lambda v=0: np.full(N, v, np.int64)  # noqa: E731
    b = lambda: np.zeros(N, bool)  # noqa: E731
    t = dict(residue=structure.atom_residue.astype(np.int64), chain=i(), resseq=i(), restype=i(), code=i(),
             radius=f(), minradius=f(), volume=f(), occ_ref=f(), occ_max=f(), vdw=f(), energ=f(), level=i(),
             cycle=b(), mainchain=b(), terminal=b(), donor=b(), acceptor=b(), charge=f(), charged=b(),
             has_hb_row=b(), sp2_o_orb2=b(), plane_dist=f(), hb_donor_class=i(), moving_proton=b(),
             sulfur_hb=b(), bb_donor=b(), in_glu=b(), in_gln=b(), his_ring_n=b(), is_sg=b(), is_pro_c=b(),
             is_ile_cg2=b(), is_ile_cd1=b(), polar_class=i(POL_NONE), crp_weight=f(), polar_mult=f(),
             frame_p1=i(-1), frame_p2=i(-1), n_h_slots=i(), n_lp_slots=i())
    slots = _Slots([], [], [], [])
    types = params.atom_types()
    for a in range(N):
        r = int(structure.atom_residue[a])
        res = residues[r]
        name = names[a]
        # terminal retyping: the first N of a chain is tN, the last O of a chain is OXT (spec 2.3)
        tname = "tN" if (name == "N" and is_first[r]) else ("OXT" if (name == "O" and is_last[r]) else name)
        _type_atom(t, a, res, name, tname, types[(res.resname, tname)])
        _frame_partners(t, a, r, res.resname, name, tname, index_of, res_prev, res_next)
        _polar_atom(t, slots, a, res.resname, name, tname)
    per_residue = _residue_tables(residues, index_of)
    ss = np.asarray(structure.disulfides, np.int64).reshape(-1, 2)
    return Tables(
        **t,
        slot_parent=np.asarray(slots.parent, np.int64),
        slot_is_h=np.asarray(slots.is_h, bool),
        slot_state=np.asarray(slots.state, np.int64),
        slot_local=np.asarray(slots.local, np.float64).reshape(-1, 3),
        res_next=res_next, res_prev=res_prev, ss_static=ss, **per_residue,
    )


@dataclass
class _Slots:
    """Fake-atom slots (virtual hydrogens and lone pairs) collected while typing."""

    parent: List[int]
    is_h: List[bool]
    state: List[int]
    local: List[List[float]]


def _chain_ends(residues):
    """(is_first, is_last): first / last residue of every chain, in topology order."""
    first_of_chain: Dict[int, int] = {}
    last_of_chain: Dict[int, int] = {}
    for r, res in enumerate(residues):
        first_of_chain.setdefault(res.chain_index, r)
        last_of_chain[res.chain_index] = r
    is_first = np.zeros(len(residues), bool)
    is_last = np.zeros(len(residues), bool)
    is_first[list(first_of_chain.values())] = True
    is_last[list(last_of_chain.values())] = True
    return is_first, is_last


def _type_atom(t: dict, a: int, res, name: str, tname: str, row: dict) -> None:
    """Per-atom parameters (table T1 row ``row``) and the hard-coded roles of spec 3.2."""
    rn = res.resname
    t["chain"][a] = res.chain_index
    t["resseq"][a] = res.resseq
    t["restype"][a] = params.RESIDUE_INDEX[rn]
    t["code"][a] = CODE_PRO_CD if (rn == "PRO" and name == "CD") else _NAME_CODE.get(name, CODE_NONE)
    for col, key in (("radius", "radius"), ("minradius", "minradius"), ("volume", "volume"),
                     ("occ_ref", "Occ"), ("occ_max", "Occmax"), ("vdw", "VdW"), ("energ", "enerG")):
        t[col][a] = float(row[key])
    t["level"][a] = int(row["level"])
    t["cycle"][a] = bool(row["cycle"])
    t["mainchain"][a] = tname in ("N", "CA", "C", "O", "tN", "OXT")
    t["terminal"][a] = tname in ("tN", "OXT")
    t["donor"][a] = bool(row["hb_donor"] or 0)
    t["acceptor"][a] = bool(row["hb_acceptor"] or 0)
    t["charge"][a] = float(row["charge"] or 0.0)
    t["charged"][a] = bool(row["charged"] or 0)
    hyb = row["hybridization"]
    t["has_hb_row"][a] = hyb is not None and hyb != ""
    t["sp2_o_orb2"][a] = hyb == "SP2_O_ORB2"
    t["plane_dist"][a] = float(row["hbond_plane_dist"] or 0.0)
    key = (rn, name)
    if key in ALCOHOLS:
        t["hb_donor_class"][a] = HB_DONOR_ALCOHOL
        t["moving_proton"][a] = True
    elif key == ("LYS", "NZ"):
        t["hb_donor_class"][a] = HB_DONOR_LYS
    elif key in HIS_RING_N:
        t["hb_donor_class"][a] = HB_DONOR_HIS
    t["sulfur_hb"][a] = key == ("CYS", "SG")
    t["is_sg"][a] = key == ("CYS", "SG")
    t["bb_donor"][a] = tname in ("N", "tN")
    t["in_glu"][a] = rn == "GLU"
    t["in_gln"][a] = rn == "GLN"
    t["his_ring_n"][a] = key in HIS_RING_N
    t["is_pro_c"][a] = key == ("PRO", "C")
    t["is_ile_cg2"][a] = key == ("ILE", "CG2")
    t["is_ile_cd1"][a] = key == ("ILE", "CD1")


def _frame_partners(t: dict, a: int, r: int, rn: str, name: str, tname: str, index_of, res_prev, res_next) -> None:
    """Local-frame partners of atom ``a`` (also used by the acceptor plane test); -1 when missing."""
    fp = params.frame_partners().get((rn, name)) if tname not in ("tN", "OXT") else None
    if fp is None:
        return
    p = []
    for pname, off in ((fp[0], fp[1]), (fp[2], fp[3])):
        rr = r + off if off == 0 else (res_prev[r] if off == -1 else (res_next[r] if off == 1 else -1))
        p.append(index_of[rr].get(pname, -1) if rr >= 0 else -1)
    if p[0] >= 0 and p[1] >= 0:
        t["frame_p1"][a], t["frame_p2"][a] = p


def _polar_atom(t: dict, slots: _Slots, a: int, rn: str, name: str, tname: str) -> None:
    """Polar class (spec 4.3 / T9), fake-atom slots and cRP weights of a donor or acceptor."""
    if not (t["donor"][a] or t["acceptor"][a]):
        return
    key = (rn, name)
    if key in ALCOHOLS:
        t["polar_class"][a] = POL_ALCOHOL
    elif key == ("LYS", "NZ"):
        t["polar_class"][a] = POL_LYS
    elif key in HIS_RING_N:
        t["polar_class"][a] = POL_HIS
    elif t["donor"][a]:
        t["polar_class"][a] = POL_DONOR_DEFAULT
    else:
        t["polar_class"][a] = POL_ACCEPTOR
    # fake atoms only for parents with both frame partners; terminal retyped atoms have none
    table = params.fake_atoms().get(key, []) if tname not in ("tN", "OXT") else []
    if table and t["frame_p1"][a] >= 0:
        for s in table:
            slots.parent.append(a)
            slots.is_h.append(s["kind"] == "H")
            slots.state.append(int(s["state"]))
            slots.local.append([float(s["x"]), float(s["y"]), float(s["z"])])
            if s["kind"] == "H":
                t["n_h_slots"][a] += 1
            else:
                t["n_lp_slots"][a] += 1
    # cRP weight r_i = 1 / (2 n_i) (spec 4.3), from the table's slot counts (not the frames)
    n_h = sum(1 for s in table if s["kind"] == "H")
    n_lp = sum(1 for s in table if s["kind"] == "LP")
    n_i = n_lp if (t["acceptor"][a] and not t["donor"][a]) else max(n_h, 1)
    t["crp_weight"][a] = 1.0 / (2.0 * n_i) if n_i > 0 else 0.0
    t["polar_mult"][a] = 1.0 if (t["acceptor"][a] and name[0] != "N") else 2.0


def _residue_tables(residues, index_of) -> Dict[str, np.ndarray]:
    """Per-residue arrays: backbone atoms, scored chi quadruplets, burial normalisers, side-chain
    entropy scale and peptide-bond statistics."""
    chi_defs = params.chi_definitions()
    pep = params.by_key("peptide_geometry", "residue")
    norm = params.by_key("residue_burial_normalisers", "residue")
    sent = params.by_key("sidechain_entropy", "residue")
    ms = params.multipliers()["EntropySC.weight"]
    T = params.constants()["T"]
    R = len(residues)
    chi_atoms = np.full((R, MAX_CHI, 4), -1, np.int64)
    n_chi = np.zeros(R, np.int64)
    rot_w = np.zeros(R, np.float64)
    sc_A = np.zeros(R)
    sc_B = np.zeros(R)
    L = np.zeros(R)
    pep_mean = np.zeros((R, 3))
    pep_sd = np.ones((R, 3))
    for r, res in enumerate(residues):
        rn = res.resname
        k = 0
        for row in chi_defs.get(rn, []):
            if not int(row["scored_in_channel10"]):
                continue
            chi_atoms[r, k] = [index_of[r][row[f"atom{j}"]] for j in (1, 2, 3, 4)]
            k += 1
        n_chi[r] = k
        rot_w[r] = params.rotamer_multiplier(rn) if k else 0.0
        sc_A[r] = float(norm[rn]["SC_A_max"])
        sc_B[r] = float(norm[rn]["SC_B_ref"])
        L[r] = ms * T * float(sent[rn]["S_max_kcal_per_mol_K"])
        g = pep[rn]
        pep_mean[r] = [g["CN_mean_A"], g["CNCA_mean_rad"], g["CACN_mean_rad"]]
        pep_sd[r] = [g["CN_std_A"], g["CNCA_std_rad"], g["CACN_std_rad"]]
    return dict(
        res_restype=np.array([params.RESIDUE_INDEX[r.resname] for r in residues], np.int64),
        res_chain=np.array([r.chain_index for r in residues], np.int64),
        res_resseq=np.array([r.resseq for r in residues], np.int64),
        res_N=np.array([ix["N"] for ix in index_of], np.int64),
        res_CA=np.array([ix["CA"] for ix in index_of], np.int64),
        res_C=np.array([ix["C"] for ix in index_of], np.int64),
        res_O=np.array([ix["O"] for ix in index_of], np.int64),
        chi_atoms=chi_atoms, n_chi=n_chi, sc_A=sc_A, sc_B=sc_B, sc_entropy_L=L, rotamer_weight=rot_w,
        pep_mean=pep_mean, pep_sd=pep_sd,
    )
