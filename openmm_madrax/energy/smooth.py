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


def gate_le(x: Tensor, a: float, w: float, smooth: bool, inner: bool = False) -> Tensor:
    """1 where x <= a (exact) / smooth switch of width w centred on a (``inner``: on [a - w, a])."""
    if smooth:
        return 1.0 - smoothstep((x - a) / w + (1.0 if inner else 0.5))
    return (x <= a).to(x.dtype)


def gate_ge(x: Tensor, a: float, w: float, smooth: bool, inner: bool = False) -> Tensor:
    """1 where x >= a (exact) / smooth switch of width w centred on a (``inner``: on [a, a + w])."""
    if smooth:
        return smoothstep((x - a) / w + (0.0 if inner else 0.5))
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


def qstep(t: Tensor) -> Tensor:
    """Piecewise-quadratic smoothstep: 0 (t<=0), 2t^2, 1 - 2(1-t)^2, 1 (t>=1); C1, flat at both ends.

    Used for switches whose argument changes fast with the coordinates (H-bond energies): unlike the
    quintic smoothstep it has no third derivative inside its pieces, which keeps the energy's finite
    differences accurate (spec 7 gradient test) where two switches are composed.
    """
    t = t.clamp(0.0, 1.0)
    return torch.where(t < 0.5, 2.0 * t * t, 1.0 - 2.0 * (1.0 - t) * (1.0 - t))


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


def log1m(x: Tensor) -> Tensor:
    """log(1 - x) for gates x in [0, 1], finite in float32 (1 - x floored at 1e-30).

    At x == 1 the value is log(1e-30) and the gradient is 0 (not -inf, whose product with the
    zero weight would give NaN); float32 cannot represent 1 - 1e-9, so a clamp below 1 is not enough.
    """
    return torch.log(torch.clamp(1.0 - x, min=1e-30))
