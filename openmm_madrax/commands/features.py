"""``openmm-madrax features``: trajectory-averaged per-residue physics features (CSV, plot)."""
from __future__ import annotations

import os
import sys
import time

from . import add_structure_options, load_kwargs

HELP = "per-residue physics features of a trajectory (MadraX channels, burial, SASA, DSSP, contacts)"
DESCRIPTION = """Per-residue physics features of an MD trajectory, averaged over frames (docs/features.md).

Per residue and frame: the 11 MadraX channels and their sum, the inter-chain MadraX energy per
channel (several chains / copies), burial, H-bond donor/acceptor satisfaction, SASA and relative
SASA, DSSP secondary structure, contact numbers; per chain: radius of gyration, end-to-end
distance.  Written:
  OUT.csv              one row per residue: FEATURE_mean, FEATURE_std, FEATURE_qNN (frames)
  OUT_protein.csv      fixed-length per-protein vector (name,value)
  OUT_chains.csv       per chain Rg and end-to-end distance (mean, std, quantiles)
  --frames F.npz       per-frame tensor (F x R x K) with names
  --plot P.png         per-residue profile

Two ways in:
  openmm-madrax features TRAJ --top TOP -o features.csv [--stride k] [--plot profile.png]
  openmm-madrax features --simulate STRUCTURE --ns T [--copies 2] -o features.csv
The second prepares the system (amber14 bonded terms + MadraX, replace mode), places --copies
copies --gap A apart (free to meet), minimises, runs Langevin MD with a progress bar and a
checkpoint at every frame (OUT_md.chk; rerunning the same command resumes, a larger --ns extends
the run), then extracts the features from OUT_md.dcd."""


def add_arguments(p) -> None:
    p.add_argument("trajectory", nargs="*", help="trajectory file(s) (DCD, XTC, multi-model PDB, ...), read in order")
    p.add_argument("--top", default=None, help="topology (PDB) of the trajectory, e.g. md's OUT_top.pdb")
    p.add_argument("-o", "--output", required=True, help="per-residue feature table (CSV)")
    p.add_argument("--stride", type=int, default=1, help="use every k-th frame (default 1)")
    p.add_argument("--plot", default=None, help="per-residue profile plot (PNG)")
    p.add_argument("--frames", default=None, help="also save the per-frame tensor (.npz)")
    p.add_argument("--quantiles", type=float, nargs="*", default=[0.1, 0.5, 0.9],
                   help="quantiles over frames in the table (default 0.1 0.5 0.9)")
    p.add_argument("--long", action="store_true", help="write the table in tidy long form (feature, stat, value)")
    p.add_argument("--no-inter", dest="inter", action="store_false", help="skip the inter-chain energy")
    p.add_argument("--burial", choices=["madrax", "foldx"], default="madrax", help="MadraX burial normalisation")
    p.add_argument("--chunk", type=int, default=50, help="frames processed at a time (default 50)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    g = p.add_argument_group("simulation (--simulate)")
    g.add_argument("--simulate", metavar="STRUCTURE", default=None,
                   help="run MadraX MD of this PDB/mmCIF first (replace mode), then extract")
    g.add_argument("--ns", type=float, default=None, help="simulation length in ns (total, counting a resumed run)")
    g.add_argument("--copies", type=int, default=1, help="copies of the chain(s), placed apart (default 1)")
    g.add_argument("--gap", type=float, default=10.0,
                   help="closest heavy-atom distance between copies at the start, A (default 10)")
    g.add_argument("--temperature", type=float, default=300.0, help="kelvin (default 300)")
    g.add_argument("--timestep", type=float, default=2.0, help="fs (default 2)")
    g.add_argument("--report-interval", type=int, default=500, help="steps between frames (default 500)")
    g.add_argument("--minimize-iterations", type=int, default=200, help="L-BFGS iterations first (default 200)")
    g.add_argument("--seed", type=int, default=None, help="random seed")
    g.add_argument("--platform", choices=["CUDA", "OpenCL", "CPU", "Reference"], default=None, help="OpenMM platform")
    g.add_argument("--threads", type=int, default=None, help="OpenMM CPU threads")
    g.add_argument("--no-resume", dest="resume", action="store_false",
                   help="start the simulation over even if OUT_md.chk exists")
    g = p.add_argument_group("many trajectories (--list; docs/dask.md)")
    g.add_argument("--list", metavar="FILE", default=None,
                   help="CSV/TSV with columns trajectory (files of one trajectory joined by ';'), top, name: "
                        "-o gets one row per trajectory with its per-protein feature vector")
    add_structure_options(p)
    from ..batch.cli import add_batch_arguments

    add_batch_arguments(p, "trajectories")


def run(args) -> int:
    from ..batch.cli import batch_requested, run_features
    from ..threads import torch_threads

    if args.list or batch_requested(args):
        if not args.list:
            from ..errors import MadraXError

            raise MadraXError("--workers/--scheduler/--store/--resume go with --list FILE (many trajectories)")
        with torch_threads(1):
            return run_features(args)

    with torch_threads(1):  # small tensors: one torch thread is fastest (docs/features.md)
        return _run(args)


def _run(args) -> int:
    from ..errors import MadraXError
    from ..features import compute_features, features_from_simulation, plot_profile, simulate
    from ..outputs import PLOT_FORMATS, check_output_paths

    check_output_paths((args.output, None, "output"), (args.plot, PLOT_FORMATS, "--plot"),
                       (args.frames, (".npz",), "--frames"))
    t0 = time.perf_counter()
    stem = os.path.splitext(args.output)[0]
    lk = load_kwargs(args)
    if lk.get("repair"):
        raise MadraXError("--repair adds atoms the trajectory does not have; not available for features")
    lk.pop("repair")
    if lk.pop("model", None) is not None:
        raise MadraXError("--model does not apply to trajectories (every frame is used; see --stride)")
    common = dict(stride=args.stride, burial=args.burial, inter_chain=args.inter, quantiles=args.quantiles,
                  chunk=args.chunk, progress=args.progress, **lk)
    if args.simulate:
        if args.trajectory:
            raise MadraXError("give either trajectory files or --simulate STRUCTURE, not both")
        if not args.ns or args.ns <= 0:
            raise MadraXError("--simulate needs --ns T (ns, > 0)")
        run_ = simulate(args.simulate, f"{stem}_md", ns=args.ns, copies=args.copies, gap=args.gap,
                        temperature=args.temperature, timestep_fs=args.timestep,
                        report_interval=args.report_interval, minimize_iterations=args.minimize_iterations,
                        seed=args.seed, platform=args.platform, threads=args.threads, resume=args.resume,
                        progress=args.progress, load_options=lk)
        print(f"trajectory {run_.trajectory} (topology {run_.topology}, energies {run_.energies})", file=sys.stderr)
        feats = features_from_simulation(run_, name=os.path.splitext(os.path.basename(args.simulate))[0], **common)
    else:
        if not args.trajectory:
            raise MadraXError("give a trajectory (TRAJ --top TOP) or --simulate STRUCTURE --ns T")
        paths = args.trajectory if len(args.trajectory) > 1 else args.trajectory[0]
        name = os.path.splitext(os.path.basename(args.trajectory[0]))[0]
        feats = compute_features(paths, args.top, name=name, **common)
    table = feats.residue_table(long=args.long)
    table.to_csv(args.output, index=False, float_format="%.6g")
    vec = feats.protein_vector()
    vec.rename("value").rename_axis("name").to_csv(f"{stem}_protein.csv", float_format="%.6g")
    feats.chain_table().to_csv(f"{stem}_chains.csv", index=False, float_format="%.6g")
    written = [args.output, f"{stem}_protein.csv", f"{stem}_chains.csv"]
    if args.frames:
        feats.save_npz(args.frames)
        written.append(args.frames)
    if args.plot:
        plot_profile(feats, args.plot)
        written.append(args.plot)
    wall = time.perf_counter() - t0
    print(f"{feats.n_frames} frame(s), {feats.n_residues} residues, {feats.chain_frames.shape[1]} chain(s): "
          f"MadraX {vec['madrax_total.total']:.1f} kcal/mol (frame mean), inter-chain {vec['inter_total.total']:.1f}; "
          f"wrote {', '.join(written)} [{wall:.1f} s]", file=sys.stderr)
    return 0
