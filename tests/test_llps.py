"""The LLPS network (openmm_madrax.llps): physics encoder, gradients, persistence, CLI, bad input."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from helpers import ROOT, UBIQUITIN

from openmm_madrax.llps import LLPSNet, LLPSPredictor, PhysicsOptions, physics_profile
from openmm_madrax.llps.conformers import batch_coil_conformers, chain_structure
from openmm_madrax.llps.inputs import InputBuilder
from openmm_madrax.llps.model import make_batch
from openmm_madrax.llps.physics import PhysicsCache, PhysicsEncoder, build_assembly, parameter_types, segments
from openmm_madrax.llps.sequences import SequenceError, clean_sequence, network_sequence, physics_sequence, read_fasta
from openmm_madrax.llps.train import Example, TrainConfig, attribution_summary, auroc, predict, train

#: a fast encoder setting for tests (the shipped one uses 4 rounds, 2 conformer sets, 6 trials)
FAST = PhysicsOptions(rounds=2, conformer_sets=1, trials=2)
SEQ_A = "MASNDYTQQATQSYGAYPTQPGQGYSQQSSQPYGQQSYSGYSQSTDTSGYGQSSYSSYGQ"  # FUS-LC-like, 60 aa
SEQ_B = "MKKLLEEAKKRLEELAKKGDEEVRKLAEEIAKKVLEG"


def _inputs(seqs, cache=False, options=FAST):
    b = InputBuilder(PhysicsCache(cache, options))
    return b.build([f"p{i}" for i in range(len(seqs))], list(seqs))


# ----------------------------------------------------------------------------------------------
# sequences and bad input


def test_sequence_cleaning_and_codes():
    assert clean_sequence(" mkv\nla* ", "r1") == "MKVLA"
    assert physics_sequence("AXUOBZJ") == "AGCKNQL"
    assert network_sequence("AXUOBZJ") == "AXCKNQL"
    for bad, what in (("", "empty"), ("AC1D", "'1' at position 3"), ("AC-D", "a gap at position 3"),
                      ("AC*D", "a stop codon at position 3"), ("A" * 40001, "longer than")):
        with pytest.raises(SequenceError, match=what) as e:
            clean_sequence(bad, "rec7")
        assert "rec7" in str(e.value)


def test_read_fasta(tmp_path):
    f = tmp_path / "x.fasta"
    f.write_text(">a desc\nMKV\nLA\n>a\nGG\n>\nPP\n")
    assert read_fasta(f) == [("a", "MKVLA"), ("a_2", "GG"), ("record_3", "PP")]
    g = tmp_path / "bad.fasta"
    g.write_text("MKV\n>a\nMK\n")
    with pytest.raises(SequenceError, match="before the first"):
        read_fasta(g)


# ----------------------------------------------------------------------------------------------
# conformers and physics


def test_conformer_geometry():
    seq = "MKPGWYSDERHIC"
    (x,) = batch_coil_conformers([seq], seed=3)
    st = chain_structure([seq])
    assert x.shape == (st.n_atoms, 3)
    names = st.atom_names
    for r in range(len(seq) - 1):
        c = x[st.residues[r].atom_start + names[st.residues[r].atom_start:].index("C")]
        n = x[st.residues[r + 1].atom_start]
        assert abs(np.linalg.norm(c - n) - 1.329) < 1e-6
    # no heavy-atom overlap below 2 A between residues two or more apart
    res = st.atom_residue
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)
    far = np.abs(res[:, None] - res[None]) >= 2
    assert d[far].min() > 2.0


def test_segments_cover_sequence():
    for L in (1, 5, 23, 24, 25, 100, 3001):
        segs = segments(L, 24, 4)
        cores = np.concatenate([np.arange(c0, c1) for _, _, c0, c1 in segs])
        assert np.array_equal(cores, np.arange(L))
        assert all(0 <= s0 <= c0 < c1 <= s1 <= L for s0, s1, c0, c1 in segs)


def test_physics_deterministic_and_finite():
    a = physics_profile(SEQ_A, FAST)
    b = physics_profile(SEQ_A, FAST)
    assert np.array_equal(a.intra, b.intra) and np.array_equal(a.inter, b.inter)
    assert np.array_equal(a.coef_inter, b.coef_inter)
    assert np.isfinite(a.intra).all() and np.isfinite(a.inter).all()
    assert a.inter.shape == (2, len(SEQ_A), 11)
    assert (a.inter != 0).any()  # the encounter complexes make contacts
    c = physics_profile(SEQ_A, PhysicsOptions(rounds=2, conformer_sets=1, trials=2, seed=1))
    assert not np.array_equal(a.inter, c.inter)


def test_parameter_coefficients_match_the_energy_module():
    """The stored per-atom derivatives reproduce MadraX's own energy change when enerG / VdW of an
    atom type change (channels 4-6 exactly; channel 8 to first order)."""
    from openmm_madrax.scoring import energy_module

    seq = "GSYGQSNRFWEKL"
    asm = build_assembly(seq, segments(len(seq), 24, 4))
    st = asm.structure
    confs = batch_coil_conformers(asm.chain_sequences(seq), seed=5)
    xyz = PhysicsEncoder(FAST)._encounters(asm, confs, np.random.default_rng(0))  # two chains in contact
    m = energy_module(st.with_coords(xyz), burial="foldx", smooth=True, precision="single", skin=2.5)
    e0, coef = PhysicsEncoder._score(m, xyz, True)
    keys, energ, vdw = parameter_types()
    types = asm.atom_type
    for key in (("TYR", "OH"), ("PHE", "CZ"), ("LYS", "NZ")):
        t = keys.index(key)
        atoms = asm.core_atoms[types == t]
        assert len(atoms)
        for col, buf, delta in ((0, "energ", 0.05), (1, "vdw", 0.05)):
            orig = getattr(m, buf).clone()
            mod = orig.clone()
            mod[atoms] += delta
            setattr(m, buf, mod)
            with torch.no_grad():
                e1 = m(torch.as_tensor(xyz, dtype=torch.float32)).double().numpy()
            setattr(m, buf, orig)
            res = st.atom_residue[atoms]
            if col == 0:
                pred = np.zeros(st.n_residues)
                np.add.at(pred, res, coef[atoms, 0] * delta)
                got = (e1 - e0)[:, 4] + (e1 - e0)[:, 5]
                np.testing.assert_allclose(got, pred, atol=2e-4)
            else:
                pred6 = np.zeros(st.n_residues)
                np.add.at(pred6, res, coef[atoms, 1] * delta)
                np.testing.assert_allclose((e1 - e0)[:, 6], pred6, atol=2e-4)
                pred8 = np.zeros(st.n_residues)
                np.add.at(pred8, res, coef[atoms, 2] * delta)
                np.testing.assert_allclose((e1 - e0)[:, 8], pred8, atol=5e-3)
        assert np.abs(coef[atoms]).sum() > 0


def test_no_nan_on_five_residues():
    inp = _inputs(["MKWYD"])[0]
    net = LLPSNet()
    out = net(make_batch([inp.seq_feats], [inp.profile]))
    assert torch.isfinite(out["logits"]).all() and torch.isfinite(out["log10_csat"]).all()


@pytest.mark.slow
def test_no_nan_on_3000_residues():
    rng = np.random.default_rng(0)
    seq = "".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWY"), 3000))
    inp = _inputs([seq], options=PhysicsOptions(rounds=1, conformer_sets=1, trials=1, relax_steps=1))[0]
    assert inp.profile.intra.shape[1] == 3000 and np.isfinite(inp.profile.inter).all()
    net = LLPSNet()
    out = net(make_batch([inp.seq_feats], [inp.profile]))
    assert torch.isfinite(out["logits"]).all() and torch.isfinite(out["log10_csat"]).all()


# ----------------------------------------------------------------------------------------------
# the network: gradients, determinism, persistence


@pytest.fixture(scope="module")
def small_set():
    seqs = [SEQ_A, SEQ_B, "MSDNGPQNQRNAPRITFGGPSDSTGSNQNGERSGARSKQRRPQGLPNNTASWFTALTQHG", "GGSGGSGGKKDDEE"]
    inps = _inputs(seqs)
    ex = [Example(inps[0], label3=0), Example(inps[1], label3=2), Example(inps[2], label3=1),
          Example(inps[3], log10_csat=2.0, censored=False)]
    return inps, ex


def test_gradients_reach_physics_parameters(small_set):
    inps, ex = small_set
    batch = make_batch([i.seq_feats for i in inps], [i.profile for i in inps], coefficients=True)
    for finetune in (False, True):
        net = LLPSNet(finetune=finetune)
        out = net(batch)
        (out["logits"][:, 0].sum() + out["log10_csat"].sum()).backward()
        for p in (net.w_intra, net.w_inter, net.log_temperature):
            assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0
        if finetune:
            assert net.madrax.d_energ.grad.abs().sum() > 0 and net.madrax.d_vdw.grad.abs().sum() > 0
        else:
            assert net.madrax.d_energ.grad is None


def test_madrax_parameter_changes_move_the_physics(small_set):
    """A change of a type's VdW changes the network's physics input exactly as the stored
    derivatives say (sum over atoms of that type)."""
    inps, _ = small_set
    batch = make_batch([inps[0].seq_feats], [inps[0].profile], coefficients=True)
    net = LLPSNet(finetune=True)
    base = net.physics(batch).detach()
    keys, _, _ = parameter_types()
    t = keys.index(("TYR", "CZ"))
    with torch.no_grad():
        net.madrax.d_vdw[t] = 0.1
    changed = net.physics(batch).detach()
    p = inps[0].profile
    sel = p.atom_type == t
    expect = np.zeros(len(SEQ_A))
    np.add.at(expect, p.atom_residue[sel], p.coef_alone[:, sel, 1].mean(0) * 0.1)
    got = (changed - base)[0, :, 6].numpy()  # intra vdw feature (w_intra = 1)
    np.testing.assert_allclose(got, expect, atol=1e-5)
    assert np.abs(expect).sum() > 0


def test_training_is_deterministic(small_set):
    _, ex = small_set
    cfg = TrainConfig(epochs=2, batch_size=2, seed=3)
    m1, _ = train(cfg, ex, ex[:2])
    m2, _ = train(cfg, ex, ex[:2])
    p1, p2 = predict(m1, ex), predict(m2, ex)
    assert np.array_equal(p1["probs"], p2["probs"]) and np.array_equal(p1["log10_csat"], p2["log10_csat"])
    a = attribution_summary(m1, ex[:2])
    assert len(a) == 2 and np.isfinite(a.values).all() and "phys_inter_6" in a and "aa_Y" in a


def test_save_load_round_trip(tmp_path, small_set):
    _, ex = small_set
    m, _ = train(TrainConfig(epochs=1, batch_size=2, seed=1, finetune=True), ex, ex[:1])
    with torch.no_grad():
        m.w_inter[3] = 1.7
    pred = LLPSPredictor([m], FAST, {"note": "test"}, cache=tmp_path / "cache")
    pred.save(tmp_path / "w.pt")
    back = LLPSPredictor.load(tmp_path / "w.pt", cache=tmp_path / "cache")
    assert back.options == FAST and back.meta["note"] == "test"
    a = pred.predict({"x": SEQ_A, "y": SEQ_B}, progress=False)
    b = back.predict({"x": SEQ_A, "y": SEQ_B}, progress=False)
    cols = ["p_driver", "p_client", "csat_uM"]
    assert np.array_equal(a[cols].values, b[cols].values)
    assert list(a.columns[:5]) == ["id", "length", "p_driver", "p_client", "csat_uM"]
    # the second call read the physics from the cache
    assert b["physics_cached"].all()


def test_auroc():
    assert auroc([3, 4], [1, 2]) == 1.0 and auroc([1], [1]) == 0.5 and auroc([1, 2], [np.nan, 3]) == 0.0


# ----------------------------------------------------------------------------------------------
# CLI


@pytest.mark.slow
def test_cli_predict_good_and_bad_records(tmp_path):
    weights = tmp_path / "w.pt"
    LLPSPredictor([LLPSNet()], FAST).save(weights)
    fasta = tmp_path / "in.fasta"
    fasta.write_text(f">good1\n{SEQ_B}\n>empty\n\n>bad letters\nMKV1LA\n>good2 lower case, X and U\nmkxuwygs\n")
    out = tmp_path / "pred.csv"
    r = subprocess.run([sys.executable, "-m", "openmm_madrax.cli", "llps", "predict", str(fasta), "-o", str(out),
                        "--weights", str(weights), "--cache", str(tmp_path / "cache"), "--plot", str(tmp_path / "plots"),
                        "--no-progress"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 1, r.stderr
    assert "record 'empty': empty sequence" in r.stderr
    assert "record 'bad': '1' at position 4" in r.stderr
    df = pd.read_csv(out)
    assert list(df.columns[:5]) == ["id", "length", "p_driver", "p_client", "csat_uM"]
    assert list(df["id"]) == ["good1", "empty", "bad", "good2"]
    ok = df.set_index("id").loc[["good1", "good2"]]
    assert ok[["p_driver", "p_client", "csat_uM"]].notna().all().all()
    assert (ok["length"] == [len(SEQ_B), 8]).all()
    assert df.set_index("id").loc[["empty", "bad"], "p_driver"].isna().all()
    assert (tmp_path / "plots" / "good1.png").stat().st_size > 5000


def test_predict_structure_input(tmp_path):
    pred = LLPSPredictor([LLPSNet()], FAST, cache=False)
    df = pred.predict(str(UBIQUITIN), progress=False)
    assert list(df["id"]) == ["1ubi"] and int(df["length"].iloc[0]) == 76 and df["error"].iloc[0] == ""


def test_ensemble_generator_option():
    """The project's ensemble generator plugs in through one option (and changes the cache key)."""
    pytest.importorskip("openmm_madrax.ensembles")
    opt = PhysicsOptions(rounds=1, conformer_sets=1, trials=1, generator="ensembles")
    p = physics_profile("MKWYDSGSRRGSYN", opt)
    assert np.isfinite(p.intra).all() and (p.intra != 0).any()
    from openmm_madrax.llps.physics import cache_key

    assert cache_key("MK", opt) != cache_key("MK", PhysicsOptions(rounds=1, conformer_sets=1, trials=1))
    assert "generator" not in PhysicsOptions().key()


# ----------------------------------------------------------------------------------------------
# the shipped weights

UBIQUITIN_SEQ = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"
LYSOZYME_SEQ = ("KVFERCELARTLKRLGMDGYRGISLANWMCLAKWESGYNTRATNYNAGDRSTDYGIFQINSRYWCNDGKTPGAVNACHLSCSALLQDNIADAVAC"
                "AKRVVRDPQGIRAWVAWRNRCQNRDVRQYVQGCGV")
#: the disordered N-terminal region of DDX4 (residues 1-236), a phase-separating IDR (Nott et al. 2015)
DDX4_N = ("MGDEDWEAEINPHMSSYVPIFEKDRYSGENGDNFNRTPASSSEMDDGPSRRDHFMKSGFASGRNFGNRDAGECNKRDNTSTMGGFGVGKSFGNRGFSNSRFEDGD"
          "SSGFWRESSNDCEDNPTRNRGFSKRGGYRDGNNSEASGPYRRGGRGSFRGCRGGFGLGSPNNDLDPDECMQRTGGLFGSRRPVLSGTGNGDTSQSRSGSGSERGGYKG"
          "LNEEVITGSGKNSWKSEAEGGES")


def test_shipped_weights_rank_a_driver_idr_above_folded_proteins(tmp_path):
    from openmm_madrax.llps.predictor import WEIGHTS_FILE

    if not WEIGHTS_FILE.exists():
        pytest.skip(f"no shipped weights at {WEIGHTS_FILE} (openmm-madrax llps train regenerates them)")
    predictor = LLPSPredictor.load(cache=tmp_path / "cache")
    assert len(predictor.models) == 5 and predictor.meta["variant"] == "full"
    df = predictor.predict({"ubiquitin": UBIQUITIN_SEQ, "lysozyme": LYSOZYME_SEQ, "DDX4_N": DDX4_N}).set_index("id")
    assert np.isfinite(df[["p_driver", "p_client", "csat_uM"]].to_numpy(float)).all()
    # measured with the shipped weights: DDX4_N 0.54, ubiquitin 0.08, lysozyme 0.002
    assert df.loc["DDX4_N", "p_driver"] > 0.3 > max(df.loc["ubiquitin", "p_driver"], df.loc["lysozyme", "p_driver"])
    assert ((df["p_driver"] + df["p_client"]) <= 1.0 + 1e-6).all()
