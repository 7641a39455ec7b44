#!/usr/bin/env python
"""Regenerate openmm_madrax/params/ddg_weights_calibrated.json (docs/ddg.md, "Calibration").

    python scripts/calibrate_ddg.py --protocol fast --cache benchmarks/out/guerois_channels.csv \
        --out openmm_madrax/params/ddg_weights_calibrated.json

Computes the per-channel ΔΔG of every Guerois mutation (cached, resumable) and fits the weights
with cross-validation grouped by protein; ``--fit-only`` refits from the cache in seconds.
"""
import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import List, Optional

import pandas as pd

from openmm_madrax.ddg import Protocol
from openmm_madrax.ddg.calibration import calibrate, compute_channels
from openmm_madrax.ddg.weights import CALIBRATED_WEIGHTS

ROOT = Path(__file__).resolve().parents[1]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/calibrate_ddg.py",
                                     description="Calibrate the ΔΔG channel weights on the Guerois set.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("calibrate", help="compute per-channel ΔΔGs (cached) and fit weights with grouped CV")
    c.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ddg_train"),
                   help="folder with guerois.csv and pdbs/ (default ../shared/data/ddg_train)")
    c.add_argument("--cache", default="benchmarks/out/guerois_channels.csv",
                   help="per-mutation channel ΔΔG cache (appended; rerun skips done records)")
    c.add_argument("--out", default=str(CALIBRATED_WEIGHTS), help="weights JSON to write")
    c.add_argument("--protocol", choices=["default", "fast"], default="default")
    c.add_argument("--limit-proteins", type=int, default=None, help="only the first N proteins (testing)")
    c.add_argument("--fit-only", action="store_true", help="do not compute; fit on the cache as it is")
    c.add_argument("--folds", type=int, default=5)
    c.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    protocol = Protocol.fast() if args.protocol == "fast" else Protocol()
    if args.fit_only:
        table = pd.read_csv(args.cache)
    else:
        table = compute_channels(args.data, args.cache, protocol=protocol, limit_proteins=args.limit_proteins,
                                 threads=args.threads)
    table = table.drop_duplicates("record", keep="last")
    result = calibrate(table, n_folds=args.folds)
    result["protocol"] = {"name": args.protocol, **asdict(protocol)}
    result["data"] = "guerois.csv (Guerois et al. 2002, PMID 12079393; DDG > 0 destabilising)"
    result["command"] = f"python scripts/calibrate_ddg.py --protocol {args.protocol} --cache {args.cache}"
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    cv = result["cv"]
    for k in ("default_madrax", "default_madrax_scaled", "calibrated"):
        m = cv[k]
        print(f"{k:24s} r={m['pearson_r']:.3f} rho={m['spearman_rho']:.3f} rmse={m['rmse']:.2f} n={m['n']}")
    print(f"used {result['n_used']} mutations on {result['n_proteins']} proteins; skipped {result['n_skipped']}: "
          f"{result['skipped_reasons']}")
    print(f"weights -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(["calibrate", *sys.argv[1:]] if sys.argv[1:2] != ["calibrate"] else sys.argv[1:]))
