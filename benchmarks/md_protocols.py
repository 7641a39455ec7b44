"""MD of folded (and disordered) proteins under each MD protocol: one command per table row.

    python benchmarks/md_protocols.py run PROTEIN MODE [--ps 100] [--scale S] [--out-dir benchmarks/out/md]
    python benchmarks/md_protocols.py analyse [CSV ...]          # DSSP + MadraX score from the saved frames
    python benchmarks/md_protocols.py table [--out docs/md_stability]   # CSV + plot + markdown table

PROTEIN: ubiquitin (1UBI, the bundled openmm_madrax/data/1ubi.pdb), bpti (5PTI, altloc by occupancy,
heterogens dropped), lysozyme (1AKI), hnrnpa1_lcd (residues 186-314 of the CALVADOS hnRNPA1 model, a
disordered domain; see --help of the "run" command).

MODE:
  amber          amber14-all + implicit/gbn2 (GBn2), CutoffNonPeriodic 1.2 nm (the reference)
  replace-old    MadraX replace mode as it was before issue 13 (MD setting smoothing=3, hbond_tau=1,
                 peptide_bond channel out, amber bonded terms + scaled 1-4 LJ and Coulomb pairs,
                 burial="madrax")
  replace        MadraX replace mode with the current defaults of create_system
  add            amber14 + GBn2 (NoCutoff unless --cutoff) + MadraX x --scale (default 0.25)
  (any extra "--force-option key=value" is passed to the MadraXForce, to test settings)

Protocol of every row: hydrogens added at pH 7 (prepare_system), 500 L-BFGS iterations
(LocalEnergyMinimizer, tolerance 10 kJ/mol/nm), velocities at 300 K, LangevinMiddle 300 K, friction 1/ps,
2 fs, HBonds constraints, seed 2024, OpenMM CPU platform with --threads (default 1) and 1 torch thread.
Every --report-ps (1 ps) a frame goes to OUT.dcd and a row (energies, temperature, C-alpha RMSD to the
input structure after superposition) to OUT.csv; a checkpoint is kept, so a stopped run continues with
--resume.  ``analyse`` adds DSSP fractions (mdtraj, simplified: H = H/G/I, E = E/B), the radius of
gyration and the MadraX score (float64, scoring setting, kcal/mol) of each frame.
"""
from __future__ import annotations

import argparse
import copy
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data" / "structures"
if not SHARED.exists():
    SHARED = Path("/work/shared/data/structures")
OUT_DIR = ROOT / "benchmarks" / "out" / "md"

PROTEINS = {
    "ubiquitin": dict(path=str(ROOT / "openmm_madrax" / "data" / "1ubi.pdb"), label="ubiquitin (1UBI)"),
    "bpti": dict(path=str(SHARED / "small" / "5pti_bpti.cif"), label="BPTI (5PTI)"),
    "lysozyme": dict(path=str(SHARED / "medium" / "1aki_lysozyme.pdb"), label="hen lysozyme (1AKI)"),
    "hnrnpa1_lcd": dict(path=str(SHARED / "af_llps" / "CALVADOS_hnRNPA1S.pdb"), label="hnRNPA1 LCD 186-314",
                        residues=(186, 314)),
}
MODES = ("amber", "replace-old", "replace", "add")


def ca_rmsd(x: np.ndarray, ref: np.ndarray) -> float:
    """RMSD after optimal superposition (Kabsch), same units as the input."""
    a = x - x.mean(axis=0)
    b = ref - ref.mean(axis=0)
    u, s, vt = np.linalg.svd(a.T @ b)
    s[-1] *= np.sign(np.linalg.det(u @ vt))
    e = (a ** 2).sum() + (b ** 2).sum() - 2.0 * s.sum()
    return float(np.sqrt(max(e, 0.0) / len(x)))


def input_structure(protein: str):
    """The protein as an openmm_madrax Structure (heavy atoms of standard residues, one altloc)."""
    import openmm_madrax as omx

    spec = PROTEINS[protein]
    s = omx.load(spec["path"], altloc="occupancy", drop_nonstandard=True, quiet=True)
    if "residues" in spec:
        lo, hi = spec["residues"]
        from openmm import app

        pdb = app.PDBFile(_as_file(s.to_pdb()))
        modeller = app.Modeller(pdb.topology, pdb.positions)
        modeller.delete([r for r in modeller.topology.residues() if not lo <= int(r.id) <= hi])
        return modeller.topology, modeller.positions
    return s


def _as_file(text: str):
    import io

    return io.StringIO(text)


def parse_options(items):
    """KEY=VALUE strings -> MadraXForce options; "w.CHANNEL=x" sets channel_weights (on top of the
    default {"peptide_bond": 0})."""
    out = {}
    for item in items or []:
        key, _, value = item.partition("=")
        if key.startswith("w."):
            out.setdefault("channel_weights", {"peptide_bond": 0.0})[key[2:]] = float(value)
            continue
        try:
            out[key] = float(value) if "." in value or "e" in value.lower() else int(value)
        except ValueError:
            out[key] = {"true": True, "false": False}.get(value.lower(), value)
    return out


def build(protein: str, mode: str, scale: float, cutoff, force_options: dict):
    """(topology, positions, system, description) of one row."""
    from openmm import app, unit

    from openmm_madrax.openmm import prepare_system

    source = input_structure(protein)
    opts = dict(force_options)
    if mode == "replace-old":
        opts = dict(dict(smoothing=3.0, hbond_tau=1.0, channel_weights={"peptide_bond": 0.0}, keep_14=True,
                         burial="madrax"), **opts)
        prepared = prepare_system(source, mode="replace", **opts)
        desc = "MadraX replace (before issue 13)"
    elif mode == "replace":
        prepared = prepare_system(source, mode="replace", **opts)
        desc = "MadraX replace"
    elif mode == "add":
        prepared = prepare_system(source, mode="add", scale=scale, **opts)
        desc = f"amber14+GBn2 + MadraX x {scale:g}"
    else:
        prepared = prepare_system(source, mode="replace")
        desc = "amber14+GBn2"
    topology, positions, system = prepared
    if mode == "amber":
        kw = dict(nonbondedMethod=app.CutoffNonPeriodic, nonbondedCutoff=(cutoff or 1.2) * unit.nanometer)
        system = app.ForceField("amber14-all.xml", "implicit/gbn2.xml").createSystem(
            topology, constraints=app.HBonds, **kw)
        desc += f", cutoff {cutoff or 1.2:g} nm"
    elif mode == "add" and cutoff:
        # the amber14+GBn2 System of the reference (CutoffNonPeriodic, built by the force field so that
        # GBn2 gets its cutoff form) + the same MadraX force
        system = app.ForceField("amber14-all.xml", "implicit/gbn2.xml").createSystem(
            topology, constraints=app.HBonds, nonbondedMethod=app.CutoffNonPeriodic,
            nonbondedCutoff=cutoff * unit.nanometer)
        system.addForce(copy.deepcopy(prepared.madrax))  # the same MadraX force (a copy: a System owns its forces)
        desc += f", cutoff {cutoff:g} nm"
    if force_options:
        desc += " (" + ", ".join(f"{k}={v}" for k, v in force_options.items()) + ")"
    return topology, positions, system, desc


def cmd_run(args):
    import openmm
    import pandas as pd
    import torch
    from openmm import app, unit

    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    opts = parse_options(args.force_option)
    tag = args.tag or (f"{args.protein}_{args.mode}" + (f"{args.scale:g}" if args.mode == "add" else ""))
    out = Path(args.out_dir) / tag
    out.parent.mkdir(parents=True, exist_ok=True)
    topology, positions, system, desc = build(args.protein, args.mode, args.scale, args.cutoff, opts)
    if not args.resume or not Path(f"{out}_top.pdb").exists():
        with open(f"{out}_top.pdb", "w") as fh:
            app.PDBFile.writeFile(topology, positions, fh, keepIds=True)
    platform = openmm.Platform.getPlatformByName(args.platform)
    props = {"Threads": str(args.threads)} if args.platform == "CPU" else {}
    integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond, args.timestep * unit.femtosecond)
    integrator.setRandomNumberSeed(args.seed)
    sim = app.Simulation(topology, system, integrator, platform, props)
    ca = [a.index for a in topology.atoms() if a.name == "CA"]
    ref = np.asarray(positions.value_in_unit(unit.angstrom))[ca]
    n_dof = 3 * system.getNumParticles() - system.getNumConstraints() - 3
    kb = unit.MOLAR_GAS_CONSTANT_R.value_in_unit(unit.kilojoule_per_mole / unit.kelvin)
    rows = []
    t0_wall = time.perf_counter()
    if args.resume and Path(f"{out}.chk").exists():
        sim.loadCheckpoint(f"{out}.chk")
        rows = pd.read_csv(f"{out}.csv").to_dict("records")
        rows = [r for r in rows if r["time_ps"] <= sim.context.getState().getTime().value_in_unit(unit.picosecond) + 1e-6]
        append = True
        print(f"# {tag}: resumed at {rows[-1]['time_ps']:g} ps", file=sys.stderr)
    else:
        sim.context.setPositions(positions)
        openmm.LocalEnergyMinimizer.minimize(sim.context, 10.0, 500)
        sim.context.setVelocitiesToTemperature(300 * unit.kelvin, args.seed)
        sim.context.setTime(0.0)
        append = False
    steps = int(round(args.report_ps / (args.timestep * 1e-3)))
    dcd = app.DCDReporter(f"{out}.dcd", steps, append=append and Path(f"{out}.dcd").exists())
    print(f"# {tag}: {desc}; {topology.getNumAtoms()} atoms, {topology.getNumResidues()} residues, "
          f"{args.ps:g} ps, platform {platform.getName()} {props}", file=sys.stderr)

    def record(wall_offset):
        st = sim.context.getState(getEnergy=True, getPositions=True)
        t = st.getTime().value_in_unit(unit.picosecond)
        epot = st.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
        ekin = st.getKineticEnergy().value_in_unit(unit.kilojoule_per_mole)
        x = st.getPositions(asNumpy=True).value_in_unit(unit.angstrom)
        finite = bool(np.isfinite(epot) and np.isfinite(x).all())
        groups = {}
        for g in sorted({f.getForceGroup() for f in system.getForces()}):
            groups[f"group{g}_kj"] = sim.context.getState(getEnergy=True, groups={g}).getPotentialEnergy() \
                .value_in_unit(unit.kilojoule_per_mole)
        row = dict(protein=args.protein, mode=args.mode, run=desc, tag=tag, time_ps=round(t, 6), potential_kj=epot,
                   kinetic_kj=ekin, temperature_k=2 * ekin / (n_dof * kb),
                   ca_rmsd_a=ca_rmsd(x[ca], ref) if finite else math.nan, finite=finite,
                   wall_s=wall_offset + time.perf_counter() - t0_wall, **groups)
        rows.append(row)
        dcd.report(sim, st)
        pd.DataFrame(rows).to_csv(f"{out}.csv", index=False, float_format="%.5g")
        print(f"  {tag} {t:7.1f} ps  T {row['temperature_k']:6.1f} K  CA-RMSD {row['ca_rmsd_a']:5.2f} A  "
              f"Epot {epot:10.1f}  [{row['wall_s']:.0f} s]", file=sys.stderr, flush=True)
        return finite

    wall_offset = float(rows[-1]["wall_s"]) if rows else 0.0
    if not rows:
        record(wall_offset)
    while rows[-1]["time_ps"] < args.ps - 1e-6:
        try:
            sim.step(steps)
        except openmm.OpenMMException as exc:
            print(f"  {tag}: failed after {rows[-1]['time_ps']:g} ps: {str(exc).splitlines()[-1][:160]}",
                  file=sys.stderr)
            rows.append(dict(rows[-1], time_ps=rows[-1]["time_ps"] + args.report_ps, finite=False,
                             ca_rmsd_a=math.nan))
            pd.DataFrame(rows).to_csv(f"{out}.csv", index=False, float_format="%.5g")
            break
        if not record(wall_offset):
            break
        sim.saveCheckpoint(f"{out}.chk")
    print(f"# {tag}: done, wrote {out}.csv / .dcd", file=sys.stderr)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="one MD run (one table row)")
    r.add_argument("protein", choices=sorted(PROTEINS))
    r.add_argument("mode", choices=MODES)
    r.add_argument("--ps", type=float, default=100.0)
    r.add_argument("--report-ps", type=float, default=1.0)
    r.add_argument("--timestep", type=float, default=2.0, help="fs")
    r.add_argument("--scale", type=float, default=0.25, help="madrax_scale in add mode")
    r.add_argument("--cutoff", type=float, default=None, help="nm; amber default 1.2; add mode default NoCutoff")
    r.add_argument("--threads", type=int, default=1, help="OpenMM CPU threads")
    r.add_argument("--platform", default="CPU")
    r.add_argument("--seed", type=int, default=2024)
    r.add_argument("--force-option", action="append", metavar="KEY=VALUE", help="MadraXForce option (repeatable)")
    r.add_argument("--tag", default=None, help="output name (default PROTEIN_MODE[SCALE])")
    r.add_argument("--out-dir", default=str(OUT_DIR))
    r.add_argument("--resume", action="store_true")
    a = sub.add_parser("analyse", help="DSSP / Rg / MadraX score of saved runs")
    a.add_argument("csv", nargs="+")
    a.add_argument("--forces", action="store_true", help="also per-channel RMS forces on the MD surface")
    a.add_argument("--smoothing", type=float, default=3.0)
    a.add_argument("--hbond-tau", type=float, default=1.0)
    a.add_argument("--burial", default="madrax")
    t = sub.add_parser("table", help="docs table and plot")
    t.add_argument("--out", default=str(ROOT / "docs" / "md_stability"))
    t.add_argument("--out-dir", default=str(OUT_DIR))
    m = sub.add_parser("summary", help="one line per analysed CSV (diagnostic runs)")
    m.add_argument("csv", nargs="+")
    m.add_argument("--at", type=float, default=10.0, help="time (ps) of the values (default 10)")
    args = p.parse_args(argv)
    if args.command == "summary":
        return cmd_summary(args)
    if args.command == "run":
        cmd_run(args)
    elif args.command == "analyse":
        cmd_analyse(args)
    else:
        cmd_table(args)


def dssp_fractions(traj):
    """(helix, strand) fraction of residues per frame (mdtraj simplified DSSP: H = H/G/I, E = E/B)."""
    import mdtraj as md

    prot = traj.atom_slice(traj.topology.select("protein"))
    codes = md.compute_dssp(prot, simplified=True)
    n = codes.shape[1]
    return (codes == "H").sum(1) / n, (codes == "E").sum(1) / n


def frame_analysis(top_pdb, dcd, *, forces=False, smoothing=3.0, hbond_tau=1.0, burial="madrax", stride=1):
    """Per-frame DataFrame: DSSP fractions, Rg, MadraX channels (scoring setting, float64), and with
    ``forces`` the RMS force per heavy atom of each channel on the given MD surface (kcal/mol/A)."""
    import mdtraj as md
    import pandas as pd
    import torch

    import openmm_madrax as omx
    from openmm_madrax.params import CHANNELS

    traj = md.load(dcd, top=top_pdb, stride=stride)
    ref = md.load(top_pdb)
    s = omx.load(top_pdb, quiet=True)
    idx = np.asarray(s.source_index)
    score = omx.energy_module(s, smooth=True, dtype="float64", burial=burial)
    md_surface = omx.energy_module(s, smooth=True, dtype="float64", smoothing=smoothing, hbond_tau=hbond_tau,
                                   burial=burial) if forces else None
    helix, strand = dssp_fractions(traj)
    h0, e0 = dssp_fractions(ref)
    rg = md.compute_rg(traj.atom_slice(traj.topology.select("not element H")))
    rows = []
    for k in range(traj.n_frames):
        x = torch.as_tensor(traj.xyz[k][idx] * 10.0, dtype=torch.float64)
        with torch.no_grad():
            e = score(x).sum(0).numpy()
        row = {"frame": k, "helix_frac": helix[k], "strand_frac": strand[k], "helix_frac_ref": h0[0],
               "strand_frac_ref": e0[0], "rg_nm": rg[k], "madrax_score_kcal": float(e.sum())}
        row.update({f"score_{c}": float(v) for c, v in zip(CHANNELS, e)})
        if forces:
            xg = x.clone().requires_grad_(True)
            tot = md_surface(xg).sum(0)
            for c, name in enumerate(CHANNELS):
                if not tot[c].requires_grad:
                    row[f"frms_{name}"] = 0.0
                    continue
                (g,) = torch.autograd.grad(tot[c], xg, retain_graph=True, allow_unused=True)
                row[f"frms_{name}"] = 0.0 if g is None else float(g.norm(dim=1).pow(2).mean().sqrt())
                row[f"md_{name}"] = float(tot[c].detach())
        rows.append(row)
    return pd.DataFrame(rows)


def cmd_analyse(args):
    import pandas as pd
    import torch

    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    for path in args.csv:
        base = str(path)[:-4]
        runs = pd.read_csv(path)
        ok = runs[runs.finite.astype(bool)].reset_index(drop=True)
        fa = frame_analysis(f"{base}_top.pdb", f"{base}.dcd", forces=args.forces, smoothing=args.smoothing,
                            hbond_tau=args.hbond_tau, burial=args.burial)
        n = min(len(ok), len(fa))
        out = pd.concat([ok.iloc[:n].reset_index(drop=True), fa.iloc[:n].drop(columns="frame")], axis=1)
        suffix = "_forces" if args.forces else "_analysed"
        out.to_csv(f"{base}{suffix}.csv", index=False, float_format="%.5g")
        last = out.iloc[-1]
        print(f"{Path(base).name}: {n} frames, t = {last.time_ps:g} ps, CA-RMSD {last.ca_rmsd_a:.2f} A, helix "
              f"{last.helix_frac:.2f} (start {out.helix_frac.iloc[0]:.2f}), strand {last.strand_frac:.2f} (start "
              f"{out.strand_frac.iloc[0]:.2f}), Rg {last.rg_nm:.3f} nm -> {base}{suffix}.csv")


#: rows of the README table: (protein, tag) in order; tags are the CSV names under --out-dir
TABLE_ROWS = [
    ("ubiquitin", "ubiquitin_amber"), ("ubiquitin", "ubiquitin_replace-old"), ("ubiquitin", "ubiquitin_replace"),
    ("ubiquitin", "ubiquitin_add0.25"),
    ("bpti", "bpti_amber"), ("bpti", "bpti_replace-old"), ("bpti", "bpti_replace"), ("bpti", "bpti_add0.25"),
    ("lysozyme", "lysozyme_amber"), ("lysozyme", "lysozyme_replace-old"), ("lysozyme", "lysozyme_replace"),
    ("lysozyme", "lysozyme_add0.25"),
    ("hnrnpa1_lcd", "hnrnpa1_lcd_replace"), ("hnrnpa1_lcd", "hnrnpa1_lcd_add0.25"),
]


def _at(df, t):
    near = df.iloc[(df.time_ps - t).abs().argsort()[:1]]
    return float(near.ca_rmsd_a.iloc[0]) if abs(float(near.time_ps.iloc[0]) - t) < 0.51 else math.nan


def summarise(df):
    ok = df[df.finite.astype(bool)]
    end = float(ok.time_ps.max())
    late = ok[ok.time_ps >= min(20.0, end / 2)]
    last = ok[ok.time_ps >= end - min(20.0, end / 2)]
    steps_wall = (float(ok.wall_s.iloc[-1]) - float(ok.wall_s.iloc[0])) / max(end - float(ok.time_ps.iloc[0]), 1e-9)
    return dict(run=df.run.iloc[0], ps=end, nan=not bool(df.finite.astype(bool).all()),
                t_mean=float(ok.temperature_k.iloc[1:].mean()), rmsd10=_at(ok, 10), rmsd50=_at(ok, 50),
                rmsd100=_at(ok, 100), rmsd_late=float(late.ca_rmsd_a.mean()), rmsd_max=float(ok.ca_rmsd_a.max()),
                helix0=float(ok.helix_frac_ref.iloc[0]), strand0=float(ok.strand_frac_ref.iloc[0]),
                helix_end=float(last.helix_frac.mean()), strand_end=float(last.strand_frac.mean()),
                rg0=float(ok.rg_nm.iloc[0]), rg_end=float(last.rg_nm.mean()), wall_s_per_ps=steps_wall)


def cmd_summary(args):
    """One line per analysed run: values at --at ps (diagnostic runs)."""
    import pandas as pd

    print("| run | T mean, K | C-alpha RMSD, A | helix / strand (start) | H-bond channel, kcal/mol (start) | Rg, nm |")
    print("|---|---|---|---|---|---|")
    for path in args.csv:
        df = pd.read_csv(path)
        ok = df[df.finite.astype(bool)]
        row = ok.iloc[(ok.time_ps - args.at).abs().argsort()[:1]].iloc[0]
        first = ok.iloc[0]
        opts = Path(path).name.replace("_analysed.csv", "")
        print(f"| {opts} at {row.time_ps:g} ps | {ok.temperature_k.iloc[1:].mean():.0f} | {row.ca_rmsd_a:.2f} | "
              f"{row.helix_frac:.2f} / {row.strand_frac:.2f} ({first.helix_frac_ref:.2f} / {first.strand_frac_ref:.2f}) | "
              f"{row.score_hbond:.1f} ({first.score_hbond:.1f}) | {row.rg_nm:.2f} |")


def cmd_table(args):
    import pandas as pd

    frames, lines = [], []
    lines.append("| protein | run | simulated | T mean, K | C-alpha RMSD at 10 / 50 / 100 ps, A | mean RMSD after "
                 "20 ps (max), A | helix / strand, crystal | helix / strand, last 20 ps | Rg start -> last 20 ps, nm "
                 "| wall s/ps |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for protein, tag in TABLE_ROWS:
        path = Path(args.out_dir) / f"{tag}_analysed.csv"
        if not path.exists():
            lines.append(f"| {PROTEINS[protein]['label']} | {tag} | not run | | | | | | | |")
            continue
        df = pd.read_csv(path)
        frames.append(df)
        s = summarise(df)
        f = lambda v: "-" if not np.isfinite(v) else f"{v:.2f}"  # noqa: E731
        lines.append(f"| {PROTEINS[protein]['label']} | {s['run']} | {s['ps']:g} ps{' (NaN)' if s['nan'] else ''} | "
                     f"{s['t_mean']:.1f} | {f(s['rmsd10'])} / {f(s['rmsd50'])} / {f(s['rmsd100'])} | "
                     f"{s['rmsd_late']:.2f} ({s['rmsd_max']:.2f}) | {s['helix0']:.2f} / {s['strand0']:.2f} | "
                     f"{s['helix_end']:.2f} / {s['strand_end']:.2f} | {s['rg0']:.2f} -> {s['rg_end']:.2f} | "
                     f"{s['wall_s_per_ps']:.0f} |")
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    out = Path(args.out)
    table.to_csv(f"{out}.csv", index=False, float_format="%.4g")
    Path(f"{out}.md").write_text("\n".join(lines) + "\n")
    if len(table):
        plot(table, f"{out}.png")
    print("\n".join(lines))
    print(f"# wrote {out}.csv, {out}.md, {out}.png")


def plot(table, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    proteins = list(dict.fromkeys(table.protein))
    fig, axes = plt.subplots(3, len(proteins), figsize=(4.6 * len(proteins), 9.5), squeeze=False, sharex=True)
    for col, protein in enumerate(proteins):
        sub = table[table.protein == protein]
        for run, df in sub.groupby("run", sort=False):
            line, = axes[0, col].plot(df.time_ps, df.ca_rmsd_a if protein != "hnrnpa1_lcd" else df.rg_nm, label=run)
            axes[1, col].plot(df.time_ps, df.helix_frac, color=line.get_color())
            axes[2, col].plot(df.time_ps, df.strand_frac, color=line.get_color())
        ref = sub.iloc[0]
        axes[1, col].axhline(ref.helix_frac_ref, color="grey", ls=":", lw=0.8)
        axes[2, col].axhline(ref.strand_frac_ref, color="grey", ls=":", lw=0.8)
        axes[0, col].set_title(PROTEINS[protein]["label"], fontsize=10)
        axes[0, col].set_ylabel("Rg (nm)" if protein == "hnrnpa1_lcd" else "C-alpha RMSD to crystal (A)")
        if protein == "hnrnpa1_lcd":
            axes[0, col].axhline(0.254 * 129 ** 0.522, color="grey", ls="--", lw=0.8)
        axes[1, col].set_ylabel("helix fraction (DSSP H/G/I)")
        axes[2, col].set_ylabel("strand fraction (DSSP E/B)")
        axes[2, col].set_xlabel("time (ps)")
        axes[0, col].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
