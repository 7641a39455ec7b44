"""openmm-madrax: the MadraX protein force field for OpenMM.

MadraX (Orlando, Serrano, Schymkowitz, Rousseau, Bioinformatics 2024, btae160) is FoldX-style
physics written as a differentiable PyTorch module: 11 per-residue energy channels (H-bonds,
electrostatics, solvation, van der Waals, clashes, disulfides, entropies, geometry violations).
This package is a clean-room re-implementation from the physics specification, TorchScript-able
and O(N), with an OpenMM force on top.

Quick start::

    import openmm_madrax as omx
    df = omx.score("protein.pdb")            # per-residue channels, kcal/mol
    structure = omx.load("protein.pdb")       # validated, typed structure
    energy = omx.energy_module(structure)     # torch.nn.Module: coordinates (A) -> (R x 11)
    system.addForce(omx.MadraXForce(topology))   # the energy as an OpenMM force

The layout follows the data (``docs/architecture.md``): ``structure`` (read, validate, type) ->
``energy`` (the module) -> adapters (``openmm``, ``scoring``) -> applications (``features``,
``mutate``/``ddg``, the CLI).  Names are imported lazily: ``import openmm_madrax`` does not import
torch or OpenMM until they are needed.
"""
from __future__ import annotations

import importlib

from .errors import MadraXError, MadraXWarning, MutationError, StructureError
from .params import CHANNELS

__version__ = "0.1.0"

#: lazily imported public names -> the module that defines them
_LAZY = {
    "Structure": "openmm_madrax.structure",
    "load": "openmm_madrax.structure",
    "EnergyOptions": "openmm_madrax.energy",
    "MadraXEnergy": "openmm_madrax.energy",
    "energy_module": "openmm_madrax.energy",
    "score": "openmm_madrax.scoring",
    "score_frames": "openmm_madrax.scoring",
    "residue_frame": "openmm_madrax.scoring",
    "MadraXForce": "openmm_madrax.openmm",
    "prepare_system": "openmm_madrax.openmm",
}

__all__ = ["CHANNELS", "MadraXError", "MadraXWarning", "MutationError", "StructureError", "__version__",
           *sorted(_LAZY)]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'openmm_madrax' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
