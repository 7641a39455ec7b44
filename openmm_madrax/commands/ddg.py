"""``openmm-madrax ddg``: stability / binding ΔΔG of mutations (docs/ddg.md)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from . import add_structure_options, load_kwargs

HELP = "ΔΔG of mutations (stability, or binding with --partners), kcal/mol, positive = destabilising"
DESCRIPTION = """ΔΔG = ΔG(mutant) - ΔG(wild type), kcal/mol, positive = destabilising.

Mutations are CHAIN:WTresnumMUT (A:G44S; insertion code: A:G44aS).  As in FoldX's
individual_list, commas join the point mutations of one (multiple) mutant and ';' separates
mutants: --mutations A:G44S,A:I3V is one double mutant, --mutations "A:G44S;A:I3V" (or -m A:G44S
-m A:I3V) two single mutants; '+' also joins.  A mutation file has one mutant per line (point
mutations joined by '+' or ','; '#' starts a comment).

The structure file is taken as FoldX users expect after RepairPDB: highest-occupancy alternate
locations, missing heavy atoms rebuilt and modified residues mapped to their parents (PDBFixer),
other nonstandard residues, waters and ligands dropped; every change is listed in one warning
line and in the metadata file (OUTPUT.meta.json with -o).  --strict stops on any of these instead.

Each mutant is built from the repaired wild type (template side chain, best rotamer by MadraX
energy, side chains within 6 A relaxed in torsion space); the wild-type reference goes through
the identical protocol (the mutation X->X).  'ddg' is on the experimental scale (kcal/mol; weights
fitted with cross-validation grouped by protein, docs/ddg.md) with 'ddg_uncertainty' (ddg +-
1.645 x ddg_uncertainty held ~90 % of held-out experimental values); --weights madrax gives the raw
MadraX energy difference.  A mutant that cannot be built (unknown chain, residue not present,
wild-type mismatch, nonstandard target) is reported in the 'error' column and on stderr; the
others still run.

Output columns: mutant,status,error,ddg,ddg_uncertainty,ddg_sd,ddg_<11 channels>,ddg_site_entropy,
dg_wt,dg_mut (and ddg_bind,ddg_bind_sd,ddg_bind_<11 channels> with --partners).

Deep mutational scan and parallel runs (docs/dask.md):
  openmm-madrax ddg 1ubi.pdb --scan A:10-60 -o scan.csv --workers auto
writes scan.csv (one row per substitution, with chain,resseq,icode,wt,mut,position),
scan_heatmap.png (positions x amino acids) and scan.parquet/ (rows as they finish; rerun with
--resume to skip them).  --scheduler tcp://HOST:8786 runs the mutants on an existing Dask cluster."""


def add_arguments(p) -> None:
    p.add_argument("file", help="PDB or PDBx/mmCIF file")
    p.add_argument("--mutations", "-m", action="append", default=None,
                   help="a mutant; commas join point mutations into one multiple mutant (A:G44S,A:I3V is a double "
                        "mutant), ';' separates mutants (\"A:G44S;A:I3V\" = two singles); repeatable")
    p.add_argument("--mutation-file", default=None, help="file with one mutant per line")
    p.add_argument("--partners", default=None,
                   help="binding ΔΔG between chain groups, e.g. AB,C (complex minus separated partners)")
    p.add_argument("--weights", default="calibrated",
                   help="'calibrated' (default: kcal/mol on the experimental scale, with ddg_uncertainty), "
                        "'madrax' (the raw MadraX energy difference, all channel weights 1) or a JSON file")
    p.add_argument("--seed", type=int, default=0, help="random seed of the repeats (default 0)")
    p.add_argument("--repeats", type=int, default=1,
                   help="independent models per mutant, averaged (repeat 0 starts unperturbed, the others from "
                        "randomly perturbed shell chis); default 1")
    p.add_argument("--fast", action="store_true", help="a cheaper protocol (fewer rotamers, shorter relaxation)")
    p.add_argument("--legacy", action="store_true",
                   help="the protocol of earlier releases (MadraX burial, no site entropy; use with --weights madrax)")
    p.add_argument("--strict", action="store_true",
                   help="stop on altlocs, missing atoms and nonstandard residues instead of repairing them "
                        "(the default of 'score')")
    p.add_argument("--no-repair", action="store_true", help="skip the global side-chain relaxation of the wild type")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: the tensors are small, and more threads were 10x slower "
                        "on a loaded 2-core machine, see docs/ddg.md)")
    p.add_argument("-o", "--output", default=None, help="output CSV (default: stdout)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    g = p.add_argument_group("deep mutational scan (docs/dask.md)")
    g.add_argument("--scan", metavar="SPEC", default=None,
                   help="every substitution at these positions: CHAIN:FIRST-LAST (A:10-60), CHAIN:NUM, or CHAIN "
                        "(whole chain), joined by commas; writes a long table and a heat map")
    g.add_argument("--to", metavar="AAS", default=None,
                   help="target amino acids of --scan, e.g. ACDE (default all 20; X->X is left out)")
    g.add_argument("--plot", metavar="PNG", default=None,
                   help="heat map of the scan (default with -o OUT.csv: OUT_heatmap.png)")
    add_structure_options(p)
    from ..batch.cli import add_batch_arguments

    add_batch_arguments(p, "mutants")


def _mutants(args) -> list:
    from ..ddg import read_mutation_file

    mutants = []
    for value in args.mutations or []:
        mutants += ["+".join(p.strip() for p in m.split(",") if p.strip()) for m in value.split(";") if m.strip()]
    if args.mutation_file:
        mutants += read_mutation_file(args.mutation_file)
    return mutants


def run(args) -> int:
    from ..batch.cli import batch_requested, run_ddg
    from ..ddg import Protocol, ddg
    from ..errors import MadraXError
    from ..outputs import check_output_paths
    from ..threads import torch_threads

    check_output_paths((args.output, None, "output"))
    mutants = _mutants(args)
    if args.scan or args.plot or args.to or batch_requested(args):
        return run_ddg(args, mutants)
    if not mutants:
        raise MadraXError("no mutations: give --mutations A:G44S (repeatable; A:G44S,A:I3V is a double mutant) "
                          "and/or --mutation-file FILE")
    if args.repeats < 1:
        raise MadraXError("--repeats must be at least 1")
    if args.fast and args.legacy:
        raise MadraXError("--fast and --legacy are two different protocols; give one")
    protocol = Protocol.fast() if args.fast else Protocol.legacy() if args.legacy else Protocol()
    if args.no_repair:
        protocol.repair = False
    kw = load_kwargs(args)
    if not args.strict:  # options left at their load() defaults take the RepairPDB-like defaults of ddg
        kw.update(altloc=None if args.altloc == "error" else args.altloc, repair=True if args.repair else None,
                  drop_nonstandard=True if args.drop_nonstandard else None)
    with torch_threads(args.threads or None):
        df = ddg(args.file, mutants, partners=args.partners, weights=args.weights, seed=args.seed,
                 repeats=args.repeats, protocol=protocol, progress=not args.no_progress, load_kwargs=kw,
                 strict=args.strict)
    text = df.to_csv(index=False, float_format="%.4f")
    if args.output:
        with open(args.output, "w") as fh:
            fh.write(text)
        meta = _metadata_path(args.output)
        meta.write_text(json.dumps(_metadata(df), indent=1, default=str) + "\n")
        cols = [c for c in ("mutant", "ddg", "ddg_uncertainty", "ddg_sd", "ddg_bind", "status") if c in df]
        sys.stdout.write(df[cols].to_string(index=False, float_format=lambda v: f"{v:.2f}") + "\n")
    else:
        sys.stdout.write(text)
    n_bad = int((df["status"] != "ok").sum())
    for r in df[df["status"] != "ok"].itertuples():
        msg = r.error if str(r.error).startswith(str(r.mutant)) else f"{r.mutant}: {r.error}"
        print(f"openmm-madrax: failed: {msg}", file=sys.stderr)
    print(f"{len(df) - n_bad} of {len(df)} mutant(s) done (weights={df.attrs['weights']}, repeats={args.repeats}, "
          f"seed={args.seed})", file=sys.stderr)
    return 0 if n_bad == 0 else 1


def _metadata_path(output) -> Path:
    out = Path(output)
    return out.with_name(out.stem + ".meta.json")


def _metadata(df) -> dict:
    """What the numbers in the CSV mean and how the input was prepared."""
    from .. import __version__

    keys = ("structure", "weights", "units", "seed", "repeats", "protocol", "partners", "preparation")
    return {"openmm_madrax": __version__, **{k: df.attrs.get(k) for k in keys}}
