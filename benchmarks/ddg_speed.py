"""Seconds per single mutation (ΔΔG incl. rotamer choice and relaxation), docs/ddg.md.

    python benchmarks/ddg_speed.py [--threads 1] [--protocol default --protocol legacy] [--pdb FILE]

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


def run_protocol(s, name, muts):
    from openmm_madrax import ddg as D

    protocol = {"default": D.Protocol, "fast": D.Protocol.fast, "legacy": D.Protocol.legacy}[name]()
    t0 = time.perf_counter()
    m = D.MutationModeller(s, protocol=protocol)
    t_setup = time.perf_counter() - t0
    ws = D.weight_set("calibrated" if name != "legacy" else "madrax")
    times = []
    for mut in muts:
        t0 = time.perf_counter()
        res = m.mutant(mut)
        dt = time.perf_counter() - t0
        times.append(dt)
        print(f"  [{name}] {mut:10s} {dt:6.2f} s  ΔΔG ({ws.name}) {ws.apply(res['ddg_channels'], res['ddg_terms']):8.2f} "
              "kcal/mol")
    t0 = time.perf_counter()
    m.mutant(muts[0].rstrip("A") + "G" if muts[0].endswith("A") else muts[0][:-1] + "A")
    t_cached = time.perf_counter() - t0
    return {"protocol": name, "setup": t_setup, "mean": float(np.mean(times)), "median": float(np.median(times)),
            "max": float(np.max(times)), "cached": t_cached, "amortised": (t_setup + sum(times)) / len(times)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--protocol", action="append", choices=["default", "fast", "legacy"], default=None,
                    help="protocol(s) to time in this run (repeatable; default: default and legacy)")
    ap.add_argument("--pdb", default=None)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    import openmm_madrax as omx
    from openmm_madrax.residues import ONE_LETTER

    if args.pdb:
        path, muts = Path(args.pdb), None
    elif LYSOZYME.exists():
        path, muts = LYSOZYME, MUTATIONS_LYSOZYME
    else:
        path, muts = Path(omx.__file__).parent / "data" / "1ubi.pdb", MUTATIONS_UBI
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from openmm_madrax.ddg.prepare import prepare_structure

        s, _ = prepare_structure(path, warn=False)
    t_load = time.perf_counter() - t0
    if muts is None:
        k = next(i for i, r in enumerate(s.residues) if r.resname not in ("GLY", "ALA"))
        r = s.residues[k]
        muts = [f"{r.chain_id}:{ONE_LETTER[r.resname]}{r.resseq}A"]
    protocols = args.protocol or ["default", "legacy"]
    print(f"structure {s.name}: {s.n_residues} residues, {s.n_atoms} heavy atoms; torch threads "
          f"{torch.get_num_threads()}; reading + preparation {t_load:.2f} s")
    rows = [run_protocol(s, name, muts) for name in protocols]
    print("\n| protocol | wild-type repair (once) s | per mutation mean s | median s | max s | reference cached s | "
          "amortised s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['protocol']} | {r['setup']:.2f} | {r['mean']:.2f} | {r['median']:.2f} | {r['max']:.2f} | "
              f"{r['cached']:.2f} | {r['amortised']:.2f} |")
    if len(rows) > 1:
        print(f"median ratio {rows[0]['protocol']}/{rows[1]['protocol']}: {rows[0]['median'] / rows[1]['median']:.2f}")


if __name__ == "__main__":
    main()
