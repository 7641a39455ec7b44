"""``openmm-madrax minimize``: energy-minimise a protein with MadraX in OpenMM."""
from __future__ import annotations

import sys

from . import add_structure_options, load_kwargs

HELP = "energy-minimise a structure with MadraX in OpenMM (writes a PDB with hydrogens)"
DESCRIPTION = """Energy-minimise a protein with MadraX inside OpenMM (L-BFGS, LocalEnergyMinimizer).

The input is prepared as for MD: waters and ligands removed, hydrogens added at pH 7, amber14
bonded terms.  --mode replace (default): MadraX replaces all classical non-bonded terms;
--mode add: MadraX x --scale on top of amber14 + GBn2 implicit solvent.  Printed before and after:
the total potential energy (kJ/mol; what the minimiser lowers), the MadraX energy the force adds
(kcal/mol, on its smooth MD surface and with its channel weights) and the exact MadraX energy of
the same heavy atoms (kcal/mol, the number 'openmm-madrax score' gives).  --scores writes the
per-residue exact energies of the minimised structure as CSV."""


#: --implicit-solvent choices: OpenMM's implicit-solvent files for amber14
IMPLICIT_SOLVENTS = {"gbn2": "implicit/gbn2.xml", "gbn": "implicit/gbn.xml", "obc2": "implicit/obc2.xml",
                     "obc1": "implicit/obc1.xml", "hct": "implicit/hct.xml", "none": None}


def add_md_options(p) -> None:
    """System options shared by ``minimize`` and ``md``."""
    g = p.add_argument_group("system")
    g.add_argument("--mode", choices=["replace", "add"], default="replace",
                   help="replace: amber14 bonded terms + MadraX as the only non-bonded energy (default); "
                        "add: MadraX x --scale beside amber14 + GBn2 implicit solvent")
    g.add_argument("--forcefield", nargs="+", default=None, metavar="XML",
                   help="classical force field files (default amber14-all.xml; add mode appends implicit/gbn2.xml)")
    g.add_argument("--scale", "--madrax-scale", dest="scale", type=float, default=1.0,
                   help="MadraX energy multiplier (default 1; in add mode e.g. 0.1-0.5)")
    g.add_argument("--implicit-solvent", choices=sorted(IMPLICIT_SOLVENTS), default="gbn2",
                   help="add mode: the implicit-solvent model beside amber14 (default gbn2; none: vacuum)")
    g.add_argument("--with-peptide-bond", action="store_true",
                   help="keep MadraX channel 9 (peptide-bond geometry) in the force; left out by default because "
                        "the amber bonded terms own that geometry and together they need a 1 fs time step")
    g.add_argument("--keep-14", choices=["lj", "all", "none"], default="lj",
                   help="replace mode: the amber scaled 1-4 pairs kept beside the torsions: their Lennard-Jones "
                        "part (default), all (also their vacuum Coulomb part: unwinds helices), none")
    g.add_argument("--no-14", dest="keep_14", action="store_const", const="none",
                   help="same as --keep-14 none")
    g.add_argument("--backend", choices=["auto", "torch", "python"], default="auto",
                   help="auto (default: TorchForce with a CUDA device, else PythonForce), torch or python")
    g.add_argument("--precision", choices=["single", "double"], default="single",
                   help="MadraX module precision (default single)")
    g.add_argument("--burial", choices=["madrax", "foldx"], default=None,
                   help="burial normalisation of the force (default foldx: with MadraX's own clamp the vdW and "
                        "hydrophobic-solvation channels exert no force)")
    g.add_argument("--ph", type=float, default=7.0, help="pH for added hydrogens (default 7)")
    g.add_argument("--platform", choices=["CUDA", "OpenCL", "CPU", "Reference"], default=None,
                   help="OpenMM platform (default: the fastest available, CUDA > OpenCL > CPU > Reference)")
    g.add_argument("--threads", type=int, default=None,
                   help="threads of OpenMM's CPU platform (default: OpenMM's default, all cores)")
    g.add_argument("--torch-threads", type=int, default=None,
                   help="torch intra-op threads of the MadraX force, set while it runs (default 1, or "
                        "OPENMM_MADRAX_TORCH_THREADS: its tensors are small, and more threads fight OpenMM's own)")


def build(args):
    """The prepared system (:func:`~openmm_madrax.openmm.prepare_system`) from the parsed arguments."""
    from ..openmm import prepare_system

    lk = load_kwargs(args)  # PDBFixer reads the first model / altloc; these options shape the MadraX side
    repair = lk.pop("repair")
    return prepare_system(args.file, mode=args.mode, forcefield=args.forcefield, scale=args.scale,
                          implicit_solvent=IMPLICIT_SOLVENTS[args.implicit_solvent],
                          keep_14=args.keep_14, constraints=getattr(args, "constraints", "HBonds"),
                          backend=args.backend, precision=args.precision, burial=args.burial, pH=args.ph,
                          repair=repair, channel_weights={} if args.with_peptide_bond else None,
                          torch_threads=args.torch_threads, **lk)


def channel_line(series) -> str:
    return " ".join(f"{k}={v:.2f}" for k, v in series.items() if abs(v) > 5e-3)


def energy_line(madrax, channels, potential_kj: float, exact_kcal: float) -> str:
    """One comparable line: the total potential (what the minimiser lowers), the MadraX energy the
    force adds (its surface and channel weights) and the exact MadraX energy (what ``score`` prints)."""
    off = [c for c, w in zip(channels.index, madrax.channel_weights) if w == 0.0]
    note = f", without {', '.join(off)}" if off else ""
    return (f"potential {potential_kj:.1f} kJ/mol | MadraX force {madrax.force_energy_kcal(channels.values):.2f} "
            f"kcal/mol ({channels.attrs.get('surface', 'force')} surface{note}) | MadraX exact "
            f"{exact_kcal:.2f} kcal/mol (as 'score')")


def add_arguments(p) -> None:
    p.add_argument("file", help="PDB or PDBx/mmCIF file")
    p.add_argument("-o", "--output", required=True, help="minimised structure (PDB or .cif), with hydrogens")
    p.add_argument("--max-iterations", type=int, default=1000, help="L-BFGS iterations, 0 = to convergence "
                   "(default 1000)")
    p.add_argument("--tolerance", type=float, default=10.0,
                   help="convergence: RMS force below this, kJ/mol/nm (default 10)")
    p.add_argument("--scores", default=None,
                   help="write the per-residue MadraX energies after minimisation (CSV; exact surface, the columns "
                        "of 'score')")
    add_md_options(p)
    add_structure_options(p)


def run(args) -> int:
    import openmm

    from ..openmm.runner import minimize, platform_properties, write_structure
    from ..openmm.systems import select_platform
    from ..outputs import STRUCTURE_FORMATS, check_output_paths

    check_output_paths((args.output, STRUCTURE_FORMATS, "output structure"), (args.scores, None, "--scores"))
    prepared = build(args)
    madrax = prepared.madrax
    platform = select_platform(args.platform, prepared.system)
    context = openmm.Context(prepared.system, openmm.VerletIntegrator(0.001), platform,
                             platform_properties(platform, args.threads))
    context.setPositions(prepared.positions)
    print(f"platform {platform.getName()}, mode {args.mode}, {prepared.topology.getNumAtoms()} atoms "
          f"({madrax.structure.n_atoms} MadraX heavy atoms)", file=sys.stderr)

    def on_start(before, e0):
        print(f"before: {energy_line(madrax, before, e0, madrax.channel_energies(context, surface='exact').sum())}",
              file=sys.stderr)

    res = minimize(context, madrax, tolerance=args.tolerance, max_iterations=args.max_iterations, on_start=on_start)
    exact_after = madrax.residue_energies(res.positions, surface="exact")
    print(f"after:  {energy_line(madrax, res.after, res.potential_after_kj, exact_after.attrs['total'])} "
          f"[{res.seconds:.1f} s]", file=sys.stderr)
    print(f"        channels after (exact): {channel_line(exact_after[list(exact_after.columns[3:])].sum())}",
          file=sys.stderr)
    write_structure(args.output, prepared.topology, res.positions)
    if args.scores:
        exact_after.to_csv(args.scores, index=False, float_format="%.6f")
    return 0
