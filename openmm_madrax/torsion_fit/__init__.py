"""Fit the backbone and side-chain torsion densities of channels 7 and 10 (physics spec 5.7, 5.10, 6).

Command (the shipped ``openmm_madrax/params/torsion_densities.npz`` is regenerated, from the project
root, by exactly this; it takes a few minutes on 2 CPU cores)::

    openmm-madrax fit-torsions ../shared/data/ddg_train/pdbs ../shared/data/structures/complexes \\
        ../shared/data/structures/large ../shared/data/structures/medium ../shared/data/structures/small \\
        -o openmm_madrax/params/torsion_densities.npz --seed 0

``PDB_DIR`` arguments are directories (every ``*.pdb``, ``*.cif``, ``*.mmcif``, ``*.ent`` and ``.gz``
of those, sorted by name, not recursive) or single files.  The AlphaFold models (``af_llps/``) are not
passed; the NMR ensembles (``nmr/``) are not passed either and would be dropped by the resolution rule,
like the villin MD frames in ``small/``.  ``--max-files N`` keeps N files drawn with ``--seed``;
the fit itself is deterministic (no random initialisation).

Corpus and filters (all stored in the npz metadata, with the sha256 of every file read)
---------------------------------------------------------------------------------------
* file level: an experimental resolution record is required (PDB ``REMARK   2 RESOLUTION``, mmCIF
  ``_refine.ls_d_res_high`` / ``_em_3d_reconstruction.resolution`` / ``_reflns.d_resolution_high``)
  and must be <= ``max_resolution`` (2.5 A); files without one (NMR, models, MD frames) are skipped.
  Byte-identical files are read once.  R-free is not used: most legacy entries of the corpus report
  none.
* structure preparation: exactly :func:`openmm_madrax.load` with ``altloc="first"`` (blank + altloc
  A), ``drop_nonstandard=True`` and geometric chain breaks (C-N <= 2.0 A), first model only.  A file
  that fails only because some residues miss heavy atoms is not dropped: those residues are removed
  from the records and the file is prepared again (per-residue filtering; their neighbours then lose
  phi/psi through the chain-break rule).  Any other :class:`~openmm_madrax.StructureError` skips the
  file with the reason logged and stored.
* angles: :meth:`TorsionChannels.angles` of the energy itself (spec 2.3, chi definitions of
  ``params.chi_definitions()``; only residues with a consecutive predecessor and successor, i.e. no
  chain break within +-1 residue).
* residue level: every atom of the phi, psi and omega dihedrals (C(i-1), N, CA, C, N(i+1), CA(i+1))
  has B <= ``max_bfactor`` (40 A^2) and occupancy > 0; a side chain is used when, in addition, every
  atom of its scored chi dihedrals passes the same test.
* redundancy: protein chains are clustered by shared 3-mers (single linkage; two chains are linked
  when >= 50 % of the 3-mers of the shorter one occur in the other, roughly >= 50 % sequence
  identity); every residue is weighted 1 / (number of chains in its cluster), so the 40 T4 lysozyme
  mutants of the ddG set count about as one protein.

Modules: :mod:`.corpus` (files, filters, angles, clusters), :mod:`.bspline` (phi/psi),
:mod:`.vonmises` (omega, chi), :mod:`.fit` (everything, metadata, saving), :mod:`.settings`.

Models (hyper-parameters in :data:`HYPER`, stored in the npz)
-------------------------------------------------------------
* phi/psi, one density per residue type (GLY has its own, as every type) plus one pooled
  pre-proline class (a non-GLY, non-PRO residue whose successor is PRO; those residues are left out
  of their own type, and the class is dropped if it has less than ``pre_pro_min_weight``): weighted
  kernel density with a product von Mises kernel, mixed with a uniform pseudo-count, evaluated on a
  72 x 72 (5 deg) periodic grid, stored as ln p through periodic bicubic B-spline coefficients and
  normalised numerically on the torus.  The kernel concentration is chosen per class among
  ``bb_kappa_grid`` (20-80, i.e. sd 13-6 deg; not sharper than the grid) by 5-fold cross-validated
  log-likelihood over whole sequence clusters.  Why a smoothed grid and not a mixture: the
  Ramachandran densities have ridges and bridges (alpha-beta bridge, polyPro/beta continuum) that a
  handful of von Mises products models badly; the spline is C2 and periodic by construction and
  costs 16 gathered coefficients per residue.
* omega, per residue type plus the pre-proline class: two trans von Mises (the narrow peak and its
  heavier tails), one cis von Mises and a uniform background of weight n0 / (N + n0), by weighted EM
  from the pooled fit.  Classes with little data keep the pooled shapes; classes with little cis data
  keep the pooled cis shape and a cis fraction shrunk towards the pooled non-proline one.  The
  concentration is capped at 500 (sd 2.6 deg): sharper peaks in the corpus come from omega restraints
  in refinement, and they would make channel 7 needlessly stiff.
* chi_1..chi_n (n = scored chis of T2), per residue type: mixture of products of von Mises plus a
  uniform background, weighted EM started from the populated rotamer bins (at most 3^n, at most 81),
  number of components by BIC along a backward elimination (remove the component whose loss costs the
  least likelihood, refit).  PHE chi2, TYR chi2, ASP chi2 and GLU chi3 are pi-periodic
  (``symmetric_pi_periodic``): their factors are von Mises in the doubled angle,
  exp(kappa cos 2(x - mu)) / (2 pi I0(kappa)), normalised on (-pi, pi] and independent of the O/C
  atom naming.  Mixtures here, not grids, because the densities are up to 5-dimensional and rotamers
  are compact modes; a mixture of products also has exact marginals (``n_chi`` < n drops factors).

All densities are normalised over the torus [-pi, pi)^n in rad^-n and smooth (C2 for phi/psi,
analytic otherwise) and periodic, as spec section 6 asks.
"""
from .fit import fit, fit_collected, fit_files, save
from .settings import FORMAT, HYPER

__all__ = ["FORMAT", "HYPER", "fit", "fit_collected", "fit_files", "save"]
