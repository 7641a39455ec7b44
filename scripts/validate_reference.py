"""Agreement with the MadraX reference energies (spec section 9), as a table for the README.

    python scripts/validate_reference.py [--shared ../shared]

For 1UBI, 1BHL and the alanine peptide, both burial modes, float64 and float32 exact mode (and
smooth mode float64): the largest per-residue |dE| over channels 0-6, 8, 9 and the total of those
channels next to the reference total.  The same numbers are asserted in tests/test_reference.py.
"""
import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from openmm_madrax import load, score

EXACT = ["disulfide", "hbond", "electrostatics", "clash", "solv_polar", "solv_hydrophobic", "vdw",
         "sidechain_entropy", "peptide_bond"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shared", default=str(Path(__file__).resolve().parents[1].parent / "shared"))
    args = p.parse_args()
    ref_dir = Path(args.shared) / "spec" / "reference"
    if not ref_dir.exists():
        print(f"no reference directory at {ref_dir}", file=sys.stderr)
        return 1
    print(f"{'structure':9s} {'burial':7s} {'mode':13s} {'max |dE| res':>13s} {'total':>10s} {'reference':>10s}")
    for name in ("1UBI", "1BHL", "alanine"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = load(ref_dir / "inputs" / f"{name}.pdb", preprocess="madrax", quiet=True)
        for burial in ("madrax", "foldx"):
            ref = pd.read_csv(ref_dir / f"{name}_{burial}.csv")
            for mode, kw in (("exact f64", dict(dtype="float64")), ("exact f32", dict(dtype="float32")),
                             ("smooth f64", dict(dtype="float64", smooth=True))):
                df = score(s, burial=burial, **kw)
                d = np.abs(df[EXACT].to_numpy() - ref[EXACT].to_numpy())
                print(f"{name:9s} {burial:7s} {mode:13s} {d.max():13.2e} {df[EXACT].to_numpy().sum():10.3f} "
                      f"{ref[EXACT].to_numpy().sum():10.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
