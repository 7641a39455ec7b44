"""MD stability of ubiquitin: MadraX replace mode next to amber14 + GBn2, 300 K, 2 fs, HBonds.

    python benchmarks/md_stability.py [--ps 100] [--out benchmarks/out/md_stability] [--threads N]
                                      [--timestep 2] [--friction 1] [--skip-amber] [--precision single]
                                      [--skip-madrax] [--amber-cutoff NM] [--combine CSV ...]

Both systems start from the same model (1UBI + hydrogens, 500 L-BFGS iterations each) and run
LangevinMiddle dynamics (friction 1/ps).  Every --report-ps (default 1 ps) the script records
potential, kinetic and total energy, temperature, a NaN check, the C-alpha RMSD to the crystal
structure (after superposition) and the MadraX energy (all 11 channels, float64, kcal/mol; for the
amber run as a score; channel 9 is scored although create_system leaves it out of the force).
Energy drift = least-squares slope of the total energy (kJ/mol/ps; with a thermostat this is not a
conservation test, but a steady climb or jump flags trouble).  Writes OUT.csv and OUT.png and
prints a summary with the wall time per ps of each run.

amber14+GBn2 uses NoCutoff by default; ``--amber-cutoff 1.2`` runs it with CutoffNonPeriodic at 1.2 nm,
~3x cheaper per step on a 2-core CPU.  The README's figure was made with separate runs merged by
``--combine`` (docs/md_stability.csv lists the runs):

    python benchmarks/md_stability.py --skip-amber --out benchmarks/out/md_madrax
    python benchmarks/md_stability.py --skip-madrax --ps 100 --threads 2 --amber-cutoff 1.2 --out benchmarks/out/md_amber_c12
    python benchmarks/md_stability.py --combine benchmarks/out/md_madrax.csv benchmarks/out/md_amber_c12.csv --out docs/md_stability
"""
import argparse
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import openmm
import torch
from openmm import app, unit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from openmm_madrax.openmm import MadraXForce, prepare_system, select_platform  # noqa: E402

BUNDLED = ROOT / "openmm_madrax" / "data" / "1ubi.pdb"


def ca_rmsd(x: np.ndarray, ref: np.ndarray) -> float:
    """RMSD after optimal superposition (Kabsch), same units as the input."""
    a = x - x.mean(axis=0)
    b = ref - ref.mean(axis=0)
    u, s, vt = np.linalg.svd(a.T @ b)
    d = np.sign(np.linalg.det(u @ vt))
    s[-1] *= d
    e = (a ** 2).sum() + (b ** 2).sum() - 2.0 * s.sum()
    return float(np.sqrt(max(e, 0.0) / len(x)))


def run(name, topology, positions, system, madrax, ca_index, ref_ca, args, platform, props):
    integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, args.friction / unit.picosecond,
                                                 args.timestep * unit.femtosecond)
    integrator.setRandomNumberSeed(args.seed)
    context = openmm.Context(system, integrator, platform, props)
    context.setPositions(positions)
    openmm.LocalEnergyMinimizer.minimize(context, 10.0, 500)
    context.setVelocitiesToTemperature(300 * unit.kelvin, args.seed)
    n_dof = 3 * system.getNumParticles() - system.getNumConstraints() - 3
    steps_per_report = int(round(args.report_ps / (args.timestep * 1e-3)))
    n_reports = int(round(args.ps / args.report_ps))
    rows = []
    t_start = time.perf_counter()
    for k in range(n_reports + 1):
        if k:
            try:
                integrator.step(steps_per_report)
            except openmm.OpenMMException as exc:  # e.g. coordinates blew up inside the force
                print(f"  {name}: failed between {(k - 1) * args.report_ps:g} and {k * args.report_ps:g} ps: "
                      f"{str(exc).splitlines()[-1][:160]}", file=sys.stderr)
                rows.append({"run": name, "time_ps": k * args.report_ps, "finite": False,
                             "wall_s": time.perf_counter() - t_start})
                break
        st = context.getState(getEnergy=True, getPositions=True)
        epot = st.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
        ekin = st.getKineticEnergy().value_in_unit(unit.kilojoule_per_mole)
        x = st.getPositions(asNumpy=True).value_in_unit(unit.angstrom)
        finite = bool(np.isfinite(epot) and np.isfinite(ekin) and np.isfinite(x).all())
        temp = 2 * ekin / (n_dof * unit.MOLAR_GAS_CONSTANT_R.value_in_unit(unit.kilojoule_per_mole / unit.kelvin))
        rows.append({"run": name, "time_ps": k * args.report_ps, "potential_kj": epot, "kinetic_kj": ekin,
                     "total_kj": epot + ekin, "temperature_k": temp,
                     "ca_rmsd_a": ca_rmsd(x[ca_index], ref_ca) if finite else math.nan,
                     "madrax_kcal": madrax.channel_energies(st).sum() if finite else math.nan,
                     "finite": finite, "wall_s": time.perf_counter() - t_start})
        r = rows[-1]
        if getattr(args, "partial_csv", None):  # keep what has been simulated if the run is stopped
            import pandas as pd

            pd.DataFrame(rows).to_csv(args.partial_csv, index=False, float_format="%.4f")
        print(f"  {name:16s} {r['time_ps']:7.1f} ps  Epot {epot:11.1f}  T {temp:6.1f} K  "
              f"CA-RMSD {r['ca_rmsd_a']:5.2f} A  MadraX {r['madrax_kcal']:8.1f} kcal/mol  [{r['wall_s']:.0f} s]",
              file=sys.stderr)
        if not finite:
            print(f"  {name}: NaN at {r['time_ps']} ps -- stopping this run", file=sys.stderr)
            break
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", nargs="?", default=str(BUNDLED))
    p.add_argument("--ps", type=float, default=100.0, help="simulated time per run (default 100 ps)")
    p.add_argument("--report-ps", type=float, default=1.0, help="report interval (default 1 ps)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "md_stability"), help="output prefix")
    p.add_argument("--precision", choices=["single", "double"], default="single", help="MadraX precision")
    p.add_argument("--threads", type=int, default=None, help="OpenMM CPU threads (default: OpenMM's default)")
    p.add_argument("--torch-threads", type=int, default=1, help="torch intra-op threads (default 1)")
    p.add_argument("--platform", default=None)
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--timestep", type=float, default=2.0, help="fs (default 2)")
    p.add_argument("--friction", type=float, default=1.0, help="1/ps (default 1)")
    p.add_argument("--skip-amber", action="store_true", help="only the MadraX run")
    p.add_argument("--skip-madrax", action="store_true", help="only the amber14+GBn2 run")
    p.add_argument("--amber-ps", type=float, default=None,
                   help="simulated time of the amber14+GBn2 run (default: --ps); it costs ~3-10x more per ps on CPU")
    p.add_argument("--amber-cutoff", type=float, default=None, metavar="NM",
                   help="run amber14+GBn2 with CutoffNonPeriodic at this cutoff (nm) instead of NoCutoff; "
                        "on a 2-core CPU 1.2 nm is ~3x cheaper per step (use it when NoCutoff cannot run the full time)")
    p.add_argument("--combine", nargs="+", default=None, metavar="CSV",
                   help="only merge the CSVs of separate runs into OUT.csv/OUT.png and print the summary")
    args = p.parse_args()
    if args.combine:
        import pandas as pd

        table = pd.concat([pd.read_csv(f) for f in args.combine], ignore_index=True)
        out = Path(args.out)
        table.to_csv(f"{out}.csv", index=False, float_format="%.4f")
        plot(table, f"{out}.png")
        print_summary([summarise(name, df) for name, df in table.groupby("run", sort=False)])
        print(f"# wrote {out}.csv and {out}.png")
        return
    warnings.simplefilter("ignore")
    torch.set_num_threads(args.torch_threads)
    import pandas as pd

    topology, positions, system = prepare_system(args.input, mode="replace", precision=args.precision)
    if args.amber_cutoff:
        gb_kw = dict(nonbondedMethod=app.CutoffNonPeriodic, nonbondedCutoff=args.amber_cutoff * unit.nanometer)
        amber_name = f"amber14+GBn2 cutoff {args.amber_cutoff:g} nm, {args.timestep:g} fs"
    else:
        gb_kw = dict(nonbondedMethod=app.NoCutoff)
        amber_name = f"amber14+GBn2 NoCutoff, {args.timestep:g} fs"
    gbn2 = app.ForceField("amber14-all.xml", "implicit/gbn2.xml").createSystem(
        topology, constraints=app.HBonds, **gb_kw)
    platform = select_platform(args.platform, system)
    props = {"Threads": str(args.threads)} if args.threads and platform.getName() == "CPU" else {}
    ca_index = [a.index for a in topology.atoms() if a.name == "CA"]
    ref_ca = np.asarray(positions.value_in_unit(unit.angstrom))[ca_index]
    # float64 MadraX readback for both runs (the amber run only scores it)
    scorer = MadraXForce(topology, positions, precision="double")
    print(f"# {topology.getNumAtoms()} atoms, {args.ps:g} ps per run, platform {platform.getName()}, torch threads "
          f"{torch.get_num_threads()}", file=sys.stderr)

    runs = ([] if args.skip_madrax else [("MadraX replace", system, args.ps)]) + \
        ([] if args.skip_amber else [(amber_name, gbn2, args.amber_ps or args.ps)])
    rows = []
    summary = []
    for name, sysm, ps in runs:
        args.ps = ps
        args.partial_csv = f"{args.out}_{'madrax' if name.startswith('MadraX') else 'amber'}.partial.csv"
        r = run(name, topology, positions, sysm, scorer, ca_index, ref_ca, args, platform, props)
        rows += r
        summary.append(summarise(name, pd.DataFrame(r)))

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(rows)
    table.to_csv(f"{out}.csv", index=False, float_format="%.4f")
    plot(table, f"{out}.png")
    print_summary(summary)
    print(f"# wrote {out}.csv and {out}.png")


def summarise(name, df):
    """(run, no NaN, ps simulated, drift, final/max CA-RMSD, mean T, wall s per ps) of one run's rows."""
    wall = float(df.wall_s.iloc[-1])  # MD only (after the minimisation)
    ok = df[df.finite.astype(bool)]
    slope = np.polyfit(ok.time_ps, ok.total_kj, 1)[0] if len(ok) > 2 else math.nan
    simulated = float(ok.time_ps.max()) if len(ok) else 0.0
    return (name, bool(df.finite.astype(bool).all()), simulated, slope, float(ok.ca_rmsd_a.iloc[-1]),
            float(ok.ca_rmsd_a.max()), float(ok.temperature_k.iloc[1:].mean()) if len(ok) > 1 else math.nan,
            wall / max(simulated, 1e-9))


def print_summary(summary):
    print(f"{'run':16s} {'no NaN':>6s} {'ps':>6s} {'drift kJ/mol/ps':>15s} {'CA-RMSD end':>11s} {'max':>6s} "
          f"{'<T> K':>6s} {'wall s/ps':>9s}")
    for name, ok, ps, slope, end, mx, temp, s_per_ps in summary:
        print(f"{name:16s} {str(ok):>6s} {ps:6.1f} {slope:15.2f} {end:11.2f} {mx:6.2f} {temp:6.1f} {s_per_ps:9.1f}")


def plot(table, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(17, 3.8))
    for name, df in table.groupby("run", sort=False):
        ended = not bool(df.finite.astype(bool).iloc[-1])
        axes[0].plot(df.time_ps, df.temperature_k, label=name + (" (blew up)" if ended else ""))
        axes[1].plot(df.time_ps, df.total_kj - df.total_kj.iloc[0], label=name)
        axes[2].plot(df.time_ps, df.ca_rmsd_a, label=name)
        axes[3].plot(df.time_ps, df.madrax_kcal, label=name)
    axes[0].axhline(300.0, color="grey", lw=0.8, ls=":")
    for ax, title in zip(axes, ("temperature (K); thermostat at 300 K", "total energy - start (kJ/mol)",
                                "C-alpha RMSD to 1UBI (A)", "MadraX energy of each frame (kcal/mol, float64 score)")):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("time (ps)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
