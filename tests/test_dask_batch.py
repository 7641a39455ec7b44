"""The batch package without a cluster (issue 16): scan positions, heat map, result store, serial batches,
CLI wiring, and the error when Dask is missing.  None of these needs dask installed."""
from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from helpers import UBIQUITIN, quiet

import openmm_madrax as omx
from openmm_madrax.batch import ResultStore, features_batch, read_results, run_items, score_batch
from openmm_madrax.batch.scan import AA_ORDER, parse_targets, plot_scan, scan_matrix, scan_mutants
from openmm_madrax.batch.tasks import file_ref, run_item
from openmm_madrax.cli import main
from openmm_madrax.errors import MadraXError

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning")]


@pytest.fixture(scope="module")
def ubi():
    return quiet(omx.load, str(UBIQUITIN), quiet=True)


def test_scan_mutants_every_substitution_without_wild_type(ubi):
    muts = scan_mutants(ubi, "A:3-5", "AVGW")
    # I3 and F4: 4 targets each; V5: 3 (V->V left out)
    assert [m["mutant"] for m in muts] == ["A:I3A", "A:I3V", "A:I3W", "A:I3G", "A:F4A", "A:F4V", "A:F4W",
                                           "A:F4G", "A:V5A", "A:V5W", "A:V5G"]
    assert all(m["wt"] != m["mut"] for m in muts)
    assert {m["position"] for m in muts} == {"I3", "F4", "V5"}
    full = scan_mutants(ubi, "A")
    assert len(full) == 76 * 19
    assert len(scan_mutants(ubi, "A:10,A:12-13")) == 3 * 19


@pytest.mark.parametrize("spec,match", [("B:1-5", "chain 'B'"), ("A:90-95", "no residue"), ("A:10-5", "ends before"),
                                        ("A;10", "cannot read"), ("", "selects no residue")])
def test_scan_spec_errors(ubi, spec, match):
    with pytest.raises(MadraXError, match=match):
        scan_mutants(ubi, spec)


def test_scan_gap_warns_and_targets_checked(ubi):
    with pytest.warns(omx.MadraXWarning, match=r"A:77-80"):
        muts = scan_mutants(ubi, "A:75-80", "A")
    assert [m["mutant"] for m in muts] == ["A:G75A", "A:G76A"]
    assert parse_targets("wvA") == "AVW"
    with pytest.raises(MadraXError, match="B"):
        parse_targets("AB")


def test_heat_map_matrix_and_file(ubi, tmp_path):
    df = pd.DataFrame(scan_mutants(ubi, "A:3-4", "AVG"))
    df["status"] = "ok"
    df["ddg"] = np.arange(len(df), dtype=float) + 1.0
    df.loc[df["mutant"] == "A:F4G", "status"] = "error"
    positions, wts, aas, M, failed = scan_matrix(df)
    assert positions == ["I3", "F4"] and wts == ["I", "F"]
    assert aas == [a for a in AA_ORDER if a in "AVGIF"]
    assert M[aas.index("I"), 0] == 0.0 and M[aas.index("F"), 1] == 0.0  # wild type: 0
    assert M[aas.index("V"), 0] == 2.0  # A:I3V is the second row
    assert failed[aas.index("G"), 1] and np.isnan(M[aas.index("G"), 1])
    assert np.isnan(M[aas.index("I"), 1])  # F4I not tested
    out = plot_scan(df, tmp_path / "h.png", title="test")
    assert (tmp_path / "h.png").stat().st_size > 5000 and out.endswith("h.png")


def test_run_item_never_raises(tmp_path):
    row = run_item("score", {"item_id": "x", "structure": {"path": str(tmp_path / "nope.pdb"), "sha256": None},
                             "labels": {"file": "nope.pdb"}}, {})
    assert row["status"] == "error" and "nope.pdb" in row["error"] and row["file"] == "nope.pdb"
    ref = file_ref(UBIQUITIN)
    changed = dict(ref, sha256="0" * 64)
    row = run_item("score", {"item_id": "y", "structure": changed}, {})
    assert row["status"] == "error" and "changed" in row["error"]
    with pytest.raises(ValueError, match="unknown task kind"):
        run_item("nope", {"item_id": "z"}, {})


def test_store_resume_and_options(tmp_path):
    items = [{"item_id": "ubi", "structure": file_ref(UBIQUITIN), "labels": {}},
             {"item_id": "missing", "structure": {"path": str(tmp_path / "m.pdb"), "sha256": None}, "labels": {}}]
    path = tmp_path / "r.parquet"
    st = ResultStore(path, kind="score", options={"burial": "madrax"})
    df, stats = run_items("score", items, {"burial": "madrax"}, store=st, progress=False)
    assert list(df["status"]) == ["ok", "error"] and stats.n_run == 2
    back = read_results(path)
    assert list(back["item_id"]) == ["ubi", "missing"]
    assert back["total"].dtype == np.float64
    assert pd.read_parquet(path).shape[0] == 2  # any Parquet reader reads the directory
    # resume skips both (the error row is finished too) unless errors are retried
    st2 = ResultStore(path, kind="score", options={"burial": "madrax"}, resume=True)
    _, stats = run_items("score", items, {"burial": "madrax"}, store=st2, progress=False)
    assert stats.n_skipped == 2 and stats.n_run == 0
    _, stats = run_items("score", items, {"burial": "madrax"}, store=st2, progress=False, retry_errors=True)
    assert stats.n_skipped == 1 and stats.n_run == 1
    again = read_results(path).set_index("item_id")
    assert len(again) == 2  # the rerun error row replaced the old one (fragments compacted, latest kept)
    assert again.loc["missing", "run_id"] == stats.run_id
    assert again.loc["ubi", "run_id"] == back.loc[0, "run_id"]
    with pytest.raises(MadraXError, match="burial"):
        ResultStore(path, kind="score", options={"burial": "foldx"}, resume=True)
    with pytest.raises(MadraXError, match="'score' results"):
        ResultStore(path, kind="ddg", options={"burial": "madrax"}, resume=True)
    with pytest.raises(MadraXError, match="already holds results"):
        ResultStore(path, kind="score", options={"burial": "madrax"})
    ResultStore(path, kind="score", options={"burial": "foldx"}, overwrite=True)
    assert len(read_results(path)) == 0


def test_duplicate_items_run_once():
    items = [{"item_id": "a", "structure": file_ref(UBIQUITIN)}] * 2
    with pytest.warns(UserWarning, match="duplicate"):
        df, stats = run_items("score", items, {}, progress=False)
    assert len(df) == 1 and stats.duplicates == ["a"]


def test_score_cli_many_structures(tmp_path, capsys):
    lst = tmp_path / "list.txt"
    lst.write_text(f"# structures\n{UBIQUITIN}\nmissing.pdb\n")
    out = tmp_path / "scores.csv"
    rc = quiet(main, ["score", "--list", str(lst), "-o", str(out)])
    assert rc == 1  # one structure failed
    df = pd.read_csv(out)
    assert list(df["status"]) == ["ok", "error"]
    assert "missing.pdb" in df.loc[1, "error"]
    ref = quiet(omx.score, str(UBIQUITIN))
    assert df.loc[0, "total"] == pytest.approx(ref.attrs["total"], abs=1e-5)
    assert len(read_results(tmp_path / "scores.parquet")) == 2
    assert "failed (error)" in capsys.readouterr().err
    # one file and no batch option: today's per-residue table
    rc = quiet(main, ["score", str(UBIQUITIN), "-o", str(tmp_path / "one.csv")])
    assert rc == 0 and len(pd.read_csv(tmp_path / "one.csv")) == 76


def test_features_batch_equals_compute_features(tmp_path):
    md = pytest.importorskip("mdtraj")
    from openmm_madrax.features import compute_features

    t = md.load(str(UBIQUITIN))
    rng = np.random.default_rng(1)
    xyz = t.xyz + rng.normal(0.0, 0.003, (3,) + t.xyz.shape[1:]).astype(np.float32)
    traj = md.Trajectory(xyz, t.topology)
    traj.save_dcd(str(tmp_path / "a.dcd"))
    t.save_pdb(str(tmp_path / "top.pdb"))
    lst = tmp_path / "trajs.csv"
    lst.write_text("trajectory,top,name\na.dcd,top.pdb,ubi\nnot_there.dcd,top.pdb,gone\n")
    out = tmp_path / "vectors.csv"
    rc = quiet(main, ["features", "--list", str(lst), "-o", str(out), "--no-progress"])
    assert rc == 1
    df = pd.read_csv(out).set_index("name")
    assert df.loc["ubi", "status"] == "ok" and df.loc["gone", "status"] == "error"
    assert "not_there.dcd" in df.loc["gone", "error"]
    ref = quiet(compute_features, str(tmp_path / "a.dcd"), str(tmp_path / "top.pdb")).protein_vector()
    for k in ("madrax_total.total", "rg.mean", "n_frames"):
        assert df.loc["ubi", k] == pytest.approx(ref[k], rel=1e-5)


def test_without_dask_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(MadraXError, match=r"openmm-madrax\[dask\]"):
        score_batch([str(UBIQUITIN)], workers=2, progress=False)
    rc = quiet(main, ["ddg", str(UBIQUITIN), "--scan", "A:3", "--to", "A", "--workers", "2"])
    assert rc == 2


def test_batch_option_errors(tmp_path):
    with pytest.raises(MadraXError, match="--resume needs"):
        score_batch([str(UBIQUITIN)], resume=True, progress=False)
    for argv in (["ddg", str(UBIQUITIN), "--scan", "A:3", "--workers", "0"],
                 ["ddg", str(UBIQUITIN), "--to", "AV", "-m", "A:I3V"],
                 ["ddg", str(UBIQUITIN), "--scan", "A:3", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"],
                 ["ddg", str(UBIQUITIN), "--scan", "A:3", "--retry-errors", "-o", str(tmp_path / "x.csv")],
                 ["features", "--workers", "2", "-o", str(tmp_path / "f.csv")]):
        assert quiet(main, argv) == 2, argv
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert features_batch([], progress=False).empty


def test_resume_recomputes_a_changed_file(tmp_path):
    f = tmp_path / "u.pdb"
    f.write_text(UBIQUITIN.read_text())
    store = tmp_path / "s.parquet"
    df = score_batch([str(f)], store=store, progress=False)
    assert df.attrs["stats"].n_run == 1
    df = score_batch([str(f)], store=store, resume=True, progress=False)
    assert df.attrs["stats"].n_run == 0 and df.attrs["stats"].n_skipped == 1
    f.write_text("REMARK   1 CHANGED\n" + UBIQUITIN.read_text())
    df = score_batch([str(f)], store=store, resume=True, progress=False)
    assert df.attrs["stats"].n_run == 1 and df.loc[0, "status"] == "ok"


def test_items_of_a_group_share_one_task():
    from openmm_madrax.batch.runner import _groups

    items = [{"item_id": "a", "group": "A:3"}, {"item_id": "b"}, {"item_id": "c", "group": "A:3"},
             {"item_id": "d", "group": "A:4"}, {"item_id": "e", "group": None}]
    assert [[i["item_id"] for i in g] for g in _groups(items)] == [["a", "c"], ["b"], ["d"], ["e"]]
    # fewer tasks than workers: groups are split so that every worker has work
    site = [{"item_id": str(k), "group": "A:3"} for k in range(19)]
    assert [len(g) for g in _groups(site, min_tasks=1)] == [19]
    assert [len(g) for g in _groups(site, min_tasks=2)] == [10, 9]
    assert [len(g) for g in _groups(site[:3] + [{"item_id": "x", "group": "B:1"}], min_tasks=4)] == [2, 1, 1]
    assert sum(len(g) for g in _groups(site, min_tasks=64)) == 19


@pytest.fixture(scope="module")
def untrained_llps_weights(tmp_path_factory):
    """An UNTRAINED one-model LLPS predictor: these tests check the batch plumbing, not predictions."""
    llps = pytest.importorskip("openmm_madrax.llps", reason="openmm_madrax.llps (branch wip-llps) not merged yet")
    import torch

    path = tmp_path_factory.mktemp("llps") / "untrained.pt"
    torch.manual_seed(0)
    llps.LLPSPredictor([llps.LLPSNet()], cache=False).save(path)
    return str(path)


LLPS_SEQS = {"a": "MSDNEGSQESQNGGSYGSGGYGGSQNSGYGGSRGGSGGYGQDSSSMSSGGG", "bad": "MKV123",
             "b": "MKVLAAGIVGLLLAGCSSKEEKPAETTEEAK"}


def test_llps_batch_equals_the_predictor(untrained_llps_weights, tmp_path):
    from openmm_madrax.batch import llps_batch
    from openmm_madrax.llps import LLPSPredictor

    df = llps_batch(LLPS_SEQS, weights=untrained_llps_weights, cache=False, progress=False,
                    store=tmp_path / "l.parquet")
    ref = quiet(LLPSPredictor.load(untrained_llps_weights, cache=False).predict, LLPS_SEQS, progress=False,
                errors="ignore")
    assert list(df["id"]) == list(ref["id"]) == ["a", "bad", "b"]
    assert list(df["status"]) == ["ok", "error", "ok"] and "bad" in df.loc[1, "error"]
    for c in ("length", "p_driver", "p_client", "csat_uM"):
        np.testing.assert_allclose(df[c].to_numpy(float), ref[c].to_numpy(float), atol=1e-9, err_msg=c)
    again = llps_batch(LLPS_SEQS, weights=untrained_llps_weights, cache=False, progress=False,
                       store=tmp_path / "l.parquet", resume=True)
    assert again.attrs["stats"].n_run == 0
