"""Forward/reverse self-consistency of the ΔΔG protocol (issue 17, item 5).

    python benchmarks/ddg_reverse.py [--n 40] [--protocol default] [--weights calibrated]

Two kinds of pairs, both printed with the mean bias ΔΔG(A->B) + ΔΔG(B->A) and its 95 % interval:

* built: A->B on the wild type, then B->A on the *built* mutant (its structure and coordinates as
  the protocol left them, no second repair), for ``--n`` single mutations drawn with a fixed seed
  from the mega-scale and Guerois sets (../shared/data);
* experimental: A->B on the wild-type entry and B->A on the *experimental mutant structure* of the
  Guerois PDB set (T4 lysozyme mutant entries, found by scripts/ddg_pairs.py: same protein, the
  site differs and nothing else).

Exactly 0 is expected for X->X (tested in tests/test_ddg.py); here the pairs are not identities.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))


def interval(x):
    x = np.asarray(x, float)
    from scipy.stats import t

    hw = t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)) if len(x) > 1 else float("nan")
    return float(x.mean()), float(hw)


def main(argv=None) -> int:
    import torch

    import ddg_data
    import ddg_pairs
    from openmm_madrax import mutate as mt
    from openmm_madrax.ddg import MutationModeller, Protocol, weight_set

    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=40, help="built-mutant pairs (default 40)")
    p.add_argument("--n-exp", type=int, default=20, help="experimental-structure pairs (default 20)")
    p.add_argument("--protocol", choices=["default", "fast", "legacy"], default="default")
    p.add_argument("--weights", default="calibrated")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "ddg_reverse.csv"))
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    protocol = {"default": Protocol, "fast": Protocol.fast, "legacy": Protocol.legacy}[args.protocol]()
    ws = weight_set(args.weights)
    warnings.simplefilter("ignore")

    d = ddg_data.dataset()
    single = d[(d["n_points"] == 1) & ~d["mutant"].str.startswith("!")]
    pick = single.groupby("set", group_keys=False).apply(lambda g: g.sample(n=args.n // 2, random_state=7))
    rows = []
    modellers = {}
    t0 = time.perf_counter()
    for r in pick.itertuples():
        if r.pdb_path not in modellers:
            modellers[r.pdb_path] = MutationModeller(r.pdb_path, protocol=protocol)
        m = modellers[r.pdb_path]
        fwd = m.mutant(r.mutant)
        built = fwd["mut"]["structure"].with_coords(fwd["mut"]["coords"])
        back = MutationModeller(built, protocol=dataclasses.replace(protocol, repair=False))
        rev = back.mutant(mt.parse_mutation(r.mutant).reverse().label)
        f = ws.apply(fwd["ddg_channels"], fwd["ddg_terms"]) - ws.intercept
        b = ws.apply(rev["ddg_channels"], rev["ddg_terms"]) - ws.intercept
        rows.append({"kind": "built", "id": r.id, "mutant": r.mutant, "fwd": f, "rev": b, "sum": f + b,
                     "size_class": r.size_class})
    pairs = pd.DataFrame(ddg_pairs.find_pairs()).drop_duplicates("id")
    # one pair per mutation: forward on the wild-type entry Q, reverse on the mutant entry P
    pairs = pairs[pairs["pdb_Q"].isin(["1L63", "2LZM"])].head(args.n_exp)
    path = ddg_data.GUEROIS_DIR / "pdbs"
    for r in pairs.itertuples():
        for pdb in (r.pdb_Q, r.pdb_P):
            if pdb not in modellers:
                modellers[pdb] = MutationModeller(str(path / f"{pdb}.pdb"), protocol=protocol)
        fwd = modellers[r.pdb_Q].mutant(r.mutant_Q)
        rev = modellers[r.pdb_P].mutant(r.mutant_P)
        f = ws.apply(fwd["ddg_channels"], fwd["ddg_terms"]) - ws.intercept
        b = ws.apply(rev["ddg_channels"], rev["ddg_terms"]) - ws.intercept
        rows.append({"kind": "experimental", "id": r.id, "mutant": f"{r.pdb_Q}:{r.mutant_Q} / {r.pdb_P}:{r.mutant_P}",
                     "fwd": f, "rev": b, "sum": f + b, "size_class": ""})
    df = pd.DataFrame(rows)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out, index=False)
    print(f"protocol {args.protocol}, weights {ws.name} (intercept left out: it cancels in a ΔΔG, not in a sum of "
          f"two), {args.threads} torch thread(s), {time.perf_counter() - t0:.0f} s")
    print("| pairs | n | mean fwd + rev (kcal/mol) | 95 % interval | mean abs |")
    print("|---|---|---|---|---|")
    for kind, g in df.groupby("kind"):
        m, hw = interval(g["sum"])
        print(f"| {kind} | {len(g)} | {m:+.3f} | +-{hw:.3f} | {g['sum'].abs().mean():.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
