"""``openmm-madrax fit-torsions``: fit the channel 7/10 torsion densities from structure files."""
from __future__ import annotations

HELP = "fit the backbone/rotamer torsion densities of channels 7 and 10 from PDB/mmCIF files"
DESCRIPTION = """Fit ln p(phi, psi), ln p(omega) and ln p(chi_1..chi_n) per residue type from experimental
structures and write them, with the corpus list (sha256 of every file), the filters, the
hyper-parameters and a checksum, to an .npz file (physics spec section 6).

The shipped openmm_madrax/params/torsion_densities.npz is regenerated from the project root with:

  openmm-madrax fit-torsions ../shared/data/ddg_train/pdbs ../shared/data/structures/complexes \\
      ../shared/data/structures/large ../shared/data/structures/medium \\
      ../shared/data/structures/small -o openmm_madrax/params/torsion_densities.npz --seed 0

Filters and models: see the docstring of openmm_madrax.torsion_fit."""


def add_arguments(p) -> None:
    p.add_argument("paths", nargs="+", metavar="PDB_DIR",
                   help="directories of PDB/mmCIF files (not recursive) or single files")
    p.add_argument("-o", "--output", required=True, help="output .npz")
    p.add_argument("--max-files", type=int, default=None, help="use N files drawn with --seed (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the --max-files draw (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    import sys

    from ..torsion_fit import fit_files

    meta = fit_files(args.paths, args.output, max_files=args.max_files, seed=args.seed, progress=not args.quiet)
    c = meta["counts"]
    print(f"fit-torsions: {c['n_files_used']} of {meta['n_files_given']} files used, {c['bb_rows']} backbone and "
          f"{c['sc_rows']} side-chain rows ({c['n_clusters']} sequence clusters); wrote {args.output} "
          f"(checksum {meta['checksum_sha256'][:12]})", file=sys.stderr)
    return 0
