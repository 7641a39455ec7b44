"""Seconds per single mutation (ΔΔG incl. rotamer choice and relaxation), docs/ddg.md.

    python benchmarks/ddg_speed.py [--threads 1] [--protocol default|fast] [--pdb FILE]

Default structure: T4 lysozyme 1L63 (162 residues) from ../shared/data/ddg_train/pdbs, else the
bundled ubiquitin (76 residues).  Prints the one-off set-up (reading + wild-type repair) and the
time of each mutant (mutant model + its wild-type reference, which is cached per site: the second
mutation at a site costs only the mutant model).  No assertions; figures only.
"""
from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LYSOZYME = ROOT.parent / "shared" / "data" / "ddg_train" / "pdbs" / "1L63.pdb"
MUTATIONS_LYSOZYME = ["A:L99A", "A:I3V", "A:T26S", "A:A98V", "A:V149A", "A:S117F", "A:K16E", "A:N68D",
                      "A:F153A", "A:L99G"]
MUTATIONS_UBI = ["A:I3V", "A:L43A", "A:K6R", "A:V26A", "A:F45L", "A:T7S", "A:I61V", "A:L67A", "A:Q41N",
                 "A:L43G"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--protocol", choices=["default", "fast"], default="default")
    ap.add_argument("--pdb", default=None)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    import openmm_madrax as omx
    from openmm_madrax import ddg as D

    if args.pdb:
        path, muts = Path(args.pdb), None
    elif LYSOZYME.exists():
        path, muts = LYSOZYME, MUTATIONS_LYSOZYME
    else:
        path, muts = Path(omx.__file__).parent / "data" / "1ubi.pdb", MUTATIONS_UBI
    protocol = D.Protocol.fast() if args.protocol == "fast" else D.Protocol()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = omx.load(path, altloc="first", drop_nonstandard=True, repair=True, quiet=True)
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    m = D.MutationModeller(s, protocol=protocol)
    t_setup = time.perf_counter() - t0
    if muts is None:
        k = next(i for i, r in enumerate(s.residues) if r.resname not in ("GLY", "ALA"))
        r = s.residues[k]
        muts = [f"{r.chain_id}:{omx.atomtypes.ONE_LETTER[r.resname]}{r.resseq}A"]
    print(f"structure {s.name}: {s.n_residues} residues, {s.n_atoms} heavy atoms; torch threads {torch.get_num_threads()}; "
          f"protocol {args.protocol}")
    print(f"load {t_load:.2f} s; wild-type repair (once per structure) {t_setup:.2f} s")
    times = []
    for mut in muts:
        t0 = time.perf_counter()
        res = m.mutant(mut)
        dt = time.perf_counter() - t0
        times.append(dt)
        print(f"  {mut:10s} {dt:6.2f} s  ΔΔG(madrax weights) {res['ddg_channels'].sum():8.2f} kcal/mol")
    t0 = time.perf_counter()
    m.mutant(muts[0].rstrip("A") + "G" if muts[0].endswith("A") else muts[0][:-1] + "A")
    t_cached = time.perf_counter() - t0
    print(f"per mutation (mutant + reference): mean {np.mean(times):.2f} s, median {np.median(times):.2f} s, "
          f"max {np.max(times):.2f} s over {len(times)}")
    print(f"second mutation at a site (reference cached): {t_cached:.2f} s")
    print(f"amortised incl. set-up over {len(times)} mutations: {(t_setup + sum(times)) / len(times):.2f} s")


if __name__ == "__main__":
    main()
