"""Format name, class layout and hyper-parameters of the torsion-density fit (stored in the npz)."""
from __future__ import annotations

import math
from typing import Any, Dict

from .. import params

FORMAT = "openmm-madrax torsion densities v1"
N_TYPES = len(params.RESIDUE_ORDER)
PRE_PRO_CLASS = N_TYPES  # class index of the pooled pre-proline phi/psi and omega densities
SUFFIXES = (".pdb", ".ent", ".cif", ".mmcif", ".pdb.gz", ".ent.gz", ".cif.gz", ".mmcif.gz")

#: hyper-parameters of filters and fits (stored in the npz metadata)
HYPER: Dict[str, Any] = {
    "max_resolution": 2.5,  # A; files without a resolution record are skipped
    "max_bfactor": 40.0,  # A^2, every atom of the dihedrals used
    "cluster_kmer": 3,
    "cluster_min_shared": 0.5,  # fraction of the shorter chain's k-mers
    "bb_grid": 72,  # phi/psi grid points per axis (5 deg)
    "bb_kappa": 40.0,  # kernel concentration when cross-validation is not possible (sd ~ 9 deg)
    "bb_kappa_grid": (20.0, 30.0, 40.0, 60.0, 80.0),  # candidates, chosen per class by cross-validation
    "cv_folds": 5,  # folds of whole sequence clusters
    "bb_pseudocount": 2.0,  # weight of the uniform density mixed into phi/psi (in residue weights)
    "bb_norm_oversample": 4,  # quadrature points per grid cell and axis for the normalisation
    "pre_pro_min_weight": 50.0,  # pre-proline class only if it has this much weight
    "omega_pseudocount": 1.0,  # uniform background weight n0 (omega)
    "omega_min_weight": 20.0,  # below this class weight: pooled trans/cis shapes, own weights
    "omega_cis_min_weight": 5.0,  # below this own cis weight: pooled cis shape
    "omega_cis_prior": 20.0,  # shrinkage of the cis fraction towards the pooled non-Pro fraction
    "omega_kappa_max": 500.0,  # sd >= 2.6 deg: sharper peaks are refinement restraints
    "chi_pseudocount": 1.0,  # uniform background weight n0 (chi)
    "chi_max_components": 81,
    "chi_kappa_max": 500.0,
    "chi_kappa_min": 0.5,
    "chi_min_component_weight": 1e-3,  # components lighter than this are dropped during EM
    "em_max_iter": 500,
    "em_tol": 1e-7,  # change of the mean weighted log-likelihood
    "bic_patience": 4,  # stop the backward elimination after this many BIC increases
}

LOG2PI = math.log(2.0 * math.pi)
