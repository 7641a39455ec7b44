"""Trajectory-averaged physics features (openmm_madrax.features, ``openmm-madrax features``)."""
from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import openmm_madrax as omx
from openmm_madrax.errors import StructureError
from openmm_madrax.features import (CHANNELS, RESIDUE_FEATURES, MadraXFeatureModule,
                                    compute_features)

from helpers import UBIQUITIN as UBI
from helpers import shared_path

md = pytest.importorskip("mdtraj")
pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning")]


def _quiet_load(src, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return omx.load(src, quiet=True, **kw)


@pytest.fixture(scope="module")
def ubi_traj():
    """Five perturbed copies of 1UBI (waters kept in the topology: the features must ignore them)."""
    t = md.load(str(UBI))
    rng = np.random.default_rng(7)
    xyz = t.xyz + rng.normal(0.0, 0.004, (5,) + t.xyz.shape[1:]).astype(np.float32)
    return md.Trajectory(xyz, t.topology, time=np.arange(5) * 10.0)


@pytest.fixture(scope="module")
def ubi_features(ubi_traj):
    return compute_features(ubi_traj)


@pytest.fixture(scope="module")
def dimer_traj():
    """Two 1UBI chains: frames 0-1 in contact (closest heavy atoms 3.2 A), frame 2 60 A apart."""
    t = md.load(str(UBI))
    p = t.atom_slice(t.topology.select("protein"))
    shift = np.array([0.927, -2.042, 1.315], dtype=np.float32)  # nm; closest heavy atoms 3.2 A, 18 in contact
    rng = np.random.default_rng(3)
    frames = []
    for k, s in enumerate((shift, shift, np.array([6.0, 0.0, 0.0], dtype=np.float32))):
        a = p.xyz[0] + (rng.normal(0.0, 0.003, p.xyz.shape[1:]).astype(np.float32) if k == 1 else 0.0)
        frames.append(np.concatenate([a, p.xyz[0] + s]))
    two = p.stack(p)
    return md.Trajectory(np.stack(frames), two.topology)


def _frames_xyz(structure, traj):
    return np.asarray(traj.xyz, dtype=np.float64)[:, structure.source_index] * 10.0


# ------------------------------------------------------------------------------------------------
# consistency with score


def test_stride1_equals_mean_of_per_frame_score(ubi_traj, ubi_features):
    s = ubi_features.structure
    xyz = _frames_xyz(s, ubi_traj)
    per_frame = np.stack([omx.score(s.with_coords(x))[list(CHANNELS)].to_numpy() for x in xyz])
    table = ubi_features.residue_table()
    got = table[[f"{c}_mean" for c in CHANNELS]].to_numpy()
    np.testing.assert_allclose(got, per_frame.mean(0), rtol=0, atol=1e-9)
    np.testing.assert_allclose(table[[f"{c}_std" for c in CHANNELS]].to_numpy(), per_frame.std(0), atol=1e-9)
    np.testing.assert_allclose(table["madrax_total_mean"], per_frame.sum(-1).mean(0), atol=1e-9)
    assert np.abs(per_frame.std(0)).max() > 1e-3  # the frames do differ
    # stride 2 = frames 0, 2, 4
    t2 = compute_features(ubi_traj, stride=2)
    assert t2.n_frames == 3 and list(t2.frame_index) == [0, 2, 4]
    np.testing.assert_allclose(t2.residue_table()[[f"{c}_mean" for c in CHANNELS]].to_numpy(),
                               per_frame[::2].mean(0), atol=1e-9)
    np.testing.assert_allclose(t2.time_ps, [0.0, 20.0, 40.0])


def test_one_frame_trajectory_equals_score(ubi_traj):
    one = ubi_traj[3:4]
    f = compute_features(one)
    ref = omx.score(_quiet_load(one))
    table = f.residue_table()
    assert f.n_frames == 1 and len(table) == len(ref) == 76
    for c in CHANNELS:
        np.testing.assert_allclose(table[f"{c}_mean"], ref[c], atol=1e-9, err_msg=c)
        np.testing.assert_allclose(table[f"{c}_q90"], ref[c], atol=1e-9, err_msg=c)
        assert np.all(table[f"{c}_std"] == 0.0)
    assert list(table["resnum"]) == list(ref["resnum"])
    assert abs(f.protein_vector()["madrax_total.total"] - ref.attrs["total"]) < 1e-8


def test_frame_order_invariance(ubi_traj, ubi_features):
    perm = [3, 0, 4, 2, 1]
    g = compute_features(ubi_traj[perm])
    a = ubi_features.residue_table()
    b = g.residue_table()
    num = [c for c in a.columns if a[c].dtype.kind == "f"]
    np.testing.assert_allclose(a[num].to_numpy(), b[num].to_numpy(), rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(g.frames, ubi_features.frames[perm], atol=1e-10, equal_nan=True)
    pd.testing.assert_series_equal(ubi_features.protein_vector(), g.protein_vector(), rtol=1e-10, atol=1e-10)
    # reversing the order differs from the original per frame (the test can fail)
    assert not np.allclose(g.frames[:, :, 0:11], ubi_features.frames[:, :, 0:11])


def test_descriptors_are_sane(ubi_features):
    t = ubi_features.residue_table()
    assert set(RESIDUE_FEATURES) <= {c.rsplit("_", 1)[0] for c in t.columns}
    assert t["burial_mean"].between(0, 1).all()
    assert (t["sasa_mean"] >= 0).all() and t["sasa_mean"].max() > 100
    ss = t[["ss_helix_mean", "ss_strand_mean", "ss_coil_mean"]].sum(axis=1)
    np.testing.assert_allclose(ss, 1.0)
    assert t["ss_helix_mean"].iloc[23:33].mean() > 0.9  # ubiquitin helix 23-34
    assert t["ss_strand_mean"].iloc[1:6].mean() > 0.9  # beta strand 2-7
    # buried residues have little SASA; the backbone of a folded protein is mostly H-bonded
    assert np.corrcoef(t["burial_mean"], t["rsasa_mean"])[0, 1] < -0.5
    assert t["hb_donor_sat_mean"].mean() > 0.3
    assert np.isnan(t["hb_donor_sat_mean"]).sum() >= 1  # PRO without donors: NaN, not 0
    assert (t["contacts_mean"] > 0).mean() > 0.9 and (t["contacts_inter_mean"] == 0).all()
    assert (t[[f"inter_{c}_mean" for c in CHANNELS]].to_numpy() == 0).all()
    v = ubi_features.protein_vector()
    assert 10 < v["rg.mean"] < 14 and v["n_residues"] == 76 and v["n_chains"] == 1


# ------------------------------------------------------------------------------------------------
# inter-chain energies


def test_inter_plus_intra_equals_two_chain_total(dimer_traj):
    f = compute_features(dimer_traj)
    assert f.chain_frames.shape == (3, 2, 2)
    s = f.structure
    xyz = _frames_xyz(s, dimer_traj)
    total = np.stack([omx.score(s.with_coords(x))[list(CHANNELS)].to_numpy() for x in xyz])
    # intra: each chain scored on its own, from its own mdtraj slice (independent of Structure.select_chains)
    top = dimer_traj.topology
    intra = []
    for ci in range(2):
        sub = dimer_traj.atom_slice(top.select(f"chainid {ci}"))
        one = _quiet_load(sub)
        intra.append(np.stack([omx.score(one.with_coords(x))[list(CHANNELS)].to_numpy()
                               for x in _frames_xyz(one, sub)]))
    intra = np.concatenate(intra, axis=1)
    inter = f.frames[:, :, [RESIDUE_FEATURES.index(f"inter_{c}") for c in CHANNELS]]
    np.testing.assert_allclose(inter + intra, total, atol=1e-9)
    np.testing.assert_allclose(f.frames[:, :, RESIDUE_FEATURES.index("inter_total")], inter.sum(-1), atol=1e-12)
    # in contact: a real interaction; 60 A apart: exactly none
    assert np.abs(inter[0]).sum() > 0.5 and np.abs(inter[1]).sum() > 0.5
    np.testing.assert_allclose(inter[2], 0.0, atol=1e-9)
    ci = f.frames[:, :, RESIDUE_FEATURES.index("contacts_inter")]
    assert ci[0].sum() > 0 and ci[2].sum() == 0
    # the interface is a few residues on each chain, not everything
    iface = np.abs(inter[0]).sum(-1) > 1e-6
    assert 0 < iface[:76].sum() < 30 and 0 < iface[76:].sum() < 30


def test_select_chains_matches_loading_the_chain(dimer_traj):
    s = _quiet_load(dimer_traj)
    sub = s.select_chains(1)
    own = _quiet_load(dimer_traj.atom_slice(dimer_traj.topology.select("chainid 1")))
    assert sub.atom_names == own.atom_names and sub.n_residues == own.n_residues == 76
    np.testing.assert_allclose(omx.score(sub)[list(CHANNELS)], omx.score(own)[list(CHANNELS)], atol=1e-10)


def test_protein_vector_has_fixed_length(ubi_features, dimer_traj):
    f2 = compute_features(dimer_traj[:1])
    a, b = ubi_features.protein_vector(), f2.protein_vector()
    assert list(a.index) == list(b.index)
    assert b["n_chains"] == 2 and b["inter_total.total"] < 0 < b["contacts_inter.res_mean"]
    tidy = f2.residue_table(long=True)
    assert {"feature", "stat", "value"} <= set(tidy.columns)
    assert set(tidy["stat"]) == {"mean", "std", "q10", "q50", "q90"}


# ------------------------------------------------------------------------------------------------
# differentiable path


def test_torch_path_is_differentiable(ubi_traj):
    s = _quiet_load(ubi_traj)
    mod = MadraXFeatureModule(s, smooth=True)
    xyz = torch.tensor(_frames_xyz(s, ubi_traj[:2]), requires_grad=True)
    e, inter = mod(xyz)
    assert e.shape == (2, 76, 11) and inter.shape == (2, 76, 11)
    loss = e.sum()
    loss.backward()
    g = xyz.grad
    assert torch.isfinite(g).all() and g.abs().max() > 0.1
    # central finite difference along the gradient direction of frame 0
    d = torch.zeros_like(xyz)
    d[0] = g[0] / g[0].norm()
    h = 1e-4
    with torch.no_grad():
        fd = (mod(xyz + h * d)[0].sum() - mod(xyz - h * d)[0].sum()) / (2 * h)
    assert abs(float(fd) - float(g[0].norm())) < 1e-3 * float(g[0].norm())
    # the exact-mode tensor equals what compute_features reports
    with torch.no_grad():
        e_exact, _ = MadraXFeatureModule(s)(xyz.detach())
    ref = compute_features(ubi_traj[:2]).frames[:, :, :11]
    np.testing.assert_allclose(e_exact.numpy(), ref, atol=1e-9)


def test_module_scripts_with_atom_features():
    s = _quiet_load(str(UBI))
    m = torch.jit.script(omx.energy_module(s))
    pos = torch.as_tensor(s.coords)
    occ, e_hb, n_acc, n_don = m.atom_features(pos)
    assert occ.shape == (s.n_atoms,) and float(n_acc.sum()) == float(n_don.sum()) > 20
    # the per-atom H-bond term reproduces channel 1 for residues without the HIS column choice
    from openmm_madrax.energy.burial import facc_from_occupancy
    from openmm_madrax.energy.smooth import smax

    mod = omx.energy_module(s)
    facc = facc_from_occupancy(occ, mod.occ_ref, mod.occ_max, True, False)
    hb = torch.zeros(s.n_residues, dtype=torch.float64).index_add(0, mod.residue, e_hb * smax(facc, 0.9, 0.01, False))
    not_his = torch.tensor([r.resname != "HIS" for r in s.residues])
    np.testing.assert_allclose(hb[not_his].numpy(), m(pos)[not_his, 1].numpy(), atol=1e-12)


# ------------------------------------------------------------------------------------------------
# inputs and errors


def test_files_and_cli(tmp_path, ubi_traj, ubi_features):
    from openmm_madrax.cli import main

    dcd, top = str(tmp_path / "t.dcd"), str(tmp_path / "t.pdb")
    ubi_traj.save_dcd(dcd)
    ubi_traj[0].save_pdb(top)
    f = compute_features(dcd, top, chunk=2)  # read in several chunks
    ref = compute_features(md.load(dcd, top=top))  # in memory (DCD rounds coordinates: not ubi_features)
    np.testing.assert_allclose(f.frames, ref.frames, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(f.frames[:, :, :11], ubi_features.frames[:, :, :11], atol=0.2)
    out = tmp_path / "feat.csv"
    rc = main(["features", dcd, "--top", top, "-o", str(out), "--stride", "2", "--plot", str(tmp_path / "p.png"),
               "--frames", str(tmp_path / "f.npz"), "--no-progress"])
    assert rc == 0
    t = pd.read_csv(out)
    assert len(t) == 76 and "hbond_mean" in t.columns and "inter_vdw_q50" in t.columns
    vec = pd.read_csv(tmp_path / "feat_protein.csv", index_col=0)["value"]
    assert vec["n_frames"] == 3
    assert os.path.getsize(tmp_path / "p.png") > 10000
    z = np.load(tmp_path / "f.npz")
    assert z["frames"].shape == (3, 76, len(RESIDUE_FEATURES))
    # bad input: one line, exit status 2
    assert main(["features", dcd, "--top", str(tmp_path / "missing.pdb"), "-o", str(out)]) == 2


def test_topology_trajectory_mismatch(tmp_path, ubi_traj):
    prot = ubi_traj.atom_slice(ubi_traj.topology.select("protein"))
    dcd, top = str(tmp_path / "t.dcd"), str(tmp_path / "prot.pdb")
    ubi_traj.save_dcd(dcd)  # with waters
    prot[0].save_pdb(top)  # without
    with pytest.raises(StructureError, match="do not match|same atoms"):
        compute_features(dcd, top)
    # a structure prepared from another topology
    with pytest.raises(StructureError, match="do not match"):
        compute_features(prot, structure=_quiet_load(ubi_traj))
    # a structure with repaired (added) atoms cannot be matched to a trajectory
    s = _quiet_load(prot)
    s.source_index[5] = -1
    with pytest.raises(StructureError, match="repair"):
        compute_features(prot, structure=s)


def test_empty_trajectory(tmp_path, ubi_traj):
    with pytest.raises(StructureError, match="empty|no frames"):
        compute_features(ubi_traj[:0])
    with pytest.raises(StructureError, match="no trajectory"):
        compute_features([])


def test_non_protein_topology(ubi_traj):
    water = ubi_traj.atom_slice(ubi_traj.topology.select("water"))
    with pytest.raises(StructureError, match="no protein"):
        compute_features(water)


def test_bad_stride(ubi_traj):
    with pytest.raises(ValueError, match="stride"):
        compute_features(ubi_traj, stride=0)


# ------------------------------------------------------------------------------------------------
# the disordered hnRNPA1 model (../shared)


def test_hnrnpa1_single_frame():
    path = shared_path("data", "structures", "af_llps", "CALVADOS_hnRNPA1S.pdb")
    t = md.load(str(path))
    f = compute_features(t)
    tab = f.residue_table()
    assert f.n_residues == 314 and f.chain_frames.shape == (1, 1, 2)
    # the low-complexity domain (after the two RRMs, ~190-314) is exposed coil
    lcd = tab[tab["resnum"] >= 200]
    rrm = tab[tab["resnum"] < 180]
    assert lcd["ss_coil_mean"].mean() > 0.8
    assert lcd["rsasa_mean"].mean() > rrm["rsasa_mean"].mean() + 0.15
    assert lcd["contacts_mean"].mean() < rrm["contacts_mean"].mean()


# ------------------------------------------------------------------------------------------------
# simulation: checkpoint / resume


def test_simulate_resume_drops_frames_after_checkpoint(tmp_path):
    from openmm_madrax.features import features_from_simulation, simulate

    prefix = str(tmp_path / "run")
    ns1 = 10 * 2e-6  # 10 steps of 2 fs
    r1 = simulate(str(UBI), prefix, ns=ns1, report_interval=5, minimize_iterations=0, seed=1, threads=1,
                  timestep_fs=2.0, progress=False)
    t1 = md.load(r1.trajectory, top=r1.topology)
    assert t1.n_frames == 2
    # as if killed after writing a frame but before the checkpoint: one frame too many
    md.join([t1, t1[-1]]).save_dcd(r1.trajectory)
    with open(r1.energies, "a") as fh:
        fh.write("15,0.03,0,0," + ",".join(["0"] * 11) + "\n")
    r2 = simulate(str(UBI), prefix, ns=2 * ns1, report_interval=5, minimize_iterations=0, seed=1, threads=1,
                  timestep_fs=2.0, progress=False)
    assert r2.resumed_from == 10
    t2 = md.load(r2.trajectory, top=r2.topology)
    assert t2.n_frames == 4
    np.testing.assert_allclose(t2.xyz[:2], t1.xyz[:2], atol=1e-6)
    assert list(pd.read_csv(r2.energies)["step"]) == [5, 10, 15, 20]
    assert not np.allclose(t2.xyz[2], t1.xyz[1], atol=1e-3)  # the junk frame is gone
    f = features_from_simulation(r2, progress=False)
    assert f.n_frames == 4
    np.testing.assert_allclose(f.time_ps, [0.01, 0.02, 0.03, 0.04])
    with pytest.raises(omx.MadraXError, match="different settings"):
        simulate(str(UBI), prefix, ns=2 * ns1, report_interval=10, minimize_iterations=0, seed=1,
                 timestep_fs=2.0, progress=False)
