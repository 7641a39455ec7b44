"""Geometry on coordinate tensors (Angstrom, radians/degrees), TorchScript-compatible.

Degenerate configurations (collinear frames, acos at 0/180 deg) are the only remaining non-smooth
points of the energy (spec section 7); they are guarded here with clamped acos arguments and a
norm floor so that neither the value nor the gradient becomes NaN.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ..units import RAD_TO_DEG

#: acos arguments are clamped to +-ACOS_CLAMP so that the gradient stays finite at 0 / 180 deg
ACOS_CLAMP = 0.9999999


def safe_norm(v: Tensor, eps: float = 1e-12) -> Tensor:
    """|v| along the last axis with a gradient that stays finite at v = 0."""
    return torch.sqrt((v * v).sum(-1) + eps)


def distance(pos: Tensor, i: Tensor, j: Tensor) -> Tensor:
    return safe_norm(pos.index_select(0, i) - pos.index_select(0, j))


# Named constants enter TorchScript-compiled functions as default arguments (bound when the
# function is defined): TorchScript cannot read module-level floats.


def acos_deg(cos: Tensor, clamp: float = ACOS_CLAMP, to_deg: float = RAD_TO_DEG) -> Tensor:
    """acos in degrees of a clamped cosine."""
    return torch.acos(cos.clamp(-clamp, clamp)) * to_deg


def angle_rad(a: Tensor, b: Tensor, c: Tensor, clamp: float = ACOS_CLAMP) -> Tensor:
    """Angle a-b-c at b, in radians, for (..., 3) tensors."""
    u = a - b
    v = c - b
    cos = (u * v).sum(-1) / (safe_norm(u) * safe_norm(v))
    return torch.acos(cos.clamp(-clamp, clamp))


def angle_deg(a: Tensor, b: Tensor, c: Tensor, to_deg: float = RAD_TO_DEG) -> Tensor:
    """Angle a-b-c at b, in degrees, for (..., 3) tensors."""
    return angle_rad(a, b, c) * to_deg


def dihedral(p0: Tensor, p1: Tensor, p2: Tensor, p3: Tensor) -> Tensor:
    """IUPAC dihedral p0-p1-p2-p3 in radians, (-pi, pi]; atan2 form (no acos singularity)."""
    b0 = p1 - p0
    b1 = p2 - p1
    b2 = p3 - p2
    n1 = torch.cross(b0, b1, dim=-1)
    n2 = torch.cross(b1, b2, dim=-1)
    b1n = b1 / safe_norm(b1).unsqueeze(-1)
    m1 = torch.cross(b1n, n1, dim=-1)
    x = (n1 * n2).sum(-1)
    y = (m1 * n2).sum(-1)
    # a tiny offset keeps atan2's gradient finite when both arguments vanish (collinear atoms)
    return torch.atan2(y, x + 1e-30)


def local_frames(pos: Tensor, atom: Tensor, p1: Tensor, p2: Tensor, planar_quirk: bool = False):
    """Frames of spec 2.2: e_z towards p1, e_x = p2 direction orthogonalised, e_y = e_z x e_x.

    Falls back to e_x = (1, 0, 0) when the p2 direction is (anti)parallel to e_z (norm < 1e-5).

    ``planar_quirk``: when the atom and both partners have bit-identical y coordinates,
    e_y is exactly +-y; MadraX then always orients it along +y, i.e. the frame is turned by 180 deg
    about e_x (e_y -> -e_y, e_z -> -e_z) where ours gives -y.  Only idealised, exactly planar
    models trigger it (the Ala4-Phe-Ala4 reference peptide: 4 frames, none in 1UBI/1BHL); found by
    matching the reference energies, not stated in the spec.  A measure-zero case: applied in smooth
    mode too, so that both modes agree on such models; it never triggers once atoms move.
    """
    xa = pos.index_select(0, atom)
    vz = pos.index_select(0, p1) - xa
    ez = vz / safe_norm(vz).unsqueeze(-1)
    v2 = pos.index_select(0, p2) - xa
    vx = v2 - (v2 * ez).sum(-1, keepdim=True) * ez
    nx = safe_norm(vx)
    fallback = torch.zeros_like(vx)
    fallback[:, 0] = 1.0
    ok = (nx >= 1e-5).unsqueeze(-1)
    ex = torch.where(ok, vx / nx.clamp(min=1e-5).unsqueeze(-1), fallback)
    ey = torch.cross(ez, ex, dim=-1)
    if planar_quirk:
        flip = (ey[:, 0] == 0.0) & (ey[:, 2] == 0.0) & (ey[:, 1] < 0.0)
        sign = torch.where(flip, -1.0, 1.0).to(pos.dtype).unsqueeze(-1)
        ey = ey * sign
        ez = ez * sign
    return xa, ex, ey, ez
