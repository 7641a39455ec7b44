"""Exact mode against MadraX's own per-residue energies (physics spec section 9).

Channels 0-6, 8, 9 in float64 and float32, both burial modes, on the visible references
(1UBI, 1BHL, the Ala4-Phe-Ala4 peptide).  Tolerances of spec 9: float64 |dE| <= 1e-3 kcal/mol per
residue and channel totals within 1e-3 relative; float32 |dE| <= 1e-2 per residue.  Near-threshold
flips are allowed for at most 1 % of the residues in channels 1, 3 and 4 when the channel total
still agrees within 0.5 kcal/mol; they are listed in the failure message.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import REFERENCE_NAMES, reference_structure, reference_table
from openmm_madrax import CHANNELS, score
from openmm_madrax.energy.model import MadraXEnergy

EXACT_CHANNELS = [0, 1, 2, 3, 4, 5, 6, 8, 9]
FLIP_CHANNELS = {1, 3, 4}


def _compare(name, burial, dtype, per_residue_tol):
    structure = reference_structure(name)
    ref = reference_table(name, burial)
    df = score(structure, burial=burial, dtype=dtype, torsions=False)
    assert list(df.chain) == list(ref.chain) and list(df.resnum) == list(ref.resnum)
    assert list(df.resname) == list(ref.resname)
    problems = []
    for c in EXACT_CHANNELS:
        ch = CHANNELS[c]
        ours = df[ch].to_numpy()
        theirs = ref[ch].to_numpy()
        bad = np.nonzero(np.abs(ours - theirs) > per_residue_tol)[0]
        total_diff = abs(ours.sum() - theirs.sum())
        rel_ok = total_diff <= 1e-3 * max(abs(theirs.sum()), 1.0) if dtype == "float64" else total_diff <= 0.05
        if len(bad) == 0 and rel_ok:
            continue
        allowed = (c in FLIP_CHANNELS and len(bad) <= 0.01 * len(ref) and total_diff <= 0.5)
        if not allowed:
            listing = ", ".join(f"{ref.chain[k]}:{ref.resname[k]}{ref.resnum[k]} ours {ours[k]:.5f} ref {theirs[k]:.5f}"
                                for k in bad[:10])
            problems.append(f"{ch}: total {ours.sum():.4f} vs {theirs.sum():.4f}; {len(bad)} residues off: {listing}")
    assert not problems, f"{name} {burial} {dtype}:\n" + "\n".join(problems)


@pytest.mark.parametrize("burial", ["madrax", "foldx"])
@pytest.mark.parametrize("name", REFERENCE_NAMES)
def test_exact_float64(name, burial):
    _compare(name, burial, "float64", 1e-3)


@pytest.mark.parametrize("burial", ["madrax", "foldx"])
@pytest.mark.parametrize("name", REFERENCE_NAMES)
def test_exact_float32(name, burial):
    _compare(name, burial, "float32", 1e-2)


@pytest.mark.parametrize("smooth", [False, True])
def test_torchscript_gives_same_numbers(smooth):
    structure = reference_structure("1BHL")
    module = MadraXEnergy(structure.tables(), smooth=smooth)
    scripted = torch.jit.script(MadraXEnergy(structure.tables(), smooth=smooth))
    pos = torch.tensor(structure.coords)
    a = module(pos)
    b = scripted(pos)
    assert torch.equal(a, b)
    # and through a save / load round trip, as TorchForce does
    import io

    buf = io.BytesIO()
    torch.jit.save(scripted, buf)
    buf.seek(0)
    c = torch.jit.load(buf)(pos)
    assert torch.equal(a, c)


def test_result_does_not_depend_on_neighbour_skin():
    structure = reference_structure("1UBI")
    pos = torch.tensor(structure.coords)
    e0 = MadraXEnergy(structure.tables(), skin=0.0)(pos)
    e2 = MadraXEnergy(structure.tables(), skin=2.5)(pos)
    assert torch.allclose(e0, e2, atol=1e-10, rtol=0)


def test_neighbour_list_is_reused_until_atoms_move_half_the_skin():
    structure = reference_structure("alanine")
    m = MadraXEnergy(structure.tables(), skin=1.0)
    pos = torch.tensor(structure.coords)
    m(pos)
    assert m.nl_builds == 1
    m(pos + 0.2)  # rigid shift of 0.2 A per axis: below half the skin (0.5 A / sqrt 3 per axis)
    assert m.nl_builds == 1
    moved = pos.clone()
    moved[3] += torch.tensor([0.4, 0.0, 0.0])
    m(moved)
    assert m.nl_builds == 2
