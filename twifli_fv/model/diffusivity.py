"""Solid diffusivity laws D(c) of the active material (SPEC sect. 2), and eqn 5's fitted to D(c) points.

Each law is a small frozen class, called on an array of concentrations [mol m^-3] and
returning D [m^2 s^-1], always finite and positive; ``constant`` says whether D depends on c (a rest
step with a constant D is linear: one solve).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

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
    """Paper 1, eqn 5: ``D = D_trace (c_max + c) / (c_max - c)``, capped at ``D_cap_m2_s`` (constant above
    :attr:`c_cap_mol_m3`)."""

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


@dataclass(frozen=True)
class AnomalousFit:
    D_trace_m2_s: float
    c_max_mol_m3: float
    residual_rms_log10: float  # RMS of log10(D_i / D_fit(c_i)), in decades
    D_trace_stderr_log10: float
    c_max_stderr_mol_m3: float

    def diffusivity(self, c_mol_m3: np.ndarray) -> np.ndarray:
        c = np.asarray(c_mol_m3, float)
        return self.D_trace_m2_s * (self.c_max_mol_m3 + c) / (self.c_max_mol_m3 - c)


def fit_anomalous(c_mol_m3: np.ndarray, D_m2_s: np.ndarray, *, c_max_guess_mol_m3: float) -> AnomalousFit:
    """Fit ``D_trace`` and ``c_max`` of eqn 5 to the points ``(c_i, D_i)`` by least squares in log D, both bounded
    (``c_max`` as ``log(c_max - max c_i)``, so it stays above the points)."""
    from scipy.optimize import least_squares

    c, d = np.asarray(c_mol_m3, float), np.asarray(D_m2_s, float)
    if c.size < 2 or np.unique(np.round(c, 9)).size < 2:
        raise InputError(f"GITT fit: need at least two valid pulses at different concentrations, got {c.size}")
    if not (np.all(np.isfinite(d)) and np.all(d > 0) and np.all(c > 0)):
        raise InputError("GITT fit: concentrations and diffusivities must be positive and finite")
    top = float(c.max())
    log_d = np.log(d)

    def unpack(p: np.ndarray) -> tuple[float, float]:
        return p[0], top + math.exp(p[1])

    def residual(p: np.ndarray) -> np.ndarray:
        log_trace, c_max = unpack(p)
        return log_trace + np.log((c_max + c) / (c_max - c)) - log_d

    gap = max(c_max_guess_mol_m3 - top, 0.05 * top)
    start_trace = float(np.mean(log_d - np.log((top + gap + c) / (top + gap - c))))
    bounds = ([math.log(1e-30), math.log(1e-6 * top)], [math.log(1e-4), math.log(1e3 * top)])  # no overflow
    start = np.clip([start_trace, math.log(gap)], bounds[0], bounds[1])
    result = least_squares(residual, start, bounds=bounds, method="trf", xtol=1e-14, ftol=1e-14, gtol=1e-14,
                           max_nfev=10_000)
    log_trace, c_max = unpack(result.x)
    res, stderr = result.fun, standard_errors(result, parameters=2)
    return AnomalousFit(
        D_trace_m2_s=math.exp(log_trace),
        c_max_mol_m3=c_max,
        residual_rms_log10=float(np.sqrt(np.mean(res**2))) / math.log(10),
        D_trace_stderr_log10=float(stderr[0]) / math.log(10),
        c_max_stderr_mol_m3=float(stderr[1]) * (c_max - top),
    )


def standard_errors(result: Any, *, parameters: int) -> np.ndarray:
    """Standard errors of a ``least_squares`` result's ``x``: ``(J^T J)^-1`` scaled by the residual variance
    (``parameters`` fitted, the linear ones projected out included); infinite where ``J^T J`` is singular."""
    variance = float(result.fun @ result.fun) / max(result.fun.size - parameters, 1)
    try:
        return np.sqrt(np.clip(np.diag(np.linalg.inv(result.jac.T @ result.jac)) * variance, 0.0, None))
    except np.linalg.LinAlgError:
        return np.full(result.x.size, math.inf)
