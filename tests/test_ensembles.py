"""Sequence -> conformational ensembles (openmm_madrax.ensembles, docs/ensembles.md)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from openmm_madrax.ensembles import SequenceError, build_ensemble, clean_sequence, read_fasta
from openmm_madrax.ensembles.builder import (ANGLE_CA_C_O, ANGLE_N_CA_C, BOND_C_O, BOND_CA_C, BOND_N_CA,
                                             ChainBuilder, ideal_side_chain)
from openmm_madrax.ensembles.growth import CONTACT_OTHER, CONTACT_POLAR, ChainGrower
from openmm_madrax.ensembles.sampling import GRID, TorsionSampler, backbone_classes, default_sampler, restype_index
from openmm_madrax.ensembles.sequences import residue_names
from openmm_madrax.ensembles.weights import boltzmann_weights, effective_sample_size

from conftest import UBIQUITIN, quiet  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ALL20 = "MSEQWKLPGAFYRDNTIVHCPPGP"


def _dih(a, b, c, d):
    b0, b1, b2 = a - b, c - b, d - c
    b1 = b1 / np.linalg.norm(b1, axis=-1, keepdims=True)
    v = b0 - (b0 * b1).sum(-1, keepdims=True) * b1
    w = b2 - (b2 * b1).sum(-1, keepdims=True) * b1
    x = (v * w).sum(-1)
    y = (np.cross(b1, v) * w).sum(-1)
    return np.degrees(np.arctan2(y, x))


def _ang(a, b, c):
    u, v = a - b, c - b
    return np.degrees(np.arccos(np.clip((u * v).sum(-1) / np.linalg.norm(u, axis=-1) / np.linalg.norm(v, axis=-1), -1, 1)))


@pytest.fixture(scope="module")
def free_build():
    rn = residue_names(ALL20)
    b = ChainBuilder(rn)
    g = ChainGrower(b, default_sampler())
    X, tor = g.build_free(np.random.default_rng(3), 40)
    return b, X.numpy(), tor


def _atoms(b, i):
    t = b.top
    return {t.atom_names[a]: a for a in range(t.res_start[i], t.res_start[i + 1])}


def test_backbone_geometry_is_exact(free_build):
    from openmm_madrax import params

    b, X, tor = free_build
    t = b.top
    pep = params.by_key("peptide_geometry", "residue")
    for i, rn in enumerate(t.resnames):
        ix = _atoms(b, i)
        n, ca, c, o = (X[:, ix[k]] for k in ("N", "CA", "C", "O"))
        np.testing.assert_allclose(np.linalg.norm(ca - n, axis=-1), BOND_N_CA.get(rn, BOND_N_CA["default"]), atol=1e-9)
        np.testing.assert_allclose(np.linalg.norm(c - ca, axis=-1), BOND_CA_C.get(rn, BOND_CA_C["default"]), atol=1e-9)
        np.testing.assert_allclose(np.linalg.norm(o - c, axis=-1), BOND_C_O, atol=1e-9)
        np.testing.assert_allclose(_ang(n, ca, c), ANGLE_N_CA_C.get(rn, ANGLE_N_CA_C["default"]), atol=1e-7)
        np.testing.assert_allclose(_ang(ca, c, o), ANGLE_CA_C_O.get(rn, ANGLE_CA_C_O["default"]), atol=1e-7)
        if i > 0:
            jx = _atoms(b, i - 1)
            cp, cap = X[:, jx["C"]], X[:, jx["CA"]]
            np.testing.assert_allclose(np.linalg.norm(n - cp, axis=-1), pep[rn]["CN_mean_A"], atol=1e-9)
            np.testing.assert_allclose(_ang(cp, n, ca), pep[rn]["CNCA_mean_deg"], atol=2e-3)
            np.testing.assert_allclose(_ang(cap, cp, n), pep[rn]["CACN_mean_deg"], atol=2e-3)
            # the carbonyl O of residue i-1 lies in the peptide plane (CA, C, O, N coplanar)
            op = X[:, jx["O"]]
            np.testing.assert_allclose(np.abs(_dih(cap, cp, n, op)), 180.0, atol=1e-6)
            # measured torsions equal the drawn ones
            np.testing.assert_allclose(_dih(cp, n, ca, c), np.degrees(tor.phi[:, i]), atol=1e-6)
            np.testing.assert_allclose(np.cos(np.radians(_dih(cap, cp, n, ca) - np.degrees(tor.omega[:, i - 1]))), 1.0,
                                       atol=1e-9)
        if i < len(t.resnames) - 1:
            n2 = X[:, _atoms(b, i + 1)["N"]]
            np.testing.assert_allclose(np.cos(np.radians(_dih(n, ca, c, n2) - np.degrees(tor.psi[:, i]))), 1.0, atol=1e-9)


def test_side_chain_geometry_is_exact(free_build):
    b, X, tor = free_build
    for i, rn in enumerate(b.top.resnames):
        ix = _atoms(b, i)
        for name, a, bb, c, bond, ang, dih, chi, off in ideal_side_chain(rn):
            p = (X[:, ix[a]], X[:, ix[bb]], X[:, ix[c]], X[:, ix[name]])
            np.testing.assert_allclose(np.linalg.norm(p[3] - p[2], axis=-1), bond, atol=1e-9, err_msg=f"{rn} {name}")
            np.testing.assert_allclose(_ang(p[1], p[2], p[3]), math.degrees(ang), atol=1e-6, err_msg=f"{rn} {name}")
            want = math.degrees(dih) if chi < 0 else np.degrees(tor.chi[:, i, chi] + off)
            np.testing.assert_allclose(np.cos(np.radians(_dih(*p) - want)), 1.0, atol=1e-9, err_msg=f"{rn} {name}")


def test_l_chirality_matches_real_proteins(free_build):
    """Signed volume (N - CA) x (C - CA) . (CB - CA) has the sign of L residues in ubiquitin."""
    from openmm_madrax import load

    st = quiet(load, UBIQUITIN)
    vols = []
    for res in st.residues:
        ix = {st.atom_names[a]: a for a in range(res.atom_start, res.atom_stop)}
        if "CB" in ix:
            x = st.coords
            vols.append(np.dot(np.cross(x[ix["N"]] - x[ix["CA"]], x[ix["C"]] - x[ix["CA"]]), x[ix["CB"]] - x[ix["CA"]]))
    ref = np.sign(np.median(vols))
    assert (np.sign(vols) == ref).mean() > 0.98
    b, X, _ = free_build
    for i, rn in enumerate(b.top.resnames):
        if rn == "GLY":
            continue
        ix = _atoms(b, i)
        v = (np.cross(X[:, ix["N"]] - X[:, ix["CA"]], X[:, ix["C"]] - X[:, ix["CA"]]) * (X[:, ix["CB"]] - X[:, ix["CA"]])).sum(-1)
        assert (np.sign(v) == ref).all(), rn
    # ILE CB and THR CB are chiral centres too (2S,3S and 2S,3R): template improper kept exactly
    for rn, (p, q) in (("ILE", ("CG1", "CG2")), ("THR", ("OG1", "CG2"))):
        i = b.top.resnames.index(rn)
        ix = _atoms(b, i)
        v = (np.cross(X[:, ix[p]] - X[:, ix["CB"]], X[:, ix[q]] - X[:, ix["CB"]]) * (X[:, ix["CA"]] - X[:, ix["CB"]])).sum(-1)
        assert len(set(np.sign(v))) == 1


def test_peptides_trans_except_before_proline():
    rn = residue_names("GSAEKPAGSPPAG" * 2)
    b = ChainBuilder(rn)
    g = ChainGrower(b, default_sampler())
    X, tor = g.build_free(np.random.default_rng(0), 400)
    om = np.degrees(tor.omega[:, :-1])
    before_pro = np.array([rn[i + 1] == "PRO" for i in range(len(rn) - 1)])
    dev = np.abs(180.0 - np.abs(om))  # 0 = exactly trans
    assert (dev[:, ~before_pro] < 30.0).all()
    cis = dev[:, before_pro] > 150.0
    assert 0.0 < cis.mean() < 0.2  # fitted X-Pro cis fraction is a few per cent
    # the measured omega is the drawn one
    i = int(np.nonzero(before_pro)[0][0])
    a, c = _atoms(b, i), _atoms(b, i + 1)
    meas = _dih(X[:, a["CA"]].numpy(), X[:, a["C"]].numpy(), X[:, c["N"]].numpy(), X[:, c["CA"]].numpy())
    np.testing.assert_allclose(np.cos(np.radians(meas - om[:, i])), 1.0, atol=1e-9)


def test_phi_psi_histograms_reproduce_fitted_densities():
    """Drawn phi/psi of unweighted conformers vs the densities integrated over 30-degree cells."""
    s = TorsionSampler()
    seq = "AGPSDVN" * 2
    rt = restype_index(residue_names(seq))
    cls = backbone_classes(rt, s.pre_pro_class)
    rng = np.random.default_rng(11)
    phi, psi = s.sample_phi_psi(rng, cls, 6000)
    lp = s.bb_logp
    cell = GRID // 12
    for k in range(1, len(seq) - 1):
        c = cls[k]
        p = np.exp(lp[c]).reshape(12, cell, 12, cell).sum((1, 3))
        p /= p.sum()
        h, _, _ = np.histogram2d(phi[:, k], psi[:, k], bins=12, range=[[-math.pi, math.pi]] * 2)
        h /= h.sum()
        tv = 0.5 * np.abs(h - p).sum()
        assert tv < 0.06, (seq[k], tv)
    # the sampler's table is the density module's ln p (spline) at the cell centres
    from openmm_madrax.energy.torsion_densities import load_densities

    d = load_densities()
    centres = -math.pi + (np.arange(0, GRID, 37) + 0.5) * 2 * math.pi / GRID
    P, Q = np.meshgrid(centres, centres, indexing="ij")
    for c in (0, 6, 11, s.pre_pro_class):
        ref = d.log_bb(torch.full((P.size,), c), torch.as_tensor(P.ravel()), torch.as_tensor(Q.ravel())).numpy()
        np.testing.assert_allclose(lp[c][np.ix_(np.arange(0, GRID, 37), np.arange(0, GRID, 37))].ravel(), ref, atol=1e-5)


def test_growth_is_self_avoiding():
    rn = residue_names("MSEQWKLPGAFYRDNTIVHC" * 2)
    b = ChainBuilder(rn)
    g = ChainGrower(b, default_sampler())
    X, _ = g.grow(np.random.default_rng(0), 12)
    t = b.top
    D = torch.cdist(X, X)
    res = torch.as_tensor(t.atom_residue)
    sep = (res[:, None] - res[None, :]).abs()
    pol = torch.as_tensor(t.polar)
    bb = torch.as_tensor([n in ("N", "CA", "C", "O") for n in t.atom_names])
    thr = torch.where(pol[:, None] & pol[None, :], CONTACT_POLAR, CONTACT_OTHER)
    hit = (D < thr - 1e-9) & (sep >= 2) & ~((sep == 2) & bb[:, None] & bb[None, :])
    assert not bool(hit.any())
    # without self-avoidance the same chains do overlap
    Xf, _ = g.build_free(np.random.default_rng(0), 12)
    Df = torch.cdist(Xf, Xf)
    assert bool(((Df < thr) & (sep >= 2) & ~((sep == 2) & bb[:, None] & bb[None, :])).any())


def test_zero_energies_give_uniform_weights():
    for n in (1, 7, 200):
        w = boltzmann_weights(np.zeros(n), 298.0)
        assert np.array_equal(w, np.full(n, 1.0 / n))
        assert effective_sample_size(w) == pytest.approx(n)
    w = boltzmann_weights(np.array([0.0, 1e4, -5.0]), 298.0)  # no overflow, normalised
    assert np.isfinite(w).all() and w.sum() == pytest.approx(1.0) and w.argmax() == 2
    with pytest.raises(ValueError, match="non-finite"):
        boltzmann_weights(np.array([0.0, np.nan]), 298.0)
    ens = build_ensemble("GSGSGS", 6, energy_scale=0.0)
    assert np.array_equal(ens.weights, np.full(6, 1.0 / 6))


def test_ensemble_is_deterministic_and_complete(tmp_path):
    import mdtraj

    seq = "MDVFMKGLSKAKEGVVAAAEKTKQG"
    a = build_ensemble(seq, 8, seed=5, temperature=293.0, ionic_strength=0.2)
    b = build_ensemble(seq, 8, seed=5, temperature=293.0, ionic_strength=0.2)
    c = build_ensemble(seq, 8, seed=6, temperature=293.0, ionic_strength=0.2)
    assert np.array_equal(a.coords, b.coords) and np.array_equal(a.weights, b.weights)
    assert not np.array_equal(a.coords, c.coords)
    assert a.coords.shape == (8, a.structure.n_atoms, 3)
    assert a.weights.shape == (8,) and a.weights.sum() == pytest.approx(1.0)
    assert a.energies.shape == (8, 11) and np.isfinite(a.energies).all()
    assert a.structure.sequence() == seq
    assert (a.rg_nm() > 0.5).all() and (a.ree_nm() > 0.3).all()
    paths = a.save(tmp_path, "x")
    t = mdtraj.load(paths["dcd"], top=paths["pdb"])
    assert t.n_frames == 8 and t.n_atoms == a.structure.n_atoms
    np.testing.assert_allclose(t.xyz * 10.0, a.coords, atol=2e-3)
    np.testing.assert_allclose(mdtraj.compute_rg(t), a.rg_nm(), atol=1e-3)
    assert a.to_mdtraj().n_frames == 8


def test_bad_sequences_give_clear_errors(tmp_path):
    with pytest.raises(SequenceError, match=r"seqA: letter\(s\) 'B', 'X' at position\(s\) 3, 5"):
        clean_sequence("MSBQX", "seqA")
    with pytest.raises(SequenceError, match="empty"):
        clean_sequence("  ", "s")
    with pytest.raises(SequenceError, match="at least 2"):
        clean_sequence("M", "s")
    assert clean_sequence("ms eq\nk*") == "MSEQK"
    f = tmp_path / "x.fasta"
    f.write_text(">ok\nMSEQK\n>bad1 something\nMSE1K\n>bad2\nMJ\n")
    with pytest.raises(SequenceError) as exc:
        read_fasta(f)
    msg = str(exc.value)
    assert "record bad1" in msg and "'1'" in msg and "record bad2" in msg and "'J'" in msg and "ok" not in msg.split(":")[1]
    with pytest.raises(ValueError, match="positive integer"):
        build_ensemble("MSEQ", 0)
    with pytest.raises(ValueError, match="kelvin"):
        build_ensemble("MSEQ", 2, temperature=25.0)


def test_conditions_enter_the_energy():
    from openmm_madrax import energy_module
    from openmm_madrax.ensembles.energy import condition_constants, madrax_module, sequence_structure

    ens = build_ensemble("KKKKEEEEKKKKEEEE", 2, reweight=False)
    st = ens.structure
    ref = energy_module(st, smooth=True)
    m = madrax_module(st, 298.0, 0.05, smooth=True, burial="madrax")
    for name in ("coulomb_pref", "kappa_elec", "kappa_salt", "dcp", "corr_ionic"):
        assert getattr(m, name) == pytest.approx(getattr(ref, name), rel=1e-6), name
    k_low = condition_constants(298.0, 0.0)["kappa_elec"]
    k_high = condition_constants(298.0, 1.0)["kappa_elec"]
    assert k_high > k_low
    x = torch.as_tensor(ens.coords[0])
    e_low = madrax_module(st, 298.0, 0.0)(x)[:, 2].sum()
    e_high = madrax_module(st, 298.0, 1.0)(x)[:, 2].sum()
    assert float(e_low) != float(e_high)


def test_cli_ensemble(tmp_path, capsys):
    import pandas as pd

    from openmm_madrax.cli import main

    f = tmp_path / "in.fasta"
    f.write_text(">p1\nMSEQWKLPGAFYRDN\n>p2\nGSGSEEKKPPAPRS\n")
    out = tmp_path / "out"
    assert main(["ensemble", str(f), "--n", "6", "-o", str(out), "--no-progress"]) == 0
    summ = pd.read_csv(out / "summary.csv")
    assert list(summ["id"]) == ["p1", "p2"]
    for c in ("length", "rg_nm", "rg_sd_nm", "ree_nm", "nu"):
        assert c in summ
    pr = pd.read_csv(out / "per_residue.csv")
    assert set(pr.columns) >= {"id", "resnum", "resname", "helix", "ppii"} and len(pr) == 29
    for rid in ("p1", "p2"):
        for suffix in (".dcd", ".pdb", "_weights.csv", ".png"):
            assert (out / f"{rid}{suffix}").exists()
    bad = tmp_path / "bad.fasta"
    bad.write_text(">good\nMSEQ\n>oops\nMSXQ\n")
    assert main(["ensemble", str(bad), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "record oops" in err and "'X'" in err and len(err.strip().splitlines()) == 1
