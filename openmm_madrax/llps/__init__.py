"""Liquid-liquid phase separation (LLPS) network with MadraX physics inside (docs/llps.md).

    from openmm_madrax.llps import LLPSPredictor
    df = LLPSPredictor.load().predict("proteins.fasta")      # id, length, p_driver, p_client, csat_uM, ...

* :class:`LLPSPredictor` / :func:`predict_protein`: the user-facing predictor and the pure
  per-protein function (for batch and Dask drivers; :func:`cached_predictor` per process);
* :class:`LLPSNet`: the torch module (sequence encoder + MadraX channels with learnable channel
  weights, temperature and optional MadraX parameter fine-tuning; attention pooling; heads);
* :func:`physics_profile` / :class:`PhysicsEncoder` / :class:`PhysicsCache`: the MadraX physics
  encoder (per-residue intra- and inter-chain energies of conformers and encounter complexes)
  and its on-disk cache.

``csat_uM`` comes from a head trained on SIMULATED saturation concentrations (CALVADOS 2, 293 K,
150 mM) of disordered regions.
"""
from .model import Batch, LLPSNet, MadraXParameters, make_batch
from .physics import PhysicsCache, PhysicsEncoder, PhysicsOptions, PhysicsProfile, physics_profile
from .predictor import LLPSPredictor, Record, cached_predictor, predict_protein, read_inputs
from .sequences import SequenceError, clean_sequence

__all__ = ["Batch", "LLPSNet", "LLPSPredictor", "MadraXParameters", "PhysicsCache", "PhysicsEncoder",
           "PhysicsOptions", "PhysicsProfile", "Record", "SequenceError", "cached_predictor", "clean_sequence",
           "make_batch", "physics_profile", "predict_protein", "read_inputs"]
