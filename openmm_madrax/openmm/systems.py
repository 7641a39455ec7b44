"""OpenMM Systems with MadraX: ``replace`` and ``add`` modes, input preparation, platform choice.

Two ways of putting MadraX into a System (one entry point, :func:`create_system`, or
:func:`prepare_system` from a file):

``mode="replace"`` -- MadraX *is* the non-bonded force field.
    The covalent terms come from a classical force field (amber14-all.xml by default:
    HarmonicBond, HarmonicAngle, PeriodicTorsion, and CMAPTorsion where the force field has one);
    every classical non-bonded term is removed (no Coulomb, no Lennard-Jones, no GB / implicit
    solvent, no water, no periodic box), and MadraX supplies all interactions between atoms that
    are not covalently close: H-bonds, screened electrostatics, solvation, van der Waals, clashes,
    entropies.  MadraX is an effective free energy of the protein *in water* at 298 K, so this is
    implicit-solvent dynamics on the MadraX landscape.  Use it to refine or relax structures with
    the MadraX energy, to compare MadraX stabilities along a trajectory that MadraX itself drives,
    or to probe what MadraX considers stable.  Caveats: MadraX was fitted to folding free energies
    of static structures, not for dynamics; hydrogens have only bonded terms (MadraX places its own
    virtual hydrogens from the heavy atoms); its clash term is soft, so start from a sensible model.

    1-4 pairs: the AMBER torsions were fitted together with the scaled 1-4 Lennard-Jones and Coulomb
    interactions (the NonbondedForce *exceptions*) and with all other non-bonded terms.  By default
    (``keep_14="lj"``) the 1-4 Lennard-Jones pairs are kept as a ``CustomBondForce``
    ("ClassicalPairs14": the force field's own scaled sigma/epsilon), the short-range sterics of the
    torsional profiles; the 1-4 *Coulomb* pairs are dropped.  Kept alone, without the 1-5, 1-6, ...
    Coulomb terms that balance them in the full force field, the vacuum (epsilon = 1) partial-charge
    1-4 pairs are the largest force in the system (ubiquitin: 2,250 kcal/mol, RMS 9 kcal/mol/A per
    heavy atom against 0.6-2 for MadraX's H-bond and polar-solvation channels) and unwind helices
    within picoseconds (measured, issue 13; README "MD stability").  ``keep_14=True`` (or "all")
    keeps both parts (the behaviour before issue 13), ``keep_14=False`` drops the pairs.  1-2 and
    1-3 exclusions carry no energy and are dropped.

    Burial: create_system builds the force with ``burial="foldx"`` unless told otherwise.  With
    MadraX's own clamp (``burial="madrax"``, the default of scoring) 83 % of the atoms have facc = 1
    whatever their neighbours, so the van der Waals and hydrophobic-solvation channels are per-type
    constants with no force (ubiquitin, RMS 0.07 / 0.09 kcal/mol/A on the crystal, 0.00 after 1 ps
    of MD): nothing holds the hydrophobic core together.  The FoldX normalisation (facc in [0, 1],
    physics spec 4.1) gives these channels a burial force.

``mode="add"`` -- MadraX *on top of* a complete classical system.
    amber14-all.xml + implicit/gbn2.xml (GBn2 implicit solvent) by default, all terms kept, plus
    MadraX x ``scale`` (the global parameter ``madrax_scale``, changeable during a run).  Both
    describe the same physics, so scale 1 double counts; treat MadraX here as a bias or
    perturbation (small ``scale``, e.g. 0.1-0.5, or scheduled) on top of validated classical
    dynamics.  If you only want to *watch* MadraX along a classical trajectory, do not add the
    force at all: use a plain classical System and :class:`MadraXEnergyReporter` (no cost per step).

Channel 9 (peptide-bond geometry) is left out of the *force* in both modes by default
(``channel_weights={"peptide_bond": 0}``): the classical bonds and angles already own the covalent
geometry of the C-N bond, and channel 9 is a very stiff restraint on the same coordinates (about
3.4 times an AMBER C-N bond, spec 5.9) with slightly different ideal values.  Together they make
ubiquitin blow up within 0.2-0.4 ps at 2 fs (measured; stable at 1 fs, and at 2 fs without
channel 9).  The readback still reports channel 9; pass ``channel_weights={}`` for the full MadraX
energy in the force (then use a 1 fs time step).

Force groups: classical terms stay in group 0, MadraX goes to group 1 (``force_group=``), so
``context.getState(getEnergy=True, groups={1})`` gives the MadraX energy in kJ/mol.
"""
from __future__ import annotations

import io as _io
import logging
import os
import warnings
from typing import Optional, Sequence, Tuple

from .force import MadraXForce

log = logging.getLogger("openmm_madrax")

MODES = ("replace", "add")
DEFAULT_FORCEFIELD = ("amber14-all.xml",)
DEFAULT_IMPLICIT = "implicit/gbn2.xml"
#: classical non-bonded / solvation forces removed in replace mode
NONBONDED_FORCES = ("NonbondedForce", "CustomNonbondedForce", "GBSAOBCForce", "CustomGBForce", "GayBerneForce")
#: 1 / (4 pi eps0) in kJ mol^-1 nm e^-2 (OpenMM's value)
ONE_4PI_EPS0 = 138.935456
PLATFORM_ORDER = ("CUDA", "OpenCL", "CPU", "Reference")
#: channels left out of the force in create_system (see the module doc)
DEFAULT_CHANNEL_WEIGHTS = {"peptide_bond": 0.0}
#: 1-4 pairs kept in replace mode: Lennard-Jones only (see the module doc)
DEFAULT_KEEP_14 = "lj"
#: burial normalisation of the force in create_system (see the module doc)
DEFAULT_MD_BURIAL = "foldx"


def _forcefield(forcefield, mode: str, implicit_solvent: Optional[str]):
    from openmm import app

    if isinstance(forcefield, app.ForceField):
        return forcefield
    files = list(DEFAULT_FORCEFIELD if forcefield is None else
                 ([forcefield] if isinstance(forcefield, (str, os.PathLike)) else forcefield))
    if mode == "add" and implicit_solvent and implicit_solvent not in files:
        files.append(implicit_solvent)
    return app.ForceField(*files)


def _pairs14(nonbonded, coulomb: bool = True):
    """The non-zero exceptions (scaled 1-4 pairs) of a NonbondedForce as a CustomBondForce
    (``coulomb=False``: their Lennard-Jones part only)."""
    import openmm
    from openmm import unit

    lj = "4*epsilon*((sigma/r)^12 - (sigma/r)^6)"
    pairs = openmm.CustomBondForce(f"{ONE_4PI_EPS0}*chargeProd/r + {lj}" if coulomb else f"{lj} + 0*chargeProd")
    pairs.setName("ClassicalPairs14")
    for name in ("chargeProd", "sigma", "epsilon"):
        pairs.addPerBondParameter(name)
    for k in range(nonbonded.getNumExceptions()):
        i, j, qq, sig, eps = nonbonded.getExceptionParameters(k)
        qq = qq.value_in_unit(unit.elementary_charge ** 2)
        eps = eps.value_in_unit(unit.kilojoule_per_mole)
        if (qq == 0.0 or not coulomb) and eps == 0.0:
            continue
        pairs.addBond(i, j, [qq, sig.value_in_unit(unit.nanometer), eps])
    pairs.setUsesPeriodicBoundaryConditions(False)
    return pairs


def strip_nonbonded(system, keep_14=True) -> int:
    """Remove classical non-bonded and implicit-solvent forces from ``system`` (in place).

    With ``keep_14`` (True or "all") the scaled 1-4 pairs of the NonbondedForce are kept as a
    CustomBondForce; ``keep_14="lj"`` keeps only their Lennard-Jones part (no 1-4 Coulomb).
    Returns the number of 1-4 pairs kept.
    """
    if keep_14 not in (True, False, "all", "lj", "none"):
        raise ValueError(f"keep_14 must be True/False, 'all', 'lj' or 'none', not {keep_14!r}")
    keep_14 = {"all": True, "none": False}.get(keep_14, keep_14)
    kept = 0
    for k in reversed(range(system.getNumForces())):
        force = system.getForce(k)
        kind = type(force).__name__
        if kind not in NONBONDED_FORCES:
            continue
        if kind == "NonbondedForce" and keep_14:
            pairs = _pairs14(force, coulomb=keep_14 is True)
            kept = pairs.getNumBonds()
            pairs.setForceGroup(force.getForceGroup())
            system.addForce(pairs)
        system.removeForce(k)
    return kept


def create_system(topology, positions=None, *, mode: str = "replace", forcefield=None,
                  implicit_solvent: Optional[str] = DEFAULT_IMPLICIT, constraints="HBonds",
                  hydrogen_mass=None, keep_14=DEFAULT_KEEP_14, scale: float = 1.0, force_group: Optional[int] = 1,
                  channel_weights=None, **madrax_options) -> Tuple[object, MadraXForce]:
    """A System for ``topology`` with MadraX in ``mode`` "replace" or "add" (see the module doc).

    Parameters
    ----------
    topology, positions
        OpenMM topology with hydrogens (what the classical force field needs) and, optionally,
        positions (set-up geometry for MadraX chain breaks / disulfides).
    forcefield
        an ``openmm.app.ForceField`` or XML file name(s); default amber14-all.xml (+
        ``implicit_solvent`` in add mode).
    constraints
        ``None``, ``"HBonds"`` (default), ``"AllBonds"``, ``"HAngles"`` or the ``openmm.app``
        constant.
    hydrogen_mass
        hydrogen mass repartitioning (amu), passed to ``createSystem``.
    keep_14
        replace mode: ``"lj"`` (default) keeps the scaled 1-4 Lennard-Jones pairs as a
        CustomBondForce, ``True``/``"all"`` also their Coulomb part, ``False``/``"none"`` neither
        (module doc).
    scale
        default of the global parameter ``madrax_scale`` (MadraX energy multiplier).
    force_group
        force group of the MadraX force (default 1; classical terms stay in group 0).
    channel_weights
        ``{channel: weight}`` for the force; default ``{"peptide_bond": 0}`` (module doc); ``{}``
        keeps all 11 channels.
    madrax_options
        passed to :class:`MadraXForce` (``backend``, ``precision``, ``burial``, ``smooth``,
        ``drop_nonstandard``, ...); ``burial`` defaults to ``"foldx"`` here (module doc).

    Returns ``(system, madrax)`` where ``madrax`` is the :class:`MadraXForce` (readback).
    """
    from openmm import app, unit

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if isinstance(constraints, str):
        try:
            constraints = {"none": None, "hbonds": app.HBonds, "allbonds": app.AllBonds,
                           "hangles": app.HAngles}[constraints.lower()]
        except KeyError:
            raise ValueError(f"constraints must be None, HBonds, AllBonds or HAngles, not {constraints!r}") from None
    ff = _forcefield(forcefield, mode, implicit_solvent)
    kwargs = dict(nonbondedMethod=app.NoCutoff, constraints=constraints, rigidWater=True)
    if hydrogen_mass is not None:
        kwargs["hydrogenMass"] = hydrogen_mass * unit.amu if not unit.is_quantity(hydrogen_mass) else hydrogen_mass
    system = ff.createSystem(topology, **kwargs)
    if mode == "replace":
        kept = strip_nonbonded(system, keep_14=keep_14)
        log.info("replace mode: classical non-bonded terms removed, %d scaled 1-4 pairs kept", kept)
    if channel_weights is None:
        channel_weights = DEFAULT_CHANNEL_WEIGHTS
    if madrax_options.get("burial") is None:
        madrax_options["burial"] = DEFAULT_MD_BURIAL
    madrax = MadraXForce(topology, positions, scale=scale, force_group=force_group, channel_weights=channel_weights,
                         **madrax_options)
    madrax.add_to(system)
    return system, madrax


class PreparedSystem:
    """Result of :func:`prepare_system`: unpacks as ``topology, positions, system``; the
    :class:`MadraXForce` (per-residue readback) is ``.madrax``."""

    def __init__(self, topology, positions, system, madrax: MadraXForce, mode: str):
        self.topology = topology
        self.positions = positions
        self.system = system
        self.madrax = madrax
        self.mode = mode

    def __iter__(self):
        return iter((self.topology, self.positions, self.system))

    def __len__(self):
        return 3

    def __getitem__(self, k):
        return (self.topology, self.positions, self.system)[k]

    def __repr__(self):
        return (f"PreparedSystem(mode={self.mode!r}, {self.topology.getNumAtoms()} atoms, "
                f"{self.system.getNumForces()} forces, {self.madrax!r})")


def _input_model(source):
    """A PDBFixer of ``source`` (path, Structure, PDBFile/Modeller-like, or (topology, positions))."""
    from openmm import app
    from pdbfixer import PDBFixer

    from ..structure import Structure

    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.exists(path):
            raise FileNotFoundError(f"no such file: {path}")
        return PDBFixer(filename=path)
    if isinstance(source, Structure):
        return PDBFixer(pdbfile=_io.StringIO(source.to_pdb()))
    if isinstance(source, tuple) and len(source) == 2:
        topology, positions = source
    elif hasattr(source, "topology") and hasattr(source, "positions"):
        topology, positions = source.topology, source.positions
    else:
        raise TypeError(f"cannot prepare a system from {type(source).__name__}: give a PDB/mmCIF path, a Structure, "
                        "an object with .topology and .positions, or (topology, positions)")
    buf = _io.StringIO()
    app.PDBFile.writeFile(topology, positions, buf, keepIds=True)
    buf.seek(0)
    return PDBFixer(pdbfile=buf)


def prepare_system(source, mode: str = "replace", *, forcefield=None,
                   implicit_solvent: Optional[str] = DEFAULT_IMPLICIT, add_hydrogens: bool = True, pH: float = 7.0,
                   constraints="HBonds", hydrogen_mass=None, keep_14=DEFAULT_KEEP_14, scale: float = 1.0,
                   repair: bool = False, force_group: Optional[int] = 1, **madrax_options) -> PreparedSystem:
    """From a structure to ``(topology, positions, system)`` with MadraX, in one call.

    Steps: read ``source`` with PDBFixer; remove waters, ions and ligands (implicit solvent; they
    are listed in a warning); add missing terminal atoms (OXT), and with ``repair=True`` also
    missing heavy atoms and standard parents of nonstandard residues (never missing loops); add
    missing hydrogens at ``pH`` with ``Modeller.addHydrogens`` (existing ones are kept); build the
    System with :func:`create_system` (``mode``, ``forcefield``, ``constraints``, ...).

    Returns a :class:`PreparedSystem`: ``topology, positions, system = prepare_system(...)``; the
    :class:`MadraXForce` for per-residue / per-channel readback is ``.madrax``.
    """
    from openmm import app

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    fixer = _input_model(source)
    before = [f"{r.chain.id}:{r.name}{r.id}" for r in fixer.topology.residues()]
    fixer.removeHeterogens(keepWater=False)
    after = {f"{r.chain.id}:{r.name}{r.id}" for r in fixer.topology.residues()}
    hetero = [label for label in before if label not in after]
    if hetero:
        from ..structure import MadraXWarning

        shown = ", ".join(hetero[:8]) + (f", ... ({len(hetero)} in all)" if len(hetero) > 8 else "")
        warnings.warn(f"prepare_system: removed {len(hetero)} water/ligand/ion residue(s) (implicit solvent): "
                      f"{shown}", MadraXWarning, stacklevel=2)
    fixer.missingResidues = {}
    if repair:
        fixer.findNonstandardResidues()
        fixer.replaceNonstandardResidues()
    fixer.findMissingAtoms()
    if not repair:
        if fixer.missingAtoms:
            from ..errors import StructureError

            miss = [f"{r.chain.id}:{r.name}{r.id} ({' '.join(a.name for a in atoms)})"
                    for r, atoms in fixer.missingAtoms.items()]
            raise StructureError(f"{len(miss)} residue(s) miss heavy atoms: {', '.join(miss[:8])}; "
                                 "use repair=True (CLI --repair) to add them with PDBFixer")
    fixer.addMissingAtoms()
    ff = _forcefield(forcefield, mode, implicit_solvent)
    modeller = app.Modeller(fixer.topology, fixer.positions)
    if add_hydrogens:
        modeller.addHydrogens(ff, pH=pH)
    system, madrax = create_system(modeller.topology, modeller.positions, mode=mode, forcefield=ff,
                                   implicit_solvent=implicit_solvent, constraints=constraints,
                                   hydrogen_mass=hydrogen_mass, keep_14=keep_14, scale=scale,
                                   force_group=force_group, **madrax_options)
    return PreparedSystem(modeller.topology, modeller.positions, system, madrax, mode)


def available_platforms() -> Sequence[str]:
    import openmm

    return [openmm.Platform.getPlatform(k).getName() for k in range(openmm.Platform.getNumPlatforms())]


def select_platform(name: Optional[str] = None, system=None):
    """An ``openmm.Platform``: ``name`` if given, else the fastest available one (CUDA > OpenCL >
    CPU > Reference) that can run ``system`` (tried with a throw-away Context when given)."""
    import openmm

    if name:
        try:
            return openmm.Platform.getPlatformByName(name)
        except Exception as exc:
            from ..errors import MadraXError

            raise MadraXError(f"OpenMM platform {name!r} is not available (available: "
                              f"{', '.join(available_platforms())})") from exc
    names = available_platforms()
    for cand in PLATFORM_ORDER:
        if cand not in names:
            continue
        platform = openmm.Platform.getPlatformByName(cand)
        if system is None:
            return platform
        try:
            ctx = openmm.Context(system, openmm.VerletIntegrator(0.001), platform)
            del ctx
            return platform
        except Exception as exc:  # e.g. no TorchForce kernel for this platform
            log.info("platform %s cannot run this system: %s", cand, exc)
    raise RuntimeError(f"no OpenMM platform can run this system (available: {', '.join(names)})")
