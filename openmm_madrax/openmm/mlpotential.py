"""MadraX as an openmm-ml potential: ``MLPotential('madrax')``.

Registered through the ``openmmml.potentials`` entry point (``pip install openmm-madrax[ml]``,
openmm-ml 1.7), so that MadraX goes into Systems the way OpenMM users add ANI, MACE or AIMNet2::

    from openmmml import MLPotential
    potential = MLPotential("madrax")
    system = potential.createSystem(topology)                          # MadraX for the whole protein
    mixed = potential.createMixedSystem(topology, mm_system, atoms)    # MadraX on a region of a classical System

openmm-ml's contract is that the potential supplies *all* interactions within its atoms.  MadraX
has no covalent terms (it scores the non-bonded physics of a folded protein from its heavy atoms),
so this implementation adds, within the same atoms, the bonded terms of a classical force field
(amber14-all.xml: bonds, angles, torsions, CMAP, and the scaled 1-4 pairs the torsions were fitted
with) -- exactly the "replace" mode of :func:`~openmm_madrax.openmm.create_system`.  In a mixed
System the region interacts with the rest through the classical force field only (mechanical
embedding); MadraX sees the region's atoms alone, so keep the region to whole residues and large
enough that its surface is not an artificial vacuum (e.g. a domain, not a few residues).

Arguments (to ``MLPotential('madrax', ...)`` or to ``createSystem`` / ``createMixedSystem``):
``bonded`` (force field file(s) for the covalent terms, default ``"amber14-all.xml"``; ``None`` for
MadraX alone), ``keep_14`` (default "lj": the 1-4 Lennard-Jones pairs only), ``positions`` (set-up geometry for chain breaks and
disulfides; default: from the topology's bonds), and every :class:`MadraXForce` option
(``options``, ``precision``, ``backend``, ``scale``, ``channel_weights``, ...).  Units, as everywhere
in OpenMM: nm, kJ/mol.  All forces go to ``forceGroup``.  Channel 9 (peptide-bond geometry) is left
out of the force by default because the bonded terms own that geometry (docs/openmm.md).
"""
from __future__ import annotations

from typing import Iterable, Optional

from openmmml.mlpotential import MLPotentialImpl, MLPotentialImplFactory

DEFAULT_BONDED = "amber14-all.xml"


class MadraXPotentialImplFactory(MLPotentialImplFactory):
    """Creates :class:`MadraXPotentialImpl` (registered as ``madrax`` in ``openmmml.potentials``)."""

    def createImpl(self, name: str, **args) -> "MadraXPotentialImpl":
        return MadraXPotentialImpl(name, **args)


class MadraXPotentialImpl(MLPotentialImpl):
    """The MadraX force plus classical bonded terms, on all atoms or on a region."""

    def __init__(self, name: str, **args):
        self.name = name
        self.args = dict(args)

    def addForces(self, topology, system, atoms: Optional[Iterable[int]], forceGroup: int, **args):
        from .force import MadraXForce
        from .systems import DEFAULT_CHANNEL_WEIGHTS, DEFAULT_KEEP_14, DEFAULT_MD_BURIAL, bonded_forces

        opts = {**self.args, **args}
        bonded = opts.pop("bonded", DEFAULT_BONDED)
        keep_14 = opts.pop("keep_14", DEFAULT_KEEP_14)
        if opts.get("burial") is None and opts.get("options") is None:
            opts["burial"] = DEFAULT_MD_BURIAL  # as create_system: with MadraX's clamp vdW exerts no force
        positions = opts.pop("positions", None)
        opts.setdefault("channel_weights", DEFAULT_CHANNEL_WEIGHTS if bonded else None)
        atom_list = None if atoms is None else sorted(int(a) for a in atoms)
        if bonded:
            for force in bonded_forces(topology, bonded, atoms=atom_list, keep_14=keep_14):
                force.setForceGroup(forceGroup)
                system.addForce(force)
        system.addForce(MadraXForce(topology, positions, atoms=atom_list, force_group=forceGroup, **opts))
