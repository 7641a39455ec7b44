"""The MadraX energy: coordinates (N x 3, Angstrom) -> per-residue energies (R x 11, kcal/mol).

Where to look (one file per channel, each holding its set-up -- the sub-list it derives from the
neighbour list -- and its term):

=====================  ======================================================================
:mod:`.options`        :class:`EnergyOptions` (burial, smooth, precision, skin, widths): one value
:mod:`.model`          :class:`MadraXEnergy`, the assembled module and its neighbour state
:mod:`.build`          :func:`energy_module`: structure + options -> module (with torsions)
:mod:`.neighbors`      the O(N) cell list (master pair list)
:mod:`.geometry`       distances, angles, dihedrals, local frames
:mod:`.smooth`         the C1 surrogates of smooth mode (spec 7)
:mod:`.burial`         occupancy, facc, directional polar occupancy (spec 4)
:mod:`.disulfide`      channel 0        :mod:`.hbond`        channel 1
:mod:`.electrostatics` channel 2        :mod:`.clash`        channel 3
:mod:`.solvation`      channels 4, 5    :mod:`.vdw`          channel 6
:mod:`.torsions`       channels 7, 10 (densities: :mod:`.torsion_densities`)
:mod:`.sidechain_entropy` channel 8     :mod:`.peptide`      channel 9
=====================  ======================================================================
"""
from ..params import CHANNELS
from .build import energy_module
from .model import MadraXEnergy
from .options import EnergyOptions

__all__ = ["CHANNELS", "EnergyOptions", "MadraXEnergy", "energy_module"]
