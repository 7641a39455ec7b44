"""``openmm-madrax score``: per-residue MadraX energy of a structure (CSV or JSON)."""
from __future__ import annotations

import json
import sys

from . import add_structure_options, load_kwargs

HELP = "score a structure: per-residue MadraX energy channels (kcal/mol)"
DESCRIPTION = """Per-residue MadraX energy, 11 channels in MadraX order, kcal/mol.

Output columns (stable; relied on by other tools):
  chain,resnum,resname,disulfide,hbond,electrostatics,clash,solv_polar,solv_hydrophobic,
  vdw,backbone_entropy,sidechain_entropy,peptide_bond,rotamer
one row per residue keyed by PDB chain and residue number; the total goes to stderr.

Many structures (several files, --list FILE, or --workers/--scheduler; docs/dask.md): one row
per structure: file,status,error,name,n_residues,n_chains,total,<11 channel totals>, plus
warnings,seconds,setup_seconds,worker; rows also stream to a Parquet directory (--store,
--resume) and a file that cannot be scored gets its error in its row."""


def add_arguments(p) -> None:
    p.add_argument("file", nargs="*", help="PDB or PDBx/mmCIF file; several files (or --list): one row per "
                                           "structure with the totals, see 'many structures' below")
    p.add_argument("--burial", choices=["madrax", "foldx"], default="madrax",
                   help="burial normalisation: as coded in MadraX (default) or FoldX-like facc in [0, 1]")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--exact", dest="smooth", action="store_false", default=False,
                      help="exact MadraX energy (default)")
    mode.add_argument("--smooth", dest="smooth", action="store_true", help="C1-smooth surrogate used for MD")
    p.add_argument("--format", choices=["csv", "json"], default="csv", help="output format (default csv)")
    p.add_argument("-o", "--output", default=None, help="output file (default: stdout)")
    p.add_argument("--float32", action="store_true", help="compute in float32 (default float64)")
    add_structure_options(p)
    from ..batch.cli import add_batch_arguments

    p.add_argument("--list", metavar="FILE", default=None, help="file with one structure path per line (many structures)")
    add_batch_arguments(p, "structures")


def run(args) -> int:
    from ..batch.cli import batch_requested, run_score
    from ..errors import MadraXError
    from ..outputs import check_output_paths
    from ..scoring import score

    check_output_paths((args.output, None, "output"))
    if len(args.file) != 1 or args.list or batch_requested(args):
        return run_score(args)
    if not args.file:
        raise MadraXError("give a structure file")
    df = score(args.file[0], burial=args.burial, smooth=args.smooth, dtype="float32" if args.float32 else "float64",
               **load_kwargs(args))
    if args.format == "csv":
        text = df.to_csv(index=False, float_format="%.6f")
    else:
        text = json.dumps({"structure": df.attrs["structure"], "burial": args.burial, "smooth": args.smooth,
                           "unit": "kcal/mol", "total": df.attrs["total"],
                           "channel_totals": df.attrs["channel_totals"],
                           "residues": json.loads(df.to_json(orient="records"))}, indent=1)
    if args.output:
        with open(args.output, "w") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    print(f"total {df.attrs['total']:.6f} kcal/mol ({len(df)} residues, burial={args.burial}, "
          f"{'smooth' if args.smooth else 'exact'})", file=sys.stderr)
    return 0
