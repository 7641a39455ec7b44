"""CLI commands (one module each: HELP, add_arguments(parser), run(args))."""
from __future__ import annotations


def add_structure_options(parser) -> None:
    """Input-preparation options shared by every command that reads a structure."""
    g = parser.add_argument_group("input preparation")
    g.add_argument("--altloc", choices=["error", "first", "occupancy"], default="error",
                   help="alternate locations: fail (default), keep blank+A ('first'), or highest occupancy")
    g.add_argument("--drop-nonstandard", action="store_true",
                   help="remove nonstandard residues (MSE, UNK, caps, ...); neighbours become chain breaks")
    g.add_argument("--repair", action="store_true",
                   help="repair with PDBFixer: add missing heavy atoms, replace nonstandard residues")
    g.add_argument("--madrax-preprocess", action="store_true",
                   help="the preprocessing of the MadraX reference energies (ATOM records only, standard "
                        "residues, altloc A, numbering chain breaks)")
    g.add_argument("--chain-breaks", choices=["geometry", "numbering"], default=None,
                   help="consecutive residues by C-N distance (default) or by residue numbering (MadraX)")
    g.add_argument("--model", type=int, default=None, help="model number of a multi-model file (default: first)")


def load_kwargs(args) -> dict:
    return dict(altloc=args.altloc, drop_nonstandard=args.drop_nonstandard, repair=args.repair,
                preprocess="madrax" if args.madrax_preprocess else None, chain_breaks=args.chain_breaks,
                model=args.model)
