"""``openmm-madrax llps``: liquid-liquid phase separation (LLPS) predictions (docs/llps.md)."""
from __future__ import annotations

import sys

from . import add_structure_options, load_kwargs

HELP = "phase-separation predictions: driver / client probability and c_sat (predict, train, cv, featurise)"
DESCRIPTION = """Liquid-liquid phase separation (LLPS) network with MadraX physics inside (docs/llps.md).

  openmm-madrax llps predict INPUT -o predictions.csv [--plot DIR]
      INPUT: a FASTA file (one or many records), a PDB/mmCIF file, or a folder of them.
      Columns: id,length,p_driver,p_client,csat_uM, then p_neither, log10_csat_uM, disorder,
      sticker energy, top region, error, ...  csat_uM comes from a head trained on SIMULATED
      (CALVADOS 2) saturation concentrations of disordered regions (293 K, 150 mM).
      Records that cannot be predicted (empty, non-amino-acid letters, too long) get an error
      line naming the record; the others are predicted; the exit status is 1 if any failed.
  openmm-madrax llps train --cache DIR -o WEIGHTS.pt [--seed 0] [--models 5]
      reproduces the shipped weights from ../shared/data/llps (featurises what the cache lacks).
  openmm-madrax llps cv --cache DIR --out DIR [--variants ...]
      grouped 5-fold cross-validation tables (network variants + baselines, same folds).
  openmm-madrax llps featurise --cache DIR [--processes 2]
      physics profiles of the training sets into the cache (parallel over proteins)."""


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="llps_command", metavar="SUBCOMMAND")
    pr = sub.add_parser("predict", help="predict proteins (FASTA / PDB / mmCIF / folder)")
    pr.add_argument("input", help="FASTA, PDB or mmCIF file, or a folder of them")
    pr.add_argument("-o", "--output", required=True, help="predictions CSV")
    pr.add_argument("--plot", default=None, metavar="DIR", help="write a per-residue profile PNG per protein here")
    pr.add_argument("--residues", default=None, metavar="DIR", help="write a per-residue CSV per protein here")
    pr.add_argument("--weights", default=None, help="weights file (default: the shipped weights)")
    pr.add_argument("--cache", default=None, help="physics cache folder (default ~/.cache/openmm_madrax/llps; "
                                                  "'none' disables it)")
    pr.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    pr.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    add_structure_options(pr)
    tr = sub.add_parser("train", help="train the shipped weights from ../shared/data/llps")
    tr.add_argument("--cache", required=True, help="physics cache folder")
    tr.add_argument("-o", "--output", required=True, help="weights file to write")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--models", type=int, default=5, help="ensemble size (default 5)")
    tr.add_argument("--variant", default="full", help="network variant (default full)")
    tr.add_argument("--processes", type=int, default=2, help="featurisation processes for missing profiles")
    cv = sub.add_parser("cv", help="grouped cross-validation tables")
    cv.add_argument("--cache", required=True)
    cv.add_argument("--out", required=True, help="output folder (tables, out-of-fold predictions)")
    cv.add_argument("--variants", nargs="*", default=["sequence-only", "physics-only", "full"])
    cv.add_argument("--seed", type=int, default=0)
    cv.add_argument("--folds", type=int, default=5)
    cv.add_argument("--ensemble", type=int, default=1,
                    help="networks per fold, predictions averaged (the shipped predictor averages 5)")
    cv.add_argument("--catgranule", default=None, help="CSV from benchmarks/llps_catgranule_scores.py")
    cv.add_argument("--only-cached", action="store_true", help="use only proteins already featurised (development)")
    fe = sub.add_parser("featurise", help="physics profiles of the training sets into the cache")
    fe.add_argument("--cache", required=True)
    fe.add_argument("--processes", type=int, default=2)
    fe.add_argument("--limit", type=int, default=None)


def run(args) -> int:
    cmd = getattr(args, "llps_command", None)
    if cmd is None:
        print(DESCRIPTION)
        return 1
    if cmd == "predict":
        return _predict(args)
    if cmd == "featurise":
        from ..llps.featurise import main as fmain

        argv = ["--cache", args.cache, "--processes", str(args.processes)]
        if args.limit:
            argv += ["--limit", str(args.limit)]
        return fmain(argv)
    if cmd == "train":
        from ..llps.experiments import train_final
        from ..outputs import check_output_path

        check_output_path(args.output, (".pt",), "weights")
        from ..llps.featurise import featurise, training_sequences

        featurise(training_sequences(), args.cache, processes=args.processes)
        train_final(args.cache, args.output, n_models=args.models, seed=args.seed, variant=args.variant)
        print(f"wrote {args.output}")
        return 0
    if cmd == "cv":
        from ..llps.experiments import run_cv

        run_cv(args.cache, args.out, variants=args.variants, n_folds=args.folds, seed=args.seed,
               catgranule_csv=args.catgranule, only_cached=args.only_cached, ensemble=args.ensemble)
        return 0
    return 1


def _predict(args) -> int:
    from pathlib import Path

    from ..llps.predictor import LLPSPredictor, _safe, read_inputs
    from ..outputs import check_output_path
    from ..threads import torch_threads

    check_output_path(args.output, (".csv",), "predictions")
    for folder, what in ((args.plot, "--plot"), (args.residues, "--residues")):
        if folder is not None and Path(folder).exists() and not Path(folder).is_dir():
            from ..errors import MadraXError

            raise MadraXError(f"{what} {folder!r} is a file; give a folder")
    records = read_inputs(args.input, **load_kwargs(args))
    bad = [r for r in records if r.error]
    if len(bad) == len(records):  # nothing to predict: report, write nothing, never load the weights
        for r in bad:
            print(f"openmm-madrax: error: {r.error}", file=sys.stderr)
        return 2
    cache = False if (args.cache or "").lower() == "none" else args.cache
    predictor = LLPSPredictor.load(args.weights, cache=cache)
    with torch_threads(max(1, args.threads)):
        df, tables = predictor.predict(records, plot_dir=args.plot, progress=args.progress, residues=True)
    failed = df[df["error"].fillna("") != ""]
    if len(failed) == len(df):
        return 2
    df.to_csv(args.output, index=False, float_format="%.6g")
    if args.residues:
        Path(args.residues).mkdir(parents=True, exist_ok=True)
        for rid, t in tables.items():
            t.to_csv(Path(args.residues) / f"{_safe(rid)}.csv", index=False, float_format="%.5g")
    ok = len(df) - len(failed)
    print(f"openmm-madrax: {ok} of {len(df)} record(s) predicted -> {args.output}"
          + (f"; {len(failed)} failed: {', '.join(map(str, failed['id']))}" if len(failed) else ""), file=sys.stderr)
    return 1 if len(failed) else 0
