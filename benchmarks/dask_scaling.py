"""Speed-up from 1 to N Dask workers, memory per worker, per-item cost and projections (issue 16, docs/dask.md).

    python benchmarks/dask_scaling.py scaling [--items 200] [--protocol fast] [--repeats 3] [--workers 1 2]
    python benchmarks/dask_scaling.py cost [--pdb FILE] [--items 8] [--protocol default]
    python benchmarks/dask_scaling.py project --json benchmarks/out/dask_scaling.json

``scaling``: a deep mutational scan of the bundled ubiquitin (positions 2.., all 19 substitutions,
the first ``--items`` mutants) run (a) serially in this process, (b) on LocalCluster(processes=True)
with 1 and (c) 2 single-threaded workers.  Each repeat starts a fresh cluster (start-up not timed),
imports the package on every worker (not timed), then times submission -> last row, which includes
each worker building its own wild-type set-up (MutationModeller) once.  The speed-up is T(1
worker) / T(N workers) within one repeat; the table gives the median over repeats.  Memory per
worker: peak resident set size (ru_maxrss) of each worker process after the run, and its unique set
size (USS: without the shared libraries, which N workers on one node share).  "CPU share": CPU
seconds / wall seconds of the tasks; below 1 they waited for a core (other jobs on the machine).
The LLPS part (``--llps-items`` proteins, a seeded sample of ../shared/data/llps/ppmc_train.tsv,
physics cache off) runs when ``openmm_madrax.llps`` is importable, otherwise it says so; without
shipped weights it times an UNTRAINED 5-model ensemble of the same architecture (cost only).

``cost``: serial per-mutant cost (median) and the one-off set-up of a ~300-residue protein
(default 2TS1, 317 residues, from ../shared/data/ddg_train/pdbs), for the projection of a full
scan (19 x residues mutants) on N workers: T(N) = set-up + n x cost / (N x efficiency), the
efficiency taken from ``scaling`` (speed-up(2) / 2 on this machine; on a cluster of separate
nodes it is limited by the same per-worker set-up and scheduling overhead).

All runs: torch 1 thread per worker (OMP_NUM_THREADS=1); the machine's load average is printed
before and after, since other jobs on a shared 2-core machine make any speed-up smaller.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "out"
UBIQUITIN = ROOT / "openmm_madrax" / "data" / "1ubi.pdb"
DEFAULT_300 = ROOT.parent / "shared" / "data" / "ddg_train" / "pdbs" / "2TS1.pdb"


def _load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _uss_mib() -> float:
    """Memory unique to this process (shared libraries, e.g. torch's, counted once per machine, not here)."""
    import psutil

    return psutil.Process().memory_full_info().uss / 2**20


def _warm():
    import openmm_madrax.ddg  # noqa: F401
    import openmm_madrax.batch.tasks  # noqa: F401

    return os.getpid()


def _protocol(name):
    from openmm_madrax.ddg import Protocol

    return Protocol.fast() if name == "fast" else Protocol()


def _scan_items(n_items: int):
    import openmm_madrax as omx
    from openmm_madrax.batch.scan import scan_mutants
    from openmm_madrax.batch.tasks import file_ref

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = omx.load(str(UBIQUITIN), quiet=True)
    last = 2 + -(-n_items // 19)
    muts = scan_mutants(s, f"A:2-{last}")[:n_items]
    ref = file_ref(UBIQUITIN)
    return [{"item_id": m["mutant"], "structure": ref, "mutant": m["mutant"], "labels": m} for m in muts]


def _run_once(kind, items, options, workers):
    """(wall seconds, rows, peak RSS per worker MiB)."""
    from openmm_madrax.batch import run_items
    from openmm_madrax.batch.tasks import clear_cache

    if workers == 0:
        clear_cache()
        t0 = time.perf_counter()
        df, _ = run_items(kind, items, options, progress=False)
        return time.perf_counter() - t0, df, [_peak_rss_mib()], [_uss_mib()]
    from openmm_madrax.batch.runner import open_client

    with open_client(workers=workers, echo=lambda s: None) as client:
        client.wait_for_workers(workers)
        client.run(_warm)
        t0 = time.perf_counter()
        df, _ = run_items(kind, items, options, client=client, progress=False)
        wall = time.perf_counter() - t0
        rss = sorted(client.run(_peak_rss_mib).values())
        uss = sorted(client.run(_uss_mib).values())
    return wall, df, rss, uss


def scaling(args) -> dict:
    import torch

    torch.set_num_threads(1)
    from openmm_madrax.batch.workflows import ddg_options

    items = _scan_items(args.items)
    opts, _ = ddg_options(protocol=_protocol(args.protocol))
    modes = [0] + list(args.workers)
    res = {"task": f"ddG scan of 1ubi, {len(items)} mutants, protocol {args.protocol}", "load_before": _load_avg(),
           "repeats": [], "cpus": os.cpu_count()}
    print(f"# {res['task']}; load average before: {res['load_before']}", flush=True)
    _repeat_runs("ddg", items, opts, modes, args.repeats, res)
    return res


def _repeat_runs(kind: str, items, opts, modes, repeats: int, res: dict) -> None:
    """``repeats`` x (serial and each worker count in ``modes``) on ``items``; rows into
    ``res["repeats"]``, the load after into ``res["load_after"]``, then the summary table."""
    for rep in range(repeats):
        row = {}
        for w in modes:
            wall, df, rss, uss = _run_once(kind, items, opts, w)
            n_ok = int((df["status"] == "ok").sum())
            row[str(w)] = {"wall_s": wall, "ok": n_ok, "peak_rss_mib": rss, "uss_mib": uss,
                           "item_s_median": float(df["seconds"].median()),
                           "item_s_mean": float(df["seconds"].mean()),
                           "cpu_share": float(df["cpu_seconds"].sum() / df["seconds"].sum()),
                           "task_cpu_s": float(df["cpu_seconds"].sum()), "task_wall_s": float(df["seconds"].sum()),
                           "setup_s": float(df["setup_seconds"].sum()) if "setup_seconds" in df else 0.0}
            print(f"{kind} repeat {rep}: {'serial' if w == 0 else f'{w} worker(s)'}: {wall:.1f} s, {n_ok}/{len(items)} "
                  f"ok, per item {row[str(w)]['item_s_median']:.2f} s median / {row[str(w)]['item_s_mean']:.2f} s "
                  f"mean, CPU share of the tasks {row[str(w)]['cpu_share']:.2f}, peak RSS/worker "
                  f"{', '.join(f'{x:.0f}' for x in rss)} MiB (unique {', '.join(f'{x:.0f}' for x in uss)} MiB); "
                  f"load {_load_avg()}", flush=True)
        res["repeats"].append(row)
    res["load_after"] = _load_avg()
    _summary(res, modes)


def scaling_all(args) -> dict:
    res = scaling(args) if args.items else {}
    if args.llps_items:
        res.update(_llps_scaling(args))
    return res


PPMC = ROOT.parent / "shared" / "data" / "llps" / "ppmc_train.tsv"


def _llps_items(n: int, seed: int = 0):
    """``n`` proteins drawn (seeded) from ../shared/data/llps/ppmc_train.tsv, as batch items."""
    import hashlib

    import pandas as pd

    df = pd.read_csv(PPMC, sep="\t").sample(n=n, random_state=seed)
    items = []
    for acc, seq in zip(df["UniProt.Acc"], df["Full.seq"]):
        digest = hashlib.sha256(seq.encode()).hexdigest()[:16]
        items.append({"item_id": f"{acc}#{digest}", "name": acc, "sequence": seq, "labels": {"id": acc}})
    return items, df["Full.seq"].str.len()


def _llps_scaling(args) -> dict:
    """LLPS prediction of ``--llps-items`` proteins, serial / 1 / 2 workers, physics cache off.  Uses the
    shipped weights when they exist, else an UNTRAINED 5-model ensemble saved to benchmarks/out (same
    architecture and cost; its outputs are not predictions and are not reported)."""
    try:
        import openmm_madrax.llps  # noqa: F401
        from openmm_madrax.llps import LLPSNet, LLPSPredictor
        from openmm_madrax.llps.predictor import WEIGHTS_FILE
    except ImportError:
        print("# LLPS: openmm_madrax.llps is not importable here; not measured")
        return {"llps": "not available: openmm_madrax.llps is not importable in this checkout"}
    if not PPMC.exists():
        return {"llps": f"not measured: {PPMC} not there"}
    import torch

    weights, label = WEIGHTS_FILE, "shipped weights"
    if not WEIGHTS_FILE.exists():
        weights = OUT / "llps_untrained_5models.pt"
        torch.manual_seed(0)
        LLPSPredictor([LLPSNet() for _ in range(5)], cache=False).save(weights)
        label = "UNTRAINED 5-model ensemble (timing only; the shipped weights file is missing)"
    items, lengths = _llps_items(args.llps_items)
    opts = {"weights": str(weights), "cache": False}
    out = {"task": f"LLPS prediction of {len(items)} PPMC proteins (seeded sample; length median "
                   f"{int(lengths.median())}, mean {lengths.mean():.0f}, max {lengths.max()}), {label}, physics cache off",
           "repeats": [], "load_before": _load_avg(), "cpus": os.cpu_count(), "mean_length": float(lengths.mean())}
    print(f"# {out['task']}; load average before {out['load_before']}", flush=True)
    _repeat_runs("llps", items, opts, [0] + list(args.workers), args.repeats, out)
    return {"llps": out}


def _summary(res, modes):
    print("\n| run | median wall s | speed-up vs 1 worker (median of per-repeat ratios) | CPU share of the tasks "
          "| peak RSS per worker MiB | unique (USS) per worker MiB |")
    print("|---|---|---|---|---|---|")
    for w in modes:
        walls = [r[str(w)]["wall_s"] for r in res["repeats"]]
        rss = [max(r[str(w)]["peak_rss_mib"]) for r in res["repeats"]]
        uss = [max(r[str(w)]["uss_mib"]) for r in res["repeats"]]
        share = [r[str(w)]["cpu_share"] for r in res["repeats"]]
        if w == 0:
            sp = "-"
        else:
            ratios = [r["1"]["wall_s"] / r[str(w)]["wall_s"] for r in res["repeats"] if "1" in r]
            sp = f"{statistics.median(ratios):.2f}x ({', '.join(f'{x:.2f}' for x in ratios)})" if ratios else "-"
        name = "serial (in-process)" if w == 0 else f"LocalCluster, {w} worker(s)"
        print(f"| {name} | {statistics.median(walls):.1f} | {sp} | {statistics.median(share):.2f} | "
              f"{statistics.median(rss):.0f} | {statistics.median(uss):.0f} |")
    print(f"load average before {res['load_before']}, after {res['load_after']} ({res['cpus']} CPUs)")
    # On a loaded machine the wall ratio measures the other jobs as much as Dask.  An ESTIMATE for an idle
    # machine from the same runs: busy_w = task wall / (w x run wall) is the fraction of worker time spent
    # in tasks (scheduling gaps, set-up outside tasks); with a whole core each, a task takes its CPU time,
    # so T_w(idle) ~ task CPU / (w x busy_w).  Not a measurement: it assumes the gaps scale with the load.
    est = []
    for r in res["repeats"]:
        if "1" in r and "2" in r and "task_cpu_s" in r["1"]:
            # T_idle = C / (w * busy) = C * T / S
            t = {w: r[w]["task_cpu_s"] * r[w]["wall_s"] / r[w]["task_wall_s"] for w in ("1", "2")}
            est.append(t["1"] / t["2"])
    if est:
        print(f"ESTIMATED idle-machine speed-up 1 -> 2 workers from CPU time (not measured): "
              f"{statistics.median(est):.2f}x ({', '.join(f'{x:.2f}' for x in est)})")
        res["estimated_idle_speedup_2"] = est


def cost(args) -> dict:
    import torch

    torch.set_num_threads(1)
    import openmm_madrax as omx
    from openmm_madrax.residues import ONE_LETTER
    from openmm_madrax.ddg import MutationModeller, ddg

    pdb = Path(args.pdb) if args.pdb else DEFAULT_300
    if not pdb.exists():
        raise SystemExit(f"{pdb}: not there (needs ../shared or --pdb FILE)")
    lk = dict(altloc="first", drop_nonstandard=True, repair=True)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = omx.load(str(pdb), quiet=True, **lk)
        t_load = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        m = MutationModeller(s, protocol=_protocol(args.protocol))
        t_setup, c_setup = time.perf_counter() - t0, time.process_time() - c0
        # sites spread along the chain, two substitutions each (the second reuses the site's reference)
        sites = [k for k in range(0, s.n_residues, max(1, s.n_residues // max(1, args.items // 2)))][: args.items // 2]
        muts = []
        for k in sites:
            r = s.residues[k]
            wt = ONE_LETTER[r.resname]
            for aa in [a for a in "AL" if a != wt] + (["V"] if wt in "AL" else []):
                muts.append(f"{r.chain_id}:{wt}{r.resseq}{r.icode}{aa}")
        muts = muts[: args.items]
        per, cpu = [], []
        first, second, first_cpu, second_cpu = [], [], [], []
        for i, mu in enumerate(muts):
            t1, c1 = time.perf_counter(), time.process_time()
            ddg(None, [mu], modeller=m)
            dt, dc = time.perf_counter() - t1, time.process_time() - c1
            per.append(dt)
            cpu.append(dc)
            (first if i % 2 == 0 else second).append(dt)
            (first_cpu if i % 2 == 0 else second_cpu).append(dc)
    # a full scan has 19 substitutions per site: 1 site reference + 19 mutant models
    per_sub = (statistics.median(first) + 18 * statistics.median(second)) / 19 if second else statistics.median(per)
    res = {"structure": pdb.name, "residues": s.n_residues, "atoms": s.n_atoms, "protocol": args.protocol,
           "load_s": t_load, "setup_s": t_setup, "n_measured": len(per),
           "first_at_site_s": statistics.median(first), "next_at_site_s": statistics.median(second) if second else None,
           "per_substitution_s": per_sub, "load_avg": _load_avg(), "peak_rss_mib": _peak_rss_mib(),
           "uss_mib": _uss_mib(), "setup_cpu_s": c_setup, "first_at_site_cpu_s": statistics.median(first_cpu),
           "next_at_site_cpu_s": statistics.median(second_cpu) if second_cpu else None,
           "cpu_share": sum(cpu) / sum(per)}
    print(json.dumps(res, indent=1))
    return res


def project(args) -> None:
    """Full scan of the ``cost`` protein on N workers: one task per site (19 substitutions sharing one
    reference model), T(N) = set-up + ceil(R / N) x t_site, t_site = first + 18 x next substitution at a
    site (serial medians).  Dask's own cost per task (milliseconds) is negligible next to t_site
    (tens of seconds); the measured 1 -> 2 worker speed-up of ``scaling`` is printed next to it."""
    import math

    data = json.loads(Path(args.json).read_text())
    sc, co = data.get("scaling"), data.get("cost")
    if not co:
        raise SystemExit("needs 'cost' in the JSON (run 'cost' first)")
    R = co["residues"]
    if co.get("cpu_share", 1.0) < 0.9:  # measured on a loaded machine: CPU seconds stand for an idle core's wall
        print(f"# the cost was measured at CPU share {co['cpu_share']:.2f} (load {co['load_avg']}): "
              "using CPU seconds as the per-core time")
        co = dict(co, setup_s=co["setup_cpu_s"], first_at_site_s=co["first_at_site_cpu_s"],
                  next_at_site_s=co["next_at_site_cpu_s"])
    t_site = co["first_at_site_s"] + 18 * (co["next_at_site_s"] or co["first_at_site_s"])
    print(f"full scan of {co['structure']} ({R} residues = {19 * R} substitutions, protocol {co['protocol']}): "
          f"set-up {co['setup_s']:.0f} s per worker, {t_site:.0f} s per site (first substitution "
          f"{co['first_at_site_s']:.1f} s, next {co['next_at_site_s']:.1f} s); load average when measured "
          f"{co['load_avg']}")
    if sc:
        ratios = [r["1"]["wall_s"] / r["2"]["wall_s"] for r in sc["repeats"] if "1" in r and "2" in r]
        print(f"measured speed-up 1 -> 2 workers ({sc['task']}): {statistics.median(ratios):.2f}x")
    print("| workers | projected wall |")
    print("|---|---|")
    for w in (1, 2, 8, 32, 128, R):
        t = co["setup_s"] + math.ceil(R / w) * t_site
        print(f"| {w} | {t / 3600:.2f} h |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("scaling")
    a.add_argument("--items", type=int, default=200)
    a.add_argument("--protocol", choices=["default", "fast"], default="fast")
    a.add_argument("--repeats", type=int, default=3)
    a.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    a.add_argument("--llps-items", type=int, default=200, help="proteins for the LLPS part (0: skip it)")
    b = sub.add_parser("cost")
    b.add_argument("--pdb", default=None)
    b.add_argument("--items", type=int, default=8)
    b.add_argument("--protocol", choices=["default", "fast"], default="default")
    c = sub.add_parser("project")
    c.add_argument("--json", default=str(OUT / "dask_scaling.json"))
    for p in (a, b):
        p.add_argument("--json", default=str(OUT / "dask_scaling.json"), help="results are merged into this file")
    args = ap.parse_args()
    if args.cmd == "project":
        return project(args)
    res = scaling_all(args) if args.cmd == "scaling" else cost(args)
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {}
    data[args.cmd] = res
    path.write_text(json.dumps(data, indent=1) + "\n")
    print(f"-> {path}")


if __name__ == "__main__":
    main()
