"""Deep mutational scan: every substitution at a range of positions, run as ΔΔG tasks, with a heat map.

``openmm-madrax ddg PDB --scan A:10-60 [--to ACDE...]``: the positions (``A:10-60``, ``A:5``,
``A`` for a whole chain, several joined by commas: ``A:10-20,B:3-9``) times the target amino acids
(default all 20; the wild-type residue itself is left out: its ΔΔG is 0 by construction), one
task per mutant through the public ΔΔG API (:func:`openmm_madrax.ddg.ddg` with a
:class:`~openmm_madrax.ddg.MutationModeller` shared per worker).  :func:`plot_scan` draws the
positions × amino acids heat map (diverging colours centred at 0, wild type marked).
"""
from __future__ import annotations

import re
import warnings
from typing import List, Optional, Sequence

import numpy as np
import pandas as pd

from ..residues import ONE_LETTER, THREE_LETTER
from ..errors import MadraXError
from ..errors import MadraXWarning

#: amino-acid order of the heat map rows: aliphatic, aromatic, special, polar, charged
AA_ORDER = "AVILMFWYCGPSTNQHDEKR"
AA_GROUPS = (("aliphatic", "AVILM"), ("aromatic", "FWY"), ("special", "CGP"), ("polar", "STNQH"),
             ("charged", "DEKR"))
_PART = re.compile(r"^\s*([A-Za-z0-9])\s*(?::\s*(-?\d+)([A-Za-z]?)\s*(?:-\s*(-?\d+)([A-Za-z]?))?)?\s*$")


def parse_targets(to: Optional[str]) -> str:
    """``--to`` letters (any order, case-insensitive) in :data:`AA_ORDER`; default all 20."""
    if to is None or str(to).strip() == "":
        return AA_ORDER
    letters = [c for c in str(to).upper() if not c.isspace() and c != ","]
    bad = sorted({c for c in letters if c not in THREE_LETTER})
    if bad:
        raise MadraXError(f"--to {to!r}: {''.join(bad)} not among the 20 standard amino acids "
                          f"({''.join(sorted(THREE_LETTER))})")
    return "".join(c for c in AA_ORDER if c in letters)


def scan_positions(structure, spec: str) -> List[int]:
    """Residue indices of ``structure`` selected by a scan spec (in spec order, no repeats)."""
    chains = {}
    for k, r in enumerate(structure.residues):
        chains.setdefault(r.chain_id, []).append(k)
    out: List[int] = []
    missing = []
    for part in str(spec).split(","):
        if not part.strip():
            continue
        m = _PART.match(part)
        if not m:
            raise MadraXError(f"--scan {spec!r}: cannot read {part.strip()!r}; write CHAIN:FIRST-LAST (A:10-60), "
                              "CHAIN:NUM (A:44) or CHAIN (whole chain), joined by commas")
        chain, a, ai, b, bi = m.groups()
        if chain not in chains:
            raise MadraXError(f"--scan {spec!r}: chain {chain!r} is not in {structure.name} "
                              f"(chains: {', '.join(sorted(chains))})")
        idx = chains[chain]
        if a is None:
            sel = list(idx)
        else:
            lo = (int(a), ai or "")
            hi = (int(b), bi or "") if b is not None else None
            if hi is not None and (hi[0] < lo[0]):
                raise MadraXError(f"--scan {part.strip()!r}: the range ends before it starts")

            def key(k):
                r = structure.residues[k]
                return r.resseq, r.icode

            if hi is None:
                sel = [k for k in idx if key(k) == lo or (not ai and key(k)[0] == lo[0])]
            else:
                sel = [k for k in idx if lo[0] <= key(k)[0] <= hi[0]
                       and not (ai and key(k)[0] == lo[0] and key(k)[1] < lo[1])
                       and not (bi and key(k)[0] == hi[0] and key(k)[1] > hi[1])]
                present = {structure.residues[k].resseq for k in sel}
                gap = [n for n in range(lo[0], hi[0] + 1) if n not in present]
                if gap:
                    missing.append(f"{chain}:{_ranges(gap)}")
            if not sel:
                raise MadraXError(f"--scan {part.strip()!r}: no residue {chain}:{a}{ai}"
                                  f"{'' if b is None else f'-{b}{bi}'} in {structure.name}")
        for k in sel:
            if k not in out:
                out.append(k)
    if not out:
        raise MadraXError(f"--scan {spec!r}: selects no residue")
    if missing:
        warnings.warn(f"--scan {spec}: residue number(s) not in the structure, skipped: {'; '.join(missing)}",
                      MadraXWarning, stacklevel=2)
    return out


def _ranges(nums: Sequence[int]) -> str:
    out, start, prev = [], None, None
    for n in list(nums) + [None]:
        if start is None:
            start = prev = n
        elif n is not None and n == prev + 1:
            prev = n
        else:
            out.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = prev = n
    return ",".join(out)


def scan_mutants(structure, spec: str, to: Optional[str] = None) -> List[dict]:
    """One dict per substitution: ``mutant`` (``A:G44S``), ``chain``, ``resseq``, ``icode``, ``wt``,
    ``mut``, ``position`` (``G44``, with the chain when the scan covers several chains)."""
    targets = parse_targets(to)
    sites = scan_positions(structure, spec)
    multi = len({structure.residues[k].chain_id for k in sites}) > 1
    out = []
    for k in sites:
        r = structure.residues[k]
        wt = ONE_LETTER[r.resname]
        pos = f"{r.chain_id}:{wt}{r.resseq}{r.icode}" if multi else f"{wt}{r.resseq}{r.icode}"
        for aa in targets:
            if aa == wt:
                continue
            out.append({"mutant": f"{r.chain_id}:{wt}{r.resseq}{r.icode}{aa}", "chain": r.chain_id,
                        "resseq": int(r.resseq), "icode": r.icode, "wt": wt, "mut": aa, "position": pos})
    return out


def scan_matrix(table: pd.DataFrame, value: str = "ddg", aa_order: str = AA_ORDER):
    """(positions, wild types, amino acids, matrix (aa x position), failed mask) of a scan table;
    wild-type cells are 0 (the X -> X reference), untested cells NaN."""
    positions = list(dict.fromkeys(table["position"]))
    wts = table.drop_duplicates("position").set_index("position")["wt"].reindex(positions).tolist()
    used = set(table["mut"]) | set(wts)
    aas = [a for a in aa_order if a in used]
    M = np.full((len(aas), len(positions)), np.nan)
    failed = np.zeros_like(M, dtype=bool)
    ai = {a: i for i, a in enumerate(aas)}
    pi = {p: j for j, p in enumerate(positions)}
    for j, w in enumerate(wts):
        M[ai[w], j] = 0.0
    for r in table.itertuples(index=False):
        i, j = ai[r.mut], pi[r.position]
        v = getattr(r, value)
        if r.status == "ok" and v == v:
            M[i, j] = float(v)
        else:
            failed[i, j] = True
    return positions, wts, aas, M, failed


def plot_scan(table: pd.DataFrame, path, *, value: str = "ddg", title: Optional[str] = None,
              per_row: int = 60, vmax: Optional[float] = None) -> str:
    """Heat map of a scan (positions x amino acids, ΔΔG in a diverging map centred at 0), PNG/SVG/PDF.

    Red = destabilising (positive), blue = stabilising; the colour range is symmetric, ±``vmax``
    (default: the 98th percentile of |ΔΔG|, at least 1 kcal/mol; values beyond are drawn at the
    end colour). Wild-type cells: white with a dot; failed mutants: grey with a cross; above each
    panel the mean over the substitutions at each position.  Long scans wrap every ``per_row``
    positions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize

    positions, wts, aas, M, failed = scan_matrix(table, value)
    finite = M[np.isfinite(M)]
    if vmax is None:
        vmax = max(1.0, float(np.percentile(np.abs(finite), 98))) if finite.size else 1.0
    norm = Normalize(vmin=-vmax, vmax=vmax)
    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="#d9d9d9")
    n = len(positions)
    n_panels = -(-n // per_row)
    width = -(-n // n_panels)  # balanced rows: 76 positions -> 38 + 38, not 60 + 16
    panels = [(s, min(s + width, n)) for s in range(0, n, width)]
    fig_w = max(5.0, 0.2 * width + 2.2)
    heat_h = 0.19 * len(aas)
    fig = plt.figure(figsize=(fig_w, (heat_h + 1.6) * len(panels) + 0.3))
    outer = fig.add_gridspec(len(panels), 2, width_ratios=[width, 0.6], hspace=0.3, wspace=0.04)
    mean = np.where(np.isfinite(M), M, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        wt_mask = np.zeros_like(M, dtype=bool)
        for j, w in enumerate(wts):
            wt_mask[aas.index(w), j] = True
        mean = np.nanmean(np.where(wt_mask, np.nan, mean), axis=0)
    im = None
    for pnum, (s, e) in enumerate(panels):
        inner = outer[pnum, 0].subgridspec(2, 1, height_ratios=[0.8, heat_h], hspace=0.06)
        axm = fig.add_subplot(inner[0])
        ax = fig.add_subplot(inner[1], sharex=axm)
        x = np.arange(s, e)
        colors = cmap(norm(np.nan_to_num(mean[s:e])))
        axm.bar(x, np.nan_to_num(mean[s:e]), color=colors, width=0.85, edgecolor="none")
        axm.axhline(0, color="0.3", lw=0.6)
        axm.set_ylabel("mean", fontsize=7)
        axm.tick_params(labelbottom=False, labelsize=6)
        for sp in ("top", "right"):
            axm.spines[sp].set_visible(False)
        data = np.ma.masked_invalid(M[:, s:e])
        im = ax.imshow(data, cmap=cmap, norm=norm, aspect="auto", interpolation="nearest",
                       extent=(s - 0.5, e - 0.5, len(aas) - 0.5, -0.5))
        fi, fj = np.nonzero(failed[:, s:e])
        ax.scatter(fj + s, fi, marker="x", s=12, c="0.35", linewidths=0.8)
        wi = [aas.index(w) for w in wts[s:e]]
        ax.scatter(x, wi, marker="o", s=9, c="k", linewidths=0)
        ax.set_yticks(range(len(aas)))
        ax.set_yticklabels(aas, fontsize=7, family="monospace")
        step = 1 if e - s <= 60 else 2
        ax.set_xticks(x[::step])
        ax.set_xticklabels(positions[s:e:step], rotation=90, fontsize=6, family="monospace")
        ax.set_xlim(s - 0.5, s - 0.5 + width)
        pos_y = 0
        for gname, letters in AA_GROUPS:
            rows = [aas.index(a) for a in letters if a in aas]
            if rows and pos_y:
                ax.axhline(min(rows) - 0.5, color="w", lw=1.5)
            pos_y += len(rows)
        if pnum == 0 and title:
            axm.set_title(title, fontsize=9)
    cax = fig.add_subplot(outer[0, 1].subgridspec(2, 1, height_ratios=[0.8, heat_h], hspace=0.06)[1])
    cb = fig.colorbar(im, cax=cax, extend="both")
    cb.set_label("ΔΔG (kcal/mol), + destabilising", fontsize=7)
    cb.ax.tick_params(labelsize=6)
    fig.text(0.01, 0.005, "• wild type (ΔΔG 0)   × failed   grey: not tested", fontsize=6, va="bottom")
    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
    return str(path)


def order_scan_table(table: pd.DataFrame, aa_order: str = AA_ORDER) -> pd.DataFrame:
    """Rows in scan order: positions as scanned, then amino acids in ``aa_order``."""
    pos_rank = {p: i for i, p in enumerate(dict.fromkeys(table["position"]))}
    aa_rank = {a: i for i, a in enumerate(aa_order)}
    key = table["position"].map(pos_rank) * 100 + table["mut"].map(aa_rank)
    return table.iloc[np.argsort(key.to_numpy(), kind="stable")].reset_index(drop=True)
