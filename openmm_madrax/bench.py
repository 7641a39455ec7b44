"""Benchmarks: ``python -m openmm_madrax.bench [--systems ...] [--json out.json]``.

Every system is measured in its own subprocess, so that the peak resident memory reported is that
of one system (``ru_maxrss`` of the child; the interpreter + torch baseline is reported next to
it).  Timings are medians of repeats after warm-up; the torch thread count is stated.  Nothing
here is a test: the figures go into the README with the command that produced them.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
BUNDLED = Path(__file__).resolve().parent / "data" / "1ubi.pdb"

SYSTEMS = {
    "1UBI": dict(path=str(SHARED / "spec/reference/inputs/1UBI.pdb"), load=dict(preprocess="madrax"),
                 fallback=str(BUNDLED)),
    "1BHL": dict(path=str(SHARED / "spec/reference/inputs/1BHL.pdb"), load=dict(preprocess="madrax")),
    "4JSV": dict(path=str(SHARED / "data/structures/large/4jsv_missing250.pdb"), load=dict(drop_nonstandard=True)),
}


def _median_time(fn, repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure_energy(path: str, load_kwargs: dict, dtype: str, smooth: bool, repeats: int, threads: int) -> dict:
    """Time of one energy, one energy+gradient and one neighbour-list build; peak RSS (this process)."""
    import warnings

    import torch

    torch.set_num_threads(threads)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    from openmm_madrax import energy_module, load

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        s = load(path, quiet=True, **load_kwargs)
        module = energy_module(s, smooth=smooth, dtype=dtype)
        setup = time.perf_counter() - t0
    pos = torch.tensor(s.coords, dtype=module.radius.dtype)

    def energy():
        with torch.no_grad():
            module(pos)

    def energy_grad():
        p = pos.clone().requires_grad_(True)
        module(p).sum().backward()

    def rebuild():
        module.rebuild(pos)

    t_nl = _median_time(rebuild, max(1, repeats // 2))
    t_e = _median_time(energy, repeats)
    t_eg = _median_time(energy_grad, repeats)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return dict(atoms=s.n_atoms, residues=s.n_residues, setup_s=setup, neighbour_list_s=t_nl, energy_s=t_e,
                energy_forces_s=t_eg, peak_rss_mb=peak, baseline_rss_mb=baseline, threads=threads, dtype=dtype,
                smooth=smooth, pairs=int(module.occ_i.shape[0]))


def _child(args) -> int:
    res = measure_energy(args.path, json.loads(args.load), args.dtype, args.smooth, args.repeats, args.threads)
    print(json.dumps(res))
    return 0


def run_all(systems, dtypes, smooth: bool, repeats: int, threads: int):
    rows = []
    for name in systems:
        spec = SYSTEMS[name]
        path = spec["path"]
        if not os.path.exists(path):
            path = spec.get("fallback", "")
            if not path or not os.path.exists(path):
                print(f"skipping {name}: {spec['path']} not found (needs ../shared)", file=sys.stderr)
                continue
            load_kwargs = {}
        else:
            load_kwargs = spec["load"]
        for dtype in dtypes:
            cmd = [sys.executable, "-m", "openmm_madrax.bench", "--child", "--path", path, "--load", json.dumps(load_kwargs),
                   "--dtype", dtype, "--repeats", str(repeats), "--threads", str(threads)] + (["--smooth"] if smooth else [])
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                print(f"{name} {dtype} failed:\n{out.stderr[-2000:]}", file=sys.stderr)
                continue
            row = json.loads(out.stdout.strip().splitlines()[-1])
            row["system"] = name
            rows.append(row)
            print(f"{name:6s} {dtype:8s} atoms {row['atoms']:6d}  energy {1000 * row['energy_s']:8.1f} ms  "
                  f"energy+forces {1000 * row['energy_forces_s']:8.1f} ms  neighbour list {1000 * row['neighbour_list_s']:7.1f} ms  "
                  f"peak RSS {row['peak_rss_mb']:7.0f} MB (baseline {row['baseline_rss_mb']:.0f} MB)", flush=True)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m openmm_madrax.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=list(SYSTEMS))
    p.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    p.add_argument("--exact", action="store_true", help="exact mode (default: smooth, as used in MD)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", 2)))
    p.add_argument("--json", default=None, help="write the rows to this JSON file")
    # internal: one measurement in a child process
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--path", help=argparse.SUPPRESS)
    p.add_argument("--load", default="{}", help=argparse.SUPPRESS)
    p.add_argument("--dtype", default="float32", help=argparse.SUPPRESS)
    p.add_argument("--smooth", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return _child(args)
    import torch

    print(f"openmm-madrax energy benchmark: torch {torch.__version__}, {args.threads} threads, "
          f"{'exact' if args.exact else 'smooth'} mode, median of {args.repeats} (after warm-up)")
    rows = run_all(args.systems, args.dtypes, not args.exact, args.repeats, args.threads)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
