"""Batch runs on a real Dask cluster (issue 16): LocalCluster(processes=True, n_workers=2) and an external
``dask scheduler`` + two ``dask worker`` processes on 127.0.0.1.

Small on purpose: single mutants of the bundled ubiquitin with the fast protocol and no repair
(about 0.5 s each), so all of these take well under a minute of CPU."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from helpers import ROOT, UBIQUITIN, quiet

distributed = pytest.importorskip("distributed")

from openmm_madrax.batch import ddg_batch, read_results, score_batch  # noqa: E402
from openmm_madrax.batch.runner import open_client  # noqa: E402
from openmm_madrax.batch.scan import AA_ORDER  # noqa: E402
from openmm_madrax.ddg import DDG_COLUMNS, Protocol, ddg  # noqa: E402
from openmm_madrax.errors import MadraXError  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning")]

SCAN = "A:2-7"
TO = "AV"  # Q2 I3 F4 V5 K6 T7 -> A, V (not V5V): 11 mutants in 6 tasks (one per site)
WT = {2: "Q", 3: "I", 4: "F", 5: "V", 6: "K", 7: "T"}
N_SCAN = 11
EXTRA = ["A:I3V+A:F4A", "A:Q999W", "A:X3V"]  # a double mutant, a missing residue, an unreadable mutation
VALUE_COLUMNS = ["ddg"] + DDG_COLUMNS + ["dg_wt", "dg_mut"]


def _protocol() -> Protocol:
    p = Protocol.fast()
    p.repair = False
    return p


def _scan_labels():
    """The scan's mutants in its row order: positions, then amino acids in the heat map's order."""
    return [f"A:{WT[k]}{k}{aa}" for k in sorted(WT) for aa in AA_ORDER if aa in TO and aa != WT[k]]


@pytest.fixture(scope="module")
def serial():
    """Today's serial path: openmm_madrax.ddg.ddg() in this process, one MutationModeller."""
    return quiet(ddg, str(UBIQUITIN), _scan_labels() + EXTRA, protocol=_protocol()).set_index("mutant")


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of two single-threaded worker processes, as --workers 2 makes it."""
    with open_client(workers=2, echo=lambda s: None) as c:
        c.wait_for_workers(2, timeout=120)
        yield c


def _assert_rows_equal(df: pd.DataFrame, serial: pd.DataFrame, atol: float = 1e-8) -> None:
    df = df.set_index("mutant")
    assert sorted(df.index) == sorted(serial.index)
    for m, row in serial.iterrows():
        got = df.loc[m]
        assert got["status"] == row["status"], (m, got["error"])
        if row["status"] == "ok":
            np.testing.assert_allclose(got[VALUE_COLUMNS].to_numpy(float), row[VALUE_COLUMNS].to_numpy(float),
                                       rtol=0, atol=atol, err_msg=m)


def _pids(client) -> dict:
    return client.run(os.getpid)


def test_cluster_equals_serial_row_by_row_and_reports_bad_rows(client, serial):
    df = ddg_batch(str(UBIQUITIN), EXTRA, scan=SCAN, to=TO, protocol=_protocol(), client=client, progress=False)
    assert len(df) == len(serial) == N_SCAN + 3
    _assert_rows_equal(df, serial)
    assert df.attrs["stats"].n_tasks == 6 + 3  # one task per scan site (shared reference), extras alone
    # both worker processes took part (otherwise this would not test the distribution)
    assert len(set(df.loc[df["status"] == "ok", "worker"])) == 2
    bad = df.set_index("mutant")
    assert bad.loc["A:Q999W", "status"] == "error" and "999" in bad.loc["A:Q999W", "error"]
    assert bad.loc["A:X3V", "status"] == "error" and "X" in bad.loc["A:X3V", "error"]
    assert (df["status"] == "ok").sum() == N_SCAN + 1
    # the scan rows carry their position; the X->X reference is not a row
    scan = df[df["position"].notna()]
    assert list(scan["mutant"]) == _scan_labels()
    assert not (scan["wt"] == scan["mut"]).any()


def test_serial_batch_equals_cluster(serial, tmp_path):
    """The batch code path without a cluster (as the CLI runs --scan without --workers)."""
    df = ddg_batch(str(UBIQUITIN), EXTRA[:1], scan="A:3", to="AVI", protocol=_protocol(), progress=False,
                   store=tmp_path / "s.parquet")
    assert set(df["worker"]) == {"local"}
    _assert_rows_equal(df, serial.loc[["A:I3A", "A:I3V", "A:I3V+A:F4A"]])


def test_killed_worker_loses_nothing(client, serial, tmp_path):
    """Kill (SIGKILL, by PID) the worker that has just been handed its next mutant, mid-run."""
    pids = _pids(client)
    killed = {}

    def kill_worker_of_first_row(row):
        if killed:
            return
        w = row["worker"]
        keys = set(client.processing()[w])  # the task it was handed next (6 tasks, 2 workers: 4 were queued)
        assert keys, "the worker has no task in flight: nothing to lose"
        os.kill(pids[w], signal.SIGKILL)
        killed.update(address=w, keys=keys, pid=pids[w])

    store = tmp_path / "killed.parquet"
    df = ddg_batch(str(UBIQUITIN), [], scan=SCAN, to=TO, protocol=_protocol(), client=client, progress=False,
                   store=store, on_row=kill_worker_of_first_row)
    assert killed, "the worker was not killed"
    assert (df["status"] == "ok").all(), df[["mutant", "status", "error"]]
    _assert_rows_equal(df, serial.loc[_scan_labels()])
    # the task the killed worker held was run again elsewhere
    in_flight = [i for k in killed["keys"] for i in df.attrs["stats"].task_items[k]]
    assert in_flight and (df.set_index("item_id").loc[in_flight, "worker"] != killed["address"]).all()
    assert sorted(read_results(store)["mutant"]) == sorted(_scan_labels())
    client.wait_for_workers(2, timeout=120)  # the nanny started a new one
    assert killed["pid"] not in _pids(client).values()


def test_resume_after_interruption_skips_finished_rows(client, serial, tmp_path):
    store = tmp_path / "resume.parquet"
    n_first = 3

    class Stop(KeyboardInterrupt):
        pass

    seen = []

    def stop_after(row):
        seen.append(row["item_id"])
        if len(seen) == n_first:
            raise Stop()

    run = dict(scan=SCAN, to=TO, protocol=_protocol(), client=client, progress=False, store=store)
    with pytest.raises(Stop):
        ddg_batch(str(UBIQUITIN), [], on_row=stop_after, flush_every=1, **run)
    first = read_results(store)
    assert len(first) >= n_first and len(first) < N_SCAN
    assert set(seen) <= set(first["item_id"])
    # the same command without --resume refuses to mix, and other options refuse to resume
    with pytest.raises(MadraXError, match="--resume"):
        ddg_batch(str(UBIQUITIN), [], **run)
    with pytest.raises(MadraXError, match="other options"):
        ddg_batch(str(UBIQUITIN), [], resume=True, seed=1, **run)
    df = ddg_batch(str(UBIQUITIN), [], resume=True, **run)
    stats = df.attrs["stats"]
    assert stats.n_skipped == len(first) and stats.n_run == N_SCAN - len(first)
    # finished rows were not recomputed: they keep the first run's run id and values
    old = df[df["item_id"].isin(first["item_id"])]
    assert set(old["run_id"]) == set(first["run_id"])
    assert (df.loc[~df["item_id"].isin(first["item_id"]), "run_id"] == stats.run_id).all()
    _assert_rows_equal(df, serial.loc[_scan_labels()])
    assert len(read_results(store)) == N_SCAN
    again = ddg_batch(str(UBIQUITIN), [], resume=True, **run)
    assert again.attrs["stats"].n_run == 0


def test_score_batch_on_cluster_with_a_bad_file(client, tmp_path):
    bad = tmp_path / "broken.pdb"
    bad.write_text("ATOM      1  N   ALA A   1       0.000   0.000   0.000  1.00  0.00           N\nEND\n")
    files = [str(UBIQUITIN), str(bad), str(tmp_path / "missing.pdb")]
    df = score_batch(files, client=client, progress=False)
    assert list(df["file"]) == files
    assert list(df["status"]) == ["ok", "error", "error"]
    assert "missing.pdb" in df.loc[2, "error"] and "broken.pdb" in df.loc[1, "error"]
    from openmm_madrax import score

    ref = quiet(score, str(UBIQUITIN))
    assert df.loc[0, "total"] == pytest.approx(ref.attrs["total"], abs=1e-9)


def test_features_on_cluster_equal_serial(client, tmp_path):
    md = pytest.importorskip("mdtraj")
    from openmm_madrax.batch import features_batch

    t = md.load(str(UBIQUITIN))
    xyz = t.xyz + np.random.default_rng(2).normal(0.0, 0.003, (2,) + t.xyz.shape[1:]).astype(np.float32)
    md.Trajectory(xyz, t.topology).save_dcd(str(tmp_path / "a.dcd"))
    t.save_pdb(str(tmp_path / "top.pdb"))
    entries = [{"trajectory": str(tmp_path / "a.dcd"), "top": str(tmp_path / "top.pdb"), "name": "ubi"},
               {"trajectory": str(tmp_path / "gone.dcd"), "top": str(tmp_path / "top.pdb"), "name": "gone"}]
    on = features_batch(entries, client=client, progress=False).set_index("name")
    off = features_batch(entries, progress=False).set_index("name")
    assert list(on["status"]) == ["ok", "error"] and "gone.dcd" in on.loc["gone", "error"]
    cols = [c for c in off.columns if "." in c]
    assert len(cols) > 50
    np.testing.assert_allclose(on.loc["ubi", cols].to_numpy(float), off.loc["ubi", cols].to_numpy(float), atol=1e-9)


def test_a_task_the_cluster_cannot_run_becomes_lost_rows(client):
    from openmm_madrax.batch import run_items

    df, stats = run_items("no-such-kind", [{"item_id": "a"}, {"item_id": "b"}], {}, client=client, progress=False)
    assert list(df["status"]) == ["lost", "lost"] and stats.n_lost == 2
    assert "unknown task kind" in df.loc[0, "error"]


# ----------------------------------------------------------------------------------------------
# an external cluster: `dask scheduler` + two `dask worker` processes, reached with --scheduler


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(procs) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@pytest.mark.slow
def test_scan_through_external_scheduler(tmp_path, serial):
    from openmm_madrax.cli import main

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               OMP_NUM_THREADS="1")
    log = open(tmp_path / "cluster.log", "w")
    procs = []
    try:
        procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                       "--port", str(port), "--no-dashboard"], stdout=log, stderr=log, env=env))
        for _ in range(2):
            procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                                           "--nthreads", "1", "--nworkers", "1", "--no-dashboard"],
                                          stdout=log, stderr=log, env=env))
        with distributed.Client(address, timeout="60s") as c:
            c.wait_for_workers(2, timeout=120)
            workers = set(c.scheduler_info()["workers"])
        out = tmp_path / "scan.csv"
        rc = quiet(main, ["ddg", str(UBIQUITIN), "--scan", "A:3-4", "--to", "AV", "--fast", "--no-repair",
                          "--scheduler", address, "-o", str(out), "--no-progress"])
        assert rc == 0
        df = pd.read_csv(out)
        assert list(df["mutant"]) == ["A:I3A", "A:I3V", "A:F4A", "A:F4V"]
        assert (df["status"] == "ok").all()
        assert set(df["worker"]) <= workers
        _assert_rows_equal(df, serial.loc[["A:I3A", "A:I3V", "A:F4A", "A:F4V"]], atol=1e-4)  # CSV: 4 decimals
        assert (tmp_path / "scan_heatmap.png").stat().st_size > 10_000
        assert len(read_results(tmp_path / "scan.parquet")) == 4
    finally:
        _stop(procs)
        log.close()
    assert all(p.poll() is not None for p in procs)


def test_llps_on_cluster_equals_serial(client, tmp_path):
    llps = pytest.importorskip("openmm_madrax.llps", reason="openmm_madrax.llps (branch wip-llps) not merged yet")
    import torch

    from openmm_madrax.batch import llps_batch

    w = tmp_path / "untrained.pt"  # UNTRAINED: this checks the plumbing, not predictions
    torch.manual_seed(0)
    llps.LLPSPredictor([llps.LLPSNet()], cache=False).save(w)
    seqs = {"a": "MSDNEGSQESQNGGSYGSGGYGGSQNSGYGG", "bad": "MKV123", "b": "MKVLAAGIVGLLLAGCSSKEEKPAETTEEAK"}
    on = llps_batch(seqs, weights=str(w), cache=False, client=client, progress=False)
    off = llps_batch(seqs, weights=str(w), cache=False, progress=False)
    assert list(on["status"]) == list(off["status"]) == ["ok", "error", "ok"]
    np.testing.assert_allclose(on["p_driver"].to_numpy(float), off["p_driver"].to_numpy(float), atol=1e-9)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt: Linux only")
def test_worker_plugin_undoes_the_nanny_malloc_setting():
    """dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which turns off glibc's dynamic
    mmap threshold (torch several times slower); the worker plugin sets fixed thresholds instead."""
    code = "from openmm_madrax.batch.dask_plugin import fixed_malloc_thresholds as f; print(f())"
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    out = [subprocess.run([sys.executable, "-c", code], env=dict(env, **extra), capture_output=True, text=True,
                          check=True).stdout.strip() for extra in ({"MALLOC_TRIM_THRESHOLD_": "65536"}, {})]
    assert out == ["True", "False"]
