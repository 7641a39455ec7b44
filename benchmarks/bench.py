"""Benchmark suite: ``python benchmarks/bench.py [--systems ...] [--threads 2] [--json out.json]``.

For every system, measured in its own subprocess (so the peak resident memory is that of one
system), on the same machine in the same run:

* MadraX (smooth mode, as in MD; float32 unless ``--dtype float64``): set-up time, time per
  energy, per energy + forces (autograd), per neighbour-list rebuild, and through OpenMM the time
  per MD step in replace mode (amber14 bonded terms + MadraX TorchForce, LangevinMiddle 2 fs,
  HBonds) -- hydrogens added by PDBFixer/Modeller;
* amber14 + GBn2 implicit solvent (NoCutoff, HBonds) on the same topology: time per force
  evaluation (``getState(getForces=True)``) and per MD step;
* the ratios MadraX / amber14+GBn2 (energy+forces vs force evaluation, step vs step).

Systems: Trp-cage (1L2Y), ubiquitin (1UBI, bundled), CBX2 (532 residues, AlphaFold model), a
1,489-residue four-chain complex (3O21, repaired), 1BHL and the largest structure of the
shared set (4JSV, 2,500 residues; MadraX figures only), and synthetic systems of 10k / 50k / 100k heavy
atoms made by tiling copies of ubiquitin on a grid 12 A apart (MadraX energy figures only: the
O(N^2) NoCutoff GBn2 reference and hydrogenation of 100k atoms are not meaningful there).  Set
``--batch`` for the throughput of batched scoring (``score_frames``) of a 1,000-frame ubiquitin
trajectory.  Timings are medians of repeats after a warm-up; torch and OpenMM thread counts are
stated.  Nothing here is a test: the figures go into the README with the command that produced them.
"""
from __future__ import annotations

import argparse
import json
import os
import platform as _platform
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("OPENMM_MADRAX_SHARED", ROOT.parent / "shared"))
BUNDLED = ROOT / "openmm_madrax" / "data" / "1ubi.pdb"

#: name -> dict(path, load options, md: OpenMM MD/GBn2 figures measured, tile: target heavy atoms of a tiled system)
SYSTEMS = {
    "trpcage": dict(path=str(SHARED / "data/structures/nmr/1l2y_trpcage_nmr38.pdb"), load={}, md=True),
    "ubiquitin": dict(path=str(BUNDLED), load={}, md=True),
    "1bhl": dict(path=str(SHARED / "spec/reference/inputs/1BHL.pdb"), load=dict(preprocess="madrax"), md=False),
    "cbx2-532": dict(path=str(SHARED / "data/structures/af_llps/AF-Q14781-F1-model_v2.pdb"), load={}, md=True),
    "3o21-1489": dict(path=str(SHARED / "data/structures/large/3o21.pdb"),
                      load=dict(repair=True, drop_nonstandard=True, altloc="first"), md=True),
    "4jsv-2500": dict(path=str(SHARED / "data/structures/large/4jsv_missing250.pdb"),
                      load=dict(drop_nonstandard=True), md=False),
    "tile-10k": dict(path=str(BUNDLED), load={}, md=False, tile=10_000),
    "tile-50k": dict(path=str(BUNDLED), load={}, md=False, tile=50_000),
    "tile-100k": dict(path=str(BUNDLED), load={}, md=False, tile=100_000),
}
DEFAULT = ["trpcage", "ubiquitin", "1bhl", "cbx2-532", "3o21-1489", "4jsv-2500", "tile-10k", "tile-50k", "tile-100k"]


def _median_time(fn, repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def tiled_structure(structure, target_atoms: int, spacing: float = 12.0):
    """Copies of ``structure`` on a cubic grid (``spacing`` A between bounding boxes), as one
    multi-chain OpenMM topology loaded back into a Structure (each copy its own chain)."""
    import numpy as np
    from openmm import app, unit

    from openmm_madrax import load

    n_copies = max(1, -(-target_atoms // structure.n_atoms))
    xyz = structure.coords - structure.coords.min(0)
    box = xyz.max(0) + spacing
    side = int(np.ceil(n_copies ** (1.0 / 3.0)))
    top = app.Topology()
    positions = []
    k = 0
    for ix in range(side):
        for iy in range(side):
            for iz in range(side):
                if k == n_copies:
                    break
                shift = np.array([ix, iy, iz]) * box
                chain = top.addChain(id=f"C{k}")
                for r in structure.residues:
                    res = top.addResidue(r.resname, chain, id=str(r.resseq))
                    for a in range(r.atom_start, r.atom_stop):
                        name = structure.atom_names[a]
                        top.addAtom(name, app.Element.getBySymbol(name[0]), res)  # protein heavy atoms: C N O S
                        positions.append((xyz[a] + shift) / 10.0)
                k += 1
    return load(top, np.asarray(positions) * unit.nanometer, name=f"{structure.name}x{n_copies}", quiet=True)


def measure_energy(structure, dtype: str, smooth: bool, repeats: int) -> dict:
    import torch

    from openmm_madrax import energy_module

    t0 = time.perf_counter()
    module = energy_module(structure, smooth=smooth, dtype=dtype)
    pos = torch.tensor(structure.coords, dtype=module.radius.dtype)
    module.rebuild(pos)
    setup = time.perf_counter() - t0

    def energy():
        with torch.no_grad():
            module(pos)

    def energy_forces():
        p = pos.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(module(p).sum(), p)

    t_nl = _median_time(lambda: module.rebuild(pos), max(1, repeats // 2))
    t_e = _median_time(energy, repeats)
    t_ef = _median_time(energy_forces, repeats)
    return dict(heavy_atoms=structure.n_atoms, residues=structure.n_residues, setup_s=setup, neighbour_list_ms=1e3 * t_nl,
                energy_ms=1e3 * t_e, energy_forces_ms=1e3 * t_ef, pairs=int(module.occ_i.shape[0]))


def measure_openmm(path: str, load_kwargs: dict, threads: int, precision: str, steps: int, repeats: int) -> dict:
    """MD step (MadraX replace, amber14+GBn2) and force evaluation (amber14+GBn2) through OpenMM."""
    import numpy as np
    import openmm
    from openmm import app, unit

    from openmm_madrax.openmm import prepare_system

    prepared = prepare_system(path, mode="replace", precision=precision, repair=bool(load_kwargs.get("repair")))
    topology, positions, system = prepared
    gbn2 = app.ForceField("amber14-all.xml", "implicit/gbn2.xml").createSystem(
        topology, nonbondedMethod=app.NoCutoff, constraints=app.HBonds)
    platform = openmm.Platform.getPlatformByName("CPU")
    props = {"Threads": str(threads)}
    out = {"atoms": topology.getNumAtoms()}
    if topology.getNumAtoms() > 5000:  # large systems: fewer, shorter blocks (GBn2 NoCutoff is O(N^2))
        steps, repeats = max(1, steps // 5), max(2, repeats // 2)
    for tag, sysm in (("madrax", system), ("amber", gbn2)):
        integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond, 2 * unit.femtosecond)
        integrator.setRandomNumberSeed(7)
        context = openmm.Context(sysm, integrator, platform, props)
        context.setPositions(positions)
        if topology.getNumAtoms() <= 5000:  # a few iterations take minutes for GBn2 on 20k+ atoms
            openmm.LocalEnergyMinimizer.minimize(context, 10.0, 10)
        context.setVelocitiesToTemperature(300 * unit.kelvin, 7)
        out[f"{tag}_ms_force"] = 1e3 * _median_time(lambda c=context: c.getState(getForces=True, getEnergy=True),
                                                    repeats)
        out[f"{tag}_ms_step"] = 1e3 * _median_time(lambda i=integrator: i.step(steps), repeats) / steps
        e = context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
        out[f"{tag}_finite"] = bool(np.isfinite(e))
        del context, integrator
    return out


def measure_batch(n_frames: int, dtype: str, exact: bool) -> dict:
    """Frames/s of batched scoring of a synthetic ubiquitin trajectory (thermal-size noise)."""
    import numpy as np

    from openmm_madrax import load, score_frames

    s = load(str(BUNDLED), quiet=True)
    rng = np.random.default_rng(0)
    frames = s.coords[None] + rng.normal(scale=0.25, size=(n_frames, s.n_atoms, 3))
    score_frames(s, frames[:5], dtype=dtype, smooth=not exact)  # warm-up
    t0 = time.perf_counter()
    score_frames(s, frames, dtype=dtype, smooth=not exact)
    dt = time.perf_counter() - t0
    return dict(frames=n_frames, seconds=dt, frames_per_s=n_frames / dt)


def _child(args) -> int:
    import torch

    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    spec = SYSTEMS[args.system] if args.system != "batch" else None
    baseline = _peak_mb()
    if spec is None:
        res = measure_batch(args.frames, args.dtype, args.exact)
    else:
        from openmm_madrax import load

        s = load(spec["path"], quiet=True, **spec["load"])
        if spec.get("tile"):
            s = tiled_structure(s, spec["tile"])
        res = measure_energy(s, args.dtype, not args.exact, args.repeats)
        res["peak_rss_mb"] = _peak_mb()
        if spec.get("md") and not args.no_md:
            res.update(measure_openmm(spec["path"], spec["load"], args.threads,
                                      "single" if args.dtype == "float32" else "double", args.steps, args.repeats))
    res["baseline_rss_mb"] = baseline
    print(json.dumps(res))
    return 0


def run_all(args):
    rows = []
    for name in args.systems:
        spec = SYSTEMS[name]
        if not os.path.exists(spec["path"]):
            print(f"# skipping {name}: {spec['path']} not found (needs ../shared)", file=sys.stderr)
            continue
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--dtype", args.dtype,
               "--repeats", str(args.repeats), "--threads", str(args.threads), "--steps", str(args.steps)]
        cmd += (["--exact"] if args.exact else []) + (["--no-md"] if args.no_md else [])
        t0 = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            print(f"# {name} failed:\n{out.stderr[-3000:]}", file=sys.stderr)
            continue
        row = json.loads(out.stdout.strip().splitlines()[-1])
        row["system"] = name
        row["wall_s"] = time.perf_counter() - t0
        if "amber_ms_force" in row:
            row["ratio_forces"] = row["energy_forces_ms"] / row["amber_ms_force"]
            row["ratio_step"] = row["madrax_ms_step"] / row["amber_ms_step"]
        rows.append(row)
        print(_format_row(row), flush=True)
    if args.batch:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "batch", "--frames", str(args.frames),
               "--dtype", args.dtype, "--threads", str(args.threads)] + (["--exact"] if args.exact else [])
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode == 0:
            row = json.loads(out.stdout.strip().splitlines()[-1])
            row["system"] = "batch-ubiquitin"
            rows.append(row)
            print(f"# batched scoring, ubiquitin, {row['frames']} frames: {row['frames_per_s']:.1f} frames/s "
                  f"({row['seconds']:.1f} s)", flush=True)
        else:
            print(f"# batch failed:\n{out.stderr[-3000:]}", file=sys.stderr)
    return rows


HEADER = (f"{'system':10s} {'heavy':>7s} {'atoms':>7s} {'E ms':>8s} {'E+F ms':>8s} {'NL ms':>7s} {'RSS MB':>7s} "
          f"{'MD ms':>7s} | {'GBn2 F ms':>9s} {'GBn2 MD':>8s} | {'F ratio':>7s} {'MD ratio':>8s}")


def _format_row(r: dict) -> str:
    def f(key, fmt):
        return format(r[key], fmt) if key in r else "-"

    return (f"{r['system']:10s} {r['heavy_atoms']:7d} {f('atoms', '7d'):>7s} {r['energy_ms']:8.1f} "
            f"{r['energy_forces_ms']:8.1f} {r['neighbour_list_ms']:7.1f} {r['peak_rss_mb']:7.0f} "
            f"{f('madrax_ms_step', '7.1f'):>7s} | {f('amber_ms_force', '9.1f'):>9s} {f('amber_ms_step', '8.1f'):>8s} | "
            f"{f('ratio_forces', '7.3f'):>7s} {f('ratio_step', '8.3f'):>8s}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python benchmarks/bench.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--systems", nargs="+", default=DEFAULT, choices=list(SYSTEMS))
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--exact", action="store_true", help="exact mode (default: smooth, as used in MD)")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats per figure (median reported)")
    p.add_argument("--steps", type=int, default=10, help="MD steps per timed block")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads and OpenMM CPU threads")
    p.add_argument("--no-md", action="store_true", help="skip the OpenMM MD/force figures (MadraX energy only)")
    p.add_argument("--batch", action="store_true", help="also time batched scoring of a 1,000-frame trajectory")
    p.add_argument("--frames", type=int, default=1000)
    p.add_argument("--json", default=None, help="write the rows to this JSON file")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        args.system = args.child
        return _child(args)
    import torch

    print(f"# openmm-madrax benchmark: torch {torch.__version__}, {args.threads} torch threads and {args.threads} "
          f"OpenMM CPU threads, {'exact' if args.exact else 'smooth'} {args.dtype}, median of {args.repeats} after "
          f"warm-up, {_platform.processor() or _platform.machine()}, {os.cpu_count()} CPUs")
    print("# E = energy, E+F = energy + forces (torch autograd), NL = neighbour-list rebuild, RSS = peak memory "
          "of the process, MD = ms per MD step in OpenMM (replace mode; LangevinMiddle, timed at 2 fs: the cost does not depend on the step); GBn2 = amber14+GBn2 (NoCutoff); "
          "F ratio = MadraX E+F / GBn2 force evaluation; MD ratio = MadraX step / GBn2 step")
    print(HEADER)
    rows = run_all(args)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=1))
    tiles = [r for r in rows if r["system"].startswith("tile-")]
    if len(tiles) >= 2:
        a, b = tiles[0], tiles[-1]
        print(f"# scaling {a['system']} -> {b['system']}: heavy atoms x{b['heavy_atoms'] / a['heavy_atoms']:.1f}, "
              f"E+F time x{b['energy_forces_ms'] / a['energy_forces_ms']:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
