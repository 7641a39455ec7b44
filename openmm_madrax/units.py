"""Unit conversions, in one place.

Inside the package lengths are Angstrom and energies kcal/mol (MadraX's units); OpenMM works in
nm and kJ/mol.  The conversion happens at the OpenMM boundary (:mod:`openmm_madrax.openmm`) with
these factors and nowhere else.
"""
from __future__ import annotations

import math

#: nm -> Angstrom (positions)
NM_TO_ANGSTROM = 10.0
#: kcal/mol -> kJ/mol (energies); forces: kcal/mol/A -> kJ/mol/nm is KCAL_TO_KJ * NM_TO_ANGSTROM
KCAL_TO_KJ = 4.184
#: radians -> degrees (MadraX's angular windows are in degrees)
RAD_TO_DEG = 180.0 / math.pi
