"""Whole-record GITT fit (``fit_form = "record"``): the entire record simulated with the
anomalous diffusivity of paper 1, eqn 5, ``D = D_trace (c_max + c) / (c_max - c)`` (SPEC sect. 2),
in the sample's geometry (model/gitt_diffusion.py), and ``D_trace``, ``c_max`` fitted by bounded
least squares on the voltage

    E(t) = U(c_s(t)) + R I(t),

``U`` interpolated through the relaxed rest voltages (model/gitt_model.py) and the ohmic
resistance ``R`` projected out (linear). Samples whose surface concentration (at the start
values) lies outside the rests' concentration range are left out: no OCV is known there (the
last pulses of a record). No short-time or constant-D assumption: the reference
for the per-pulse values. Standard errors from the Jacobian scaled by the residual variance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twifli_fv.model.gitt import GittData, GittSample
from twifli_fv.model.gitt_diffusion import surface_concentration
from twifli_fv.model.gitt_model import LOG_D_BOUNDS, rest_ends, rest_ocv, sample_geometry, window


@dataclass(frozen=True)
class RecordFit:
    D_trace_m2_s: float
    c_max_mol_m3: float
    resistance_ohm: float
    D_trace_stderr_log10: float
    c_max_stderr_mol_m3: float
    residual_rms_V: float
    points: int


def fit_record(data: GittData, sample: GittSample, c: np.ndarray, pulses: list[tuple[int, int]], *,
               D_trace_start_m2_s: float, c_max_start_mol_m3: float) -> RecordFit:
    """Fit eqn 5 to the whole record's voltage, starting from ``D_trace_start``, ``c_max_start``."""
    from scipy.optimize import least_squares

    grid, area_per_volume = sample_geometry(sample)
    t = data.time_s
    index = np.unique(np.concatenate([[0]] + [window(data, first, last, end, points=40)
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
    res = result.fun
    variance = float(res @ res) / max(res.size - 3, 1)
    try:
        stderr = np.sqrt(np.clip(np.diag(np.linalg.inv(result.jac.T @ result.jac)) * variance, 0.0, None))
    except np.linalg.LinAlgError:
        stderr = np.array([math.inf, math.inf])
    rest = (volts - ocv(surface(result.x)))[inside]
    return RecordFit(
        D_trace_m2_s=math.exp(result.x[0]), c_max_mol_m3=top + math.exp(result.x[1]),
        resistance_ohm=float(amps[inside] @ rest) / float(amps[inside] @ amps[inside]),
        D_trace_stderr_log10=float(stderr[0]) / math.log(10), c_max_stderr_mol_m3=float(stderr[1]) * math.exp(result.x[1]),
        residual_rms_V=float(np.sqrt(np.mean(res**2))), points=int(res.size),
    )
