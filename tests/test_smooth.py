"""Smooth mode (physics spec section 7): C1 surrogate, exact gradients, close to the exact energy.

* smooth vs exact totals per channel within max(1 % of |exact|, 0.5 kcal/mol) on the visible set;
* analytic vs central finite-difference derivatives in float64 (h = 1e-4 A) along random unit
  displacement fields, per channel, |D_an - D_fd| <= 1e-4 (1 + |D_fd|), on the references and copies
  with 0.2 A Gaussian noise (so that switch regions are crossed);
* per-atom force components on random atoms, |F_an - F_fd| <= 1e-3 (1 + |F_fd|);
* float32 production path: h = 1e-3 A, 1e-2 relative;
* continuity scans: one atom moved through switch regions in 1e-3 A steps, no energy step larger
  than 2 |F| x step and no force jump larger than 1 kcal/mol/A.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import REFERENCE_NAMES, reference_structure
from openmm_madrax import CHANNELS
from openmm_madrax.energy.model import MadraXEnergy

torch.set_num_threads(max(1, torch.get_num_threads()))


@pytest.mark.parametrize("burial", ["madrax", "foldx"])
@pytest.mark.parametrize("name", REFERENCE_NAMES)
def test_smooth_close_to_exact(name, burial):
    s = reference_structure(name)
    pos = torch.tensor(s.coords)
    exact = MadraXEnergy(s.tables(), burial=burial)(pos).sum(0).numpy()
    smooth = MadraXEnergy(s.tables(), burial=burial, smooth=True)(pos).detach().sum(0).numpy()
    for c, ch in enumerate(CHANNELS):
        tol = max(0.01 * abs(exact[c]), 0.5)
        assert abs(smooth[c] - exact[c]) <= tol, f"{name} {burial} {ch}: smooth {smooth[c]:.4f} exact {exact[c]:.4f}"


def _channel_gradients(module, pos):
    """(E per channel, gradient of each channel wrt pos) with autograd."""
    p = pos.clone().requires_grad_(True)
    e = module(p).sum(0)
    grads = []
    for c in range(e.shape[0]):
        if e[c].requires_grad:
            g, = torch.autograd.grad(e[c], p, retain_graph=True, allow_unused=True)
        else:
            g = None
        grads.append(torch.zeros_like(pos) if g is None else g)
    return e.detach(), torch.stack(grads)


def _directional_check(module, pos, n_dirs, h, rtol, seed):
    gen = torch.Generator().manual_seed(seed)
    _, grads = _channel_gradients(module, pos)
    worst = 0.0
    for _ in range(n_dirs):
        v = torch.randn(pos.shape, generator=gen, dtype=torch.float64).to(pos.dtype)
        v = v / v.norm()
        with torch.no_grad():
            ep = module(pos + h * v).sum(0)
            em = module(pos - h * v).sum(0)
        fd = ((ep - em) / (2 * h)).double()
        an = (grads * v).sum((1, 2)).double()
        err = (an - fd).abs() / (1.0 + fd.abs())
        worst = max(worst, float(err.max()))
        bad = torch.nonzero(err > rtol).flatten().tolist()
        assert not bad, "; ".join(f"{CHANNELS[c]}: analytic {an[c]:.6g} fd {fd[c]:.6g}" for c in bad)
    return worst


def _noisy(pos, sigma, seed):
    gen = torch.Generator().manual_seed(seed)
    return pos + sigma * torch.randn(pos.shape, generator=gen, dtype=pos.dtype)


# copies with noise per structure (spec: 10; 1BHL uses 3 to keep the suite fast, noted here)
N_COPIES = {"1UBI": 10, "alanine": 10, "1BHL": 3}


@pytest.mark.parametrize("name", REFERENCE_NAMES)
def test_directional_derivatives_float64(name):
    s = reference_structure(name)
    module = MadraXEnergy(s.tables(), smooth=True, skin=2.0)
    pos0 = torch.tensor(s.coords)
    configs = [pos0] + [_noisy(pos0, 0.2, k) for k in range(N_COPIES[name])]
    for k, pos in enumerate(configs):
        _directional_check(module, pos, n_dirs=20 if k == 0 else 4, h=1e-4, rtol=1e-4, seed=100 + k)


def test_directional_derivatives_md_setting_float64():
    """The MD setting of the force (smoothing=3, hbond_tau=1 kcal/mol) is as differentiable."""
    s = reference_structure("1UBI")
    module = MadraXEnergy(s.tables(), smooth=True, skin=2.0, smoothing=3.0, hbond_tau=1.0)
    pos0 = torch.tensor(s.coords)
    for k, pos in enumerate([pos0] + [_noisy(pos0, 0.2, k) for k in range(3)]):
        _directional_check(module, pos, n_dirs=8 if k == 0 else 4, h=1e-4, rtol=1e-4, seed=200 + k)


@pytest.mark.parametrize("name", ["1UBI", "alanine"])
def test_atom_force_components_float64(name):
    s = reference_structure(name)
    module = MadraXEnergy(s.tables(), smooth=True, skin=2.0)
    gen = torch.Generator().manual_seed(7)
    for pos in (torch.tensor(s.coords), _noisy(torch.tensor(s.coords), 0.2, 3)):
        p = pos.clone().requires_grad_(True)
        module(p).sum().backward()
        force = -p.grad
        atoms = torch.randperm(s.n_atoms, generator=gen)[:50]
        h = 1e-4
        for a in atoms.tolist():
            for x in range(3):
                d = torch.zeros_like(pos)
                d[a, x] = h
                with torch.no_grad():
                    fd = -(module(pos + d).sum() - module(pos - d).sum()) / (2 * h)
                assert abs(force[a, x] - fd) <= 1e-3 * (1 + abs(fd)), (
                    f"{name} atom {s.atom_names[a]} of residue {s.atom_residue[a]} axis {x}: "
                    f"analytic {float(force[a, x]):.6g} fd {float(fd):.6g}")


def test_directional_derivatives_float32():
    """float32 production path: analytic float32 derivatives vs central differences (h = 1e-3 A).

    The differences are taken with the float64 module: in float32 the displaced coordinates
    themselves are rounded (ulp ~2e-6 A at 30 A, a few % of each atom's share of a 1e-3 A unit
    displacement field), and the stiff peptide-bond term turns that input rounding into errors of
    several % of the derivative, whatever the energy code does.
    """
    s = reference_structure("1UBI")
    m32 = MadraXEnergy(s.tables(), smooth=True, dtype=torch.float32, skin=2.0)
    m64 = MadraXEnergy(s.tables(), smooth=True, dtype=torch.float64, skin=2.0)
    pos0 = torch.tensor(s.coords)
    h = 1e-3
    for k, pos in enumerate([pos0, _noisy(pos0, 0.2, 11)]):
        _, grads = _channel_gradients(m32, pos.float())
        gen = torch.Generator().manual_seed(200 + k)
        for _ in range(10):
            v = torch.randn(pos.shape, generator=gen, dtype=torch.float64)
            v = v / v.norm()
            with torch.no_grad():
                fd = (m64(pos + h * v).sum(0) - m64(pos - h * v).sum(0)) / (2 * h)
            an = (grads.double() * v).sum((1, 2))
            err = (an - fd).abs() / (1.0 + fd.abs())
            bad = torch.nonzero(err > 1e-2).flatten().tolist()
            assert not bad, "; ".join(f"{CHANNELS[c]}: float32 analytic {an[c]:.6g} fd {fd[c]:.6g}" for c in bad)


def _scan(module, pos, atoms, direction, start, stop, step=1e-3):
    """Energy and total force on ``atoms`` (moved rigidly together) along a straight path (A)."""
    direction = direction / direction.norm()
    ts = np.arange(start, stop + step / 2, step)
    energies, forces = [], []
    for t in ts:
        p = pos.clone()
        p[atoms] = p[atoms] + float(t) * direction
        p.requires_grad_(True)
        e = module(p).sum()
        g, = torch.autograd.grad(e, p)
        energies.append(float(e))
        forces.append(-g[atoms].sum(0).detach().clone())
    return ts, np.array(energies), torch.stack(forces).numpy()


def _check_continuity(ts, e, f, direction):
    step = ts[1] - ts[0]
    fd = f @ (direction / direction.norm()).numpy()
    de = np.abs(np.diff(e))
    bound = 2.0 * np.maximum(np.abs(fd[1:]), np.abs(fd[:-1])) * step + 1e-9
    assert np.all(de <= bound), f"energy step {de.max():.3g} exceeds 2|F|dx at t={ts[np.argmax(de - bound)]:.3f}"
    jumps = np.linalg.norm(np.diff(f, axis=0), axis=1)
    assert jumps.max() <= 1.0, f"force jump {jumps.max():.3g} kcal/mol/A at t={ts[np.argmax(jumps)]:.3f}"


def _fragment(s, center_atom, radius=9.0):
    """Residues with any atom within ``radius`` of an atom: a small structure for fast scans."""
    import tempfile
    from openmm_madrax import load

    xyz = s.coords
    keep = sorted({int(s.atom_residue[a]) for a in np.nonzero(np.linalg.norm(xyz - xyz[center_atom], axis=1) < radius)[0]})
    lines = [l for l in s.to_pdb().splitlines() if l.startswith("ATOM")]
    res_lines = [l for k, l in enumerate(lines) if int(s.atom_residue[k]) in keep]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fragment.pdb"
        path.write_text("\n".join(res_lines) + "\nEND\n")
        return load(path, quiet=True)


def _atom(s, resseq, name):
    for k in range(s.n_atoms):
        r = s.residues[s.atom_residue[k]]
        if r.resseq == resseq and s.atom_names[k] == name:
            return k
    raise KeyError((resseq, name))


# (moving group, partner atom, path, start, stop, what).  The group is moved rigidly: a polar
# atom together with the atoms that define its virtual-hydrogen / lone-pair frame (as the bonded
# terms of a force field keep them in MD).  "line" moves it along the partner -> first-atom
# direction so that their distance goes from start to stop (A); "across" moves it perpendicular to
# that line by start..stop (A), sweeping the H-bond angular windows.  Paths chosen on 1UBI so that
# no third atom comes closer than 2.9 A.  A single carbon with no frame role (LEU CD1) crosses the
# occupancy cutoffs and other atoms' directional-occupancy windows.
SCANS = [
    ((29, ("NZ", "CE", "CD")), (16, "O"), "line", 3.30, 3.75, "H-bond distance window (3.5 A)"),
    ((29, ("NZ", "CE", "CD")), (16, "O"), "across", -0.45, 0.45, "H-bond angular windows"),
    ((29, ("NZ", "CE", "CD")), (16, "OE1"), "line", 6.75, 7.35, "electrostatics cutoff (7 A), occupancy cutoffs"),
    ((33, ("NZ", "CE", "CD")), (14, "O"), "line", 2.85, 2.60, "clash onset of an H-bonded pair"),
    ((54, ("NE", "CD", "CZ", "NH1", "NH2", "CG")), (58, "OD2"), "line", 3.30, 3.75, "salt-bridge H-bond distance window"),
    ((50, ("CD1",)), (50, "CB"), "across", -0.4, 0.4, "occupancy / directional-occupancy windows of neighbours"),
]


@pytest.mark.parametrize("moving, partner, path, start, stop, what", SCANS)
def test_continuity_scans(moving, partner, path, start, stop, what):
    """Move atoms through a switch region in 1e-3 A steps (spec 7 continuity criteria)."""
    full = reference_structure("1UBI")
    resseq, names = moving
    frag = _fragment(full, _atom(full, resseq, names[0]), radius=8.0)
    module = MadraXEnergy(frag.tables(), smooth=True, skin=3.0)
    pos = torch.tensor(frag.coords)
    group = [_atom(frag, resseq, n) for n in names]
    a, b = group[0], _atom(frag, *partner)
    u = pos[a] - pos[b]
    d0 = float(u.norm())
    if path == "line":
        direction, lo, hi = u, start - d0, stop - d0
        if lo > hi:
            direction, lo, hi = -u, d0 - start, d0 - stop
    else:
        direction = torch.cross(u, torch.tensor([0.0, 0.0, 1.0], dtype=u.dtype), dim=0)
        lo, hi = start, stop
    ts, e, f = _scan(module, pos, group, direction, lo, hi)
    _check_continuity(ts, e, f, direction)
    assert e.max() - e.min() > 1e-3, f"scan through the {what} changed nothing"
