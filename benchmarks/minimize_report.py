"""What `minimize` should report: which MadraX energy does minimisation lower? (issue 13, item 4)

    python benchmarks/minimize_report.py [--protein ubiquitin] [--iterations 1000] [--keep-14 lj] [--burial madrax]

For each way of putting MadraX channel 9 (peptide-bond geometry) into the force, minimise the prepared
protein (replace mode, amber14 bonded terms, L-BFGS) and print, before and after:
  force   the MadraX energy the force contains (its channels, on the force's MD surface), kcal/mol
  ch9     channel 9 alone (the covalent C-N geometry score; the same on every surface)
  md      all 11 channels on the MD surface (smoothing 3, hbond_tau 1)
  exact   all 11 channels, exact MadraX with the force's burial, kcal/mol
  score   all 11 channels, exact MadraX, burial "madrax" (what `openmm-madrax score` prints by default)
Variants: "ch9 out" (the force of create_system: channels 0-8, 10), "ch9 in" (all 11 channels, amber
C-N bond/angles kept), "ch9 owns C-N" (all 11 channels, amber's C(i-1)-N(i) bond and the C-N-CA /
CA-C-N angles removed so that channel 9 alone holds that geometry).  With --md-ps, each variant is
then run for that many ps of LangevinMiddle MD at 2 fs, 300 K (stability check).
"""
import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def remove_peptide_bonded(system, topology):
    """Zero amber's C(i-1)-N(i) bonds and C-N-CA / CA-C-N angles (channel 9 then owns them)."""
    import openmm

    atoms = list(topology.atoms())
    pep = set()
    for a, b in topology.bonds():
        if {a.name, b.name} == {"C", "N"} and a.residue is not b.residue:
            c, n = (a, b) if a.name == "C" else (b, a)
            pep.add((c.index, n.index))
    cn = {frozenset(p) for p in pep}
    nb = na = 0
    for f in system.getForces():
        if isinstance(f, openmm.HarmonicBondForce):
            for k in range(f.getNumBonds()):
                i, j, r0, kk = f.getBondParameters(k)
                if frozenset((i, j)) in cn:
                    f.setBondParameters(k, i, j, r0, 0.0)
                    nb += 1
        elif isinstance(f, openmm.HarmonicAngleForce):
            for k in range(f.getNumAngles()):
                i, j, l, th, kk = f.getAngleParameters(k)
                names = (atoms[i].name, atoms[j].name, atoms[l].name)
                if (frozenset((i, j)) in cn or frozenset((j, l)) in cn) and names in (
                        ("C", "N", "CA"), ("CA", "N", "C"), ("CA", "C", "N"), ("N", "C", "CA")):
                    f.setAngleParameters(k, i, j, l, th, 0.0)
                    na += 1
    return nb, na


def main():
    import openmm
    import torch
    from openmm import unit

    import openmm_madrax as omx
    from md_protocols import input_structure
    from openmm_madrax.openmm import prepare_system

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--protein", default="ubiquitin")
    p.add_argument("--iterations", type=int, default=1000)
    p.add_argument("--keep-14", default="lj")
    p.add_argument("--burial", default="madrax")
    p.add_argument("--md-ps", type=float, default=0.0)
    args = p.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    keep_14 = {"true": True, "false": False}.get(args.keep_14, args.keep_14)
    src = input_structure(args.protein)
    variants = [("ch9 out", {"peptide_bond": 0.0}, False), ("ch9 in", {}, False), ("ch9 owns C-N", {}, True)]
    for name, weights, own in variants:
        top, pos, system = prep = prepare_system(src, mode="replace", keep_14=keep_14, burial=args.burial,
                                                 channel_weights=weights)
        if own:
            nb, na = remove_peptide_bonded(system, top)
        mx = prep.madrax
        s = mx.structure
        exact = omx.energy_module(s, burial=args.burial, smooth=False, dtype="float64")
        scorer = omx.energy_module(s, burial="madrax", smooth=False, dtype="float64")
        hv = mx.heavy_index

        def report(x_nm):
            import torch as T

            x = T.as_tensor(np.asarray(x_nm)[hv] * 10.0, dtype=T.float64)
            with T.no_grad():
                ex = exact(x).sum(0).numpy()
                sc = scorer(x).sum(0).numpy()
            mdc = mx.channel_energies(np.asarray(x_nm)).to_numpy()
            return dict(force=float(mdc @ mx.channel_weights), ch9=float(mdc[9]), md=float(mdc.sum()),
                        exact=float(ex.sum()), score=float(sc.sum()))

        ctx = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("CPU"),
                             {"Threads": "1"})
        ctx.setPositions(pos)
        x0 = ctx.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(unit.nanometer)
        b = report(x0)
        t0 = time.perf_counter()
        openmm.LocalEnergyMinimizer.minimize(ctx, 10.0, args.iterations)
        x1 = ctx.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(unit.nanometer)
        a = report(x1)
        line = "  ".join(f"{k} {b[k]:8.2f} -> {a[k]:8.2f}" for k in b)
        print(f"{name:13s} {line}  [{time.perf_counter() - t0:.0f} s]", flush=True)
        if args.md_ps:
            integ = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond, 2 * unit.femtosecond)
            integ.setRandomNumberSeed(1)
            ctx2 = openmm.Context(system, integ, openmm.Platform.getPlatformByName("CPU"), {"Threads": "1"})
            ctx2.setPositions(x1)
            ctx2.setVelocitiesToTemperature(300 * unit.kelvin, 1)
            ndof = 3 * system.getNumParticles() - system.getNumConstraints() - 3
            temps = []
            try:
                for _ in range(int(args.md_ps * 10)):
                    integ.step(50)
                    ek = ctx2.getState(getEnergy=True).getKineticEnergy().value_in_unit(unit.kilojoule_per_mole)
                    temps.append(2 * ek / (ndof * 0.0083144626))
                print(f"    MD 2 fs {args.md_ps:g} ps: T mean {np.mean(temps[len(temps) // 2:]):.0f} K, max "
                      f"{np.max(temps):.0f} K", flush=True)
            except Exception as exc:
                print(f"    MD 2 fs: failed after {len(temps) * 0.1:.1f} ps ({str(exc).splitlines()[-1][:80]})")


if __name__ == "__main__":
    main()
