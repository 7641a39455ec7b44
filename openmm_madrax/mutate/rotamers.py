"""Candidate rotamers: the project's fitted side-chain torsion densities, the wild-type chis,
fixed values for chis the densities do not cover."""
from __future__ import annotations

from functools import lru_cache
from typing import List, Sequence, Tuple

import numpy as np

from .. import params
from .geometry import n_chi

#: values (degrees) tried for chis the torsion densities do not score
UNSCORED_CHI_VALUES = (180.0, -65.0, 65.0)
#: proline ring puckers (chi1, chi2), degrees: C-gamma endo / exo
PRO_PUCKERS = ((30.0, -35.0), (-30.0, 40.0))
MIN_ROTAMER_WEIGHT = 0.01


@lru_cache(maxsize=None)
def library_rotamers(resname: str, max_rotamers: int = 12) -> Tuple[Tuple[float, ...], ...]:
    """Candidate chi sets (degrees) of a residue type, most probable first."""
    nc = n_chi(resname)
    if nc == 0:
        return ((),)
    if resname == "PRO":
        return PRO_PUCKERS
    from ..energy.torsion_densities import read_npz

    arrays, _ = read_npz()
    ti = params.RESIDUE_INDEX[resname]
    w = np.exp(np.asarray(arrays["sc_logw"][ti], np.float64))
    mu = np.degrees(np.asarray(arrays["sc_mu"][ti], np.float64))
    scored = [int(r["scored_in_channel10"]) for r in params.chi_definitions()[resname]]
    n_scored = sum(scored)
    comps = [k for k in np.argsort(-w) if w[k] >= MIN_ROTAMER_WEIGHT][:max_rotamers]
    base = [tuple(float(v) for v in mu[k, :n_scored]) for k in comps]
    out: List[Tuple[float, ...]] = []
    for b in base:
        extra = [UNSCORED_CHI_VALUES] * (nc - n_scored)
        combos = [b]
        for vals in extra:
            combos = [c + (v,) for c in combos for v in vals[:2]]
        out.extend(combos)
    return tuple(out)


def candidate_rotamers(resname: str, wt_chis: Sequence[float] = (), max_rotamers: int = 12) -> List[Tuple[float, ...]]:
    """Library rotamers of ``resname``, plus the site's wild-type chis where they apply (the full
    wild-type conformation first, when the residue type is unchanged)."""
    lib = list(library_rotamers(resname, max_rotamers))
    nc = n_chi(resname)
    out: List[Tuple[float, ...]] = []
    wt = tuple(float(x) for x in wt_chis)[:nc]
    if nc and resname != "PRO" and wt:
        if len(wt) == nc:
            out.append(wt)
        for r in lib[: max(1, max_rotamers // 2)]:
            out.append(wt + tuple(r[len(wt):]))
    out.extend(lib)
    seen = set()
    uniq = []
    for r in out:
        key = tuple(int(round(((x + 180.0) % 360.0) / 5.0)) for x in r)
        if key not in seen:
            seen.add(key)
            uniq.append(r)
    return uniq
