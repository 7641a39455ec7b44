"""O(N) neighbour search: a cell list producing the half pair list (i < j) within a cutoff.

No N x N tensor is ever built.  Atoms are binned into cubic cells of edge >= cutoff, sorted by
cell, and every atom is paired with the atoms of its own cell (later in the sorted order) and of
the 13 "forward" neighbour cells.  Candidate pairs are generated with exact sizes
(``repeat_interleave`` of the per-cell counts), one neighbour offset at a time, so peak memory is
about N x (atoms per cell) per offset.  The list is meant to be built with a skin and reused
(rebuilt when an atom moved more than half the skin), see ``MadraXEnergy``.
"""
from __future__ import annotations

from typing import List

import torch
from torch import Tensor


def _half_shell_offsets(device: torch.device) -> Tensor:
    """The 13 neighbour-cell offsets lexicographically after (0, 0, 0)."""
    offs: List[List[int]] = []
    for dx in range(-1, 2):
        for dy in range(-1, 2):
            for dz in range(-1, 2):
                if dx > 0 or (dx == 0 and (dy > 0 or (dy == 0 and dz > 0))):
                    offs.append([dx, dy, dz])
    return torch.tensor(offs, dtype=torch.long, device=device)


def cell_list_pairs(pos: Tensor, cutoff: float, max_cells_per_atom: float = 8.0) -> Tensor:
    """All unordered pairs (i < j) with |x_i - x_j| <= cutoff, as a (2, P) long tensor, sorted."""
    p = pos.detach()
    n = p.shape[0]
    device = p.device
    if n < 2:
        return torch.zeros((2, 0), dtype=torch.long, device=device)
    if not bool(torch.isfinite(p).all()):
        bad = int(torch.nonzero(~torch.isfinite(p).all(1)).view(-1)[0].item())
        raise ValueError("MadraX: non-finite coordinate for heavy atom " + str(bad)
                         + " (NaN/inf positions: the simulation has blown up or the input is broken)")
    lo = p.min(0).values
    span = p.max(0).values - lo
    if float(span.max().item()) > 1.0e6:
        raise ValueError("MadraX: coordinates span more than 1e6 A; positions must be in Angstrom "
                         + "(heavy atoms flying apart: check the input or the integration)")
    cell = float(cutoff)
    # keep the grid size O(N) for sparse systems (atoms far apart): grow the cells instead
    ncell = torch.floor(span / cell).long() + 1
    limit = int(max_cells_per_atom * n) + 27
    while int(ncell.prod().item()) > limit:
        cell = cell * 1.26
        ncell = torch.floor(span / cell).long() + 1
    c3 = torch.floor((p - lo) / cell).long()
    c3 = torch.minimum(c3, ncell - 1)
    ny = int(ncell[1].item())
    nz = int(ncell[2].item())
    n_cells = int(ncell.prod().item())
    cid = (c3[:, 0] * ny + c3[:, 1]) * nz + c3[:, 2]
    order = torch.argsort(cid)
    c3s = c3.index_select(0, order)
    cids = cid.index_select(0, order)
    counts = torch.bincount(cids, minlength=n_cells)
    starts = torch.cumsum(counts, 0) - counts
    ps = p.index_select(0, order)
    cut2 = cutoff * cutoff
    atom = torch.arange(n, device=device)
    out_i: List[Tensor] = []
    out_j: List[Tensor] = []

    # own cell: partners later in the sorted order
    cnt = counts.index_select(0, cids)
    start = starts.index_select(0, cids)
    rank = atom - start  # position inside its own cell
    after = cnt - rank - 1
    total = int(after.sum().item())
    if total > 0:
        a = torch.repeat_interleave(atom, after)
        first = torch.cumsum(after, 0) - after
        off = torch.arange(total, device=device) - first.index_select(0, a)
        b = a + 1 + off
        d2 = ((ps.index_select(0, a) - ps.index_select(0, b)) ** 2).sum(-1)
        keep = d2 <= cut2
        out_i.append(a[keep])
        out_j.append(b[keep])

    for o in _half_shell_offsets(device):
        nb3 = c3s + o
        valid = ((nb3 >= 0) & (nb3 < ncell)).all(1)
        nb = (nb3[:, 0] * ny + nb3[:, 1]) * nz + nb3[:, 2]
        nb = torch.where(valid, nb, torch.zeros_like(nb))
        cnt = torch.where(valid, counts.index_select(0, nb), torch.zeros_like(nb))
        total = int(cnt.sum().item())
        if total == 0:
            continue
        a = torch.repeat_interleave(atom, cnt)
        first = torch.cumsum(cnt, 0) - cnt
        off = torch.arange(total, device=device) - first.index_select(0, a)
        b = starts.index_select(0, nb.index_select(0, a)) + off
        d2 = ((ps.index_select(0, a) - ps.index_select(0, b)) ** 2).sum(-1)
        keep = d2 <= cut2
        out_i.append(a[keep])
        out_j.append(b[keep])

    if len(out_i) == 0:
        return torch.zeros((2, 0), dtype=torch.long, device=device)
    i = order.index_select(0, torch.cat(out_i))
    j = order.index_select(0, torch.cat(out_j))
    lo_ij = torch.minimum(i, j)
    hi_ij = torch.maximum(i, j)
    key = lo_ij * n + hi_ij
    srt = torch.argsort(key)
    return torch.stack([lo_ij.index_select(0, srt), hi_ij.index_select(0, srt)])
