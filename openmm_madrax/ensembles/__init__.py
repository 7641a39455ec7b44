"""Sequence -> weighted conformational ensembles of disordered proteins (docs/ensembles.md).

    from openmm_madrax.ensembles import build_ensemble
    ens = build_ensemble("MSEQ...", n=200, temperature=298.0, ionic_strength=0.15, seed=0)
    ens.coords, ens.weights, ens.rg_nm(), ens.to_mdtraj(), ens.save("out", "name")

Backbones are built by natural extension reference frames from phi/psi/omega drawn from the
project's fitted torsion densities, side chains from the fitted chi densities, with exact ideal
geometry and self-avoidance; MadraX energies at the requested temperature and ionic strength
give the Boltzmann weights.
"""
from .ensemble import DEFAULT_BURIAL, DEFAULT_ENERGY_SCALE, Ensemble, build_ensemble
from .sequences import SequenceError, clean_sequence, read_fasta

__all__ = ["DEFAULT_BURIAL", "DEFAULT_ENERGY_SCALE", "Ensemble", "SequenceError", "build_ensemble", "clean_sequence",
           "read_fasta"]
