"""Conformers of a sequence for the physics encoder (all heavy atoms, Angstrom).

The encoder takes its conformers from here, with ``PhysicsOptions.generator`` choosing the
source: ``"coil"`` (default), this module's own statistical-coil generator
(:func:`batch_coil_conformers`, one conformer per segment, vectorised over segments), or
``"ensembles"``, the project's sequence -> ensemble generator
(:func:`openmm_madrax.ensembles.build_ensemble`, whole chains, then cut into segments).  The
default is "coil" for cost: for the 504-residue test protein, two whole-chain conformers from
``build_ensemble(reweight=False)`` took 5.2 s against 0.6 s for the segments of two rounds here
(one thread, loaded machine), and the encoder's budget is 10 s per 500 residues in total.
The coil generator:

* backbone by natural extension of reference frames (NeRF) with ideal bond lengths and angles
  (Engh & Huber 1991), trans peptide bonds, (phi, psi) drawn independently per residue from the
  project's fitted Ramachandran densities (``params/torsion_densities.npz``, pre-proline class
  before a proline), with a C-alpha self-avoidance check (a (phi, psi) pair is redrawn, up to
  eight times, while the new C-alpha comes closer than 4 A to a C-alpha three or more residues
  back);
* side chains from PDBFixer's template geometry (:func:`openmm_madrax.mutate.side_chain_geometry`)
  with chi angles drawn from the fitted side-chain rotamer mixtures (component by weight, then a
  von Mises-like jitter), fixed values for the chis the densities do not score.

It is a statistical-coil model: right local conformations, no attempt at the sequence-specific
compaction of disordered chains.  That is the ensemble generator's job; the switch is one
function.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .. import params
from ..mutate import UNSCORED_CHI_VALUES, residue_atom_order, side_chain_geometry
from ..residues import THREE_LETTER
from ..structure import ResidueInfo, Structure

# ideal backbone geometry (Engh & Huber 1991)
B_N_CA, B_CA_C, B_C_N, B_C_O = 1.458, 1.525, 1.329, 1.231
A_N_CA_C, A_CA_C_N, A_C_N_CA, A_CA_C_O = (math.radians(x) for x in (111.2, 116.2, 121.7, 120.5))
CA_CLASH = 4.0
MAX_REDRAW = 8


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    out = np.empty(np.broadcast_shapes(u.shape, v.shape))
    out[..., 0] = u[..., 1] * v[..., 2] - u[..., 2] * v[..., 1]
    out[..., 1] = u[..., 2] * v[..., 0] - u[..., 0] * v[..., 2]
    out[..., 2] = u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]
    return out


def _place(a: np.ndarray, b: np.ndarray, c: np.ndarray, bond: float, angle: float, dihedral) -> np.ndarray:
    """NeRF, vectorised over the leading axis: X with |cX| = bond, angle(b, c, X) = angle and
    dihedral(a, b, c, X) = dihedral (rad; scalar or (K,))."""
    bc = c - b
    bc = bc / np.sqrt((bc * bc).sum(-1, keepdims=True))
    n = _cross(b - a, bc)
    n = n / np.sqrt((n * n).sum(-1, keepdims=True))
    m = _cross(n, bc)
    dihedral = np.asarray(dihedral, dtype=np.float64)
    x = -bond * math.cos(angle)
    y = bond * math.sin(angle) * np.cos(dihedral)
    z = bond * math.sin(angle) * np.sin(dihedral)
    return c + x * bc + y[..., None] * m + z[..., None] * n


@lru_cache(maxsize=1)
def _rama_tables() -> Tuple[np.ndarray, int, np.ndarray]:
    """Cumulative (phi, psi) cell probabilities per residue class (21 x 72^2) from the fitted
    log-density coefficients, the pre-proline class index, the cell edge (rad)."""
    from ..energy.torsion_densities import read_npz

    arrays, _ = read_npz()
    coef = np.asarray(arrays["bb_coef"], np.float64)  # (21, G, G) ~ ln p on the grid
    p = np.exp(coef - coef.max(axis=(1, 2), keepdims=True))
    p /= p.sum(axis=(1, 2), keepdims=True)
    return np.cumsum(p.reshape(p.shape[0], -1), axis=1), int(arrays["pre_pro_class"]), np.array(coef.shape[1])


def _draw_phi_psi(rng: np.random.Generator, cls: int, k: int) -> Tuple[np.ndarray, np.ndarray]:
    cum, _, grid = _rama_tables()
    G = int(grid)
    cell = np.searchsorted(cum[cls], rng.random(k) * cum[cls, -1])
    cell = np.minimum(cell, G * G - 1)
    step = 2.0 * math.pi / G
    phi = -math.pi + (cell // G + rng.random(k)) * step
    psi = -math.pi + (cell % G + rng.random(k)) * step
    return phi, psi


@lru_cache(maxsize=1)
def _rotamer_tables():
    from ..energy.torsion_densities import read_npz

    arrays, _ = read_npz()
    out = {}
    for rn, rows in params.chi_definitions().items():
        ti = params.RESIDUE_INDEX[rn]
        w = np.exp(np.asarray(arrays["sc_logw"][ti], np.float64))
        n_scored = sum(int(r["scored_in_channel10"]) for r in rows)
        if n_scored == 0:
            continue
        mu = np.asarray(arrays["sc_mu"][ti], np.float64)[:, :n_scored]
        kappa = np.asarray(arrays["sc_kappa"][ti], np.float64)[:, :n_scored]
        freq = np.asarray(arrays["sc_freq"][ti], np.float64)[:n_scored]
        out[rn] = (np.cumsum(w / w.sum()), mu, kappa, freq, len(rows), n_scored)
    return out


def _draw_chis(rng: np.random.Generator, resname: str, k: int) -> np.ndarray:
    """(k, n_chi) chi angles in radians (NaN-free)."""
    tab = _rotamer_tables().get(resname)
    if tab is None or resname == "PRO":  # PRO: the template ring
        return np.zeros((k, 0))
    cum, mu, kappa, freq, n_chi, n_scored = tab
    comp = np.minimum(np.searchsorted(cum, rng.random(k)), len(cum) - 1)
    out = np.empty((k, n_chi))
    # jitter: wrapped normal with the component's width (capped at 20 deg), period 2 pi / freq
    sd = np.minimum(1.0 / np.sqrt(np.maximum(kappa[comp], 1e-6)), math.radians(20.0)) / np.maximum(freq, 1.0)
    out[:, :n_scored] = mu[comp] + rng.standard_normal((k, n_scored)) * sd
    for c in range(n_scored, n_chi):
        vals = np.radians(np.array(UNSCORED_CHI_VALUES[:2]))
        out[:, c] = vals[rng.integers(0, len(vals), k)]
    return out


def residue_names(sequence: str) -> List[str]:
    return [THREE_LETTER[c] for c in sequence]


def coil_conformers(sequence: str, n: int, seed: int = 0) -> np.ndarray:
    """``n`` statistical-coil conformers of ``sequence`` (20 standard one-letter codes), heavy atoms
    in :func:`chain_structure` atom order, as an (n, atoms, 3) array in Angstrom."""
    return batch_coil_conformers([sequence] * n, seed=seed) if n else np.zeros((0, _n_atoms(sequence), 3))


CANDIDATES = 8
WINDOW_BACK = 60
MAX_SLOTS = 14


def _n_atoms(sequence: str) -> int:
    return sum(len(residue_atom_order(rn, False)) for rn in residue_names(sequence))


@lru_cache(maxsize=1)
def _recipe_tables():
    """Padded side-chain recipe and rotamer tables over the 20 residue types (params order)."""
    T = len(params.RESIDUE_ORDER)
    S = MAX_SLOTS - 4
    n_sc = np.zeros(T, np.int64)
    n_atoms = np.zeros(T, np.int64)
    slot = np.zeros((T, S), np.int64)
    ra = np.zeros((T, S), np.int64)
    rb = np.ones((T, S), np.int64) * 0
    rc = np.ones((T, S), np.int64)
    bond = np.ones((T, S))
    angle = np.ones((T, S))
    dih = np.zeros((T, S))
    chi = np.full((T, S), -1, np.int64)
    off = np.zeros((T, S))
    ra[:] = 2  # padding placements use (C, N, CA): well defined, never kept
    rb[:] = 0
    rc[:] = 1
    M = 1
    rot = _rotamer_tables()
    for rn, tab in rot.items():
        M = max(M, len(tab[0]))
    cumw = np.ones((T, M))
    mu = np.zeros((T, M, 5))
    sd = np.zeros((T, M, 5))
    n_scored = np.zeros(T, np.int64)
    n_chi = np.zeros(T, np.int64)
    for t, rn in enumerate(params.RESIDUE_ORDER):
        order = residue_atom_order(rn, False)
        n_atoms[t] = len(order)
        recs = side_chain_geometry(rn)
        n_sc[t] = len(recs)
        for k, r in enumerate(recs):
            slot[t, k] = order.index(r.name)
            ra[t, k], rb[t, k], rc[t, k] = order.index(r.a), order.index(r.b), order.index(r.c)
            bond[t, k], angle[t, k], dih[t, k] = r.bond, r.angle, r.dihedral
            chi[t, k] = r.chi if rn != "PRO" else -1
            off[t, k] = r.offset
        if rn in rot:
            c, m_, kap, freq, nc, ns = rot[rn]
            cumw[t, :len(c)] = c
            mu[t, :len(c), :ns] = m_
            sd[t, :len(c), :ns] = np.minimum(1.0 / np.sqrt(np.maximum(kap, 1e-6)), math.radians(20.0)) / np.maximum(freq, 1.0)
            n_scored[t], n_chi[t] = ns, nc
        elif rn != "PRO":
            n_chi[t] = 0
    return dict(n_sc=n_sc, n_atoms=n_atoms, slot=slot, a=ra, b=rb, c=rc, bond=bond, angle=angle, dih=dih, chi=chi,
                off=off, cumw=cumw, mu=mu, sd=sd, n_scored=n_scored, n_chi=n_chi)


def _draw_phi_psi_v(rng: np.random.Generator, cls: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Vectorised (phi, psi) draws, one per entry of ``cls`` (residue class indices)."""
    cum, _, grid = _rama_tables()
    G = int(grid)
    flat = (cum / cum[:, -1:] + np.arange(cum.shape[0])[:, None]).ravel()
    u = rng.random(cls.shape) + cls
    cell = np.searchsorted(flat, u) - cls * (G * G)
    cell = np.clip(cell, 0, G * G - 1)
    step = 2.0 * math.pi / G
    phi = -math.pi + (cell // G + rng.random(cls.shape)) * step
    psi = -math.pi + (cell % G + rng.random(cls.shape)) * step
    return phi, psi


def _draw_chis_v(rng: np.random.Generator, types: np.ndarray) -> np.ndarray:
    """(..., 5) chi angles (rad) for residue types ``types`` (params order)."""
    tb = _recipe_tables()
    cumw = tb["cumw"][types]  # (..., M)
    comp = (rng.random(types.shape)[..., None] > cumw).sum(-1)
    comp = np.minimum(comp, cumw.shape[-1] - 1)
    mu = np.take_along_axis(tb["mu"][types], comp[..., None, None], axis=-2)[..., 0, :]
    sd = np.take_along_axis(tb["sd"][types], comp[..., None, None], axis=-2)[..., 0, :]
    out = mu + rng.standard_normal(mu.shape) * sd
    # chis the densities do not score (ILE chi2): one of two staggered values
    unscored = np.arange(5) >= tb["n_scored"][types][..., None]
    vals = np.radians(np.array(UNSCORED_CHI_VALUES[:2]))[rng.integers(0, 2, out.shape)]
    return np.where(unscored, vals, out)


def batch_coil_conformers(sequences: Sequence[str], seed: int = 0) -> List[np.ndarray]:
    """One statistical-coil conformer per sequence (any lengths), grown together (vectorised over
    the sequences): a list of (atoms, 3) arrays in :func:`chain_structure` atom order, Angstrom.

    Residue i of every chain: ``CANDIDATES`` draws of (phi, psi, chis) (Ramachandran density of
    the residue type, pre-proline class before a proline; rotamer mixtures), its C, O and side
    chain and the next N and C-alpha placed for each; the draw kept is a random one among those
    where no new atom comes closer than 3.0 A (both carbon) or 2.6 A (otherwise) to an atom of
    residues i-60 .. i-2 or the side chain of residue i-1 (3.8 A for the next C-alpha, which keeps
    room for the next residue), else the least clashing.  No backtracking: meant for the short
    segments of the LLPS encoder (tens of residues), where the rule leaves few clashes.
    """
    rng = np.random.default_rng(seed)
    tb = _recipe_tables()
    B = len(sequences)
    K = CANDIDATES
    S = MAX_SLOTS
    lens = np.array([len(q) for q in sequences])
    Lmax = int(lens.max()) if B else 0
    types = np.zeros((B, max(Lmax, 1)), np.int64)
    cls = np.zeros((B, max(Lmax, 1)), np.int64)
    _, pre_pro, _ = _rama_tables()
    for b, q in enumerate(sequences):
        for i, ch in enumerate(q):
            types[b, i] = params.RESIDUE_INDEX[THREE_LETTER[ch]]
            cls[b, i] = pre_pro if (i + 1 < len(q) and q[i + 1] == "P") else types[b, i]
    nat = tb["n_atoms"][types]  # (B, L)
    exists = np.arange(S)[None, None, :] < nat[..., None]
    exists &= (np.arange(max(Lmax, 1))[None, :] < lens[:, None])[..., None]
    carbon = np.zeros((len(params.RESIDUE_ORDER), S), bool)
    for t, rn in enumerate(params.RESIDUE_ORDER):
        for k, a in enumerate(residue_atom_order(rn, False)):
            carbon[t, k] = a[0] == "C"
    X = np.zeros((B, max(Lmax, 1), S, 3))
    prev_C = np.tile([B_N_CA + 1.0, 1.0, 0.0], (B, 1))
    N_i = np.zeros((B, 3))
    CA_i = np.tile([B_N_CA, 0.0, 0.0], (B, 1))
    ar = np.arange(B)
    for i in range(Lmax):
        act = ar[lens > i]
        nb = len(act)
        t_i = types[act, i]
        phi, psi = _draw_phi_psi_v(rng, np.repeat(cls[act, i][:, None], K, 1))
        Nk = np.repeat(N_i[act][:, None], K, 1)
        CAk = np.repeat(CA_i[act][:, None], K, 1)
        if i == 0:
            C = CAk + B_CA_C * np.array([-math.cos(A_N_CA_C), math.sin(A_N_CA_C), 0.0])
        else:
            C = _place(np.repeat(prev_C[act][:, None], K, 1), Nk, CAk, B_CA_C, A_N_CA_C, phi)
        loc = np.zeros((nb, K, S, 3))
        loc[:, :, 0], loc[:, :, 1], loc[:, :, 2] = Nk, CAk, C
        loc[:, :, 3] = _place(Nk, CAk, C, B_C_O, A_CA_C_O, psi + math.pi)
        chis = _draw_chis_v(rng, np.repeat(t_i[:, None], K, 1))  # (nb, K, 5)
        for s_ in range(int(tb["n_sc"][t_i].max()) if nb else 0):
            ia, ib, ic = tb["a"][t_i, s_], tb["b"][t_i, s_], tb["c"][t_i, s_]
            pa = np.take_along_axis(loc, ia[:, None, None, None].repeat(K, 1), axis=2)[:, :, 0]
            pb = np.take_along_axis(loc, ib[:, None, None, None].repeat(K, 1), axis=2)[:, :, 0]
            pc = np.take_along_axis(loc, ic[:, None, None, None].repeat(K, 1), axis=2)[:, :, 0]
            ch = tb["chi"][t_i, s_]
            chi_val = np.take_along_axis(chis, np.maximum(ch, 0)[:, None, None].repeat(K, 1), axis=2)[..., 0]
            dih = np.where((ch >= 0)[:, None], chi_val + tb["off"][t_i, s_][:, None], tb["dih"][t_i, s_][:, None])
            bond = tb["bond"][t_i, s_][:, None]
            ang = tb["angle"][t_i, s_][:, None]
            p = _place_v(pa, pb, pc, bond, ang, dih)
            valid = s_ < tb["n_sc"][t_i]
            dst = tb["slot"][t_i, s_]
            loc[valid, :, dst[valid]] = p[valid]
        nN = _place(Nk, CAk, C, B_C_N, A_CA_C_N, psi)
        nCA = _place(CAk, C, nN, B_N_CA, A_C_N_CA, math.pi)
        # clash test of the new atoms (O, side chain, next N and CA) against earlier residues
        lo = max(i - WINDOW_BACK, 0)
        if i >= 1:
            old = X[act, lo:i].copy()  # (nb, r, S, 3)
            old_ok = exists[act, lo:i].copy()
            old_ok[:, -1, :4] = False  # backbone of residue i-1 is bonded to the new atoms
            old_c = carbon[types[act, lo:i]]
            new = np.concatenate([loc[:, :, 3:], nN[:, :, None], nCA[:, :, None]], axis=2)  # (nb, K, S-1, 3)
            new_ok = np.concatenate([exists[act, i][:, 3:], np.ones((nb, 2), bool)], axis=1)
            new_c = np.concatenate([carbon[t_i][:, 3:], np.array([[False, True]]).repeat(nb, 0)], axis=1)
            old = np.where(old_ok[..., None], old, 1.0e4).reshape(nb, -1, 3).astype(np.float32)
            old_c = old_c.reshape(nb, -1)
            new = np.where(new_ok[:, None, :, None], new, -1.0e4)
            nf = new.astype(np.float32).reshape(nb, -1, 3)  # (nb, K*(S+1-3), 3)
            d2 = (nf * nf).sum(-1)[:, :, None] + (old * old).sum(-1)[:, None, :] - 2.0 * (nf @ old.transpose(0, 2, 1))
            d2 = d2.reshape(nb, K, S - 1, -1)
            close = d2[:, :, :-1] < 6.76
            close |= (d2[:, :, :-1] < 9.0) & (new_c[:, None, :-1, None] & old_c[:, None, None, :])
            viol = close.sum(axis=(2, 3)) + (d2[:, :, -1] < 3.8 ** 2).sum(-1)  # (nb, K): clashing pairs
        else:
            viol = np.zeros((nb, K))
        noise = rng.random((nb, K))
        pick = np.argmin(np.where(viol > 0.0, viol + 10.0, 0.0) + noise * (viol == 0.0), axis=1)
        sel = np.arange(nb)
        X[act, i] = loc[sel, pick]
        prev_C[act], N_i[act], CA_i[act] = C[sel, pick], nN[sel, pick], nCA[sel, pick]
    out = []
    for b in range(B):
        out.append(X[b, :lens[b]][exists[b, :lens[b]]])
    return out


def _place_v(a, b, c, bond, angle, dihedral) -> np.ndarray:
    """:func:`_place` with per-entry bond and angle arrays (broadcast against the dihedral)."""
    bc = c - b
    bc = bc / np.sqrt((bc * bc).sum(-1, keepdims=True))
    n = _cross(b - a, bc)
    n = n / np.sqrt((n * n).sum(-1, keepdims=True))
    m = _cross(n, bc)
    x = -bond * np.cos(angle)
    y = bond * np.sin(angle) * np.cos(dihedral)
    z = bond * np.sin(angle) * np.sin(dihedral)
    return c + x[..., None] * bc + y[..., None] * m + z[..., None] * n


def chain_structure(sequences: Sequence[str], resseq_start: Optional[Sequence[int]] = None,
                    name: str = "llps") -> Structure:
    """A prepared :class:`Structure` (zero coordinates) of one or more chains of standard residues,
    atoms in :func:`coil_conformers` order; chain k numbered from ``resseq_start[k]`` (default 1)."""
    residues: List[ResidueInfo] = []
    atom_names: List[str] = []
    atom_res: List[int] = []
    nxt: List[bool] = []
    chain_ids: List[str] = []
    for k, seq in enumerate(sequences):
        cid = _chain_id(k)
        chain_ids.append(cid)
        start = 1 if resseq_start is None else int(resseq_start[k])
        for i, rn in enumerate(residue_names(seq)):
            a0 = len(atom_names)
            for an in residue_atom_order(rn, False):
                atom_names.append(an)
                atom_res.append(len(residues))
            residues.append(ResidueInfo(cid, k, start + i, "", rn, rn, a0, len(atom_names)))
            nxt.append(i + 1 < len(seq))
    n = len(atom_names)
    return Structure(name=name, residues=residues, atom_names=atom_names,
                     atom_residue=np.asarray(atom_res, np.int64), coords=np.zeros((n, 3)),
                     source_index=np.arange(n, dtype=np.int64), chain_ids=chain_ids,
                     next_consecutive=np.asarray(nxt, bool), disulfides=[], n_input_atoms=n, source=name)


def _chain_id(k: int) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return letters[k % len(letters)] + ("" if k < len(letters) else str(k // len(letters)))


GENERATORS = ("coil", "ensembles")


def chain_conformers(sequence: str, n: int, seed: int = 0, generator: str = "coil") -> List[np.ndarray]:
    """``n`` conformers of a whole chain, each (atoms, 3) in :func:`chain_structure` atom order.

    ``generator="ensembles"``: the project's sequence -> ensemble generator
    (:func:`openmm_madrax.ensembles.build_ensemble`, ``reweight=False``: its torsion-density
    builder with self-avoidance, no MadraX weights); ``"coil"``: :func:`batch_coil_conformers`."""
    if generator == "coil":
        return batch_coil_conformers([sequence] * n, seed=seed)
    if generator != "ensembles":
        raise ValueError(f"generator must be one of {GENERATORS}, not {generator!r}")
    from ..ensembles import build_ensemble

    ens = build_ensemble(sequence, n=n, seed=seed, reweight=False)
    st = ens.structure
    index = {}
    for a in range(st.n_atoms):
        index[(int(st.atom_residue[a]), st.atom_names[a])] = a
    order = [index[(i, name)] for i, rn in enumerate(residue_names(sequence)) for name in residue_atom_order(rn, False)]
    return [np.asarray(ens.coords[k][order], np.float64) for k in range(n)]


def batch_segment_conformers(sequences: Sequence[str], seed: int = 0) -> List[np.ndarray]:
    """One statistical-coil conformer per (segment) sequence (:func:`batch_coil_conformers`)."""
    return batch_coil_conformers(sequences, seed=seed)
