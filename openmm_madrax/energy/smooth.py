"""Exact and C1-smooth versions of MadraX's non-smooth building blocks (physics spec section 7).

Every function takes ``smooth: bool``; with ``smooth=False`` it is the exact MadraX operation
(hard step, relu, max, min, clamp), with ``smooth=True`` the stated surrogate of the given width:

* ``gate_le(x, a, w)``  factor for "x <= a": exact step, smooth 1 - S((x - a)/w + 1/2) with the
  quintic smoothstep S (C2, centred on a, width w);
* ``relu``  exact relu, smooth quadratic blend over +-h (unchanged outside +-h; C1), used for
  kinks of piecewise-linear functions;
* ``softplus_relu``  exact relu, smooth tau*ln(1 + exp(x/tau));
* ``smax / smin / sclamp``  max/min/clamp, smooth via softplus (tau);
* ``boltzmann`` weights for discrete minima (softmax of -E/tau).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def smoothstep(t: Tensor) -> Tensor:
    """S(t) = 0 (t<=0), 6t^5 - 15t^4 + 10t^3 (0<t<1), 1 (t>=1)."""
    t = t.clamp(0.0, 1.0)
    return t * t * t * (t * (t * 6.0 - 15.0) + 10.0)


def gate_le(x: Tensor, a: float, w: float, smooth: bool) -> Tensor:
    """1 where x <= a (exact) / smooth switch centred on a with width w."""
    if smooth:
        return 1.0 - smoothstep((x - a) / w + 0.5)
    return (x <= a).to(x.dtype)


def gate_ge(x: Tensor, a: float, w: float, smooth: bool) -> Tensor:
    """1 where x >= a (exact) / smooth switch centred on a with width w."""
    if smooth:
        return smoothstep((x - a) / w + 0.5)
    return (x >= a).to(x.dtype)


def gate_le_t(x: Tensor, a: Tensor, w: float, smooth: bool) -> Tensor:
    if smooth:
        return 1.0 - smoothstep((x - a) / w + 0.5)
    return (x <= a).to(x.dtype)


def gate_ge_t(x: Tensor, a: Tensor, w: float, smooth: bool) -> Tensor:
    if smooth:
        return smoothstep((x - a) / w + 0.5)
    return (x >= a).to(x.dtype)


def relu(x: Tensor, h: float, smooth: bool) -> Tensor:
    """relu; smooth: quadratic blend (x + h)^2 / 4h on [-h, h] (C1, exact outside)."""
    if smooth:
        inner = (x + h) * (x + h) / (4.0 * h)
        return torch.where(x <= -h, torch.zeros_like(x), torch.where(x >= h, x, inner))
    return torch.relu(x)


def softplus_relu(x: Tensor, tau: float, smooth: bool) -> Tensor:
    if smooth:
        return F.softplus(x, beta=1.0 / tau, threshold=20.0)
    return torch.relu(x)


def smax(x: Tensor, a: float, tau: float, smooth: bool) -> Tensor:
    """max(x, a)."""
    if smooth:
        return a + F.softplus(x - a, beta=1.0 / tau, threshold=20.0)
    return torch.clamp(x, min=a)


def smin(x: Tensor, a: float, tau: float, smooth: bool) -> Tensor:
    """min(x, a)."""
    if smooth:
        return x - F.softplus(x - a, beta=1.0 / tau, threshold=20.0)
    return torch.clamp(x, max=a)


def smax_t(x: Tensor, a: Tensor, tau: float, smooth: bool) -> Tensor:
    if smooth:
        return a + F.softplus(x - a, beta=1.0 / tau, threshold=20.0)
    return torch.maximum(x, a)


def smin_t(x: Tensor, a: Tensor, tau: float, smooth: bool) -> Tensor:
    if smooth:
        return x - F.softplus(x - a, beta=1.0 / tau, threshold=20.0)
    return torch.minimum(x, a)


def sclamp(x: Tensor, lo: float, hi: float, tau: float, smooth: bool) -> Tensor:
    if smooth:
        return smin(smax(x, lo, tau, True), hi, tau, True)
    return torch.clamp(x, lo, hi)


def sabs(x: Tensor, eps: float, smooth: bool) -> Tensor:
    """|x|; smooth sqrt(x^2 + eps^2) - eps."""
    if smooth:
        return torch.sqrt(x * x + eps * eps) - eps
    return torch.abs(x)


def segment_softmin_weights(values: Tensor, segment: Tensor, n_segments: int, tau: float) -> Tensor:
    """Boltzmann weights exp(-v/tau) normalised within each segment (stable: max-shifted)."""
    z = -values / tau
    zmax = torch.full((n_segments,), -1e30, dtype=values.dtype, device=values.device)
    zmax = zmax.scatter_reduce(0, segment, z.detach(), reduce="amax", include_self=True)
    ez = torch.exp(z - zmax.index_select(0, segment))
    den = torch.zeros((n_segments,), dtype=values.dtype, device=values.device).index_add(0, segment, ez)
    return ez / den.index_select(0, segment)
