"""Trajectory-averaged physics features: per residue, per chain and per protein.

From an MD trajectory (mdtraj ``Trajectory``, trajectory file(s) + topology, or the output of
:func:`simulate`) compute, for every frame and residue:

* the 11 MadraX channels and their sum (kcal/mol, exact MadraX energy as :func:`~openmm_madrax.score`);
* with two or more chains (or copies of one chain): the inter-chain MadraX energy per residue and
  channel, ``E(complex) - E(own chain alone)`` -- what FoldX calls the interaction energy, with
  desolvation and burial effects included (MadraX is not pairwise additive, so a pair sum would
  miss them); zero for a single chain;
* burial: mean relative burial of the residue's heavy atoms, 0 (exposed) .. 1 (buried), from the
  MadraX atomic occupancy with FoldX-style normalisation (facc clamped to [0, 1]);
* H-bond satisfaction: fraction of the residue's donor (acceptor) atoms that make at least one
  H-bond in the MadraX H-bond network (NaN for a residue without donors / acceptors), and the
  number of buried (burial >= 0.5) polar atoms without any H-bond;
* solvent accessible surface (Shrake-Rupley, mdtraj, heavy atoms, A^2) and relative SASA;
* secondary structure (mdtraj DSSP, simplified to helix / strand / coil), as one-hot columns;
* contact numbers: residues with a heavy atom within 4.5 A (same-chain neighbours |i - j| < 3
  excluded), in total and with other chains;

and per chain: radius of gyration and end-to-end (first to last CA) distance (heavy atoms, A).

Modules: :mod:`.extract` (:func:`compute_features` -> :class:`Features`, aggregation over frames),
:mod:`.module` (:class:`MadraXFeatureModule`, the differentiable torch path of the MadraX part),
:mod:`.simulate` (:func:`simulate`: structure -> MadraX MD -> :func:`features_from_simulation`),
:mod:`.plot` (:func:`plot_profile`), :mod:`.names` (feature names and units).
"""
from .extract import Features, compute_features
from .module import MadraXFeatureModule
from .names import (CHAIN_FEATURES, DEFAULT_QUANTILES, DESCRIPTOR_FEATURES, ENERGY_FEATURES, INTER_CHANNELS,
                    RESIDUE_FEATURES, SS_FEATURES, UNITS)
from .plot import plot_profile
from .simulate import SimulationOutput, features_from_simulation, place_copies, simulate
from ..params import CHANNELS

__all__ = ["CHAIN_FEATURES", "CHANNELS", "DEFAULT_QUANTILES", "DESCRIPTOR_FEATURES", "ENERGY_FEATURES", "Features",
           "INTER_CHANNELS", "MadraXFeatureModule", "RESIDUE_FEATURES", "SS_FEATURES", "SimulationOutput", "UNITS",
           "compute_features", "features_from_simulation", "place_copies", "plot_profile", "simulate"]
