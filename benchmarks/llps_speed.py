"""Speed of the LLPS predictor (docs/llps.md): one protein from scratch and with a warm cache.

    python benchmarks/llps_speed.py [--length 500] [--repeats 3] [--threads 1] [--weights W.pt]

From scratch = a fresh physics cache folder per repeat (conformers, encounter complexes, MadraX,
metapredict disorder, network, attributions), after one warm-up protein that loads the
libraries (imports and weights are not counted).  Warm = the same protein again (physics and
disorder read from the cache).  Prints a table with medians over repeats.  Also summarises a
featurisation log (``--featurise-log``: the output of ``openmm-madrax llps featurise``).
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--length", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--weights", default=None)
    ap.add_argument("--featurise-log", default=None)
    ap.add_argument("--sample-training", type=int, default=0, metavar="N",
                    help="also featurise N training proteins (a cluster-random sample, no cache) and extrapolate "
                         "the CPU time of the whole training set")
    a = ap.parse_args(argv)
    import numpy as np
    import torch

    torch.set_num_threads(a.threads)
    from openmm_madrax.llps import LLPSPredictor

    rng = np.random.default_rng(0)
    # a natural-like composition (PPMC training-set residue frequencies, rounded)
    freq = dict(L=8.9, A=7.7, S=7.6, G=7.4, E=6.9, V=6.3, K=5.9, P=5.7, T=5.6, R=5.4, D=5.3, I=4.9, Q=4.5, N=4.2,
                F=3.5, Y=2.9, M=2.4, H=2.3, C=1.5, W=1.2)
    letters = list(freq)
    p = np.array([freq[c] for c in letters])
    p /= p.sum()
    cold, warm = [], []
    with tempfile.TemporaryDirectory() as tmp:
        pred = LLPSPredictor.load(a.weights, cache=os.path.join(tmp, "warmup"))
        pred.predict({"warmup": "".join(rng.choice(letters, 60, p=p))}, progress=False)
        for r in range(a.repeats):
            seq = "".join(rng.choice(letters, a.length, p=p))
            pred = LLPSPredictor.load(a.weights, cache=os.path.join(tmp, f"c{r}"))
            t = time.perf_counter()
            pred.predict({"x": seq}, progress=False)
            cold.append(time.perf_counter() - t)
            t = time.perf_counter()
            pred.predict({"x": seq}, progress=False)
            warm.append(time.perf_counter() - t)
    print(f"| protein | threads | from scratch (s, median of {a.repeats}) | warm cache (s) |")
    print("|---|---|---|---|")
    print(f"| random {a.length} aa (natural composition) | {a.threads} | {statistics.median(cold):.2f} "
          f"(min {min(cold):.2f}, max {max(cold):.2f}) | {statistics.median(warm):.3f} |")
    if a.sample_training:
        from openmm_madrax.llps.featurise import training_sequences
        from openmm_madrax.llps.physics import PhysicsEncoder, PhysicsOptions

        seqs = training_sequences()
        total = sum(len(q) for q in seqs)
        pick = np.random.default_rng(1).choice(len(seqs), a.sample_training, replace=False)
        enc = PhysicsEncoder(PhysicsOptions())
        cpu = wall = res = 0
        for i in pick:
            t, c = time.perf_counter(), time.process_time()
            enc.profile(seqs[i])
            wall += time.perf_counter() - t
            cpu += time.process_time() - c
            res += len(seqs[i])
        per = cpu / res
        print(f"\nfeaturisation sample: {a.sample_training} training sequences, {res} residues: "
              f"{1000 * per:.2f} ms CPU per residue ({1000 * wall / res:.2f} ms wall); whole training set "
              f"({len(seqs)} sequences, {total} residues): {per * total / 60:.0f} CPU-min, i.e. "
              f"{per * total / 120:.0f} min on 2 free cores")
    if a.featurise_log:
        text = open(a.featurise_log).read()
        m = re.findall(r"\[featurise\] done: \{'proteins': (\d+), 'residues': (\d+), 'cached': (\d+), "
                       r"'seconds': ([\d.]+)\}", text)
        if m:
            n, res, cached, sec = m[-1]
            print(f"\nfeaturisation: {n} proteins, {res} residues ({cached} already cached), "
                  f"{float(sec) / 60:.1f} min wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
