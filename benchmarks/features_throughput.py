"""Throughput of feature extraction (openmm_madrax.features): frames per second on CPU.

    python benchmarks/features_throughput.py [--frames 20] [--threads 1] [--no-hnrnpa1]

Systems: ubiquitin (bundled 1UBI, 76 residues), the hnRNPA1 model (314 residues, from ../shared;
skipped when absent) and two copies of it in contact (628 residues, with the inter-chain energy,
i.e. the complex plus each chain scored alone).  Frames: the structure with 0.1 A Gaussian noise
(every frame differs; the neighbour list is rebuilt when atoms move more than half the skin).
Prints end-to-end frames/s of compute_features and the time per frame of each part.
"""
import argparse
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
UBI = ROOT / "openmm_madrax" / "data" / "1ubi.pdb"
HNRNPA1 = ROOT.parent / "shared" / "data" / "structures" / "af_llps" / "CALVADOS_hnRNPA1S.pdb"


def perturbed(traj, n, sigma_nm=0.01, seed=0):
    import mdtraj as md

    rng = np.random.default_rng(seed)
    xyz = traj.xyz[:1] + rng.normal(0.0, sigma_nm, (n,) + traj.xyz.shape[1:]).astype(np.float32)
    return md.Trajectory(xyz, traj.topology)


def dimer(traj, gap_nm=0.4):
    """Two copies side by side along x, closest heavy atoms about gap_nm apart."""
    import mdtraj as md
    from scipy.spatial import cKDTree

    x = traj.xyz[0]
    heavy = np.array([a.element.symbol != "H" for a in traj.topology.atoms])
    tree = cKDTree(x[heavy])
    s = float(np.ptp(x[:, 0])) + gap_nm
    while s > 0 and tree.query(x[heavy] + [s - 0.025, 0, 0])[0].min() >= gap_nm:
        s -= 0.025
    both = traj[:1].stack(md.Trajectory(x[None] + np.array([s, 0, 0], np.float32), traj.topology))
    return both


def bench(name, traj, n_frames):
    from openmm_madrax.energy import EnergyOptions
    from openmm_madrax.features import compute_features
    from openmm_madrax.features.extract import _Extractor

    tr = perturbed(traj, n_frames)
    compute_features(tr[:2])  # warm-up (imports, TorchScript-free module build)
    t0 = time.perf_counter()
    f = compute_features(tr)
    wall = time.perf_counter() - t0
    # parts, per frame
    s = f.structure
    ex = _Extractor(s, EnergyOptions(), inter_chain=True, contact_cutoff=4.5)
    xyz = np.asarray(tr.xyz, np.float64)[:, s.source_index] * 10.0
    xt = torch.as_tensor(xyz)
    parts = {}
    with torch.no_grad():
        t = time.perf_counter()
        for k in range(n_frames):
            ex.module.energy(xt[k])
        parts["MadraX energy (complex)"] = time.perf_counter() - t
        if len(ex.module.chain_modules):
            t = time.perf_counter()
            for k in range(n_frames):
                for m, (a0, a1) in zip(ex.module.chain_modules, ex.module.chain_atoms):
                    m(xt[k, a0:a1])
            parts["MadraX chains alone (inter)"] = time.perf_counter() - t
        t = time.perf_counter()
        ex.module.descriptors(xt)
        parts["burial + H-bond satisfaction"] = time.perf_counter() - t
    t = time.perf_counter()
    import mdtraj as md

    sub = tr.atom_slice(np.sort(s.source_index))
    for k in range(n_frames):
        md.shrake_rupley(sub[k], mode="residue")
    parts["SASA (mdtraj, per frame)"] = time.perf_counter() - t
    t = time.perf_counter()
    md.compute_dssp(sub)
    parts["DSSP (mdtraj)"] = time.perf_counter() - t
    t = time.perf_counter()
    ex.contacts(xyz)
    ex.chain_geometry(xyz)
    parts["contacts + Rg"] = time.perf_counter() - t
    print(f"\n{name}: {s.n_residues} residues, {s.n_atoms} heavy atoms, {len(s.chain_ids)} chain(s), "
          f"{n_frames} frames")
    print(f"  compute_features: {wall:.2f} s = {n_frames / wall:.2f} frames/s ({1000 * wall / n_frames:.0f} ms/frame)")
    for k, v in parts.items():
        print(f"    {k:32s} {1000 * v / n_frames:7.1f} ms/frame")
    return n_frames / wall


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=20)
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--no-hnrnpa1", dest="hnrnpa1", action="store_false")
    args = p.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(args.threads)
    import mdtraj as md

    print(f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} logical cores, torch "
          f"{torch.__version__} with {torch.get_num_threads()} thread(s), float64 exact MadraX; load average "
          f"{os.getloadavg()[0]:.2f}")
    results = {}
    t = md.load(str(UBI))
    results["ubiquitin"] = bench("ubiquitin (1UBI)", t.atom_slice(t.topology.select("protein")), args.frames)
    if args.hnrnpa1 and HNRNPA1.exists():
        h = md.load(str(HNRNPA1))
        results["hnRNPA1"] = bench("hnRNPA1 (CALVADOS model)", h, args.frames)
        results["hnRNPA1 x2"] = bench("hnRNPA1, two copies in contact", dimer(h), max(5, args.frames // 2))
    elif args.hnrnpa1:
        print(f"\n(hnRNPA1 skipped: {HNRNPA1} not found)")
    print("\nsummary (frames/s, %d torch thread(s)): " % args.threads
          + ", ".join(f"{k} {v:.2f}" for k, v in results.items()))


if __name__ == "__main__":
    main()
