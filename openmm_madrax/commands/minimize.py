"""``openmm-madrax minimize``: energy-minimise a protein with MadraX in OpenMM."""
from __future__ import annotations

import sys
import time

from . import add_structure_options, load_kwargs

HELP = "energy-minimise a structure with MadraX in OpenMM (writes a PDB with hydrogens)"
DESCRIPTION = """Energy-minimise a protein with MadraX inside OpenMM (L-BFGS, LocalEnergyMinimizer).

The input is prepared as for MD: waters and ligands removed, hydrogens added at pH 7, amber14
bonded terms.  --mode replace (default): MadraX replaces all classical non-bonded terms;
--mode add: MadraX x --scale on top of amber14 + GBn2 implicit solvent.  The MadraX energy
(kcal/mol, per channel) before and after goes to stderr; --scores writes the per-residue
energies of the minimised structure as CSV."""


def add_md_options(p) -> None:
    """System options shared by ``minimize`` and ``md``."""
    g = p.add_argument_group("system")
    g.add_argument("--mode", choices=["replace", "add"], default="replace",
                   help="replace: amber14 bonded terms + MadraX as the only non-bonded energy (default); "
                        "add: MadraX x --scale beside amber14 + GBn2 implicit solvent")
    g.add_argument("--forcefield", nargs="+", default=None, metavar="XML",
                   help="classical force field files (default amber14-all.xml; add mode appends implicit/gbn2.xml)")
    g.add_argument("--scale", type=float, default=1.0, help="MadraX energy multiplier (default 1)")
    g.add_argument("--with-peptide-bond", action="store_true",
                   help="keep MadraX channel 9 (peptide-bond geometry) in the force; left out by default because "
                        "the amber bonded terms own that geometry and together they need a 1 fs time step")
    g.add_argument("--keep-14", choices=["lj", "all", "none"], default="lj",
                   help="replace mode: the amber scaled 1-4 pairs kept beside the torsions: their Lennard-Jones "
                        "part (default), all (also their vacuum Coulomb part: unwinds helices), none")
    g.add_argument("--no-14", dest="keep_14", action="store_const", const="none",
                   help="same as --keep-14 none")
    g.add_argument("--backend", choices=["torch", "python"], default="torch",
                   help="TorchForce (default) or PythonForce")
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
    g.add_argument("--torch-threads", type=int, default=1,
                   help="torch intra-op threads for the MadraX force on CPU (default 1: its tensors are small, "
                        "and more threads fight OpenMM's own threads; on a loaded machine 2 threads ran 5-10x slower)")


def build(args):
    """(prepared system, platform, platform properties) from the parsed arguments."""
    import torch

    from ..openmm import prepare_system, select_platform

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    lk = load_kwargs(args)  # PDBFixer reads the first model / altloc; these options shape the MadraX side
    repair = lk.pop("repair")
    prepared = prepare_system(args.file, mode=args.mode, forcefield=args.forcefield, scale=args.scale,
                              keep_14=args.keep_14, constraints=getattr(args, "constraints", "HBonds"),
                              backend=args.backend, precision=args.precision, burial=args.burial, pH=args.ph,
                              repair=repair, channel_weights={} if args.with_peptide_bond else None, **lk)
    platform = select_platform(args.platform, prepared.system)
    props = {}
    if platform.getName() == "CPU" and args.threads:
        props["Threads"] = str(args.threads)
    return prepared, platform, props


def channel_line(series) -> str:
    return " ".join(f"{k}={v:.2f}" for k, v in series.items() if abs(v) > 5e-3)


def add_arguments(p) -> None:
    p.add_argument("file", help="PDB or PDBx/mmCIF file")
    p.add_argument("-o", "--output", required=True, help="minimised structure (PDB or .cif), with hydrogens")
    p.add_argument("--max-iterations", type=int, default=1000, help="L-BFGS iterations, 0 = to convergence "
                   "(default 1000)")
    p.add_argument("--tolerance", type=float, default=10.0,
                   help="convergence: RMS force below this, kJ/mol/nm (default 10)")
    p.add_argument("--scores", default=None, help="write the per-residue MadraX energies after minimisation (CSV)")
    add_md_options(p)
    add_structure_options(p)


def run(args) -> int:
    import numpy as np
    import openmm
    from openmm import unit

    prepared, platform, props = build(args)
    madrax = prepared.madrax
    integrator = openmm.VerletIntegrator(0.001)
    context = openmm.Context(prepared.system, integrator, platform, props)
    context.setPositions(prepared.positions)
    before = madrax.channel_energies(context)
    e0 = context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
    print(f"platform {platform.getName()}, mode {args.mode}, {prepared.topology.getNumAtoms()} atoms "
          f"({madrax.structure.n_atoms} MadraX heavy atoms)", file=sys.stderr)
    print(f"before: potential {e0:.1f} kJ/mol, MadraX {before.sum():.2f} kcal/mol ({channel_line(before)})",
          file=sys.stderr)
    t0 = time.perf_counter()
    openmm.LocalEnergyMinimizer.minimize(context, args.tolerance * unit.kilojoule_per_mole / unit.nanometer,
                                         args.max_iterations)
    state = context.getState(getEnergy=True, getPositions=True)
    e1 = state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
    pos = state.getPositions(asNumpy=True)
    if not np.isfinite(e1) or not np.isfinite(pos.value_in_unit(unit.nanometer)).all():
        from ..errors import MadraXError

        raise MadraXError("minimisation produced non-finite energies or positions (NaN); try --precision double")
    after = madrax.channel_energies(state)
    print(f"after:  potential {e1:.1f} kJ/mol, MadraX {after.sum():.2f} kcal/mol ({channel_line(after)}) "
          f"[{time.perf_counter() - t0:.1f} s]", file=sys.stderr)
    write_structure(args.output, prepared.topology, pos)
    if args.scores:
        madrax.residue_energies(state).to_csv(args.scores, index=False, float_format="%.6f")
    return 0


def write_structure(path: str, topology, positions) -> None:
    from openmm import app

    with open(path, "w") as fh:
        if str(path).lower().endswith((".cif", ".mmcif", ".pdbx")):
            app.PDBxFile.writeFile(topology, positions, fh, keepIds=True)
        else:
            app.PDBFile.writeFile(topology, positions, fh, keepIds=True)
