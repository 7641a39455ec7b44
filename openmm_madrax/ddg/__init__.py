"""Stability and binding ΔΔG of mutations from the MadraX energy (docs/ddg.md).

Protocol (:class:`Protocol`; the same for the mutant and its wild-type reference):

1. *Repair* (once per structure): every side chain (not PRO) is relaxed in torsion space on the
   smooth MadraX energy (L-BFGS, ``repair_evals`` energy evaluations).  All models start from it.
2. For a mutant, the *shell* is every residue with a heavy atom within ``shell_radius`` of the
   site(s); the *environment* is every residue within ``env_radius`` of the site(s).
3. The site gets the new residue (template geometry, :mod:`openmm_madrax.mutate`); its rotamer is
   the candidate (torsion-density rotamers + wild-type chis) of lowest smooth MadraX energy of the
   environment.  The shell side chains (site included) are then relaxed in torsion space on the
   smooth energy of the environment (L-BFGS, ``relax_evals`` evaluations).
4. The model is scored with the exact MadraX energy of the *whole* structure (11 channels).
5. The wild-type reference is the mutation X -> X through steps 2-4 (same shell, same
   environment, same candidates), so a mutation to itself is exactly 0 and both sides share
   every approximation.  References are cached per site set and repeat.

ΔΔG = ΔG(mutant) − ΔG(reference), kcal/mol, positive = destabilising; per channel and weighted
(:func:`load_weights`: ``"madrax"`` = every channel weight 1, no offset; ``"calibrated"`` = the
non-negative fit on the Guerois set shipped as ``params/ddg_weights_calibrated.json``).

Binding (``partners=["AB", "C"]``): ΔG_bind = E(complex) − Σ E(partner alone, same coordinates),
and ΔΔG_bind = ΔG_bind(mutant) − ΔG_bind(reference).  The complex is the chains of the partner
groups; other chains take part in building the models but not in the binding energy.

Modules: :mod:`.protocol` (:class:`Protocol`, :class:`MutationModeller`: building and scoring
models), :mod:`.weights` (channel weight sets), :mod:`.calibration` (fitting weight sets on
experimental data; ``python scripts/calibrate_ddg.py`` regenerates the shipped set).
"""
from __future__ import annotations

import warnings
from dataclasses import asdict
from pathlib import Path
from typing import List, Optional

import numpy as np
import pandas as pd

from ..errors import MadraXError, MadraXWarning
from ..params import CHANNELS
from .protocol import MutationModeller, Protocol
from .weights import CALIBRATED_WEIGHTS, load_weights

DDG_COLUMNS = [f"ddg_{c}" for c in CHANNELS]

__all__ = ["CALIBRATED_WEIGHTS", "DDG_COLUMNS", "MutationModeller", "Protocol", "ddg", "load_weights",
           "read_mutation_file"]


def read_mutation_file(path) -> List[str]:
    """Mutants from a text file: one mutant per line (point mutations joined by '+', ',' or ';'),
    '#' comments and blank lines ignored.  FoldX individual_list lines (``GA44S,IA3V;``) work too."""
    out = []
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip().rstrip(";").strip()
        if line:
            out.append(line)
    return out


def ddg(structure, mutations, *, partners=None, weights="madrax", seed: int = 0, repeats: int = 1,
        protocol: Optional[Protocol] = None, progress: bool = False, load_kwargs: Optional[dict] = None,
        modeller: Optional[MutationModeller] = None) -> pd.DataFrame:
    """ΔΔG (kcal/mol, positive = destabilising) of mutants of one structure.

    ``mutations``: a mutant string or a list of them; a mutant is ``"A:G44S"`` or several point
    mutations joined by ``+`` or ``,`` (``"A:G44S+A:I3V"``).  A failed mutant (unknown chain,
    missing residue, wild-type mismatch, nonstandard target, ...) gets ``status="error"`` and the
    message in ``error``; the others still run, and a :class:`MadraXWarning` lists the failures.

    Returns one row per mutant: ``mutant, status, error, ddg`` (weighted), ``ddg_sd`` (over
    repeats), the 11 unweighted channel differences ``ddg_<channel>``, ``dg_wt``/``dg_mut`` (total
    MadraX energy of the reference and the mutant models), and with ``partners`` the binding
    columns ``ddg_bind`` and ``ddg_bind_<channel>``.
    """
    if isinstance(mutations, str):
        mutations = [mutations]
    mutations = list(mutations)
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    w, b, wname = load_weights(weights)
    if modeller is None:
        modeller = MutationModeller(structure, protocol=protocol, partners=partners, seed=seed, load_kwargs=load_kwargs)
    rows = []
    it = mutations
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(mutations) * repeats, desc="ddg", unit="model")
    failed = []
    for text in it:
        row = {"mutant": str(text), "status": "ok", "error": ""}
        per: list = []
        try:
            for r in range(repeats):
                res = modeller.mutant(text, repeat=r)
                per.append(res)
                if bar is not None:
                    bar.update(1)
            row["mutant"] = per[0]["mutant"]
            ch = np.mean([p["ddg_channels"] for p in per], axis=0)
            tot = [float(b + w @ p["ddg_channels"]) for p in per]
            row["ddg"] = float(np.mean(tot))
            row["ddg_sd"] = float(np.std(tot, ddof=1)) if repeats > 1 else 0.0
            for c, v in zip(CHANNELS, ch):
                row[f"ddg_{c}"] = float(v)
            row["dg_wt"] = float(np.mean([p["ref"]["channels"].sum() for p in per]))
            row["dg_mut"] = float(np.mean([p["mut"]["channels"].sum() for p in per]))
            if modeller.partners:
                bch = np.mean([p["ddg_bind_channels"] for p in per], axis=0)
                btot = [float(w @ p["ddg_bind_channels"]) for p in per]
                row["ddg_bind"] = float(np.mean(btot))
                row["ddg_bind_sd"] = float(np.std(btot, ddof=1)) if repeats > 1 else 0.0
                for c, v in zip(CHANNELS, bch):
                    row[f"ddg_bind_{c}"] = float(v)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # reported in the row; the other mutants still run
            row["status"] = "error"
            row["error"] = str(exc) if isinstance(exc, MadraXError) else f"{type(exc).__name__}: {exc}"
            failed.append(row["error"] if str(text).strip() in row["error"] else f"{text}: {row['error']}")
            if bar is not None:
                bar.update(repeats - len(per))
        rows.append(row)
    if bar is not None:
        bar.close()
    if failed:
        warnings.warn(f"{len(failed)} of {len(mutations)} mutant(s) failed and have no ΔΔG: " + "; ".join(failed),
                      MadraXWarning, stacklevel=2)
    cols = ["mutant", "status", "error", "ddg", "ddg_sd"] + DDG_COLUMNS + ["dg_wt", "dg_mut"]
    if modeller.partners:
        cols += ["ddg_bind", "ddg_bind_sd"] + [f"ddg_bind_{c}" for c in CHANNELS]
    df = pd.DataFrame(rows).reindex(columns=cols)
    df.attrs.update(weights=wname, seed=seed, repeats=repeats, structure=modeller.structure.name,
                    protocol=asdict(modeller.protocol), partners=modeller.partners)
    return df
