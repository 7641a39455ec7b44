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
"""
from .errors import MadraXError, MutationError, StructureError
from .params import CHANNELS
from .structure import MadraXWarning, Structure, load
from .energy.model import MadraXEnergy
from .scoring import energy_module, residue_frame, score, score_frames

__version__ = "0.1.0"

__all__ = ["CHANNELS", "MadraXEnergy", "MadraXError", "MadraXWarning", "MutationError", "Structure",
           "StructureError", "energy_module", "load", "residue_frame", "score", "score_frames", "__version__"]
