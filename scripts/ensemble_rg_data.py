"""Raw material of the Rg validation (docs/ensembles.md): per protein of ../shared/data/idp_rg, a pool
of self-avoiding conformers at the experiment's temperature and ionic strength, with per-conformer
Rg, end-to-end distance and the 11 MadraX channel totals in both burial modes.

    python scripts/ensemble_rg_data.py -o ENS_DATA [--pool 500] [--seed 0] [--only NAME ...]

Writes ENS_DATA/NAME.npz (rg_nm, ree_nm, E_madrax, E_foldx (pool x 11), helix/ppii basin
fractions per conformer, timings).  Existing files are kept (rerun to resume).
scripts/ensemble_rg_cv.py turns these into weights, the cross-validated choice of the weighting
knobs and the tables / plots of the docs.  Nothing here is fitted.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from openmm_madrax.ensembles.analysis import ALPHA_BOX, PPII_BOX, rg_nm, ree_nm
from openmm_madrax.ensembles.builder import ChainBuilder
from openmm_madrax.ensembles.energy import conformer_energies, madrax_module, sequence_structure
from openmm_madrax.ensembles.growth import ChainGrower, GrowthStats
from openmm_madrax.ensembles.sampling import default_sampler
from openmm_madrax.ensembles.sequences import clean_sequence, residue_names

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "idp_rg" / "idp_rg_visible.csv"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--outdir", required=True)
    p.add_argument("--data", default=str(DATA))
    p.add_argument("--pool", type=int, default=500)
    p.add_argument("--batch", type=int, default=250)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", nargs="*")
    p.add_argument("--burial", nargs="*", default=["madrax", "foldx"])
    args = p.parse_args()
    torch.set_num_threads(1)
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    df = pd.read_csv(args.data)
    df = df.assign(N=df.sequence.str.len()).sort_values("N")
    sampler = default_sampler()
    for row in df.itertuples():
        if args.only and row.name not in args.only:
            continue
        path = out / f"{row.name}.npz"
        if path.exists():
            continue
        seq = clean_sequence(row.sequence, row.name)
        rn = residue_names(seq)
        b = ChainBuilder(rn)
        g = ChainGrower(b, sampler)
        rng = np.random.default_rng(args.seed)
        t0 = time.perf_counter()
        st = GrowthStats()
        Xs, phis, psis = [], [], []
        for k in range(0, args.pool, args.batch):
            X, tor = g.grow(rng, min(args.batch, args.pool - k), stats=st)
            Xs.append(X.numpy())
            phis.append(np.degrees(tor.phi))
            psis.append(np.degrees(tor.psi))
        X = np.concatenate(Xs)
        phi = np.concatenate(phis)
        psi = np.concatenate(psis)
        t_grow = time.perf_counter() - t0
        structure = sequence_structure(rn, b.top.atom_names, b.top.atom_residue, X[0], name=row.name)
        E = {}
        t_e = {}
        for burial in args.burial:
            t1 = time.perf_counter()
            mod = madrax_module(structure, row.temperature_K, row.ionic_strength_M, smooth=True, burial=burial)
            E[burial] = conformer_energies(mod, X)
            t_e[burial] = time.perf_counter() - t1
        ca = np.array([a for a, nm in enumerate(b.top.atom_names) if nm == "CA"])
        (p0, p1), (q0, q1) = ALPHA_BOX
        hel = ((phi >= p0) & (phi <= p1) & (psi >= q0) & (psi <= q1))[:, 1:-1].mean(1)
        (p0, p1), (q0, q1) = PPII_BOX
        pp = ((phi >= p0) & (phi <= p1) & (psi >= q0) & (psi <= q1))[:, 1:-1].mean(1)
        np.savez_compressed(path, rg_nm=rg_nm(X), ree_nm=ree_nm(X, int(ca[0]), int(ca[-1])),
                            **{f"E_{k}": v for k, v in E.items()}, helix=hel, ppii=pp,
                            ca=X[:, ca].astype(np.float32), t_grow=t_grow,
                            **{f"t_{k}": v for k, v in t_e.items()}, redraws=st.redraws, clones=st.clones)
        print(f"{row.name:12s} N={row.N:4d} grow {t_grow:6.1f}s " + " ".join(f"E_{k} {v:6.1f}s" for k, v in t_e.items())
              + f" Rg {np.sqrt(np.mean(rg_nm(X) ** 2)):.2f} (exp {row.rg_exp_nm}) clones {st.clones}", flush=True)


if __name__ == "__main__":
    main()
