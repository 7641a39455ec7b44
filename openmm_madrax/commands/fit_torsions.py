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
    from ..torsion_fit import build_parser

    build_parser(p)


def run(args) -> int:
    from ..torsion_fit import run_args

    return run_args(args)
