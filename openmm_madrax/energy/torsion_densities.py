"""The project's own torsion log-densities for channels 7 and 10 (physics spec section 6).

:class:`TorsionDensities` evaluates, per residue and vectorised over residues,

* ``log_bb``: ln p(phi, psi) of the residue type (or of the pooled pre-proline class), a periodic
  bicubic B-spline through a smoothed 72 x 72 histogram of ln p (C2, periodic at +-pi);
* ``log_omega``: ln p(omega), a mixture of a trans and a cis von Mises and a uniform background;
* ``log_sc``: ln p(chi_1..chi_n), a mixture of products of von Mises (doubled angle for the
  pi-periodic chis) and a uniform background.

All are log-densities in rad^-n normalised over the torus.  The parameters are fitted by
:mod:`openmm_madrax.torsion_fit` (``openmm-madrax fit-torsions``; corpus, filters, hyper-parameters
and checksum are in the npz's ``meta`` entry) and shipped as ``params/torsion_densities.npz``.
Pure torch and TorchScript-compatible: parameters are buffers, no Python loops at run time.
"""
from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np
import torch
from torch import Tensor, nn

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "params" / "torsion_densities.npz"
ARRAYS = ("bb_coef", "omega_mu", "omega_kappa", "omega_logc", "sc_mu", "sc_kappa", "sc_logw", "sc_lognorm",
          "sc_freq", "pre_pro_class")


class TorsionDensities(nn.Module):
    """ln p(phi, psi), ln p(omega), ln p(chi) per residue type (interface of ``ZeroDensities``)."""

    def __init__(self, arrays: Dict[str, np.ndarray], dtype: torch.dtype = torch.float64, meta: Optional[dict] = None):
        super().__init__()
        self.available = True
        self.pre_pro_class = int(arrays["pre_pro_class"])
        coef = np.asarray(arrays["bb_coef"], np.float64)
        self.bb_grid = int(coef.shape[1])
        self.bb_step = 2.0 * math.pi / self.bb_grid
        self.register_buffer("bb_coef", torch.as_tensor(coef.reshape(-1), dtype=dtype))
        for name in ("omega_mu", "omega_kappa", "omega_logc", "sc_mu", "sc_kappa", "sc_logw", "sc_lognorm", "sc_freq"):
            self.register_buffer(name, torch.as_tensor(np.asarray(arrays[name], np.float64), dtype=dtype))
        self.meta = json.dumps(meta or {})

    def _bspline_weights(self, t: Tensor) -> Tensor:
        """Cubic B-spline weights of the coefficients i-1, i, i+1, i+2, t in [0, 1); (K, 4)."""
        t2 = t * t
        t3 = t2 * t
        s = 1.0 - t
        return torch.stack([s * s * s, 3.0 * t3 - 6.0 * t2 + 4.0, -3.0 * t3 + 3.0 * t2 + 3.0 * t + 1.0, t3], -1) / 6.0

    def log_bb(self, restype: Tensor, phi: Tensor, psi: Tensor) -> Tensor:
        G = self.bb_grid
        u = (phi + math.pi) / self.bb_step
        v = (psi + math.pi) / self.bb_step
        fu = torch.floor(u.detach())
        fv = torch.floor(v.detach())
        wu = self._bspline_weights(u - fu)
        wv = self._bspline_weights(v - fv)
        offs = torch.arange(-1, 3, device=phi.device)
        ju = torch.remainder(fu.long().unsqueeze(1) + offs, G)
        jv = torch.remainder(fv.long().unsqueeze(1) + offs, G)
        flat = restype.view(-1, 1, 1) * (G * G) + ju.unsqueeze(2) * G + jv.unsqueeze(1)
        c = self.bb_coef[flat]
        return (wu.unsqueeze(2) * wv.unsqueeze(1) * c).sum(dim=(1, 2))

    def log_omega(self, restype: Tensor, omega: Tensor) -> Tensor:
        mu = self.omega_mu[restype]
        kappa = self.omega_kappa[restype]
        half = torch.sin(0.5 * (omega.unsqueeze(1) - mu))
        # kappa (cos d - 1) = -2 kappa sin^2(d / 2): no cancellation near the mode
        return torch.logsumexp(self.omega_logc[restype] - 2.0 * kappa * half * half, dim=1)

    def log_sc(self, restype: Tensor, chi: Tensor, n_chi: Tensor) -> Tensor:
        # factors of chis beyond n_chi are left out, i.e. the marginal density of chi_1..chi_n
        mu = self.sc_mu[restype]  # (K, M, 5)
        kappa = self.sc_kappa[restype]
        freq = self.sc_freq[restype].unsqueeze(1)  # (K, 1, 5)
        used = (torch.arange(chi.shape[1], device=chi.device).unsqueeze(0) < n_chi.unsqueeze(1)).unsqueeze(1)
        half = torch.sin(0.5 * freq * (chi.unsqueeze(1) - mu))
        terms = torch.where(used, self.sc_lognorm[restype] - 2.0 * kappa * half * half, torch.zeros_like(mu))
        return torch.logsumexp(self.sc_logw[restype] + terms.sum(-1), dim=1)


@lru_cache(maxsize=4)
def _read(path: str) -> Tuple[Dict[str, np.ndarray], dict]:
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: np.array(z[k]) for k in ARRAYS}
        meta = json.loads(str(z["meta"])) if "meta" in z.files else {}
    return arrays, meta


def read_npz(path=None) -> Tuple[Dict[str, np.ndarray], dict]:
    """(parameter arrays, metadata) of a densities file (default: the shipped one)."""
    return _read(str(Path(path) if path is not None else DEFAULT_PATH))


def load_densities(path=None, dtype: torch.dtype = torch.float64) -> Optional[TorsionDensities]:
    """The fitted densities as a module, or None when the parameter file is missing."""
    p = Path(path) if path is not None else DEFAULT_PATH
    if not p.exists():
        return None
    arrays, meta = _read(str(p.resolve()))
    return TorsionDensities(arrays, dtype, {k: meta.get(k) for k in ("format", "checksum_sha256", "command")})
