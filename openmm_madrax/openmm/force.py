"""``MadraXForce``: the MadraX energy of the protein heavy atoms as an OpenMM force.

``MadraXForce(topology)`` *is* an ``openmm.Force``::

    system.addForce(MadraXForce(topology))

Two back ends compute the same numbers; the object is an instance of the matching OpenMM class
(``backend="auto"``, the default, takes ``"torch"`` when a CUDA device is available and ``"python"``
otherwise, where the force sets torch's threads for every call, see ``torch_threads``):

* ``backend="torch"``: an ``openmmtorch.TorchForce`` running a TorchScript wrapper
  (:class:`MadraXTorchModule`) that takes all particle positions, gathers the heavy atoms and
  returns the energy (forces by autograd inside OpenMM).  Serialisable; fastest.
* ``backend="python"``: an ``openmm.PythonForce`` calling the same energy module from Python.
  Needs no openmm-torch (upstream openmm-ml moved to PythonForce since TorchScript is deprecated
  in torch); it serialises by pickling its computation object (the prepared structure and the
  options; the module is rebuilt on first use).

Units are converted here and nowhere else (factors in :mod:`openmm_madrax.units`): OpenMM positions
are nm (x 10 to the Angstrom the energy module takes), the module returns kcal/mol (x 4.184 to
OpenMM's kJ/mol), so forces are -dE/dx x 41.84 kJ/mol/nm per kcal/mol/A.

Hydrogens, waters, ligands and every particle that is not a heavy atom of a standard residue get
exactly zero MadraX force.  The total is multiplied by the global parameter ``madrax_scale``
(default ``scale=``), which can be changed in a running Context (``context.setParameter``).

Readback: the object keeps what it needs to report the MadraX energy of any State, Context or
positions per residue and channel (:meth:`MadraXForce.residue_energies`, ...), also after the
System owns it; :func:`.readback.madrax_energies` does the same for a System that was deserialized.
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

from ..energy import EnergyOptions, energy_module
from ..energy.options import precision_name
from ..params import CHANNELS
from ..structure import Structure
from ..threads import default_torch_threads, torch_threads
from ..units import KCAL_TO_KJ, NM_TO_ANGSTROM
from .topology import positions_nm, restrict_to_particles, structure_from_topology

#: name of the OpenMM global parameter that scales the MadraX energy
SCALE_PARAMETER = "madrax_scale"
#: the name of the force (``force.getName()``), by which :func:`madrax_energies` finds it
FORCE_NAME = "MadraX"
BACKENDS = ("auto", "torch", "python")
#: readback surfaces: the force's own, or exact MadraX (as ``score``)
SURFACES = ("force", "exact")


def resolve_backend(backend: str) -> str:
    """``"torch"`` or ``"python"``; ``"auto"`` is torch with a CUDA device, python on CPU (where the
    PythonForce runs the energy with the force's own torch thread count, which a TorchForce cannot:
    openmm-torch runs it under torch's process-wide setting)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
    if backend == "auto":
        return "torch" if torch.cuda.is_available() else "python"
    return backend
#: keyword arguments of MadraXForce that are energy options (the rest go to ``load``)
_ENERGY_KEYS = frozenset(f.name for f in dataclasses.fields(EnergyOptions)) | {"dtype"}
#: an exploded simulation (|x| >= 10 um) is stopped with a clear error instead of NaN forces
MAX_COORDINATE_NM = 1.0e4


# ----------------------------------------------------------------------------------------------
# the TorchScript module OpenMM runs


class MadraXTorchModule(nn.Module):
    """TorchScript-able OpenMM model: all particle positions (nm) -> MadraX energy (kJ/mol).

    ``forward(positions, madrax_scale)``: ``positions`` is (n_particles x 3) in nm, as openmm-torch
    passes it; ``madrax_scale`` the global parameter (a scalar tensor).  Only the rows in
    ``heavy_index`` (the topology indices of the MadraX heavy atoms) enter the energy, so every
    other particle gets zero force.  The 11 channels are summed with ``channel_weights``.
    ``residue_energies(positions)`` returns the unweighted (R x 11) kcal/mol matrix (readback of a
    deserialized force, :func:`madrax_energies`).
    """

    def __init__(self, energy: nn.Module, heavy_index: np.ndarray, n_particles: int, channel_weights: np.ndarray,
                 residue_labels=()):
        super().__init__()
        self.energy = energy
        self.n_particles = int(n_particles)
        self.length_scale = NM_TO_ANGSTROM
        self.energy_scale = KCAL_TO_KJ
        self.max_coordinate = MAX_COORDINATE_NM
        self.residue_labels = [str(x) for x in residue_labels]
        self.register_buffer("heavy_index", torch.as_tensor(np.asarray(heavy_index, dtype=np.int64)))
        self.register_buffer("channel_weights", torch.as_tensor(np.asarray(channel_weights, dtype=np.float64)))

    def _heavy(self, positions: Tensor) -> Tensor:
        x = positions.index_select(0, self.heavy_index)
        if not bool(x.abs().max() < self.max_coordinate):  # also false for NaN
            raise RuntimeError("MadraX: non-finite or exploded heavy-atom coordinates (|x| >= 10 um): the "
                               "simulation blew up; minimise first or lower the time step")
        return x * self.length_scale

    def forward(self, positions: Tensor, madrax_scale: Tensor) -> Tensor:
        per_residue = self.energy(self._heavy(positions))
        e = (per_residue * self.channel_weights.to(per_residue.dtype)).sum()
        return e * (madrax_scale.to(e.dtype) * self.energy_scale)

    @torch.jit.export
    def residue_energies(self, positions: Tensor) -> Tensor:
        return self.energy(self._heavy(positions))


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
    first call after unpickling (XmlSerializer, ``copy.deepcopy(system)``).  Runs with
    ``torch_threads`` torch intra-op threads, restoring torch's setting after every call.
    """

    def __init__(self, structure: Structure, n_particles: int, options: EnergyOptions, channel_weights: np.ndarray,
                 torch_threads: Optional[int] = None):
        self.structure = dataclasses.replace(structure, _tables=None)
        self.n_particles = int(n_particles)
        self.options = options
        self.channel_weights = np.asarray(channel_weights, dtype=np.float64)
        self.torch_threads = torch_threads
        self._module = None

    def __getstate__(self):
        return {"structure": self.structure, "n_particles": self.n_particles, "options": self.options.as_dict(),
                "channel_weights": self.channel_weights, "torch_threads": self.torch_threads}

    def __setstate__(self, state):
        state = dict(state)
        state["options"] = EnergyOptions.coerce(state["options"])
        state.setdefault("torch_threads", None)
        self.__dict__.update(state)
        self._module = None

    @property
    def module(self):
        if self._module is None:
            self._module = energy_module(self.structure, self.options)
        return self._module

    def __call__(self, state):
        from openmm import unit

        pos = np.asarray(state.getPositions(asNumpy=True).value_in_unit(unit.nanometer))
        if not np.abs(pos[self.structure.source_index]).max() < MAX_COORDINATE_NM:  # also false for NaN
            raise RuntimeError("MadraX: non-finite or exploded heavy-atom coordinates (|x| >= 10 um): the "
                               "simulation blew up; minimise first or lower the time step")
        scale = float(state.getParameters()[SCALE_PARAMETER])
        with torch_threads(self.torch_threads):
            energy_kj, grad_kj = _energy_and_gradient(self.module, pos, self.structure.source_index,
                                                      self.channel_weights)
        forces = np.zeros((self.n_particles, 3))
        forces[self.structure.source_index] = -scale * grad_kj
        return scale * energy_kj, forces


def _energy_and_gradient(module, positions_nm: np.ndarray, heavy_index: np.ndarray, channel_weights: np.ndarray):
    """Weighted MadraX energy (kJ/mol) and its gradient on the heavy atoms (kJ/mol/nm), positions in nm."""
    dtype = module.radius.dtype
    x = torch.tensor(positions_nm[heavy_index] * NM_TO_ANGSTROM, dtype=dtype, requires_grad=True)
    e = (module(x) * torch.as_tensor(channel_weights, dtype=dtype)).sum()
    (g,) = torch.autograd.grad(e, x)
    return float(e.detach()) * KCAL_TO_KJ, g.double().numpy() * (KCAL_TO_KJ * NM_TO_ANGSTROM)


def channel_weight_vector(weights: Optional[Mapping[str, float]]) -> np.ndarray:
    """11 channel weights (MadraX order) from ``{channel name: weight}``; missing channels weigh 1."""
    out = np.ones(len(CHANNELS))
    for name, value in (weights or {}).items():
        if name not in CHANNELS:
            raise ValueError(f"unknown MadraX channel {name!r}; channels: {', '.join(CHANNELS)}")
        out[list(CHANNELS).index(name)] = float(value)
    return out


# ----------------------------------------------------------------------------------------------
# the user-facing force


class MadraXForce:
    """The MadraX energy of the protein in an OpenMM ``Topology``: an ``openmm.Force``.

    ``MadraXForce(topology, ...)`` returns a :class:`MadraXTorchForce` (an ``openmmtorch.TorchForce``)
    or, with ``backend="python"``, a :class:`MadraXPythonForce` (an ``openmm.PythonForce``); both are
    instances of this class, carry the readback methods below, and go into a System with
    ``system.addForce(force)`` (the System then owns the C++ force, as for any OpenMM force).

    Parameters
    ----------
    topology
        the OpenMM ``Topology`` of the System the force goes into (all particles: hydrogens,
        waters, ligands are allowed and get zero MadraX force).
    positions
        optional (nm, ``Quantity`` or array): set-up geometry for chain-break and disulfide
        detection.  Without it both come from the topology's bonds (see
        :func:`structure_from_topology`).
    options
        :class:`~openmm_madrax.energy.EnergyOptions`; default :meth:`EnergyOptions.md` (smooth,
        float32, the MD widths: ``smoothing=3``, ``hbond_tau=1`` kcal/mol, see README
        "Deviations").  Single options can be given as keywords: ``burial``, ``smooth``,
        ``precision`` (``"single"``/``"double"``), ``torsions``, ``skin``, ``smoothing``,
        ``hbond_tau``.  ``EnergyOptions.md(smoothing=1, hbond_tau=0.02)`` is the scoring surface
        (then use <= 1 fs and expect heating).
    backend
        ``"auto"`` (default: ``"torch"`` with a CUDA device, else ``"python"``), ``"torch"``
        (``openmmtorch.TorchForce``) or ``"python"`` (``openmm.PythonForce``).
    scale
        default value of the global parameter ``madrax_scale`` multiplying the energy.
    force_group
        OpenMM force group (0-31).
    channel_weights
        ``{channel: weight}`` multiplying channels in the force (default: all 1, the full MadraX
        energy).  Readback (:meth:`residue_energies`, :meth:`channel_energies`) always reports the
        unweighted channels; :meth:`energy` is what the force adds.
    cuda_graphs
        set openmm-torch's ``useCUDAGraphs`` property (CUDA platform only).  Off by default: the
        energy module rebuilds its Verlet neighbour list with data-dependent shapes and a host-side
        decision, which a captured graph would freeze.
    model_file
        torch backend: also save the TorchScript model to this file.
    torch_threads
        torch intra-op threads of the python backend and of readback (default 1, or the environment
        variable ``OPENMM_MADRAX_TORCH_THREADS``); set per call and restored.  A TorchForce runs
        inside openmm-torch under torch's process-wide setting: wrap your own ``step`` calls in
        ``with force.threads():`` (the project's runner does), see docs/openmm.md ("Threads").
    atoms
        particle indices MadraX applies to (default: every heavy atom of a standard residue); whole
        residues only (the MadraX region of a mixed system, :mod:`openmm_madrax.openmm.mlpotential`).
    load_options
        passed to :func:`openmm_madrax.load` (``drop_nonstandard``, ``altloc``, ``chain_breaks``).
    """

    def __new__(cls, topology=None, positions=None, *, backend: str = "auto", **kwargs):
        if cls is MadraXForce:
            if backend == "auto" and (kwargs.get("model_file") or kwargs.get("cuda_graphs")):
                backend = "torch"  # options only a TorchForce has
            cls = _torch_force_class() if resolve_backend(backend) == "torch" else _python_force_class()
        return object.__new__(cls)

    # -- set-up shared by both back ends ------------------------------------------------------
    def _setup(self, topology, positions, backend: str, options, scale: float, force_group, channel_weights,
               torch_threads, kwargs) -> None:
        atoms = kwargs.pop("atoms", None)
        energy_kw = {k: kwargs.pop(k) for k in list(kwargs) if k in _ENERGY_KEYS}
        opts = EnergyOptions.coerce(options if options is not None else EnergyOptions.md(), **energy_kw)
        if force_group is not None and not 0 <= int(force_group) <= 31:
            raise ValueError(f"force_group must be in 0..31, not {force_group}")
        structure = structure_from_topology(topology, positions, **kwargs)
        if atoms is not None:
            structure = restrict_to_particles(structure, atoms)
        self._madrax = {
            "topology": topology,
            "n_particles": int(topology.getNumAtoms()),
            "structure": structure,
            # without positions structure.coords are set-up placeholders: no frame decision from them
            "options": opts if positions is not None else opts.replace(fix_frames=False),
            "backend": backend,
            "scale": float(scale),
            "channel_weights": channel_weight_vector(channel_weights),
            "torch_threads": default_torch_threads() if torch_threads is None else int(torch_threads),
            "modules": {},
        }

    def _configure(self, name: str, force_group) -> None:
        self.setUsesPeriodicBoundaryConditions(False)
        self.setName(name)
        if force_group is not None:
            self.setForceGroup(int(force_group))

    # -- properties -----------------------------------------------------------------------------
    @property
    def structure(self) -> Structure:
        """The prepared MadraX structure (heavy atoms of standard residues)."""
        return self._madrax["structure"]

    @property
    def topology(self):
        return self._madrax["topology"]

    @property
    def n_particles(self) -> int:
        return self._madrax["n_particles"]

    @property
    def heavy_index(self) -> np.ndarray:
        """Topology indices of the MadraX heavy atoms (structure atom order)."""
        return np.asarray(self.structure.source_index, dtype=np.int64)

    @property
    def options(self) -> EnergyOptions:
        return self._madrax["options"]

    @property
    def backend(self) -> str:
        return self._madrax["backend"]

    @property
    def scale(self) -> float:
        """Default value of ``madrax_scale`` (the Context's current value may differ)."""
        return self._madrax["scale"]

    @property
    def channel_weights(self) -> np.ndarray:
        return self._madrax["channel_weights"].copy()

    @property
    def torch_threads(self) -> int:
        return self._madrax["torch_threads"]

    def threads(self):
        """Context manager: torch intra-op threads = ``torch_threads`` while the block runs (for the
        torch backend in your own simulation loop: ``with force.threads(): simulation.step(n)``)."""
        return torch_threads(self.torch_threads)

    def describe(self) -> str:
        """One line: atoms, residues, backend, precision, surface, scale and non-unit channel weights."""
        off = {c: float(w) for c, w in zip(CHANNELS, self._madrax["channel_weights"]) if w != 1.0}
        weights = f", channel_weights={off}" if off else ""
        o = self.options
        return (f"MadraXForce({self.structure.n_atoms} heavy atoms / {self.n_particles} particles, "
                f"{self.structure.n_residues} residues, backend={self.backend!r}, precision={o.precision!r}, "
                f"burial={o.burial!r}, surface={o.surface!r}, scale={self.scale}{weights})")

    def __repr__(self) -> str:
        return self.describe()

    # -- energy modules ---------------------------------------------------------------------
    def energy_module(self, precision: Optional[str] = None, surface: str = "force") -> nn.Module:
        """The (eager) :class:`MadraXEnergy` of the heavy atoms (Angstrom -> kcal/mol), cached.

        ``surface="force"``: the force's own options (what MD and minimisation feel);
        ``surface="exact"``: exact MadraX with MadraX's burial, the surface of ``openmm-madrax score``
        (comparable numbers, also when the force uses ``burial="foldx"``)."""
        if surface not in SURFACES:
            raise ValueError(f"surface must be one of {SURFACES}, not {surface!r}")
        # "exact" is the surface of `score` (its default MadraX burial), whatever burial the force uses
        opts = self.options if surface == "force" else EnergyOptions.scoring(torsions=self.options.torsions)
        if precision is not None:
            opts = opts.replace(precision=precision_name(precision))
        key = (surface, opts.precision)
        cache = self._madrax["modules"]
        if key not in cache:
            cache[key] = energy_module(self.structure, opts)
        return cache[key]

    def _surface_label(self, surface: str) -> str:
        return self.options.surface if surface == "force" else "exact"

    # -- readback -----------------------------------------------------------------------------
    def _residue_matrix(self, source, precision: Optional[str] = None, surface: str = "force") -> np.ndarray:
        pos = positions_nm(source, self.n_particles)
        module = self.energy_module(precision or "double", surface)
        x = torch.as_tensor(pos[self.heavy_index] * NM_TO_ANGSTROM, dtype=module.radius.dtype)
        with torch.no_grad(), torch_threads(self.torch_threads):
            return module(x).double().numpy()

    def residue_energies(self, source, precision: Optional[str] = None, surface: str = "force"):
        """Per-residue MadraX energies (kcal/mol, unscaled, all 11 channels) of a State / Context /
        positions (nm).

        ``surface="force"`` (default): the force's energy surface (smooth MD setting); ``"exact"``:
        exact MadraX, the numbers ``openmm-madrax score`` prints for the same heavy atoms.  A pandas
        DataFrame with the columns of :func:`openmm_madrax.residue_frame` (chain, resnum, resname and
        the 11 channels); ``df.attrs["total"]`` is the total in kcal/mol, ``df.attrs["surface"]``
        names the surface.  Computed in float64 unless ``precision="single"``.
        """
        from ..scoring import residue_frame

        e = self._residue_matrix(source, precision, surface)
        df = residue_frame(self.structure, e)
        df.attrs["total"] = float(e.sum())
        df.attrs["unit"] = "kcal/mol"
        df.attrs["surface"] = self._surface_label(surface)
        return df

    def channel_energies(self, source, precision: Optional[str] = None, surface: str = "force"):
        """Per-channel MadraX totals (kcal/mol, unscaled) as a pandas Series indexed by channel
        (``surface`` as in :meth:`residue_energies`)."""
        import pandas as pd

        e = self._residue_matrix(source, precision, surface)
        s = pd.Series(e.sum(axis=0), index=list(CHANNELS), name="kcal/mol")
        s.attrs["surface"] = self._surface_label(surface)
        return s

    def force_energy_kcal(self, channels) -> float:
        """The MadraX energy the force adds (kcal/mol, unscaled) from per-channel totals on the force
        surface (:meth:`channel_energies`): channels x ``channel_weights``."""
        return float(np.asarray(channels, dtype=np.float64) @ self._madrax["channel_weights"])

    def energy(self, source, precision: Optional[str] = None) -> float:
        """What the force contributes, kJ/mol: channels x ``channel_weights``, x ``scale``."""
        e = self._residue_matrix(source, precision) @ self._madrax["channel_weights"]
        return float(e.sum()) * KCAL_TO_KJ * self.scale

    def energy_and_forces(self, source, precision: Optional[str] = None):
        """(energy kJ/mol, forces kJ/mol/nm of every particle) as the force computes them, from Python."""
        pos = positions_nm(source, self.n_particles)
        with torch_threads(self.torch_threads):
            e, g = _energy_and_gradient(self.energy_module(precision or "double"), pos, self.heavy_index,
                                        self._madrax["channel_weights"])
        forces = np.zeros((self.n_particles, 3))
        forces[self.heavy_index] = -self.scale * g
        return self.scale * e, forces


_FORCE_CLASSES: Dict[str, type] = {}


def _python_force_class():
    """:class:`MadraXPythonForce`, defined on first use (OpenMM is imported only then)."""
    if "python" in _FORCE_CLASSES:
        return _FORCE_CLASSES["python"]
    import openmm

    class MadraXPythonForce(MadraXForce, openmm.PythonForce):
        """:class:`MadraXForce` as an ``openmm.PythonForce`` (``MadraXForce(..., backend="python")``)."""

        def __init__(self, topology, positions=None, *, backend: str = "python",
                     options: Optional[EnergyOptions] = None, scale: float = 1.0, force_group: Optional[int] = None,
                     channel_weights=None, torch_threads: Optional[int] = None, name: str = FORCE_NAME, **kwargs):
            for key in ("cuda_graphs", "model_file"):
                if kwargs.pop(key, None):
                    raise ValueError(f"{key} applies to backend='torch' (a TorchForce), not to backend='python'")
            self._setup(topology, positions, "python", options, scale, force_group, channel_weights, torch_threads,
                        kwargs)
            m = self._madrax
            comp = PythonComputation(m["structure"], m["n_particles"], m["options"], m["channel_weights"],
                                     m["torch_threads"])
            openmm.PythonForce.__init__(self, comp, {SCALE_PARAMETER: m["scale"]})
            self._configure(name, force_group)

    MadraXPythonForce.__module__ = __name__
    MadraXPythonForce.__qualname__ = "MadraXPythonForce"
    _FORCE_CLASSES["python"] = MadraXPythonForce
    return MadraXPythonForce


def _torch_force_class():
    """:class:`MadraXTorchForce`, defined on first use (openmm-torch is imported only then)."""
    if "torch" in _FORCE_CLASSES:
        return _FORCE_CLASSES["torch"]
    omt = _import_openmmtorch()

    class MadraXTorchForce(MadraXForce, omt.TorchForce):
        """:class:`MadraXForce` as an ``openmmtorch.TorchForce`` (the default back end)."""

        def __init__(self, topology, positions=None, *, backend: str = "torch",
                     options: Optional[EnergyOptions] = None, scale: float = 1.0, force_group: Optional[int] = None,
                     channel_weights=None, torch_threads: Optional[int] = None, cuda_graphs: bool = False,
                     model_file: Optional[str] = None, name: str = FORCE_NAME, **kwargs):
            self._setup(topology, positions, "torch", options, scale, force_group, channel_weights, torch_threads,
                        kwargs)
            module = self.torch_module()
            properties = {"useCUDAGraphs": "true" if cuda_graphs else "false"}
            with _NoTorchScriptDeprecation():
                if model_file:
                    torch.jit.save(module, os.fspath(model_file))
                omt.TorchForce.__init__(self, module, properties)
            self.addGlobalParameter(SCALE_PARAMETER, self.scale)
            self._configure(name, force_group)

        def torch_module(self):
            """The scripted :class:`MadraXTorchModule` the TorchForce runs (built once)."""
            m = self._madrax
            if m.get("scripted") is None:
                energy = energy_module(self.structure, self.options)
                labels = [r.label for r in self.structure.residues]
                with _NoTorchScriptDeprecation():
                    m["scripted"] = torch.jit.script(MadraXTorchModule(energy, self.heavy_index, self.n_particles,
                                                                       m["channel_weights"], labels))
            return m["scripted"]

    MadraXTorchForce.__module__ = __name__
    MadraXTorchForce.__qualname__ = "MadraXTorchForce"
    _FORCE_CLASSES["torch"] = MadraXTorchForce
    return MadraXTorchForce


def __getattr__(name: str):
    if name == "MadraXTorchForce":
        return _torch_force_class()
    if name == "MadraXPythonForce":
        return _python_force_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
