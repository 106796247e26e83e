"""Solid diffusivity laws D(c) of the active material (SPEC sect. 2).

Each law is a small frozen class, called on an array of concentrations [mol m^-3] and
returning D [m^2 s^-1], always finite and positive.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twifli_fv.errors import InputError


@dataclass(frozen=True)
class ConstantDiffusivity:
    D_m2_s: float

    def __call__(self, c: np.ndarray) -> np.ndarray:
        return np.full(np.shape(c), self.D_m2_s)

    def describe(self) -> dict:
        return {"law": "constant", "D_m2_s": self.D_m2_s}


@dataclass(frozen=True)
class AnomalousDiffusivity:
    """Paper 1, eqn 5: ``D = D_trace (c_max + c) / (c_max - c)``, capped at ``D_cap_m2_s``.

    The law diverges as c -> c_max; the cap is explicit and reported, and it fixes the
    concentration above which D is constant: ``c_cap = c_max (D_cap - D_trace) / (D_cap + D_trace)``.
    """

    D_trace_m2_s: float
    c_max_mol_m3: float
    D_cap_m2_s: float

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
        return {
            "law": "anomalous (paper 1, eqn 5)",
            "D_trace_m2_s": self.D_trace_m2_s,
            "c_max_mol_m3": self.c_max_mol_m3,
            "D_cap_m2_s": self.D_cap_m2_s,
            "c_cap_mol_m3": self.c_cap_mol_m3,
        }

    @classmethod
    def from_gitt_fit(cls, path: str | Path, *, D_cap_m2_s: float | None = None) -> "AnomalousDiffusivity":
        """The law fitted by ``twifli gitt`` (its ``gitt_fit.json``); cap 100 D_trace unless given."""
        path = Path(path)
        try:
            fit = json.loads(path.read_text())
            d_trace, c_max = float(fit["D_trace_m2_s"]), float(fit["c_max_mol_m3"])
        except OSError as exc:
            raise InputError(f"{path}: cannot read the GITT fit ({exc.strerror})") from None
        except (ValueError, KeyError, TypeError):
            raise InputError(f"{path}: not a gitt_fit.json (needs numbers D_trace_m2_s and c_max_mol_m3)") from None
        return cls(d_trace, c_max, 100 * d_trace if D_cap_m2_s is None else D_cap_m2_s)


@dataclass(frozen=True)
class TabulatedDiffusivity:
    """D(c) interpolated in log D between tabulated points; constant beyond the ends."""

    c_mol_m3: tuple[float, ...]
    D_m2_s: tuple[float, ...]
    source: str = "<table>"

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

    @classmethod
    def from_csv(cls, path: str | Path) -> "TabulatedDiffusivity":
        """Read columns ``c_mol_m3`` and ``D_m2_s`` (or ``D_cm2_s``) from a CSV file."""
        path = Path(path)
        try:
            with path.open(newline="") as handle:
                rows = list(csv.DictReader(handle))
        except OSError as exc:
            raise InputError(f"{path}: cannot read D(c) table ({exc.strerror})") from None
        if not rows or "c_mol_m3" not in rows[0] or not ({"D_m2_s", "D_cm2_s"} & set(rows[0])):
            raise InputError(f"{path}: a D(c) table needs columns c_mol_m3 and D_m2_s (or D_cm2_s)")
        scale, column = (1.0, "D_m2_s") if "D_m2_s" in rows[0] else (1e-4, "D_cm2_s")
        try:
            c = tuple(float(r["c_mol_m3"]) for r in rows)
            d = tuple(float(r[column]) * scale for r in rows)
        except (TypeError, ValueError):
            raise InputError(f"{path}: non-numeric value in the D(c) table") from None
        return cls(c, d, source=str(path))
