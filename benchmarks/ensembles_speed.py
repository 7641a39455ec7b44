"""Speed of sequence -> weighted ensemble (openmm_madrax.ensembles.build_ensemble), one CPU thread.

    python benchmarks/ensembles_speed.py [--repeats 3] [--lengths 25 50 100 200 400] [--long 1000 2000]

1. The target case: 200 MadraX-weighted conformers of a 150-residue disordered region (the hnRNPA1
   low-complexity domain, 129 residues, extended to 150 by repeating its first 21), default
   settings; median wall time of --repeats runs, split into growth and MadraX energies.
2. Per-conformer cost versus chain length (n = 40 conformers per length; weighted and
   unweighted), the growth and energy parts separately, and the fitted exponent of
   time ~ length^a.
3. --long: a few unweighted conformers of long chains (the LLPS network's cheap setting).
torch runs with one intra-op thread (torch.set_num_threads(1)); the machine's load is printed.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch

from openmm_madrax.ensembles import build_ensemble

LCD = ("MASASSSQRGRSGSGNFGGGRGGGFGGNDNFGRGGNFSGRGGFGGSRGGGGYGGSGDGYNGFGNDGSNFGGGGNYNNQSSNFGPMKGGN"
       "FGGRSSGPYGGGGQYFAKPRNQGGYGGSSSSSSYGSGRRF")
IDR150 = LCD + LCD[:21]


def seq_of_length(n: int) -> str:
    return (LCD * (n // len(LCD) + 1))[:n]


def run(seq, n, reweight, seed=0):
    t0 = time.perf_counter()
    ens = build_ensemble(seq, n, seed=seed, reweight=reweight)
    wall = time.perf_counter() - t0
    return wall, ens.info.get("time_growth_s", float("nan")), ens.info.get("time_energy_s", 0.0), ens


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--lengths", type=int, nargs="*", default=[25, 50, 100, 200, 400])
    p.add_argument("--per-length-n", type=int, default=40)
    p.add_argument("--long", type=int, nargs="*", default=[1000, 2000])
    args = p.parse_args()
    torch.set_num_threads(1)
    print(f"torch threads: {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    build_ensemble("GSGSGSGS", 2)  # warm-up: density tables, imports

    print(f"\n1. {args.n} weighted conformers of a {len(IDR150)}-residue IDR (default settings), {args.repeats} runs")
    rows = [run(IDR150, args.n, True, seed=k) for k in range(args.repeats)]
    walls = [r[0] for r in rows]
    ens = rows[0][3]
    print("| run | wall (s) | growth (s) | MadraX energies (s) | rounds | ESS |")
    print("|---|---|---|---|---|---|")
    for k, (w, g, e, en) in enumerate(rows):
        print(f"| {k} | {w:.1f} | {g:.1f} | {e:.1f} | {en.info['rounds']} | {en.ess:.0f} |")
    print(f"median wall {statistics.median(walls):.1f} s (target <= 30 s); Rg {ens.rg_mean_nm():.2f} nm")

    if args.lengths:
        per_length(args)
    if args.long:
        print("\n3. long chains, 4 unweighted conformers (reweight=False)")
        print("| length | wall (s) | s per conformer |")
        print("|---|---|---|")
        for L in args.long:
            w, g, e, en = run(seq_of_length(L), 4, False)
            print(f"| {L} | {w:.1f} | {w / 4:.1f} |")


def per_length(args):
    print(f"\n2. per-conformer cost vs length (n = {args.per_length_n})")
    print("| length | growth ms/conf | MadraX ms/conf | total weighted ms/conf | unweighted ms/conf |")
    print("|---|---|---|---|---|")
    per = []
    for L in args.lengths:
        s = seq_of_length(L)
        w, g, e, en = run(s, args.per_length_n, True)
        wu, gu, _, _ = run(s, args.per_length_n, False)
        nconf = en.info.get("pool_size", args.per_length_n)
        per.append((L, w / nconf, wu / args.per_length_n))
        print(f"| {L} | {g / args.per_length_n * 1000:.0f} | {e / nconf * 1000:.0f} | {w / nconf * 1000:.0f} | "
              f"{wu / args.per_length_n * 1000:.0f} |")
    Ls = np.log([r[0] for r in per])
    a_w = np.polyfit(Ls, np.log([r[1] for r in per]), 1)[0]
    a_u = np.polyfit(Ls, np.log([r[2] for r in per]), 1)[0]
    print(f"time per conformer ~ length^{a_w:.2f} (weighted), ~ length^{a_u:.2f} (unweighted)")


if __name__ == "__main__":
    main()
