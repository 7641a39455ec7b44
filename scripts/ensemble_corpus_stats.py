"""Corpus measurements behind the ensemble builder's choices (docs/ensembles.md).

    python scripts/ensemble_corpus_stats.py [-o docs/ensembles_neighbours.csv]

On the torsion-fit corpus (docs/torsions.md: same files, resolution <= 2.5 A, B <= 40, occupancy > 0,
3-mer sequence clusters for weights and folds):

1. neighbour dependence of phi/psi: cross-validated (5 folds over whole sequence clusters)
   log-likelihood gain, in nats per residue, of a density conditioned on the residue type AND the
   type group of the next (or previous) residue over the residue-type density alone.  Both are
   the same smoothed 5-degree histograms (von Mises kernel, kappa 60, uniform pseudo-count); the
   conditional one is shrunk towards the type density with a pseudo-weight chosen on the
   training folds.  A gain whose 95 % interval over folds excludes 0 counts as "supported".
2. ILE chi2 (the densities do not score it): weighted frequencies of its three staggered wells.
3. contact distances: quantiles of heavy-atom distances between residues >= 2 apart.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Dict, List

import numpy as np

from openmm_madrax import params

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CORPUS = [SHARED / "ddg_train" / "pdbs"] + [SHARED / "structures" / d for d in ("complexes", "large", "medium", "small")]
G = 72
KAPPA = 60.0
GROUPS = {"GLY": "G", "PRO": "P", "VAL": "B", "ILE": "B", "THR": "B", "PHE": "A", "TYR": "A", "TRP": "A"}


def group(resname: str) -> str:
    return GROUPS.get(resname, "o")


def extract(files):
    import torch

    from openmm_madrax.atomtypes import ONE_LETTER
    from openmm_madrax.energy.torsions import TorsionChannels
    from openmm_madrax.errors import StructureError
    from openmm_madrax.torsion_fit import HYPER, _PreProProbe, _prepare, experimental_resolution

    rows: List[Dict] = []
    seqs: List[str] = []
    ile = []
    dists = {}
    for path in files:
        _, res = experimental_resolution(path)
        if res is None or res > HYPER["max_resolution"]:
            continue
        try:
            st, bfac, occ, _ = _prepare(path)
        except StructureError:
            continue
        tables = st.tables()
        tc = TorsionChannels(tables, torch.float64, _PreProProbe())
        with torch.no_grad():
            phi, psi, omega, chi = (x.numpy() for x in tc.angles(torch.as_tensor(st.coords)))
        src = st.source_index
        ok_atom = (bfac[src] <= HYPER["max_bfactor"]) & (occ[src] > 0.0)

        def ok(idx):
            return ok_atom[idx.reshape(idx.shape[0], -1)].all(1)

        bb_ok = ok(tc.phi_atoms.numpy()) & ok(tc.psi_atoms.numpy()) & ok(tc.omega_atoms.numpy())
        bb_res = tc.bb_res.numpy()
        res_chain = np.array([r.chain_index for r in st.residues])
        chains = sorted(set(res_chain.tolist()))
        base = len(seqs)
        for c in chains:
            seqs.append("".join(ONE_LETTER[st.residues[r].resname] for r in range(st.n_residues) if res_chain[r] == c))
        for k, r in enumerate(bb_res):
            if not bb_ok[k]:
                continue
            rows.append(dict(cls=int(tc.bb_class[k]), phi=float(phi[k]), psi=float(psi[k]),
                             prev=st.residues[r - 1].resname, next=st.residues[r + 1].resname,
                             chain=base + chains.index(int(res_chain[r]))))
        # ILE chi2 (CA-CB-CG1-CD1)
        xyz = st.coords
        for ri, res in enumerate(st.residues):
            if res.resname != "ILE":
                continue
            idx = {st.atom_names[a]: a for a in range(res.atom_start, res.atom_stop)}
            q = [idx.get(n) for n in ("CA", "CB", "CG1", "CD1")]
            if None in q or not ok_atom[q].all():
                continue
            from openmm_madrax.mutate import _dihedral

            ile.append((math.degrees(_dihedral(*(xyz[a] for a in q))), base + chains.index(int(res_chain[ri]))))
        # contact distances (residues >= 2 apart, same chain, B/occupancy filter)
        from scipy.spatial import cKDTree

        tree = cKDTree(xyz)
        pairs = tree.query_pairs(4.0, output_type="ndarray")
        ar = st.atom_residue
        sep = np.abs(ar[pairs[:, 0]] - ar[pairs[:, 1]])
        same = res_chain[ar[pairs[:, 0]]] == res_chain[ar[pairs[:, 1]]]
        keep = same & (sep >= 2) & ok_atom[pairs[:, 0]] & ok_atom[pairs[:, 1]]
        pol = np.array([n[0] in "NO" for n in st.atom_names])
        bbm = np.array([n in ("N", "CA", "C", "O") for n in st.atom_names])
        for (a, b), s in zip(pairs[keep], sep[keep]):
            if s == 2 and bbm[a] and bbm[b]:
                continue
            key = "polar" if (pol[a] and pol[b]) else "other"
            dists.setdefault(key, []).append(float(np.linalg.norm(xyz[a] - xyz[b])))
    return rows, seqs, ile, dists


def kde_grid(phi, psi, w):
    """Smoothed weighted histogram on G x G cells (un-normalised mass per cell)."""
    step = 2 * math.pi / G
    i = np.floor((phi + math.pi) / step).astype(int) % G
    j = np.floor((psi + math.pi) / step).astype(int) % G
    h = np.zeros((G, G))
    np.add.at(h, (i, j), w)
    ang = np.arange(G) * step
    k = np.exp(KAPPA * (np.cos(ang) - 1.0))
    k /= k.sum()
    K = np.fft.rfft(k)
    h = np.fft.irfft(np.fft.rfft(h, axis=0) * K[:, None], n=G, axis=0)
    h = np.fft.irfft(np.fft.rfft(h, axis=1) * K[None, :], n=G, axis=1)
    return np.maximum(h, 0.0)


def logp(h, total, phi, psi, pseudo=1.0):
    step = 2 * math.pi / G
    i = np.floor((phi + math.pi) / step).astype(int) % G
    j = np.floor((psi + math.pi) / step).astype(int) % G
    dens = (h[i, j] + pseudo / (G * G)) / (total + pseudo) / (step * step)
    return np.log(dens)


def neighbour_gain(rows, weights, folds, side: str, alphas=(1.0, 3.0, 10.0, 30.0, 100.0)):
    """Per-fold CV gain (nats / residue, weighted) of conditioning on the neighbour group."""
    cls = np.array([r["cls"] for r in rows])
    phi = np.array([r["phi"] for r in rows])
    psi = np.array([r["psi"] for r in rows])
    grp = np.array([group(r[side]) for r in rows])
    out = []
    per_group = {}
    nf = folds.max() + 1
    for f in range(nf):
        te = folds == f
        tr = ~te
        # inner choice of alpha: split training folds once more (fold f+1 mod nf as validation)
        def gain_for(train, test, alpha):
            g_tot = 0.0
            contrib = {}
            for c in np.unique(cls[test]):
                mtr = train & (cls == c)
                hA = kde_grid(phi[mtr], psi[mtr], weights[mtr])
                WA = weights[mtr].sum()
                for gname in np.unique(grp[test & (cls == c)]):
                    mt = test & (cls == c) & (grp == gname)
                    mg = mtr & (grp == gname)
                    la = logp(hA, WA, phi[mt], psi[mt])
                    hg = kde_grid(phi[mg], psi[mg], weights[mg])
                    Wg = weights[mg].sum()
                    # shrink towards the type density: alpha pseudo-weight of the type density
                    hB = hg + alpha * hA / max(WA, 1e-12)
                    lb = logp(hB, Wg + alpha, phi[mt], psi[mt])
                    d = float((weights[mt] * (lb - la)).sum())
                    g_tot += d
                    key = (int(c), gname)
                    contrib[key] = contrib.get(key, 0.0) + d
            return g_tot, contrib

        val = folds == (f + 1) % nf
        inner_tr = tr & ~val
        best = max(alphas, key=lambda a: gain_for(inner_tr, val, a)[0])
        g, contrib = gain_for(tr, te, best)
        out.append(g / weights[te].sum())
        for k, v in contrib.items():
            per_group[k] = per_group.get(k, 0.0) + v
    return np.array(out), per_group


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output", default=None, help="CSV of the per-(class, group) gains")
    args = p.parse_args()
    from openmm_madrax.torsion_fit import HYPER, cluster_chains, list_files

    files = list_files([str(c) for c in CORPUS])
    rows, seqs, ile, dists = extract(files)
    cluster = cluster_chains(seqs, int(HYPER["cluster_kmer"]), HYPER["cluster_min_shared"])
    size = np.bincount(cluster)
    rank = {cl: k for k, cl in enumerate(sorted(set(cluster.tolist())))}
    w = np.array([1.0 / size[cluster[r["chain"]]] for r in rows])
    folds = np.array([rank[cluster[r["chain"]]] % 5 for r in rows])
    print(f"{len(files)} files, {len(rows)} backbone rows (weight {w.sum():.0f}), {len(seqs)} chains, "
          f"{len(size)} clusters")
    import pandas as pd

    recs = []
    for side in ("next", "prev"):
        g, per = neighbour_gain(rows, w, folds, side)
        m = g.mean()
        half = 2.776 * g.std(ddof=1) / math.sqrt(len(g))
        print(f"phi/psi | type + {side} group: CV gain {m:+.4f} nats/residue (95% CI {m - half:+.4f} .. "
              f"{m + half:+.4f}); folds {np.round(g, 4).tolist()}")
        for (c, gname), v in sorted(per.items(), key=lambda kv: -kv[1])[:8]:
            cname = params.RESIDUE_ORDER[c] if c < len(params.RESIDUE_ORDER) else "prePRO"
            print(f"   {cname:6s} {side}={gname}: summed gain {v:+.2f} nats")
        for (c, gname), v in per.items():
            recs.append({"side": side, "class": params.RESIDUE_ORDER[c] if c < 20 else "prePRO", "group": gname,
                         "summed_gain_nats": v})
    # ILE chi2
    wi = np.array([1.0 / size[cluster[c]] for _, c in ile])
    x = np.array([a for a, _ in ile])
    wells = {"trans (170)": np.abs(((x - 170 + 180) % 360) - 180) < 60,
             "g- (-60)": np.abs(((x + 60 + 180) % 360) - 180) < 60, "g+ (65)": np.abs(((x - 65 + 180) % 360) - 180) < 60}
    print(f"ILE chi2: {len(x)} residues; " + ", ".join(f"{k} {wi[m].sum() / wi.sum():.3f}" for k, m in wells.items()))
    for k in ("polar", "other"):
        v = np.array(dists[k])
        print(f"contacts {k}: {len(v)} pairs < 4 A; quantiles 0.1% {np.quantile(v, 0.001):.2f}, 0.5% "
              f"{np.quantile(v, 0.005):.2f}, 1% {np.quantile(v, 0.01):.2f}")
    if args.output:
        pd.DataFrame(recs).to_csv(args.output, index=False, float_format="%.4f")


if __name__ == "__main__":
    main()
