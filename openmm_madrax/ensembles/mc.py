"""MadraX-biased Metropolis Monte Carlo in torsion space (the alternative to reweighting that
docs/ensembles.md measures).

Moves: one residue's (phi, psi) -- or its chis -- re-drawn from the same fitted densities as the
growth; the chain is rebuilt by NeRF (bond lengths and angles stay ideal), a move that creates a
contact is rejected, otherwise it is accepted with min(1, exp(-lambda dE / RT)), E = the weight
energy of :mod:`openmm_madrax.ensembles.weights`.  Because the proposal is the density itself
(an independence move per residue), this samples prod p(torsions) x exp(-lambda E / RT) on
self-avoiding chains: the distribution the Boltzmann weights of the growth ensemble estimate.
Several chains run side by side (one batched rebuild per step); energies cost one MadraX call
per chain and step.
"""
from __future__ import annotations

import time
from typing import Dict, Optional

import numpy as np
import torch

from .builder import ChainBuilder
from .energy import conformer_energies, madrax_module, sequence_structure
from .growth import ChainGrower
from .sampling import default_sampler
from .sequences import clean_sequence, residue_names
from .weights import R_KCAL, weight_energy


def full_clashes(grower: ChainGrower, X: torch.Tensor) -> torch.Tensor:
    """(n,) bool: any contact anywhere in the chains (the growth criterion over all residues)."""
    n = X.shape[0]
    L = grower.b.n_residues
    rows = torch.arange(n)
    cen, rad = grower.centroids(X, rows, 0, L)
    bad, _ = grower.clashes(X, rows, 0, L, cen, rad)
    return bad


def torsion_mc(sequence: str, n_chains: int = 8, n_steps: int = 1000, *, temperature: float = 298.0,
               ionic_strength: float = 0.15, energy_scale: float = 1.0, burial: str = "foldx", seed: int = 0,
               chi_move_fraction: float = 0.3, record_every: int = 10, phipsi: str = "coil",
               progress: bool = False, time_limit_s: Optional[float] = None) -> Dict:
    """Run MC from grown (lambda = 0 equilibrium) conformers; returns per-recorded-step arrays:
    ``rg_nm`` (records, chains), ``energy`` (records, chains), acceptance counts and timings."""
    from .analysis import rg_nm

    seq = clean_sequence(sequence)
    rn = residue_names(seq)
    L = len(rn)
    sampler = default_sampler(phipsi)
    b = ChainBuilder(rn)
    g = ChainGrower(b, sampler)
    rng = np.random.default_rng(seed)
    X, tor = g.grow(rng, n_chains)
    st = sequence_structure(rn, b.top.atom_names, b.top.atom_residue, X[0].numpy())
    use_energy = float(energy_scale) != 0.0
    mod = madrax_module(st, temperature, ionic_strength, smooth=True, burial=burial) if use_energy else None
    E = weight_energy(conformer_energies(mod, X)) if use_energy else np.zeros(n_chains)
    beta = float(energy_scale) / (R_KCAL * float(temperature))
    phi, psi, omega, chi = (np.array(a) for a in (tor.phi, tor.psi, tor.omega, tor.chi))
    rec_rg, rec_e, rec_step = [rg_nm(X.numpy())], [E.copy()], [0]
    acc = np.zeros(n_chains, np.int64)
    clash = np.zeros(n_chains, np.int64)
    t0 = time.perf_counter()
    it = range(1, n_steps + 1)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="torsion MC", unit="step")
    for step in it:
        k = rng.integers(1, L - 1, n_chains)  # residues with phi and psi
        chi_move = rng.random(n_chains) < chi_move_fraction
        p2, q2, h2 = phi.copy(), psi.copy(), chi.copy()
        rows = np.arange(n_chains)
        t = g.draw(rng, n_chains)
        bb = ~chi_move
        p2[rows[bb], k[bb]] = t.phi[rows[bb], k[bb]]
        q2[rows[bb], k[bb]] = t.psi[rows[bb], k[bb]]
        h2[rows[chi_move], k[chi_move]] = t.chi[rows[chi_move], k[chi_move]]
        Xn = b.build(p2, q2, omega, h2)
        bad = full_clashes(g, Xn).numpy()
        clash += bad
        En = np.where(bad, np.inf, 0.0)
        ok = np.nonzero(~bad)[0]
        if len(ok):
            En[ok] = weight_energy(conformer_energies(mod, Xn[ok])) if use_energy else 0.0
        u = rng.random(n_chains)
        accept = ~bad & (u < np.exp(np.minimum(0.0, -beta * (En - E))))
        acc += accept
        phi[accept], psi[accept], chi[accept] = p2[accept], q2[accept], h2[accept]
        E[accept] = En[accept]
        X[torch.as_tensor(accept)] = Xn[torch.as_tensor(accept)]
        if step % record_every == 0:
            rec_rg.append(rg_nm(X.numpy()))
            rec_e.append(E.copy())
            rec_step.append(step)
        if time_limit_s is not None and time.perf_counter() - t0 > time_limit_s:
            break
    return {"step": np.array(rec_step), "rg_nm": np.array(rec_rg), "energy": np.array(rec_e),
            "accepted": acc, "clashes": clash, "steps_done": step, "seconds": time.perf_counter() - t0,
            "coords": X.numpy()}
