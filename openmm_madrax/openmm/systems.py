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


def bonded_forces(topology, forcefield=DEFAULT_FORCEFIELD, *, atoms=None, keep_14=DEFAULT_KEEP_14) -> list:
    """The covalent terms of a classical force field for ``topology`` (NoCutoff, no constraints):
    bonds, angles, torsions, CMAP and, with ``keep_14`` (default "lj": their Lennard-Jones part only),
    the scaled 1-4 pairs as a CustomBondForce (module doc).  With ``atoms`` only the terms whose atoms are all in that set are kept."""
    import openmm
    from openmm import app

    ff = forcefield if isinstance(forcefield, app.ForceField) else app.ForceField(
        *([forcefield] if isinstance(forcefield, (str, os.PathLike)) else forcefield))
    system = ff.createSystem(topology, nonbondedMethod=app.NoCutoff, constraints=None, rigidWater=False)
    strip_nonbonded(system, keep_14=keep_14)
    keep = None if atoms is None else set(int(a) for a in atoms)
    out = []
    for k in range(system.getNumForces()):
        force = system.getForce(k)
        if isinstance(force, openmm.CMMotionRemover):
            continue
        out.append(force if keep is None else _restricted(force, keep))
    return [openmm.XmlSerializer.deserialize(openmm.XmlSerializer.serialize(f)) for f in out]


def _restricted(force, keep: set):
    """A copy of a bonded force with only the terms whose particles are all in ``keep``."""
    import openmm

    if isinstance(force, openmm.HarmonicBondForce):
        new = openmm.HarmonicBondForce()
        for k in range(force.getNumBonds()):
            i, j, r0, kb = force.getBondParameters(k)
            if i in keep and j in keep:
                new.addBond(i, j, r0, kb)
    elif isinstance(force, openmm.HarmonicAngleForce):
        new = openmm.HarmonicAngleForce()
        for k in range(force.getNumAngles()):
            i, j, l_, a0, ka = force.getAngleParameters(k)
            if {i, j, l_} <= keep:
                new.addAngle(i, j, l_, a0, ka)
    elif isinstance(force, openmm.PeriodicTorsionForce):
        new = openmm.PeriodicTorsionForce()
        for k in range(force.getNumTorsions()):
            i, j, l_, m, n, ph, kt = force.getTorsionParameters(k)
            if {i, j, l_, m} <= keep:
                new.addTorsion(i, j, l_, m, n, ph, kt)
    elif isinstance(force, openmm.CMAPTorsionForce):
        new = openmm.CMAPTorsionForce()
        for k in range(force.getNumMaps()):
            size, energy = force.getMapParameters(k)
            new.addMap(size, energy)
        for k in range(force.getNumTorsions()):
            mp, *idx = force.getTorsionParameters(k)
            if set(idx) <= keep:
                new.addTorsion(mp, *idx)
    elif isinstance(force, openmm.CustomBondForce):
        new = openmm.CustomBondForce(force.getEnergyFunction())
        for k in range(force.getNumPerBondParameters()):
            new.addPerBondParameter(force.getPerBondParameterName(k))
        for k in range(force.getNumBonds()):
            i, j, par = force.getBondParameters(k)
            if i in keep and j in keep:
                new.addBond(i, j, par)
    else:
        from ..errors import MadraXError

        raise MadraXError(f"cannot restrict a {type(force).__name__} of the classical force field to the MadraX atoms")
    new.setName(force.getName())
    new.setUsesPeriodicBoundaryConditions(False)
    return new


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
        passed to :class:`MadraXForce` (``backend``, ``options`` / ``precision``, ``burial``,
        ``smooth``, ``drop_nonstandard``, ...); ``burial`` defaults to ``"foldx"`` here (module doc).

    Returns ``(system, madrax)`` where ``madrax`` is the :class:`MadraXForce` in the System (it is an
    ``openmm.Force`` the System owns; its readback methods work on any State).
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
        madrax_options.pop("burial", None)
        if madrax_options.get("options") is None:  # an explicit EnergyOptions keeps its own burial
            madrax_options["burial"] = DEFAULT_MD_BURIAL
    madrax = MadraXForce(topology, positions, scale=scale, force_group=force_group, channel_weights=channel_weights,
                         **madrax_options)
    system.addForce(madrax)
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


_LOAD_OPTIONS = ("altloc", "drop_nonstandard", "chain_breaks", "model", "preprocess")


def _validated_model(source, repair: bool, load_options: dict):
    """(Structure, PDBFixer) of ``source``: the input is read and validated by
    :func:`openmm_madrax.load` -- the same rules and error messages as ``score`` -- and PDBFixer starts
    from exactly the heavy atoms MadraX scores (waters, ligands and input hydrogens dropped with
    load's warning; hydrogens are added afterwards)."""
    from pdbfixer import PDBFixer

    from ..structure import Structure, load

    if isinstance(source, Structure):
        structure = source
    elif isinstance(source, tuple) and len(source) == 2:
        structure = load(source[0], source[1], repair=repair, **load_options)
    else:
        structure = load(source, repair=repair, **load_options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PDBFixer's own deprecation notes
        fixer = PDBFixer(pdbfile=_io.StringIO(structure.to_pdb()))
    return structure, fixer


def prepare_system(source, mode: str = "replace", *, forcefield=None,
                   implicit_solvent: Optional[str] = DEFAULT_IMPLICIT, add_hydrogens: bool = True, pH: float = 7.0,
                   constraints="HBonds", hydrogen_mass=None, keep_14=DEFAULT_KEEP_14, scale: float = 1.0,
                   repair: bool = False, force_group: Optional[int] = 1, **options) -> PreparedSystem:
    """From a structure to ``(topology, positions, system)`` with MadraX, in one call.

    Steps: read and validate ``source`` (a PDB/mmCIF path, a :class:`~openmm_madrax.Structure`, an
    object with ``.topology`` and ``.positions``, or ``(topology, positions)``) with
    :func:`openmm_madrax.load` -- the rules and one-line errors of ``score``; ``altloc``,
    ``drop_nonstandard``, ``chain_breaks``, ``model`` go there, and ``repair=True`` adds missing
    heavy atoms and replaces modified residues (PDBFixer); waters, ions and ligands are dropped
    (implicit solvent) with a warning that lists them.  Then add the terminal atoms (OXT) and the
    hydrogens at ``pH`` (``Modeller.addHydrogens``) and build the System with :func:`create_system`
    (``mode``, ``forcefield``, ``constraints``, ...); the other keywords go to :class:`MadraXForce`.

    Returns a :class:`PreparedSystem`: ``topology, positions, system = prepare_system(...)``; the
    :class:`MadraXForce` in the System (readback per residue / channel) is ``.madrax``.
    """
    from openmm import app

    from ..errors import MadraXError

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    load_options = {k: options.pop(k) for k in _LOAD_OPTIONS if k in options}
    structure, fixer = _validated_model(source, repair, load_options)
    try:
        fixer.missingResidues = {}
        fixer.findMissingAtoms()
        fixer.missingAtoms = {}  # complete after validation/repair: only terminal atoms (OXT) are added
        fixer.addMissingAtoms()
        ff = _forcefield(forcefield, mode, implicit_solvent)
        modeller = app.Modeller(fixer.topology, fixer.positions)
        if add_hydrogens:
            modeller.addHydrogens(ff, pH=pH)
    except Exception as exc:  # OpenMM/PDBFixer failures on validated input: one line, not a traceback
        last = str(exc).strip().splitlines()[-1] if str(exc).strip() else repr(exc)
        raise MadraXError(f"{structure.name}: cannot prepare the OpenMM model ({type(exc).__name__}: {last})") from exc
    system, madrax = create_system(modeller.topology, modeller.positions, mode=mode, forcefield=ff,
                                   implicit_solvent=implicit_solvent, constraints=constraints,
                                   hydrogen_mass=hydrogen_mass, keep_14=keep_14, scale=scale,
                                   force_group=force_group, **options)
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
