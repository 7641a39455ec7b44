"""CLI commands (one module each: HELP, add_arguments(parser), run(args))."""
from __future__ import annotations


def add_structure_options(parser) -> None:
    """Input-preparation options shared by every command that reads a structure (docs/input.md)."""
    g = parser.add_argument_group(
        "input preparation",
        "Bad input stops with an error naming the residues and the option below that resolves it; "
        "waters, ligands, glycans and hydrogens are ignored. Use -v to print a summary of the prepared "
        "structure (chains, breaks, what was dropped).")
    g.add_argument("--altloc", choices=["error", "first", "occupancy"], default="error",
                   help="residues with several alternate locations: fail (default), keep blank + A "
                        "('first', as the MadraX reference preprocessing) or the highest-occupancy one")
    g.add_argument("--drop-nonstandard", action="store_true",
                   help="remove nonstandard residues (MSE, UNK, caps, ...); their neighbours become chain breaks; "
                        "with --repair, only those PDBFixer cannot replace (UNK, caps)")
    g.add_argument("--repair", action="store_true",
                   help="repair with PDBFixer: add missing heavy atoms, replace modified residues (MSE, CSO, "
                        "SEP, MODRES, ...) by their standard parents; no hydrogens, loops or OXT are added")
    g.add_argument("--madrax-preprocess", action="store_true",
                   help="the preprocessing of the MadraX reference energies (first model, ATOM records only, the "
                        "20 standard residue names, altloc A, numbering chain breaks)")
    g.add_argument("--chain-breaks", choices=["geometry", "numbering"], default=None,
                   help="consecutive residues by C-N distance <= 2 A (default) or by residue numbering (MadraX)")
    g.add_argument("--model", type=int, default=None,
                   help="model number of a multi-model file, as in its MODEL records (default: the first model)")


def load_kwargs(args) -> dict:
    return dict(altloc=args.altloc, drop_nonstandard=args.drop_nonstandard, repair=args.repair,
                preprocess="madrax" if args.madrax_preprocess else None, chain_breaks=args.chain_breaks,
                model=args.model)
