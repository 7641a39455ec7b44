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
experimental data; ``python scripts/ddg_calibrate.py`` regenerates the shipped set).
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
from .weights import CALIBRATED_WEIGHTS, TERMS, WeightSet, load_weights, weight_set

DDG_COLUMNS = [f"ddg_{c}" for c in CHANNELS]
TERM_COLUMNS = [f"ddg_{t}" for t in TERMS]

__all__ = ["CALIBRATED_WEIGHTS", "DDG_COLUMNS", "MutationModeller", "Protocol", "TERM_COLUMNS", "WeightSet", "ddg",
           "load_weights", "read_mutation_file", "weight_set"]


def read_mutation_file(path) -> List[str]:
    """Mutants from a text file: one mutant per line (point mutations joined by '+', ',' or ';'),
    '#' comments and blank lines ignored.  FoldX individual_list lines (``GA44S,IA3V;``) work too."""
    out = []
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip().rstrip(";").strip()
        if line:
            out.append(line)
    return out


def ddg(structure, mutations, *, partners=None, weights="calibrated", seed: int = 0, repeats: int = 1,
        protocol: Optional[Protocol] = None, progress: bool = False, load_kwargs: Optional[dict] = None,
        modeller: Optional[MutationModeller] = None, strict: bool = False) -> pd.DataFrame:
    """ΔΔG (kcal/mol, positive = destabilising) of mutants of one structure.

    ``mutations``: a mutant string or a list of them; a mutant is ``"A:G44S"`` or several point
    mutations joined by ``+`` or ``,`` (``"A:G44S+A:I3V"``).  A failed mutant (unknown chain,
    missing residue, wild-type mismatch, nonstandard target, ...) gets ``status="error"`` and the
    message in ``error``; the others still run, and a :class:`MadraXWarning` lists the failures.

    ``weights``: ``"calibrated"`` (default; the experimental scale, with ``ddg_uncertainty``),
    ``"madrax"`` (the raw MadraX energy difference), a JSON path or a dict (:mod:`.weights`).
    A structure file is read like FoldX's RepairPDB unless ``strict=True`` (:mod:`.prepare`);
    what was changed is in one warning and in ``df.attrs["preparation"]``.

    Returns one row per mutant: ``mutant, status, error, ddg`` (weighted), ``ddg_uncertainty``
    (calibrated standard uncertainty of ``ddg`` against experiment, kcal/mol; NaN for weight sets
    without an uncertainty model), ``ddg_sd`` (SD over repeats), the 11 unweighted channel
    differences ``ddg_<channel>``, the protocol term ``ddg_site_entropy``, ``dg_wt``/``dg_mut``
    (total MadraX energy of the reference and the mutant models), and with ``partners`` the binding
    columns ``ddg_bind``, ``ddg_bind_sd`` and ``ddg_bind_<channel>``.
    """
    if isinstance(mutations, str):
        mutations = [mutations]
    mutations = list(mutations)
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    ws = weight_set(weights)
    if modeller is None:
        modeller = MutationModeller(structure, protocol=protocol, partners=partners, seed=seed, load_kwargs=load_kwargs,
                                    strict=strict)
    _check_protocol(ws, modeller.protocol)
    rows = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(mutations) * repeats, desc="ddg", unit="model")
    failed = []
    for text in mutations:
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
            tot = [ws.apply(p["ddg_channels"], p["ddg_terms"]) for p in per]
            row["ddg"] = float(np.mean(tot))
            row["ddg_uncertainty"] = ws.sd(row["ddg"])
            row["ddg_sd"] = float(np.std(tot, ddof=1)) if repeats > 1 else 0.0
            for c, v in zip(CHANNELS, ch):
                row[f"ddg_{c}"] = float(v)
            for t in TERMS:
                row[f"ddg_{t}"] = float(np.mean([p["ddg_terms"].get(t, 0.0) for p in per]))
            row["dg_wt"] = float(np.mean([p["ref"]["channels"].sum() for p in per]))
            row["dg_mut"] = float(np.mean([p["mut"]["channels"].sum() for p in per]))
            if modeller.partners:
                bch = np.mean([p["ddg_bind_channels"] for p in per], axis=0)
                btot = [float(ws.channels @ p["ddg_bind_channels"]) for p in per]
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
    cols = ["mutant", "status", "error", "ddg", "ddg_uncertainty", "ddg_sd"] + DDG_COLUMNS + TERM_COLUMNS + \
        ["dg_wt", "dg_mut"]
    if modeller.partners:
        cols += ["ddg_bind", "ddg_bind_sd"] + [f"ddg_bind_{c}" for c in CHANNELS]
    df = pd.DataFrame(rows).reindex(columns=cols)
    df.attrs.update(weights=ws.name, seed=seed, repeats=repeats, structure=modeller.structure.name,
                    protocol=asdict(modeller.protocol), partners=modeller.partners,
                    preparation=getattr(modeller, "preparation", None),
                    units="kcal/mol" + (" (experimental scale)" if ws.name != "madrax" else " (raw MadraX sum)"))
    return df


def _check_protocol(ws: WeightSet, protocol: Protocol) -> None:
    """Warn when a fitted weight set is applied to models built with another protocol."""
    if not ws.protocol:
        return
    mine = asdict(protocol)
    diff = [k for k, v in ws.protocol.items() if k in mine and mine[k] != v and k not in ("perturb_deg",)]
    if diff:
        warnings.warn(f"weights {ws.name!r} were fitted on models of another protocol (differs in "
                      f"{', '.join(f'{k}={mine[k]!r} vs {ws.protocol[k]!r}' for k in diff)}); "
                      "the ΔΔG scale and ddg_uncertainty may not hold", MadraXWarning, stacklevel=3)
