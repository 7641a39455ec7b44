"""CLI side of the batch package: the shared ``--workers/--scheduler/--store/--resume`` options and the
batch paths of ``score``, ``ddg`` (including ``--scan``) and ``features`` (``--list``)."""
from __future__ import annotations

import json
import os
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from ..errors import MadraXError

#: batch columns left out of the CSV/JSON output (they stay in the Parquet store)
_STORE_ONLY = ("item_id", "run_id", "finished_at")


def add_batch_arguments(parser, items: str = "items") -> None:
    """``--workers``, ``--scheduler``, ``--store``, ``--resume``, ``--retry-errors``, ``--overwrite``."""
    g = parser.add_argument_group(
        "parallel and resumable runs (Dask; docs/dask.md)",
        f"Without --workers or --scheduler the {items} run one after the other in this process. Results "
        "stream to a Parquet directory (--store; default OUTPUT with .parquet when -o is given), one row per "
        "item with status/error columns; rerun the same command with --resume to skip what is done.")
    g.add_argument("--workers", metavar="N", nargs="?", const="auto", default=None,
                   help="run on a local Dask cluster of N worker processes, one thread each (no N or 'auto': one "
                        "per core)")
    g.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run on an existing Dask cluster: scheduler address (tcp://host:8786) or scheduler file "
                        "(.json), e.g. 'dask scheduler' + 'dask worker' processes or a dask-jobqueue cluster")
    g.add_argument("--store", metavar="DIR", default=None,
                   help="Parquet result directory (default: OUTPUT's name with .parquet when -o is given)")
    g.add_argument("--resume", dest="store_resume", action="store_true",
                   help="skip the items the store already has (same options)")
    g.add_argument("--retry-errors", action="store_true", help="with --resume: rerun the items that failed")
    g.add_argument("--overwrite", action="store_true", help="discard the results already in the store")


def batch_requested(args) -> bool:
    return any(getattr(args, k, None) for k in ("workers", "scheduler", "store", "store_resume", "retry_errors",
                                                 "overwrite"))


def run_options(args, threads: int = 1) -> dict:
    from .runner import parse_workers

    store = args.store
    if store is None and getattr(args, "output", None):
        store = os.path.splitext(args.output)[0] + ".parquet"
    if args.retry_errors and not args.store_resume:
        raise MadraXError("--retry-errors goes with --resume")
    if args.store_resume and args.overwrite:
        raise MadraXError("give --resume or --overwrite, not both")
    return dict(workers=parse_workers(args.workers), scheduler=args.scheduler, store=store, resume=args.store_resume,
                overwrite=args.overwrite, retry_errors=args.retry_errors, threads=threads,
                progress=not getattr(args, "no_progress", False) and getattr(args, "progress", True))


@contextmanager
def _resume_hint(run: dict):
    """On Ctrl-C: say where the finished rows are and how to continue (then exit as interrupted)."""
    try:
        yield
    except KeyboardInterrupt:
        if run.get("store"):
            print(f"openmm-madrax: the rows finished so far are in {run['store']}; run the same command with "
                  "--resume to continue", file=sys.stderr)
        raise


def _csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=[c for c in _STORE_ONLY if c in df.columns])


def _write(text: str, output) -> None:
    if output:
        with open(output, "w") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)


def _report_failures(df: pd.DataFrame, label: str) -> int:
    bad = df[df["status"] != "ok"]
    for r in bad.itertuples():
        name = str(getattr(r, label))
        err = str(r.error)
        print(f"openmm-madrax: failed ({r.status}): {err if err.startswith(name) else f'{name}: {err}'}",
              file=sys.stderr)
    return len(bad)


# ----------------------------------------------------------------------------------------------
# ddg


def run_ddg(args, mutants) -> int:
    """``openmm-madrax ddg`` with --scan and/or batch options."""
    from ..commands import load_kwargs
    from ..ddg import Protocol
    from ..threads import torch_threads
    from .scan import order_scan_table, plot_scan
    from .workflows import ddg_batch, summarize

    if not args.scan and not mutants:
        raise MadraXError("no mutations: give --scan CHAIN:FIRST-LAST (e.g. A:10-60), --mutations A:G44S "
                          "and/or --mutation-file FILE")
    if args.to and not args.scan:
        raise MadraXError("--to goes with --scan (the target amino acids of the scan)")
    protocol = Protocol.fast() if args.fast else Protocol()
    if args.no_repair:
        protocol.repair = False
    run = run_options(args, threads=args.threads or 1)
    if run["store"] is None and args.scan:
        print("openmm-madrax: note: results are not saved as they come; give -o FILE (or --store DIR) to stream "
              "them to Parquet and be able to --resume", file=sys.stderr)
    serial_threads = args.threads if run["workers"] is None and run["scheduler"] is None else None
    with warnings.catch_warnings(), _resume_hint(run), torch_threads(serial_threads or None):
        warnings.simplefilter("ignore", DeprecationWarning)
        df = ddg_batch(args.file, mutants, scan=args.scan, to=args.to, partners=args.partners, weights=args.weights,
                       seed=args.seed, repeats=args.repeats, protocol=protocol, load_kwargs=load_kwargs(args), **run)
    if args.scan and "position" in df.columns and df["position"].notna().all():
        df = order_scan_table(df)
    _write(_csv_frame(df).to_csv(index=False, float_format="%.4f"), args.output)
    plot = args.plot
    if plot is None and args.scan and args.output:
        plot = os.path.splitext(args.output)[0] + "_heatmap.png"
    if plot:
        scan_rows = df[df["position"].notna()] if "position" in df.columns else df.iloc[:0]
        if len(scan_rows):
            title = f"{df.attrs.get('structure')}: ΔΔG scan {args.scan} (weights {df.attrs.get('weights')})"
            plot_scan(scan_rows, plot, title=title)
            print(f"openmm-madrax: heat map {plot}", file=sys.stderr)
        else:
            print("openmm-madrax: warning: --plot draws a scan heat map; no --scan rows, no plot", file=sys.stderr)
    n_bad = _report_failures(df, "mutant")
    print(f"openmm-madrax: {summarize(df)} (weights={df.attrs.get('weights')}, repeats={args.repeats}, "
          f"seed={args.seed})", file=sys.stderr)
    return 0 if n_bad == 0 else 1


# ----------------------------------------------------------------------------------------------
# score


def read_file_list(path) -> list:
    """One path per line ('#' comments); relative paths are relative to the list file."""
    base = Path(path).parent
    out = []
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(str(base / line) if not os.path.isabs(line) else line)
    return out


def run_score(args) -> int:
    """``openmm-madrax score`` with several files, --list or batch options: one row per structure."""
    from ..commands import load_kwargs
    from .workflows import score_batch, summarize

    files = list(args.file or [])
    if args.list:
        files += read_file_list(args.list)
    if not files:
        raise MadraXError("no structures: give files and/or --list FILE")
    run = run_options(args)
    with _resume_hint(run):
        df = score_batch(files, burial=args.burial, smooth=args.smooth,
                         dtype="float32" if args.float32 else "float64", load_kwargs=load_kwargs(args), **run)
    out = _csv_frame(df)
    if args.format == "csv":
        text = out.to_csv(index=False, float_format="%.6f")
    else:
        text = json.dumps({"burial": args.burial, "smooth": args.smooth, "unit": "kcal/mol",
                           "structures": json.loads(out.to_json(orient="records"))}, indent=1)
    _write(text, args.output)
    n_bad = _report_failures(df, "file")
    print(f"openmm-madrax: {summarize(df)}", file=sys.stderr)
    return 0 if n_bad == 0 else 1


# ----------------------------------------------------------------------------------------------
# features


def run_features(args) -> int:
    """``openmm-madrax features --list LIST``: the per-protein vector of every trajectory in LIST."""
    from ..commands import load_kwargs
    from .workflows import features_batch, read_trajectory_list, summarize

    if args.trajectory or args.simulate:
        raise MadraXError("--list replaces the trajectory arguments and --simulate; give one of them")
    lk = load_kwargs(args)
    if lk.pop("repair"):
        raise MadraXError("--repair adds atoms the trajectory does not have; not available for features")
    if lk.pop("model", None) is not None:
        raise MadraXError("--model does not apply to trajectories (every frame is used; see --stride)")
    entries = read_trajectory_list(args.list)
    run = run_options(args)
    with _resume_hint(run):
        df = features_batch(entries, stride=args.stride, burial=args.burial, inter_chain=args.inter,
                            quantiles=args.quantiles, chunk=args.chunk, load_kwargs=lk, **run)
    _csv_frame(df).to_csv(args.output, index=False, float_format="%.6g")
    n_bad = _report_failures(df, "name")
    print(f"openmm-madrax: {summarize(df)}; per-protein vectors in {args.output}", file=sys.stderr)
    return 0 if n_bad == 0 else 1


# ----------------------------------------------------------------------------------------------
# llps predict (wired into commands/llps.py once openmm_madrax.llps is merged: see docs/dask.md)


def run_llps(args) -> int:
    """``openmm-madrax llps predict INPUT -o OUT.csv`` with --workers/--scheduler/--store/--resume."""
    from .workflows import llps_batch, summarize

    if getattr(args, "plot", None) or getattr(args, "residues", None):
        raise MadraXError("--plot/--residues (per-protein files) are not written by batch runs; run without "
                          "--workers/--scheduler/--store/--resume for them")
    cache = False if (args.cache or "").lower() == "none" else args.cache
    run = run_options(args, threads=getattr(args, "threads", 1) or 1)
    with _resume_hint(run):
        df = llps_batch(args.input, weights=args.weights, cache=cache, **run)
    _csv_frame(df).to_csv(args.output, index=False, float_format="%.6g")
    n_bad = _report_failures(df, "id")
    print(f"openmm-madrax: {summarize(df)}; predictions in {args.output}", file=sys.stderr)
    return 0 if n_bad == 0 else 1
