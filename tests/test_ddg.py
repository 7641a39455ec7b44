"""Mutant building and ΔΔG (docs/ddg.md): self-consistency, errors, batches, CLI, calibration maths.

Runs on the bundled ubiquitin (1ubi, 76 residues) with the fast protocol; about 40-60 s on a
loaded 2-core machine."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

import openmm_madrax as omx
from openmm_madrax import ddg as D
from openmm_madrax.ddg import calibration as C
from openmm_madrax import mutate as mt
from openmm_madrax.errors import MutationError
from openmm_madrax.params import CHANNELS

from helpers import UBIQUITIN as UBI  # noqa: E402
from helpers import shared_path  # noqa: E402

#: forward / reverse pairs: |ΔΔG(A->B) + ΔΔG(B->A on the built mutant)| must stay below this (kcal/mol)
REVERSE_TOLERANCE = 3.0
#: and the mean of ΔΔG(fwd) + ΔΔG(rev) over the set below this
REVERSE_MEAN_BIAS = 1.5





@pytest.fixture(scope="module")
def ubi():
    return omx.load(UBI, quiet=True)


@pytest.fixture(scope="module")
def modeller(ubi):
    return D.MutationModeller(ubi, protocol=D.Protocol.fast())


# ----------------------------------------------------------------------------------------------
# parsing and geometry


def test_parse_formats():
    p = mt.parse_mutation("A:G44S")
    assert (p.chain, p.wt, p.resseq, p.icode, p.mut) == ("A", "G", 44, "", "S")
    assert mt.parse_mutation("A G 44 S") == p
    assert mt.parse_mutation("GA44S") == p  # FoldX individual_list
    assert mt.parse_mutation("B:K12aR").icode == "a"
    assert [q.label for q in mt.parse_mutant("A:G44S+A:I3V")] == ["A:G44S", "A:I3V"]
    assert [q.label for q in mt.parse_mutant("A:G44S,A:I3V")] == ["A:G44S", "A:I3V"]
    with pytest.raises(MutationError, match="A:G44X.*not one of the 20 standard"):
        mt.parse_mutation("A:G44X")
    with pytest.raises(MutationError, match="cannot read"):
        mt.parse_mutation("G44")
    with pytest.raises(MutationError, match="mutated twice"):
        mt.parse_mutant("A:G44S+A:G44T")


def test_rebuilt_side_chains_match_crystal(ubi):
    """Template geometry + the residue's own chis reproduces the crystal side chains."""
    changes = {k: (r.resname, mt.measure_chis(ubi, k)) for k, r in enumerate(ubi.residues)}
    m = mt.mutant_structure(ubi, changes)
    assert m.n_atoms == ubi.n_atoms and m.n_residues == ubi.n_residues
    where = {(int(ubi.atom_residue[a]), n): a for a, n in enumerate(ubi.atom_names)}
    d = np.array([np.linalg.norm(m.coords[a] - ubi.coords[where[(int(m.atom_residue[a]), n)]])
                  for a, n in enumerate(m.atom_names)])
    assert np.sqrt(np.mean(d ** 2)) < 0.3
    assert d.max() < 1.5


def test_every_residue_type_builds(ubi):
    k = next(i for i, r in enumerate(ubi.residues) if r.resname == "ILE")
    wt = mt.measure_chis(ubi, k)
    for res in omx.params.RESIDUE_ORDER:
        for chis in mt.candidate_rotamers(res, wt)[:3]:
            sc = mt.build_side_chain(res, {n: ubi.coords[ubi.residues[k].atom_start + i]
                                           for i, n in enumerate(("N", "CA", "C"))}, chis)
            assert set(sc) == set(omx.params.heavy_atoms()[res]) - {"N", "CA", "C", "O"}
            assert all(np.isfinite(v).all() for v in sc.values())


# ----------------------------------------------------------------------------------------------
# self-consistency


@pytest.mark.parametrize("mutant", ["A:I3I", "A:K6K"])
def test_identity_mutation_is_zero(modeller, mutant):
    res = modeller.mutant(mutant)
    # the reference *is* the mutation X -> X through the same deterministic protocol
    assert np.abs(res["ddg_channels"]).max() == 0.0


def test_nonzero_and_sign(modeller):
    res = modeller.mutant("A:L43A")  # a buried leucine to alanine: destabilising
    assert res["ddg_channels"].sum() > 1.0
    assert res["mut"]["structure"].residues[42].resname == "ALA"
    assert res["ref"]["structure"].residues[42].resname == "LEU"


def test_forward_reverse_consistency(modeller):
    """ΔΔG(A->B) on the wild type and ΔΔG(B->A) on the built mutant: close to opposite."""
    pairs = []
    for m in ["A:I3V", "A:L43A", "A:V26A", "A:K6R", "A:T7S"]:
        fwd = modeller.mutant(m)
        mut = fwd["mut"]
        s_mut = mut["structure"].with_coords(mut["coords"])
        rev_label = mt.parse_mutation(m).reverse().label
        # the built mutant is already a product of the protocol: no second repair
        back = D.MutationModeller(s_mut, protocol=dataclasses.replace(D.Protocol.fast(), repair=False)).mutant(rev_label)
        pairs.append((m, float(fwd["ddg_channels"].sum()), float(back["ddg_channels"].sum())))
    bias = [f + r for _, f, r in pairs]
    print("forward/reverse (kcal/mol):", [(m, round(f, 2), round(r, 2)) for m, f, r in pairs],
          "mean bias", round(float(np.mean(bias)), 3))
    assert all(abs(b) < REVERSE_TOLERANCE for b in bias), pairs
    assert abs(float(np.mean(bias))) < REVERSE_MEAN_BIAS, pairs
    # the forward values are not trivially small, so the check means something
    assert max(abs(f) for _, f, _ in pairs) > 1.0


def test_repeats_deterministic_with_seed(ubi):
    p = D.Protocol(repair=False, env_radius=6.0, relax_evals=3, max_rotamers=3)
    a = D.ddg(ubi, ["A:I3V"], seed=3, repeats=2, protocol=p)
    b = D.ddg(ubi, ["A:I3V"], seed=3, repeats=2, protocol=p)
    assert a["status"].tolist() == ["ok"]
    assert a["ddg"].iloc[0] == b["ddg"].iloc[0]
    assert a.attrs["repeats"] == 2 and np.isfinite(a["ddg_sd"].iloc[0])


# ----------------------------------------------------------------------------------------------
# errors and batches


@pytest.mark.parametrize("mutant,pattern", [
    ("B:I3V", r"B:I3V: chain 'B' is not in"),
    ("A:I300V", r"A:I300V: residue 300 is not in chain A"),
    ("A:G3V", r"A:G3V: wild-type mismatch.*ILE"),
    ("A:I3Z", r"A:I3Z.*not one of the 20 standard"),
    ("A:I3B", r"A:I3B.*nonstandard residues cannot be built"),
])
def test_mutation_errors(modeller, mutant, pattern):
    with pytest.raises(MutationError, match=pattern):
        modeller.mutant(mutant)


def test_batch_reports_failure_and_finishes(modeller):
    with pytest.warns(omx.MadraXWarning, match=r"1 of 3 mutant\(s\) failed.*A:G3V"):
        df = D.ddg(None, ["A:I3I", "A:G3V", "A:L43A"], modeller=modeller)
    assert df["status"].tolist() == ["ok", "error", "ok"]
    assert "wild-type mismatch" in df.loc[1, "error"] and np.isnan(df.loc[1, "ddg"])
    assert df.loc[0, "ddg"] == 0.0
    assert df.loc[2, "ddg"] > 1.0
    assert np.isclose(df.loc[2, "ddg"], df.loc[2, [f"ddg_{c}" for c in CHANNELS]].sum())


def test_weights(modeller):
    w, b, name = D.load_weights("madrax")
    assert name == "madrax" and (w == 1).all() and b == 0.0
    w2, b2, _ = D.load_weights({"weights": {"clash": 0.5}, "intercept": 0.25})
    assert w2[CHANNELS.index("clash")] == 0.5 and b2 == 0.25
    with pytest.raises(omx.MadraXError, match="unknown channel"):
        D.load_weights({"weights": {"nope": 1.0}})
    if D.CALIBRATED_WEIGHTS.exists():
        wc, bc, _ = D.load_weights("calibrated")
        assert wc.shape == (11,) and (wc >= 0).all() and math.isfinite(bc)
        df = D.ddg(None, ["A:L43A"], modeller=modeller, weights="calibrated")
        ch = df.loc[0, [f"ddg_{c}" for c in CHANNELS]].to_numpy(float)
        assert np.isclose(df.loc[0, "ddg"], bc + wc @ ch)


# ----------------------------------------------------------------------------------------------
# binding


def _two_chain_ubiquitin(ubi):
    """Ubiquitin cut after residue 35 into chains A and B: an artificial 'complex' for binding."""
    cut = 35
    residues = [dataclasses.replace(r, chain_id="A" if r.resseq <= cut else "B",
                                    chain_index=0 if r.resseq <= cut else 1) for r in ubi.residues]
    nxt = ubi.next_consecutive.copy()
    nxt[cut - 1] = False
    return dataclasses.replace(ubi, residues=residues, chain_ids=["A", "B"], next_consecutive=nxt, _tables=None)


def test_binding_ddg(ubi):
    cplx = _two_chain_ubiquitin(ubi)
    p = D.Protocol(repair=False, env_radius=8.0, relax_evals=8, max_rotamers=4)
    with pytest.raises(MutationError, match="chain 'C' is not in"):
        D.MutationModeller(cplx, protocol=p, partners="A,C")
    df = D.ddg(cplx, ["A:I3I", "B:L67A"], partners="A,B", protocol=p)
    assert df["status"].tolist() == ["ok", "ok"]
    assert df.loc[0, "ddg_bind"] == 0.0
    assert np.isfinite(df.loc[1, "ddg_bind"])
    # stability and binding are different quantities
    assert df.loc[1, "ddg_bind"] != df.loc[1, "ddg"]
    # a chain outside the partner groups: binding between A and B only, still 0 for X -> X
    three = dataclasses.replace(cplx, residues=[dataclasses.replace(r, chain_id="C", chain_index=2) if r.resseq > 60
                                                else r for r in cplx.residues], chain_ids=["A", "B", "C"],
                                _tables=None, next_consecutive=cplx.next_consecutive.copy())
    three.next_consecutive[59] = False  # residue 60 | 61: chain B | chain C
    df3 = D.ddg(three, ["A:I3I", "B:L43A"], partners="A,B", protocol=p)
    assert df3["status"].tolist() == ["ok", "ok"] and df3.loc[0, "ddg_bind"] == 0.0
    assert np.isfinite(df3.loc[1, "ddg_bind"])


# ----------------------------------------------------------------------------------------------
# CLI


def test_cli(tmp_path, capsys):
    from openmm_madrax.cli import main

    mfile = tmp_path / "muts.txt"
    mfile.write_text("# comment\nA:I3I\n\nA:Q2Z   # nonstandard target\n")
    out = tmp_path / "out.csv"
    rc = main(["ddg", str(UBI), "--mutations", "A:I3I;B:I3V", "--mutation-file", str(mfile), "--fast",
               "--no-repair", "--no-progress", "-o", str(out)])
    assert rc == 1  # some mutants failed, the others are in the file
    df = pd.read_csv(out)
    assert df["mutant"].tolist()[0] == "A:I3I" and len(df) == 4
    assert df["status"].tolist() == ["ok", "error", "ok", "error"]
    captured = capsys.readouterr()
    assert "B:I3V" in captured.err and "A:Q2Z" in captured.err
    # with -o the table still goes to the console, one line per mutant
    table = captured.out.strip().splitlines()
    assert table[0].split()[:2] == ["mutant", "ddg"] and len(table) == 5 and table[1].split()[0] == "A:I3I"
    rc = main(["ddg", str(UBI), "--no-progress"])
    assert rc == 2 and "no mutations" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------
# calibration maths


def test_nonneg_ridge_and_grouped_cv():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 11))
    w_true = np.r_[0.5, 1.0, 0.0, 2.0, np.zeros(7)]
    y = 0.3 + X @ w_true + 0.05 * rng.normal(size=300)
    w, b = C.fit_nonneg_ridge(X, y, alpha=1e-3)
    assert (w >= 0).all() and np.allclose(w, w_true, atol=0.05) and abs(b - 0.3) < 0.05
    groups = np.repeat(np.arange(30), 10)
    pred = C.grouped_cv(X, y, groups, alpha=1e-3, n_folds=5)
    assert C.metrics(pred, y)["pearson_r"] > 0.95
    table = pd.DataFrame(X, columns=D.DDG_COLUMNS)
    table["ddg_exp"] = y
    table["pdb"] = [f"P{g}" for g in groups]
    table["status"] = "ok"
    table["error"] = ""
    table["record"] = np.arange(300)
    table["mutant"] = "A:G1A"
    table.loc[0, "status"] = "error"
    res = C.calibrate(table, alphas=(1e-3,), n_folds=5)
    assert res["n_used"] == 299 and res["n_skipped"] == 1
    assert res["cv"]["calibrated"]["pearson_r"] > 0.95


def test_guerois_reader():

    path = shared_path("data", "ddg_train", "guerois.csv")
    t = C.read_guerois(path)
    assert len(t) == 1005 and t["pdb"].nunique() == 81
    assert t.loc[t["record"] == 965, "mutant"].item() == "A:G44S"
    assert not t["mutant"].str.startswith("!").any()
