"""``openmm-madrax ensemble``: sequence(s) -> weighted conformational ensembles (DCD, PDB, weights, tables, plots)."""
from __future__ import annotations

import os
import time

from ..outputs import check_output_dir
from . import add_structure_options, load_kwargs

HELP = "conformational ensembles of disordered proteins from sequence (MadraX-weighted)"
DESCRIPTION = """Weighted all-heavy-atom conformational ensembles from sequence (docs/ensembles.md).

INPUT is a FASTA file (one ensemble per record), a literal one-letter sequence, or a PDB/mmCIF
file (one ensemble per chain, built from the chain's sequence).  Conformers are grown with
torsions drawn from the project's fitted Ramachandran/omega/rotamer densities, exact ideal
geometry and self-avoidance, then weighted by the MadraX energy at --temperature and
--ionic-strength.  Written to OUTDIR, per record ID:
  ID.dcd, ID.pdb           trajectory (nm) and its topology (first conformer)
  ID_weights.csv           frame, weight, rg_nm, ree_nm, MadraX channel energies
  ID.png                   Rg distribution and CA contact map (--no-plot to skip)
and for all records:
  summary.csv              id, length, n, ess, rg_nm, rg_sd_nm, ree_nm, nu, helix, ppii, ...
  per_residue.csv          id, resnum, resname, helix, ppii (weighted phi/psi basin fractions)

Examples:
  openmm-madrax ensemble proteins.fasta --n 200 -o ens/
  openmm-madrax ensemble MSDNGPQNQRNAPRITFGGPSDSTGSNQNGERSGARSKQRRPQGL --temperature 293 --ionic-strength 0.15 -o ens/
  openmm-madrax ensemble seqs.fasta --n 20 --no-reweight -o quick/      (fast: no MadraX weights)"""


def add_arguments(p) -> None:
    p.add_argument("input", help="FASTA file, one-letter sequence, or PDB/mmCIF file")
    p.add_argument("-o", "--outdir", required=True, help="output directory")
    p.add_argument("--n", type=int, default=200, help="conformers per sequence (default 200)")
    p.add_argument("--temperature", type=float, default=298.0, help="kelvin (default 298)")
    p.add_argument("--ionic-strength", type=float, default=0.15, help="mol/L (default 0.15)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--no-reweight", dest="reweight", action="store_false",
                   help="equal weights, no MadraX energies (about 3x faster)")
    p.add_argument("--energy-scale", type=float, default=None,
                   help="lambda of the weights exp(-lambda E/RT) (default: the cross-validated value, docs/ensembles.md)")
    p.add_argument("--device", default=None, help="torch device (default: cuda when available, else cpu)")
    p.add_argument("--no-plot", dest="plot", action="store_false", help="no per-sequence plot")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    add_structure_options(p)


def _records(text: str, lk: dict):
    from ..ensembles.sequences import parse_input

    kind, recs = parse_input(text)
    if kind != "structure":
        return recs
    from .. import load

    st = load(recs[0][1], **lk)
    base = recs[0][0]
    out = []
    for cid in st.chain_ids:
        seq = st.sequence(cid)
        if len(seq) >= 2:
            out.append((f"{base}_{cid}" if len(st.chain_ids) > 1 else base, seq))
    return out


def run(args) -> int:
    import pandas as pd
    from tqdm.auto import tqdm

    from ..ensembles import DEFAULT_ENERGY_SCALE, build_ensemble
    from ..errors import MadraXError
    from ..threads import torch_threads

    check_output_dir(args.outdir)
    if args.n < 1:
        raise MadraXError(f"--n must be >= 1, got {args.n}")
    if not (200.0 <= args.temperature <= 400.0):
        raise MadraXError(f"--temperature must be in kelvin (200-400), got {args.temperature}")
    if not (0.0 <= args.ionic_strength <= 5.0):
        raise MadraXError(f"--ionic-strength must be in mol/L (0-5), got {args.ionic_strength}")
    records = _records(args.input, load_kwargs(args))
    if not records:
        raise MadraXError(f"{args.input}: no chain with at least 2 residues to build")
    with torch_threads(1):  # small tensors: one torch thread is fastest
        return _run(args, records, pd, tqdm, build_ensemble, DEFAULT_ENERGY_SCALE)


def _run(args, records, pd, tqdm, build_ensemble, default_scale) -> int:
    os.makedirs(args.outdir, exist_ok=True)
    t0 = time.perf_counter()
    rows, per_res = [], []
    it = tqdm(records, desc="ensembles", unit="seq", disable=not args.progress or len(records) < 2)
    for rid, seq in it:
        ens = build_ensemble(seq, args.n, temperature=args.temperature, ionic_strength=args.ionic_strength,
                             seed=args.seed, reweight=args.reweight, progress=args.progress, name=rid,
                             energy_scale=default_scale if args.energy_scale is None else args.energy_scale,
                             device=args.device)
        ens.save(args.outdir, rid)
        if args.plot:
            ens.plot(os.path.join(args.outdir, f"{rid}.png"))
        s = ens.summary()
        s["time_s"] = round(ens.info["time_total_s"], 2)
        rows.append(s)
        pr = ens.per_residue()
        pr.insert(0, "id", rid)
        per_res.append(pr)
    summary = pd.DataFrame(rows)
    summary.to_csv(os.path.join(args.outdir, "summary.csv"), index=False, float_format="%.4f")
    pd.concat(per_res).to_csv(os.path.join(args.outdir, "per_residue.csv"), index=False, float_format="%.4f")
    cols = ["id", "length", "n", "ess", "rg_nm", "rg_sd_nm", "ree_nm", "nu"]
    print(summary[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"{len(records)} ensemble(s) in {time.perf_counter() - t0:.1f} s; outputs in {args.outdir}/")
    return 0
