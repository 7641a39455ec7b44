"""Coil-library phi/psi densities for the ensemble builder (docs/ensembles.md).

    python scripts/fit_coil_densities.py -o openmm_madrax/params/coil_phipsi.npz

Same corpus, filters, sequence-cluster weights, folds, kernel-density model, kappa selection and
spline format as the shipped ``torsion_densities.npz`` (openmm_madrax/torsion_fit.py,
docs/torsions.md), but only residues outside regular secondary structure: DSSP (mdtraj, on the
prepared heavy atoms) not H, G, I (helices) and not E, B (strands) -- the classic "coil library"
idea for disordered chains (Swindells, MacArthur & Thornton 1995; Jha et al. 2005).  Classes
(20 residue types + pre-proline) with less coil weight than the torsion fit's pre-proline
minimum fall back to their full density.  Writes bb_coef (21 x 72 x 72, float32), pre_pro_class
and a JSON ``meta`` (files, counts, kappas, command).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CORPUS = [SHARED / "ddg_train" / "pdbs"] + [SHARED / "structures" / d for d in ("complexes", "large", "medium", "small")]
HELIX_STRAND = set("HGIEB")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output", required=True)
    args = p.parse_args()
    import mdtraj
    import torch

    from openmm_madrax import params
    from openmm_madrax.energy.torsion_densities import read_npz
    from openmm_madrax.energy.torsions import TorsionChannels
    from openmm_madrax.errors import StructureError
    from openmm_madrax.torsion_fit.bspline import fit_phipsi_density, select_bb_kappa
    from openmm_madrax.torsion_fit.corpus import (_PreProProbe, _prepare, cluster_chains, experimental_resolution,
                                                  list_files, sha256_of)
    from openmm_madrax.torsion_fit.settings import HYPER, PRE_PRO_CLASS
    from openmm_madrax.residues import ONE_LETTER

    files = list_files([str(c) for c in CORPUS])
    rows = []  # (class, phi, psi, chain id, coil)
    seqs = []
    used = []
    seen = set()
    for path in files:
        sha = sha256_of(path)
        if sha in seen:
            continue
        seen.add(sha)
        _, res = experimental_resolution(path)
        if res is None or res > HYPER["max_resolution"]:
            continue
        try:
            st, bfac, occ, _ = _prepare(path)
        except StructureError:
            continue
        tc = TorsionChannels(st.tables(), torch.float64, _PreProProbe())
        with torch.no_grad():
            phi, psi, omega, _ = (x.numpy() for x in tc.angles(torch.as_tensor(st.coords)))
        src = st.source_index
        ok_atom = (bfac[src] <= HYPER["max_bfactor"]) & (occ[src] > 0.0)

        def ok(idx):
            return ok_atom[idx.reshape(idx.shape[0], -1)].all(1)

        bb_ok = ok(tc.phi_atoms.numpy()) & ok(tc.psi_atoms.numpy()) & ok(tc.omega_atoms.numpy())
        with tempfile.NamedTemporaryFile("w", suffix=".pdb", delete=False) as fh:
            fh.write(st.to_pdb())
            tmp = fh.name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traj = mdtraj.load_pdb(tmp)
        Path(tmp).unlink()
        if traj.n_residues != st.n_residues:
            print(f"{path}: residue count differs after PDB round trip, skipped", file=sys.stderr)
            continue
        ss = mdtraj.compute_dssp(traj, simplified=False)[0]
        res_chain = np.array([r.chain_index for r in st.residues])
        chains = sorted(set(res_chain.tolist()))
        base = len(seqs)
        for c in chains:
            seqs.append("".join(ONE_LETTER[st.residues[r].resname] for r in range(st.n_residues) if res_chain[r] == c))
        bb_res = tc.bb_res.numpy()
        cls = tc.bb_class.numpy()
        for k, r in enumerate(bb_res):
            if bb_ok[k]:
                rows.append((int(cls[k]), float(phi[k]), float(psi[k]), base + chains.index(int(res_chain[r])),
                             ss[r] not in HELIX_STRAND))
        used.append({"path": str(path.relative_to(SHARED.parent.parent) if SHARED.parent.parent in path.parents else path),
                     "sha256": sha})
    cls = np.array([r[0] for r in rows])
    phi = np.array([r[1] for r in rows])
    psi = np.array([r[2] for r in rows])
    chain = np.array([r[3] for r in rows])
    coil = np.array([r[4] for r in rows])
    cluster = cluster_chains(seqs, int(HYPER["cluster_kmer"]), HYPER["cluster_min_shared"])
    size = np.bincount(cluster)
    rank = {cl: k for k, cl in enumerate(sorted(set(cluster.tolist())))}
    w = 1.0 / size[cluster[chain]]
    fold = np.array([rank[c] % int(HYPER["cv_folds"]) for c in cluster[chain]])
    arrays, meta_full = read_npz()
    full = np.asarray(arrays["bb_coef"], np.float64)
    n_classes = full.shape[0]
    names = list(params.RESIDUE_ORDER) + ["PRE_PRO"]
    G = int(HYPER["bb_grid"])
    coef = np.zeros((n_classes, G, G))
    info = {}
    for c in range(n_classes):
        sel = (cls == c) & coil
        wc = float(w[sel].sum())
        if wc < HYPER["pre_pro_min_weight"]:
            coef[c] = full[c]
            info[names[c]] = {"coil_weight": wc, "source": "full density (too little coil data)"}
            continue
        kappa, cv = select_bb_kappa(phi[sel], psi[sel], w[sel], fold[sel], HYPER)
        coef[c] = fit_phipsi_density(phi[sel], psi[sel], w[sel], HYPER, kappa)
        info[names[c]] = {"coil_rows": int(sel.sum()), "coil_weight": wc, "all_weight": float(w[cls == c].sum()),
                          "kappa": kappa}
        print(f"{names[c]:8s} coil rows {int(sel.sum()):5d} weight {wc:7.1f} of {float(w[cls == c].sum()):7.1f} "
              f"kappa {kappa:g}", flush=True)
    coef32 = coef.astype(np.float32)
    meta = {"format": "openmm-madrax coil phi/psi densities v1", "command": " ".join(sys.argv),
            "dssp_excluded": sorted(HELIX_STRAND), "hyper": {k: v for k, v in HYPER.items()},
            "classes": info, "files": used, "n_rows": int(len(rows)), "n_coil_rows": int(coil.sum()),
            "pre_pro_class": int(PRE_PRO_CLASS),
            "checksum_sha256": hashlib.sha256(coef32.tobytes()).hexdigest()}
    np.savez_compressed(args.output, bb_coef=coef32, pre_pro_class=np.int64(PRE_PRO_CLASS),
                        meta=np.array(json.dumps(meta)))
    print(f"{len(rows)} rows, {int(coil.sum())} coil; wrote {args.output} (checksum {meta['checksum_sha256']})")


if __name__ == "__main__":
    main()
