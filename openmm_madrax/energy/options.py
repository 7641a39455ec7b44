"""``EnergyOptions``: every setting of the MadraX energy in one validated value.

The same options travel from the user (``score``, ``energy_module``, ``MadraXForce``, features,
ΔΔG) to :class:`~openmm_madrax.energy.model.MadraXEnergy`; they are checked here and nowhere else.

Two presets:

* :meth:`EnergyOptions.scoring` (the default): exact MadraX, float64 -- what reproduces MadraX's
  reference energies;
* :meth:`EnergyOptions.md`: the smooth surface with the widths dynamics needs (float32; H-bond and
  polar-occupancy switches 3x wider, Boltzmann temperature 1 kcal/mol of the H-bond choices;
  README "Deviations and decisions").
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping, Optional

import torch

BURIAL_MODES = ("madrax", "foldx")
#: precision names (OpenMM's) and the spellings accepted for them
PRECISIONS = {"double": "double", "float64": "double", "torch.float64": "double", "single": "single",
              "float32": "single", "float": "single", "torch.float32": "single"}
TORCH_DTYPES = {"double": torch.float64, "single": torch.float32}

#: the MD setting of smooth mode (see the module doc)
MD_SMOOTHING = 3.0
MD_HBOND_TAU = 1.0
#: the scoring setting: widths that keep smooth within the spec tolerance of exact mode
SCORING_SMOOTHING = 1.0
SCORING_HBOND_TAU = 0.02


def precision_name(value: Any) -> str:
    """``"double"`` or ``"single"`` from any accepted spelling (also a torch dtype)."""
    key = str(value).lower()
    if key not in PRECISIONS:
        raise ValueError(f"precision must be 'double' (float64) or 'single' (float32), not {value!r}")
    return PRECISIONS[key]


@dataclass(frozen=True)
class EnergyOptions:
    """Settings of the MadraX energy.

    burial
        ``"madrax"`` (as coded in MadraX; the reference) or ``"foldx"`` (facc clamped to [0, 1]),
        physics spec section 4.
    smooth
        ``False``: exact MadraX; ``True``: the C1 surrogate of spec section 7 (minimisation, MD,
        gradients that mean something).
    precision
        ``"double"`` (float64) or ``"single"`` (float32); ``dtype`` spellings are accepted.
    torsions
        channels 7/10 with the project's fitted torsion densities (else zeros).
    skin
        Verlet skin (A) of the cached neighbour list: rebuilt when an atom moved > skin / 2.
    smoothing
        multiplier (>= 1) of the smooth-mode switch widths of the H-bond and polar-occupancy terms.
    hbond_tau
        smooth mode: Boltzmann temperature (kcal/mol) of the H-bond combination and state choices.
    fix_frames
        decide the planar-frame sign of smooth mode from the structure's own coordinates (default)
        rather than from the first coordinates the module sees (set-up placeholders).
    """

    burial: str = "madrax"
    smooth: bool = False
    precision: str = "double"
    torsions: bool = True
    skin: float = 1.0
    smoothing: float = SCORING_SMOOTHING
    hbond_tau: float = SCORING_HBOND_TAU
    fix_frames: bool = True

    def __post_init__(self):
        if self.burial not in BURIAL_MODES:
            raise ValueError(f"burial must be 'madrax' or 'foldx', not {self.burial!r}")
        object.__setattr__(self, "precision", precision_name(self.precision))
        object.__setattr__(self, "smooth", bool(self.smooth))
        object.__setattr__(self, "torsions", bool(self.torsions))
        object.__setattr__(self, "fix_frames", bool(self.fix_frames))
        for name in ("skin", "smoothing", "hbond_tau"):
            try:
                object.__setattr__(self, name, float(getattr(self, name)))
            except (TypeError, ValueError):
                raise ValueError(f"{name} must be a number, not {getattr(self, name)!r}") from None
        if not self.skin >= 0.0:
            raise ValueError(f"skin must be >= 0 (Angstrom), not {self.skin}")
        if not self.hbond_tau > 0.0:
            raise ValueError(f"hbond_tau must be > 0 (kcal/mol), not {self.hbond_tau}")
        if not self.smoothing >= 1.0:
            raise ValueError(f"smoothing must be >= 1 (a multiplier of the smooth-mode switch widths), "
                             f"not {self.smoothing}")

    # -- presets ------------------------------------------------------------------------------
    @classmethod
    def scoring(cls, **changes) -> "EnergyOptions":
        """Exact MadraX in float64 (reproduces the reference energies)."""
        return cls(**changes)

    @classmethod
    def md(cls, **changes) -> "EnergyOptions":
        """The smooth surface for minimisation and dynamics (float32, MD widths)."""
        base = dict(smooth=True, precision="single", smoothing=MD_SMOOTHING, hbond_tau=MD_HBOND_TAU)
        base.update(changes)
        return cls(**base)

    # -- derived ------------------------------------------------------------------------------
    @property
    def dtype(self) -> torch.dtype:
        return TORCH_DTYPES[self.precision]

    @property
    def surface(self) -> str:
        """A short label of the energy surface, for printed energies (``exact``, ``smooth``,
        ``smooth-md``)."""
        if not self.smooth:
            return "exact"
        if self.smoothing == SCORING_SMOOTHING and self.hbond_tau == SCORING_HBOND_TAU:
            return "smooth"
        if self.smoothing == MD_SMOOTHING and self.hbond_tau == MD_HBOND_TAU:
            return "smooth-md"
        return f"smooth(smoothing={self.smoothing:g}, hbond_tau={self.hbond_tau:g})"

    def replace(self, **changes) -> "EnergyOptions":
        return dataclasses.replace(self, **_normalise_keys(changes))

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def coerce(cls, options: Optional["EnergyOptions | Mapping[str, Any]"] = None, **changes) -> "EnergyOptions":
        """Options from an ``EnergyOptions``, a mapping and/or keyword changes (``dtype=`` is
        read as ``precision=``); unknown names are a ``TypeError`` naming them."""
        if options is None:
            base = cls()
        elif isinstance(options, EnergyOptions):
            base = options
        elif isinstance(options, Mapping):
            base = cls(**_checked(_normalise_keys(dict(options))))
        else:
            raise TypeError(f"options must be an EnergyOptions or a mapping, not {type(options).__name__}")
        changes = {k: v for k, v in _normalise_keys(changes).items() if v is not None}
        return dataclasses.replace(base, **_checked(changes)) if changes else base



def _normalise_keys(kw: dict) -> dict:
    if "dtype" in kw:
        dtype = kw.pop("dtype")
        if dtype is not None:
            if kw.get("precision") is not None and precision_name(kw["precision"]) != precision_name(dtype):
                raise ValueError(f"precision={kw['precision']!r} and dtype={dtype!r} disagree")
            kw["precision"] = dtype
    return kw


def _checked(kw: dict) -> dict:
    names = {f.name for f in dataclasses.fields(EnergyOptions)}
    unknown = sorted(set(kw) - names)
    if unknown:
        raise TypeError(f"unknown energy option(s) {', '.join(unknown)}; known: {', '.join(sorted(names))} "
                        "(and dtype, read as precision)")
    return kw
