"""Solid diffusivity laws D(c) of the active material (SPEC sect. 2).

Each law is a small frozen class, called on an array of concentrations [mol m^-3] and
returning D [m^2 s^-1], always finite and positive; ``constant`` says whether D depends on c (a rest
step with a constant D is linear: one solve). Reading a law from a file is the case loader's job.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from twifli_fv.errors import InputError


@dataclass(frozen=True)
class ConstantDiffusivity:
    D_m2_s: float
    constant = True

    def __call__(self, c: np.ndarray) -> np.ndarray:
        return np.full(np.shape(c), self.D_m2_s)

    def describe(self) -> dict:
        return {"law": "constant"} | asdict(self)


@dataclass(frozen=True)
class AnomalousDiffusivity:
    """Paper 1, eqn 5: ``D = D_trace (c_max + c) / (c_max - c)``, capped at ``D_cap_m2_s``.

    The law diverges as c -> c_max; the cap is explicit and reported, and it fixes the
    concentration above which D is constant: ``c_cap = c_max (D_cap - D_trace) / (D_cap + D_trace)``.
    """

    D_trace_m2_s: float
    c_max_mol_m3: float
    D_cap_m2_s: float
    constant = False

    def __post_init__(self) -> None:
        for name in ("D_trace_m2_s", "c_max_mol_m3", "D_cap_m2_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise InputError(f"diffusivity: {name} must be positive and finite, got {value!r}")
        if self.D_cap_m2_s <= self.D_trace_m2_s:
            raise InputError(f"diffusivity: D_cap ({self.D_cap_m2_s:g}) must exceed D_trace ({self.D_trace_m2_s:g})")

    @property
    def c_cap_mol_m3(self) -> float:
        ratio = self.D_cap_m2_s / self.D_trace_m2_s
        return self.c_max_mol_m3 * (ratio - 1.0) / (ratio + 1.0)

    def __call__(self, c: np.ndarray) -> np.ndarray:
        c = np.clip(c, 0.0, self.c_cap_mol_m3)
        return self.D_trace_m2_s * (self.c_max_mol_m3 + c) / (self.c_max_mol_m3 - c)

    def describe(self) -> dict:
        return {"law": "anomalous (paper 1, eqn 5)"} | asdict(self) | {"c_cap_mol_m3": self.c_cap_mol_m3}


@dataclass(frozen=True)
class TabulatedDiffusivity:
    """D(c) interpolated in log D between tabulated points; constant beyond the ends."""

    c_mol_m3: tuple[float, ...]
    D_m2_s: tuple[float, ...]
    source: str = "<table>"
    constant = False

    def __post_init__(self) -> None:
        c, d = np.asarray(self.c_mol_m3), np.asarray(self.D_m2_s)
        if c.size < 2 or c.size != d.size:
            raise InputError(f"{self.source}: a D(c) table needs at least two (c, D) rows")
        if not (np.all(np.isfinite(c)) and np.all(np.isfinite(d)) and np.all(d > 0)):
            raise InputError(f"{self.source}: D(c) table values must be finite and D positive")
        if not np.all(np.diff(c) > 0):
            raise InputError(f"{self.source}: D(c) table concentrations must increase strictly")

    def __call__(self, c: np.ndarray) -> np.ndarray:
        return np.exp(np.interp(c, self.c_mol_m3, np.log(self.D_m2_s)))

    def describe(self) -> dict:
        return {"law": "tabulated", "source": self.source, "rows": len(self.c_mol_m3)}
