"""Which MadraX channel breaks energy conservation? Per-channel integration error along MD steps.

    python benchmarks/md_channel_work.py [--steps 200] [--option KEY=VALUE ...] [--protein ubiquitin]

Runs replace-mode MD (defaults of prepare_system unless --option; 200 L-BFGS steps, 1 ps Langevin at
2 fs) and records every position of the next --steps steps.  For each MadraX channel c and step n the
trapezoid error  e_c,n = E_c(x_n+1) - E_c(x_n) + (F_c(x_n) + F_c(x_n+1))/2 . (x_n+1 - x_n)  is zero for a
smooth (locally quadratic) energy and grows where a channel switches faster than the time step resolves;
its sum over steps is the channel's share of the NVE drift (float64 energy module of the force's MD
surface, kcal/mol; sum and sum of |e| over the steps, and the largest single step).
"""
import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def main():
    import openmm
    import torch
    from openmm import unit

    import openmm_madrax as omx
    from md_protocols import input_structure, parse_options
    from openmm_madrax.params import CHANNELS
    from openmm_madrax.openmm import prepare_system

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--protein", default="ubiquitin")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--option", action="append", default=[], help="prepare_system option of the MD (KEY=VALUE)")
    p.add_argument("--eval", action="append", default=None, metavar="NAME=KEY=VALUE,...",
                   help="energy_module settings to evaluate along the same path (default: the force's own)")
    args = p.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    kw = parse_options(args.option)
    prep = prepare_system(input_structure(args.protein), mode="replace", **kw)
    top, pos, system = prep
    integ = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond, 2 * unit.femtosecond)
    integ.setRandomNumberSeed(7)
    ctx = openmm.Context(system, integ, openmm.Platform.getPlatformByName("CPU"), {"Threads": "1"})
    ctx.setPositions(pos)
    openmm.LocalEnergyMinimizer.minimize(ctx, 10.0, 200)
    ctx.setVelocitiesToTemperature(300 * unit.kelvin, 7)
    integ.step(500)
    mx = prep.madrax
    frames = []
    for _ in range(args.steps + 1):
        frames.append(ctx.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(unit.angstrom)[mx.heavy_index])
        integ.step(1)
    evals = args.eval or [f"force=burial={mx.burial},smoothing={mx.smoothing},hbond_tau={mx.hbond_tau}"]
    X = np.array(frames)
    dx = X[1:] - X[:-1]
    w = mx.channel_weights
    print(f"# {args.protein}, MD with options {kw or 'defaults'} (burial {mx.burial}), {args.steps} steps of 2 fs; "
          f"kcal/mol; weights of the force")
    for ev in evals:
        name, _, opts = ev.partition("=")
        settings = parse_options([o for o in opts.split(",") if o])
        module = omx.energy_module(mx.structure, smooth=True, dtype="float64", **settings)
        E, G = [], []
        for x in frames:
            xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
            tot = module(xt).sum(0)
            grads = []
            for c in range(len(CHANNELS)):
                g = torch.autograd.grad(tot[c], xt, retain_graph=True, allow_unused=True)[0] if tot[c].requires_grad \
                    else None
                grads.append(np.zeros_like(x) if g is None else g.numpy())
            E.append(tot.detach().numpy())
            G.append(np.array(grads))
        E, G = np.array(E), np.array(G)
        err = (E[1:] - E[:-1]) - 0.5 * np.einsum("ncad,nad->nc", G[1:] + G[:-1], dx)  # gradient = -force
        print(f"## {name}: {settings}")
        print(f"{'channel':20s} {'weight':>6s} {'sum e':>9s} {'sum |e|':>9s} {'max |e|':>9s} {'E start':>9s}")
        for c, cname in enumerate(CHANNELS):
            print(f"{cname:20s} {w[c]:6.1f} {err[:, c].sum():9.3f} {np.abs(err[:, c]).sum():9.3f} "
                  f"{np.abs(err[:, c]).max():9.4f} {E[0, c]:9.2f}")
        tot = err @ w
        print(f"{'force total':20s} {'':6s} {tot.sum():9.3f} {np.abs(tot).sum():9.3f} {np.abs(tot).max():9.4f} "
              f"{E[0] @ w:9.2f}", flush=True)

if __name__ == "__main__":
    main()
