"""Physics profiles of many proteins, in parallel over proteins, into the on-disk cache.

``python -m openmm_madrax.llps.featurise --cache DIR [--processes 2]`` featurises the training
sets (the SIMULATED c_sat regions first, then the PPMC proteins in a cluster-random order, so any
prefix is a cluster-grouped subset) and logs progress (proteins, residues, elapsed, ETA) to stdout.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from typing import Iterable, List, Optional

from .physics import PhysicsCache, PhysicsOptions
from .sequences import clean_sequence, physics_sequence

_CACHE: Optional[PhysicsCache] = None


def _init(directory: str, options: dict, threads: int) -> None:
    global _CACHE
    _CACHE = PhysicsCache(directory, PhysicsOptions(**options))


def _one(seq: str):
    t = time.perf_counter()
    hit = _CACHE.get(seq) is not None
    if not hit:
        _CACHE(seq)
    return len(seq), hit, time.perf_counter() - t


def featurise(sequences: Iterable[str], directory, options: PhysicsOptions = PhysicsOptions(), processes: int = 1,
              log=sys.stdout, every: float = 30.0) -> dict:
    """Physics profiles of ``sequences`` (20-letter physics sequences) into the cache ``directory``.
    Returns counts and wall time."""
    seqs: List[str] = list(dict.fromkeys(sequences))
    opts = {k: v for k, v in options.key().items() if k != "encoder_version"}
    total_res = sum(len(s) for s in seqs)
    t0 = time.perf_counter()
    done = res = hits = 0
    last = 0.0
    args = (str(directory), opts, 1)
    if processes <= 1:
        _init(*args)
        results = map(_one, seqs)
        pool = None
    else:
        pool = mp.get_context("spawn").Pool(processes, initializer=_init, initargs=args)
        results = pool.imap(_one, seqs, chunksize=1)
    try:
        for n, hit, _ in results:
            done += 1
            res += n
            hits += hit
            now = time.perf_counter() - t0
            if now - last >= every or done == len(seqs):
                last = now
                rate = res / max(now, 1e-9)
                eta = (total_res - res) / max(rate, 1e-9)
                print(f"[featurise] {done}/{len(seqs)} proteins, {res}/{total_res} residues, {hits} cached, "
                      f"{now / 60:.1f} min elapsed, ETA {eta / 60:.1f} min", file=log, flush=True)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return {"proteins": len(seqs), "residues": total_res, "cached": hits, "seconds": time.perf_counter() - t0}


def training_sequences(seed: int = 0) -> List[str]:
    """The physics sequences of the c_sat regions and the PPMC proteins, in featurisation order."""
    from .data import cluster_order, csat_table, ppmc_table

    out = [physics_sequence(clean_sequence(s, i)) for i, s in zip(csat_table()["id"], csat_table()["sequence"])]
    p = ppmc_table()
    order = cluster_order(p["cluster"].values, seed)
    out += [physics_sequence(clean_sequence(p["sequence"].iloc[k], p["id"].iloc[k])) for k in order]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", required=True, help="cache directory")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None, help="only the first N sequences (a cluster-grouped subset)")
    a = ap.parse_args(argv)
    seqs = training_sequences()
    if a.limit:
        seqs = seqs[:a.limit]
    info = featurise(seqs, a.cache, PhysicsOptions(), processes=a.processes)
    print(f"[featurise] done: {info}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
