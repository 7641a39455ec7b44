"""MadraX energies of any System that holds a MadraX force -- also one read back with XmlSerializer,
whose forces are plain TorchForce / PythonForce proxies without the Python-side readback."""
from __future__ import annotations

import numpy as np
import torch

from ..errors import MadraXError
from ..units import NM_TO_ANGSTROM
from .force import FORCE_NAME, MadraXForce, PythonComputation, _import_openmmtorch
from .topology import positions_nm


def find_madrax_force(system, name: str = FORCE_NAME):
    """The MadraX force of ``system``: the force named ``name``, else (deserialized Systems, whose
    TorchForces lose their names) the TorchForce running a :class:`MadraXTorchModule` or the
    PythonForce running a :class:`PythonComputation`."""
    forces = [system.getForce(k) for k in range(system.getNumForces())]
    for force in forces:
        if force.getName() == name:
            return force
    for force in forces:
        if _madrax_module(force) is not None or _madrax_computation(force) is not None:
            return force
    raise MadraXError(f"the System has no MadraX force (no force named {name!r}, no MadraX TorchForce or "
                      "PythonForce)")


def _madrax_module(force):
    """The MadraXTorchModule of a TorchForce, else None."""
    try:
        omt = _import_openmmtorch()
    except ImportError:
        return None
    if not omt.TorchForce.isinstance(force):
        return None
    module = omt.TorchForce.cast(force).getModule()
    return module if hasattr(module, "residue_labels") and hasattr(module, "heavy_index") else None


def _madrax_computation(force):
    """The PythonComputation of a PythonForce, else None."""
    import pickle

    import openmm

    if not isinstance(force, openmm.PythonForce):
        return None
    try:  # the pickled computation, hex-encoded in the force's XML (getPickledFunction is not readable)
        import re

        xml = openmm.XmlSerializer.serialize(force)
        comp = pickle.loads(bytes.fromhex(re.search(r'function="([0-9a-fA-F]*)"', xml).group(1)))
    except Exception:
        return None
    return comp if isinstance(comp, PythonComputation) else None


def madrax_energies(system_or_force, source) -> np.ndarray:
    """Per-residue MadraX energies (R x 11, kcal/mol, unscaled) of a State / Context / positions for a
    System holding a MadraX force (or the force itself), also one read back with ``XmlSerializer``.

    Use :meth:`MadraXForce.residue_energies` when you have the MadraXForce object (labelled DataFrame)."""
    import openmm

    force = system_or_force
    if isinstance(system_or_force, openmm.System):
        force = find_madrax_force(system_or_force)
    if isinstance(force, MadraXForce):
        return force._residue_matrix(source)
    module = _madrax_module(force)
    if module is not None:
        pos = torch.as_tensor(positions_nm(source, int(module.n_particles)))
        with torch.no_grad():
            return module.residue_energies(pos.to(module.channel_weights.dtype)).double().numpy()
    comp = _madrax_computation(force)
    if comp is not None:
        pos = positions_nm(source, comp.n_particles)
        x = torch.as_tensor(pos[comp.structure.source_index] * NM_TO_ANGSTROM, dtype=comp.module.radius.dtype)
        with torch.no_grad():
            return comp.module(x).double().numpy()
    raise MadraXError(f"{type(force).__name__} is not a MadraX force")
