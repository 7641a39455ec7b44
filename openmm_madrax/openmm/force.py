"""``MadraXForce``: the MadraX energy of the protein heavy atoms as an OpenMM force.

Units are converted here and nowhere else: OpenMM positions are nm (x ``NM_TO_ANGSTROM`` to the
Angstrom the energy module takes), the module returns kcal/mol (x ``KCAL_TO_KJ`` to OpenMM's
kJ/mol), so forces are -dE/dx x 41.84 kJ/mol/nm per kcal/mol/A.

Two back ends compute the same numbers:

* ``"torch"`` (default): a TorchScript wrapper (:class:`MadraXTorchModule`) taking all particle
  positions, gathering the heavy atoms and returning the energy; registered as an
  ``openmmtorch.TorchForce`` (forces by autograd inside OpenMM).  Serialisable; fastest.
* ``"python"``: an ``openmm.PythonForce`` calling the same energy module from Python.  Useful for
  debugging and where openmm-torch is not installed.  It serialises by pickling its computation
  object (the prepared structure and the options; the module is rebuilt on first use).

Hydrogens, waters, ligands and every particle that is not a heavy atom of a standard residue get
exactly zero MadraX force.  The total is multiplied by the global parameter ``madrax_scale``
(default ``scale=``), which can be changed in a running Context (``context.setParameter``).
"""
from __future__ import annotations

import dataclasses
import logging
import os
import warnings
from typing import Dict, Mapping, Optional

import numpy as np
import torch
from torch import Tensor, nn

from ..energy.model import check_smooth_settings
from ..errors import StructureError
from ..params import CHANNELS
from ..scoring import energy_module, residue_frame
from ..structure import Structure, load

#: nm -> Angstrom (positions)
NM_TO_ANGSTROM = 10.0
#: kcal/mol -> kJ/mol (energies); forces: kcal/mol/A -> kJ/mol/nm is KCAL_TO_KJ * NM_TO_ANGSTROM
KCAL_TO_KJ = 4.184
#: name of the OpenMM global parameter that scales the MadraX energy
SCALE_PARAMETER = "madrax_scale"

BACKENDS = ("torch", "python")
PRECISIONS = {"single": torch.float32, "double": torch.float64}


# ----------------------------------------------------------------------------------------------
# the TorchScript module OpenMM runs


class MadraXTorchModule(nn.Module):
    """TorchScript-able OpenMM model: all particle positions (nm) -> MadraX energy (kJ/mol).

    ``forward(positions, madrax_scale)``: ``positions`` is (n_particles x 3) in nm, as openmm-torch
    passes it; ``madrax_scale`` the global parameter (a scalar tensor).  Only the rows in
    ``heavy_index`` (the topology indices of the MadraX heavy atoms) enter the energy, so every
    other particle gets zero force.  The 11 channels are summed with ``channel_weights``.
    """

    def __init__(self, energy: nn.Module, heavy_index: np.ndarray, n_particles: int, channel_weights: np.ndarray):
        super().__init__()
        self.energy = energy
        self.n_particles = int(n_particles)
        self.length_scale = NM_TO_ANGSTROM
        self.energy_scale = KCAL_TO_KJ
        self.register_buffer("heavy_index", torch.as_tensor(np.asarray(heavy_index, dtype=np.int64)))
        self.register_buffer("channel_weights", torch.as_tensor(np.asarray(channel_weights, dtype=np.float64)))

    def forward(self, positions: Tensor, madrax_scale: Tensor) -> Tensor:
        x = positions.index_select(0, self.heavy_index) * self.length_scale
        if not bool(x.abs().max() < 1.0e5):  # also false for NaN
            raise RuntimeError("MadraX: non-finite or exploded heavy-atom coordinates (|x| >= 10 um): the "
                               "simulation blew up; minimise first or lower the time step")
        # the neighbour-list cache of the energy module is a plain attribute that .to(device) does
        # not move: rebuild it on the device of the positions on first use (CUDA / OpenCL)
        if self.energy.nl_ref.device != x.device:
            self.energy.rebuild(x.to(self.energy.radius.dtype))
        per_residue = self.energy(x)
        e = (per_residue * self.channel_weights.to(per_residue.dtype)).sum()
        return e * (madrax_scale.to(e.dtype) * self.energy_scale)


class _NoTorchScriptDeprecation(warnings.catch_warnings):
    """Silence the TorchScript deprecation warnings of torch >= 2.10 (jit.script / jit.save, also
    when openmmtorch saves a module internally)."""

    def __enter__(self):
        out = super().__enter__()
        warnings.filterwarnings("ignore", message=r".*TorchScript.*")
        warnings.filterwarnings("ignore", message=r".*torch\.jit.*", category=DeprecationWarning)
        return out


def _import_openmmtorch():
    """Import openmmtorch without its 'importing simtk.openmm is deprecated' root-logger line."""
    root = logging.getLogger()

    class _NoSimtk(logging.Filter):
        def filter(self, record):
            return "simtk.openmm" not in record.getMessage()

    flt = _NoSimtk()
    root.addFilter(flt)
    try:
        import openmmtorch
    except ImportError as exc:
        raise ImportError("backend='torch' needs openmm-torch (pip install acellera-openmmtorch-cpu, or the "
                          "-cu12/-cu13 build; conda: openmm-torch); backend='python' works without it") from exc
    finally:
        root.removeFilter(flt)
    return openmmtorch


# ----------------------------------------------------------------------------------------------
# the PythonForce computation (module level so that it can be pickled by XmlSerializer)


class PythonComputation:
    """Callable for ``openmm.PythonForce``: State -> (energy kJ/mol, forces kJ/mol/nm).

    Pickles to the prepared structure and the energy options; the energy module is rebuilt on the
    first call after unpickling (XmlSerializer, ``copy.deepcopy(system)``).
    """

    def __init__(self, structure: Structure, n_particles: int, options: dict, channel_weights: np.ndarray):
        self.structure = dataclasses.replace(structure, _tables=None)
        self.n_particles = int(n_particles)
        self.options = dict(options)
        self.channel_weights = np.asarray(channel_weights, dtype=np.float64)
        self._module = None

    def __getstate__(self):
        return {"structure": self.structure, "n_particles": self.n_particles, "options": self.options,
                "channel_weights": self.channel_weights}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._module = None

    @property
    def module(self):
        if self._module is None:
            self._module = _build_energy(self.structure, **self.options)
        return self._module

    def __call__(self, state):
        from openmm import unit

        pos = np.asarray(state.getPositions(asNumpy=True).value_in_unit(unit.nanometer))
        if not np.abs(pos[self.structure.source_index]).max() < 1.0e4:  # nm; also false for NaN
            raise RuntimeError("MadraX: non-finite or exploded heavy-atom coordinates (|x| >= 10 um): the "
                               "simulation blew up; minimise first or lower the time step")
        scale = float(state.getParameters()[SCALE_PARAMETER])
        energy_kj, grad_kj = _energy_and_gradient(self.module, pos, self.structure.source_index,
                                                  self.channel_weights)
        forces = np.zeros((self.n_particles, 3))
        forces[self.structure.source_index] = -scale * grad_kj
        return scale * energy_kj, forces


def _build_energy(structure: Structure, *, burial: str, smooth: bool, dtype: str, torsions: bool, skin: float,
                  fix_frames: bool = True, smoothing: float = 1.0, hbond_tau: float = 0.02):
    return energy_module(structure, burial=burial, smooth=smooth, dtype=dtype, torsions=torsions, skin=skin,
                         fix_frames=fix_frames, smoothing=smoothing, hbond_tau=hbond_tau)


def _energy_and_gradient(module, positions_nm: np.ndarray, heavy_index: np.ndarray, channel_weights: np.ndarray):
    """Weighted MadraX energy (kJ/mol) and its gradient on the heavy atoms (kJ/mol/nm), positions in nm."""
    dtype = module.radius.dtype
    x = torch.tensor(positions_nm[heavy_index] * NM_TO_ANGSTROM, dtype=dtype, requires_grad=True)
    e = (module(x) * torch.as_tensor(channel_weights, dtype=dtype)).sum()
    (g,) = torch.autograd.grad(e, x)
    return float(e.detach()) * KCAL_TO_KJ, g.double().numpy() * (KCAL_TO_KJ * NM_TO_ANGSTROM)


# ----------------------------------------------------------------------------------------------
# structure from a topology


def structure_from_topology(topology, positions=None, **load_options) -> Structure:
    """The MadraX :class:`Structure` of an OpenMM ``Topology`` (heavy atoms of standard residues).

    With ``positions`` the usual geometric rules of :func:`openmm_madrax.load` decide chain
    breaks (C(i)-N(i+1) <= 2 A) and static disulfides (SG-SG <= 2.5 A).  Without positions they
    come from the topology's bonds: residues i and i+1 of a chain are consecutive when the
    topology has the bond C(i)-N(i+1), and two CYS are a disulfide when it has the bond SG-SG.
    (Implementation: set-up-only placeholder coordinates that put bonded atoms on top of each other
    and everything else 30 A apart; they are never used for energies.)
    """
    if load_options.get("repair"):
        raise ValueError("repair=True is not available for a force: repair the model first (PDBFixer, or "
                         "openmm_madrax.openmm.prepare_system), then build the force on the repaired topology")
    if positions is None:
        positions = _placeholder_positions(topology)
        if load_options.get("chain_breaks") is None:
            load_options["chain_breaks"] = "geometry"
    structure = load(topology, positions, **load_options)
    if np.any(structure.source_index < 0):
        raise StructureError("the prepared structure has atoms without a topology particle index")
    return structure


def _placeholder_positions(topology) -> np.ndarray:
    """Set-up coordinates (nm) encoding the topology's C-N and SG-SG bonds as zero distances."""
    n = topology.getNumAtoms()
    residues = list(topology.residues())
    bonds = list(topology.bonds())
    if not bonds and len(residues) > 1:
        raise StructureError("the topology has no bonds, so consecutive residues cannot be decided without "
                             "positions: pass positions= or call topology.createStandardBonds() first")
    xyz = np.zeros((n, 3))
    for k, res in enumerate(residues):
        for atom in res.atoms():
            xyz[atom.index, 0] = 3.0 * k  # 30 A between residues
    for a, b in bonds:
        names = {a.name, b.name}
        if a.residue is b.residue:
            continue
        if names == {"C", "N"}:
            c, nn_ = (a, b) if a.name == "C" else (b, a)
            xyz[nn_.index] = xyz[c.index]
        elif names == {"SG"}:
            xyz[b.index] = xyz[a.index]
    return xyz


# ----------------------------------------------------------------------------------------------
# positions from whatever the user has


def positions_nm(source, n_particles: int) -> np.ndarray:
    """(n_particles x 3) float64 positions in nm from a State, Context, Quantity, mdtraj
    Trajectory (first frame) or a plain array (nm)."""
    from openmm import unit

    if hasattr(source, "getState") and hasattr(source, "getSystem"):  # Context
        source = source.getState(getPositions=True)
    if hasattr(source, "getPositions"):  # State (or PDBFile / Modeller)
        try:
            source = source.getPositions(asNumpy=True)
        except TypeError:
            source = source.getPositions()
    elif hasattr(source, "xyz") and hasattr(source, "n_frames"):  # mdtraj.Trajectory
        source = source.xyz[0]
    if unit.is_quantity(source):
        arr = np.asarray(source.value_in_unit(unit.nanometer), dtype=np.float64)
    else:
        arr = np.asarray(source, dtype=np.float64)
    arr = arr.reshape(-1, 3)
    if arr.shape[0] != n_particles:
        raise ValueError(f"positions hold {arr.shape[0]} particles, the topology of this MadraXForce has {n_particles}")
    return arr


# ----------------------------------------------------------------------------------------------
# the user-facing object


def _channel_weights(weights: Optional[Mapping[str, float]]) -> np.ndarray:
    """11 channel weights (MadraX order) from ``{channel name: weight}``; missing channels weigh 1."""
    out = np.ones(len(CHANNELS))
    for name, value in (weights or {}).items():
        if name not in CHANNELS:
            raise ValueError(f"unknown MadraX channel {name!r}; channels: {', '.join(CHANNELS)}")
        out[list(CHANNELS).index(name)] = float(value)
    return out


#: smooth-mode settings of the force (dynamics), see the MadraXForce docstring
MD_SMOOTHING = 3.0
MD_HBOND_TAU = 1.0


class MadraXForce:
    """The MadraX energy of the protein in an OpenMM ``Topology``, as an OpenMM force.

    Parameters
    ----------
    topology
        the OpenMM ``Topology`` of the System the force goes into (all particles: hydrogens,
        waters, ligands are allowed and get zero MadraX force).
    positions
        optional (nm, ``Quantity`` or array): set-up geometry for chain-break and disulfide
        detection.  Without it both come from the topology's bonds (see
        :func:`structure_from_topology`).
    burial
        ``"madrax"`` (default) or ``"foldx"`` (physics spec section 4).
    smooth
        ``True`` (default): the C1 surrogate of spec section 7, which MD and minimisation need.
        ``False`` gives the exact (discontinuous) MadraX energy; fine for single-point energies,
        not for dynamics.
    backend
        ``"torch"`` (``openmmtorch.TorchForce``, default) or ``"python"`` (``openmm.PythonForce``).
    precision
        ``"single"`` (float32 energy module, default) or ``"double"`` (float64).
    scale
        default value of the global parameter ``madrax_scale`` multiplying the energy.
    model_file
        where to save the TorchScript model (torch backend); default: kept in memory (and
        embedded in serialized Systems either way).
    force_group
        OpenMM force group (0-31) of the forces this object creates.
    channel_weights
        ``{channel: weight}`` multiplying channels in the force (default: all 1, the full MadraX
        energy).  :func:`~openmm_madrax.openmm.create_system` sets ``{"peptide_bond": 0}``: see
        there.  Readback (:meth:`residue_energies`, :meth:`channel_energies`) always reports the
        unweighted channels; :meth:`energy` is what the force adds.
    cuda_graphs
        set openmm-torch's ``useCUDAGraphs`` property (used on the CUDA platform only, ignored
        elsewhere).  Off by default: the energy module rebuilds its Verlet neighbour list with
        data-dependent shapes and a host-side decision, which a captured graph would freeze.
    torsions, skin
        passed to :func:`openmm_madrax.energy_module` (channels 7/10 densities; Verlet skin in A).
    smoothing, hbond_tau
        the MD setting of smooth mode (defaults 3 and 1.0 kcal/mol; :func:`openmm_madrax.energy_module`
        defaults to 1 and 0.02, the scoring setting).  The H-bond combination/state choices of
        MadraX are argmins; as Boltzmann averages with tau = 0.02 kcal/mol they still switch within
        ~0.005 A, which injects energy into MD (ubiquitin at 2 fs: 420-540 K within 3 ps, NVE at
        0.5 fs: 23 kJ/mol drift in 0.5 ps).  tau = 1 kcal/mol with 3x wider H-bond/cRP angular
        switches keeps 2 fs at ~300 K (measured, README "MD stability"); it changes the energy by
        a few kcal/mol per protein (README).  Pass ``smoothing=1, hbond_tau=0.02`` for the
        scoring surface.
    load_options
        passed to :func:`openmm_madrax.load` (``drop_nonstandard``, ``altloc``, ``chain_breaks``,
        ...).

    Use :meth:`add_to` (or :meth:`create_force`) to put it into a System, and
    :meth:`residue_energies` / :meth:`channel_energies` / :meth:`energy` to read the MadraX energy
    of any State, Context or positions.
    """

    def __init__(self, topology, positions=None, *, burial: str = "madrax", smooth: bool = True,
                 backend: str = "torch", precision: str = "single", scale: float = 1.0,
                 model_file: Optional[str] = None, force_group: Optional[int] = None, cuda_graphs: bool = False,
                 channel_weights: Optional[Mapping[str, float]] = None, torsions: bool = True, skin: float = 1.0,
                 smoothing: float = MD_SMOOTHING, hbond_tau: float = MD_HBOND_TAU, name: str = "MadraX",
                 **load_options):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {tuple(PRECISIONS)}, not {precision!r}")
        if burial not in ("madrax", "foldx"):
            raise ValueError(f"burial must be 'madrax' or 'foldx', not {burial!r}")
        if force_group is not None and not 0 <= int(force_group) <= 31:
            raise ValueError(f"force_group must be in 0..31, not {force_group}")
        self.topology = topology
        self.n_particles = int(topology.getNumAtoms())
        self.structure = structure_from_topology(topology, positions, **load_options)
        self._real_positions = positions is not None  # else structure.coords are set-up placeholders
        self.heavy_index = np.asarray(self.structure.source_index, dtype=np.int64)
        self.burial = burial
        self.smooth = bool(smooth)
        self.backend = backend
        self.precision = precision
        self.scale = float(scale)
        self.model_file = model_file
        self.force_group = None if force_group is None else int(force_group)
        self.cuda_graphs = bool(cuda_graphs)
        self.channel_weights = _channel_weights(channel_weights)
        self.torsions = bool(torsions)
        self.skin = float(skin)
        check_smooth_settings(smoothing, hbond_tau)  # at construction: the energy modules are built lazily
        self.smoothing = float(smoothing)
        self.hbond_tau = float(hbond_tau)
        self.name = name
        self._modules: Dict[str, nn.Module] = {}
        self._scripted = None

    def __repr__(self) -> str:
        off = {c: float(w) for c, w in zip(CHANNELS, self.channel_weights) if w != 1.0}
        weights = f", channel_weights={off}" if off else ""
        return (f"MadraXForce({self.structure.n_atoms} heavy atoms / {self.n_particles} particles, "
                f"{self.structure.n_residues} residues, backend={self.backend!r}, precision={self.precision!r}, "
                f"burial={self.burial!r}, smooth={self.smooth}, scale={self.scale}{weights})")

    # -- energy modules ---------------------------------------------------------------------
    def _options(self, dtype: str) -> dict:
        return dict(burial=self.burial, smooth=self.smooth, dtype=dtype, torsions=self.torsions, skin=self.skin,
                    fix_frames=self._real_positions, smoothing=self.smoothing,
                    hbond_tau=self.hbond_tau)

    def energy_module(self, precision: Optional[str] = None) -> nn.Module:
        """The (eager) :class:`MadraXEnergy` of the heavy atoms (Angstrom -> kcal/mol), cached."""
        precision = precision or self.precision
        dtype = "float32" if precision == "single" else "float64"
        if dtype not in self._modules:
            self._modules[dtype] = _build_energy(self.structure, **self._options(dtype))
        return self._modules[dtype]

    def torch_module(self):
        """The scripted :class:`MadraXTorchModule` the TorchForce runs (built once)."""
        if self._scripted is None:
            dtype = "float32" if self.precision == "single" else "float64"
            energy = _build_energy(self.structure, **self._options(dtype))
            with _NoTorchScriptDeprecation():
                self._scripted = torch.jit.script(MadraXTorchModule(energy, self.heavy_index, self.n_particles,
                                                                    self.channel_weights))
        return self._scripted

    # -- OpenMM forces ------------------------------------------------------------------------
    def create_force(self):
        """A new OpenMM force object (TorchForce or PythonForce) computing the MadraX energy."""
        import openmm

        if self.backend == "torch":
            omt = _import_openmmtorch()
            module = self.torch_module()
            properties = {"useCUDAGraphs": "true" if self.cuda_graphs else "false"}
            with _NoTorchScriptDeprecation():
                if self.model_file:
                    torch.jit.save(module, os.fspath(self.model_file))
                    force = omt.TorchForce(os.fspath(self.model_file), properties)
                else:
                    force = omt.TorchForce(module, properties)
            force.addGlobalParameter(SCALE_PARAMETER, self.scale)
        else:
            dtype = "float32" if self.precision == "single" else "float64"
            comp = PythonComputation(self.structure, self.n_particles, self._options(dtype), self.channel_weights)
            force = openmm.PythonForce(comp, {SCALE_PARAMETER: self.scale})
        force.setUsesPeriodicBoundaryConditions(False)
        force.setName(self.name)
        if self.force_group is not None:
            force.setForceGroup(self.force_group)
        return force

    def add_to(self, system) -> int:
        """Add a new MadraX force to ``system``; returns its index.  The System owns the force."""
        if system.getNumParticles() != self.n_particles:
            raise ValueError(f"the System has {system.getNumParticles()} particles, the topology of this "
                             f"MadraXForce has {self.n_particles}")
        return system.addForce(self.create_force())

    # -- readback -----------------------------------------------------------------------------
    def _residue_matrix(self, source, precision: Optional[str] = None) -> np.ndarray:
        pos = positions_nm(source, self.n_particles)
        module = self.energy_module(precision or "double")
        x = torch.as_tensor(pos[self.heavy_index] * NM_TO_ANGSTROM, dtype=module.radius.dtype)
        with torch.no_grad():
            return module(x).double().numpy()

    def residue_energies(self, source, precision: Optional[str] = None):
        """Per-residue MadraX energies (kcal/mol, unscaled) of a State / Context / positions (nm).

        A pandas DataFrame with the columns of :func:`openmm_madrax.residue_frame` (chain, resnum,
        resname and the 11 channels); ``df.attrs["total"]`` is the total in kcal/mol.  Computed in
        float64 unless ``precision="single"``.
        """
        e = self._residue_matrix(source, precision)
        df = residue_frame(self.structure, e)
        df.attrs["total"] = float(e.sum())
        df.attrs["unit"] = "kcal/mol"
        return df

    def channel_energies(self, source, precision: Optional[str] = None):
        """Per-channel MadraX totals (kcal/mol, unscaled) as a pandas Series indexed by channel."""
        import pandas as pd

        e = self._residue_matrix(source, precision)
        return pd.Series(e.sum(axis=0), index=list(CHANNELS), name="kcal/mol")

    def energy(self, source, precision: Optional[str] = None) -> float:
        """What the force contributes, kJ/mol: channels x ``channel_weights``, x ``scale``."""
        e = self._residue_matrix(source, precision) @ self.channel_weights
        return float(e.sum()) * KCAL_TO_KJ * self.scale

    def energy_and_forces(self, source, precision: Optional[str] = None):
        """(energy kJ/mol, forces kJ/mol/nm of every particle) as the force computes them, from Python."""
        pos = positions_nm(source, self.n_particles)
        e, g = _energy_and_gradient(self.energy_module(precision or "double"), pos, self.heavy_index,
                                    self.channel_weights)
        forces = np.zeros((self.n_particles, 3))
        forces[self.heavy_index] = -self.scale * g
        return self.scale * e, forces
