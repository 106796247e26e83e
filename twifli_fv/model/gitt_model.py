"""Model-based GITT analysis: the record fitted with the diffusion problem in the sample's own
geometry (model/gitt_diffusion.py) instead of the Weppner-Huggins short-time limit (SPEC sect. 5;
paper 1, eqn 5 and SI S3). Per pulse, ln D is fitted on ``E(t) = a + b (U(c_s(t)) - U(c_start)) + V_IR
[current on]``, the whole record on ``E(t) = U(c_s(t)) + R I(t)`` with eqn-5 D(c), the linear
parameters projected out (README, "Model-based fit per pulse" and "Whole-record fit").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twifli_fv.model.diffusivity import standard_errors
from twifli_fv.model.gitt import GittData, GittSample, rest_ends
from twifli_fv.model.gitt_diffusion import Diffusivity, Grid, surface_concentration

LOG_D_BOUNDS = (math.log(1e-24), math.log(1e-6))  # m^2 s^-1: any solid, and no overflow
WINDOW_POINTS = 40  # samples per pulse / per rest used in a fit (all when fewer)


@dataclass(frozen=True)
class Ocv:
    """Relaxed rest voltages against concentration: a not-a-knot cubic spline through them,
    continued to second order beyond the ends (a pulse's surface concentration leaves the range)."""

    c_mol_m3: np.ndarray  # increasing
    voltage_V: np.ndarray

    def __call__(self, c: np.ndarray) -> np.ndarray:
        from scipy.interpolate import CubicSpline

        x, y, c = self.c_mol_m3, self.voltage_V, np.asarray(c, float)
        if x.size < 3:
            return y[0] + (y[-1] - y[0]) / (x[-1] - x[0]) * (c - x[0])
        spline = CubicSpline(x, y, bc_type="not-a-knot")
        below, above = c < x[0], c > x[-1]
        result = spline(np.clip(c, x[0], x[-1]))
        for mask, end in ((below, x[0]), (above, x[-1])):  # second-order Taylor beyond the ends
            step = c[mask] - end
            result[mask] += spline(end, 1) * step + 0.5 * spline(end, 2) * step**2
        return result

    def covers(self, c: np.ndarray) -> np.ndarray:
        """Where ``c`` lies within the rests' range, or within half a rest spacing beyond it."""
        margin = 0.5 * (self.c_mol_m3[-1] - self.c_mol_m3[0]) / max(self.c_mol_m3.size - 1, 1)
        return (c >= self.c_mol_m3[0] - margin) & (c <= self.c_mol_m3[-1] + margin)


def sample_geometry(sample: GittSample) -> tuple[Grid, float]:
    """The finite-volume grid of one particle (or the film) and its surface area per unit volume [m^-1]."""
    length = sample.diffusion_length_m
    grid = Grid.graded(length_m=3 * length if sample.sphere else length, sphere=sample.sphere, cells=100)
    return grid, 1.0 / length  # A / V = 3 / r for spheres, 1 / L for a film


def rest_ocv(data: GittData, c: np.ndarray, pulses: list[tuple[int, int]]) -> Ocv:
    """The OCV through the relaxed voltages before the first pulse and after each (means over a rest's last 2 %)."""
    t, points = data.time_s, {}
    starts = [0] + [last + 1 for _, last in pulses]
    for start, end in zip(starts, [pulses[0][0] - 1] + rest_ends(pulses, c.size)):
        inside = t[start:end + 1] >= t[end] - 0.02 * (t[end] - t[start])
        points[float(c[end])] = float(np.mean(data.voltage_V[start:end + 1][inside]))
    x = np.array(sorted(points))
    return Ocv(c_mol_m3=x, voltage_V=np.array([points[k] for k in x]))


def window(data: GittData, first: int, last: int, end: int, *, points: int = WINDOW_POINTS) -> np.ndarray:
    """Sample indices fitted for one pulse: a few before it, the pulse and the rest after it, thinned by ``points``."""
    t = data.time_s
    before = np.arange(max(first - 5, 0), first)
    pulse = np.unique(np.linspace(first, last, min(points, last - first + 1)).round().astype(int))
    after = np.arange(last + 1, end + 1)
    if after.size > 2 * points:
        since = t[after] - t[last]
        log_times = np.geomspace(since[0], since[-1], points)
        picks = np.searchsorted(since, log_times).clip(0, after.size - 1)
        after = after[np.unique(np.concatenate([picks, np.linspace(0, after.size - 1, points).round().astype(int)]))]
    return np.concatenate([before, pulse, after])


@dataclass(frozen=True)
class PulseFit:
    """The model-based D of one pulse (SI) and the quality of the fit."""

    D_m2_s: float
    D_stderr_m2_s: float
    ir_drop_V: float
    ocv_scale: float  # b: the fitted local OCV slope over the rests' one
    residual_rms_V: float
    unrelaxed: float  # |c_s - c_end| at the end of the following rest, over the pulse's step in c


def fit_pulse(data: GittData, sample: GittSample, c: np.ndarray, ocv: Ocv, *, first: int, last: int, end: int,
              D_start_m2_s: float, shape: Diffusivity | None = None) -> PulseFit:
    """Fit one pulse (samples ``first..last``, rest until ``end``) with D constant, or varying inside
    the pulse as ``shape(c) / shape(c_avg)``, D being the value at the average concentration."""
    from scipy.optimize import least_squares

    grid, area_per_volume = sample_geometry(sample)
    index = window(data, first, last, end)
    t, volts = data.time_s[index], data.voltage_V[index]
    t_on, t_off = data.time_s[first - 1], data.time_s[last]
    flux = (c[first - 1] - c[last]) / (t_off - t_on) / area_per_volume  # mol m^-2 s^-1 out of the surface
    on = ((index >= first) & (index <= last)).astype(float)
    later = t >= t_on

    def surface(log_d: float) -> np.ndarray:
        d = math.exp(log_d)
        if shape is None:
            law = lambda cc: np.full(cc.shape, d)  # noqa: E731
        else:
            scale = d / float(shape(np.array([0.5 * (c[first - 1] + c[last])]))[0])
            law = lambda cc: scale * shape(cc)  # noqa: E731
        c_s = np.full(t.size, c[first - 1])
        c_s[later] = surface_concentration(
            grid, law, c_initial_mol_m3=c[first - 1], switches_s=np.array([t_on, t_off]),
            flux_mol_m2_s=np.array([flux, 0.0]), outputs_s=t[later], first_step_s=1e-3 * (t_off - t_on), growth=1.1)
        return c_s

    def basis(log_d: float) -> np.ndarray:
        return np.column_stack([np.ones(t.size), ocv(surface(log_d)) - ocv(np.array([c[first - 1]]))[0], on])

    def residual(x: np.ndarray) -> np.ndarray:
        a = basis(float(x[0]))[kept]
        return a @ np.linalg.lstsq(a, volts[kept], rcond=None)[0] - volts[kept]

    start = math.log(min(max(D_start_m2_s, 1e-23), 1e-7)) if math.isfinite(D_start_m2_s) else math.log(1e-15)
    kept = ocv.covers(surface(start))  # samples whose surface concentration has a known OCV
    result = least_squares(residual, np.array([start]), bounds=LOG_D_BOUNDS, x_scale=np.array([1.0]),
                           diff_step=1e-6, xtol=1e-6, ftol=1e-8)
    log_d = float(result.x[0])
    linear = np.linalg.lstsq(basis(log_d)[kept], volts[kept], rcond=None)[0]
    res = result.fun
    variance = float(res @ res) / max(res.size - 4, 1)
    jac = float(result.jac[:, 0] @ result.jac[:, 0])
    stderr = math.sqrt(variance / jac) if jac > 0 else math.inf
    unrelaxed = (surface(log_d)[-1] - c[end]) / (c[first - 1] - c[last])
    ir_drop = float(linear[2]) if on[kept].any() else math.nan  # every pulse sample beyond the OCV's range
    return PulseFit(D_m2_s=math.exp(log_d), D_stderr_m2_s=math.exp(log_d) * stderr, ir_drop_V=ir_drop,
                    ocv_scale=float(linear[1]), residual_rms_V=float(np.sqrt(np.mean(res**2))),
                    unrelaxed=float(abs(unrelaxed)))


def fit_pulses(data: GittData, sample: GittSample, c: np.ndarray, pulses: list[tuple[int, int]],
               D_start_m2_s: list[float], *, shape_law: Diffusivity | None = None) -> list[PulseFit]:
    """Every pulse fitted (:func:`fit_pulse`, ``shape_law`` as its ``shape``: the refits of ``twifli gitt``)."""
    ocv = rest_ocv(data, c, pulses)
    return [fit_pulse(data, sample, c, ocv, first=first, last=last, end=end, D_start_m2_s=start, shape=shape_law)
            for (first, last), end, start in zip(pulses, rest_ends(pulses, c.size), D_start_m2_s)]


@dataclass(frozen=True)
class RecordFit:
    D_trace_m2_s: float
    c_max_mol_m3: float
    resistance_ohm: float
    D_trace_stderr_log10: float
    c_max_stderr_mol_m3: float
    residual_rms_V: float


def fit_record(data: GittData, sample: GittSample, c: np.ndarray, pulses: list[tuple[int, int]], *,
               D_trace_start_m2_s: float, c_max_start_mol_m3: float) -> RecordFit:
    """Fit eqn 5 to the whole record's voltage, starting from ``D_trace_start``, ``c_max_start``."""
    from scipy.optimize import least_squares

    grid, area_per_volume = sample_geometry(sample)
    t = data.time_s
    index = np.unique(np.concatenate([[0]] + [window(data, first, last, end)
                                              for (first, last), end in zip(pulses, rest_ends(pulses, t.size))]))
    times, volts, amps = t[index], data.voltage_V[index], data.current_A[index]
    switches = np.concatenate([[t[0]], np.ravel([(t[first - 1], t[last]) for first, last in pulses])])
    flux = np.zeros(switches.size)
    flux[1::2] = [(c[first - 1] - c[last]) / (t[last] - t[first - 1]) / area_per_volume for first, last in pulses]
    shortest = min(t[last] - t[first - 1] for first, last in pulses)
    ocv = rest_ocv(data, c, pulses)
    top = float(c.max())

    def law(x: np.ndarray):
        trace, c_max = math.exp(x[0]), top + math.exp(x[1])
        return lambda cc: trace * (c_max + cc) / np.maximum(c_max - cc, 1e-6 * c_max)

    def surface(x: np.ndarray) -> np.ndarray:
        return surface_concentration(grid, law(x), c_initial_mol_m3=float(c[0]), switches_s=switches,
                                     flux_mol_m2_s=flux, outputs_s=times, first_step_s=1e-3 * shortest, growth=1.1)

    def residual(x: np.ndarray) -> np.ndarray:
        rest = (volts - ocv(surface(x)))[inside]
        resistance = float(amps[inside] @ rest) / float(amps[inside] @ amps[inside])
        return resistance * amps[inside] - rest

    gap = max(c_max_start_mol_m3 - top, 1e-3 * top)
    start = np.array([np.clip(math.log(D_trace_start_m2_s), *LOG_D_BOUNDS), math.log(gap)])
    bounds = ([LOG_D_BOUNDS[0], math.log(1e-4 * top)], [LOG_D_BOUNDS[1], math.log(10 * top)])
    start[1] = np.clip(start[1], bounds[0][1], bounds[1][1])
    c_s = surface(start)  # samples whose surface concentration leaves the rests' range: no OCV known there
    inside = (c_s >= ocv.c_mol_m3[0]) & (c_s <= ocv.c_mol_m3[-1])
    result = least_squares(residual, start, bounds=bounds, diff_step=1e-6, xtol=1e-10, ftol=1e-12, max_nfev=60)
    res, stderr = result.fun, standard_errors(result, parameters=3)
    rest = (volts - ocv(surface(result.x)))[inside]
    return RecordFit(
        D_trace_m2_s=math.exp(result.x[0]), c_max_mol_m3=top + math.exp(result.x[1]),
        resistance_ohm=float(amps[inside] @ rest) / float(amps[inside] @ amps[inside]),
        D_trace_stderr_log10=float(stderr[0]) / math.log(10), c_max_stderr_mol_m3=float(stderr[1]) * math.exp(result.x[1]),
        residual_rms_V=float(np.sqrt(np.mean(res**2))),
    )
