"""The rows and summary of ``twifli gitt`` for the model-based forms (``model``, ``record``):
per-pulse model fits in two passes, the eqn-5 fit's uncertainty and warnings, the whole-record fit.

Pass 1 fits every pulse with D constant over it; passes 2 and 3 refit with D varying inside the
pulse as the eqn-5 law fitted to the previous pass says (``D(c) / D(c_avg)``), so each value
belongs to the pulse's average concentration even where D(c) is steep (paper 1, eqn 5; SPEC
sect. 5).
"""

from __future__ import annotations

import math

import numpy as np

from twifli_fv.model.diffusivity_fit import AnomalousFit, fit_anomalous
from twifli_fv.model.gitt import GittData, GittSample, Pulse, concentration
from twifli_fv.model.gitt_model import LOG_D_BOUNDS, PulseFit, fit_pulses
from twifli_fv.model.gitt_record import fit_record

CM2 = 1e-4  # m^2 per cm^2
REFITS = 2  # passes with D(c) inside the pulse from the previous pass's eqn-5 fit
UNRELAXED_MAX = 0.005  # a rest must bring the surface within 0.5 % of the step: the next pulse starts uniform


def model_rows(data: GittData, sample: GittSample, pulses: list[Pulse], spans: list[tuple[int, int]], *,
               c_max_guess_mol_m3: float, fraction_max: float) -> list[dict]:
    """One row per pulse: the Weppner-Huggins columns and the model-based ``D_m2_s`` with its
    standard error, fitted IR drop and residual; ``valid``/``note`` judge the model fit."""
    c = concentration(data, sample)
    fits = fit_pulses(data, sample, c, spans, [p.D_transient_m2_s for p in pulses])
    rows = _rows(pulses, fits, spans, fraction_max)
    for _ in range(REFITS):
        used = [r for r in rows if r["valid"]]
        if len(used) < 4:
            break
        law = fit_anomalous(np.array([r["c_mol_m3"] for r in used]), np.array([r["D_m2_s"] for r in used]),
                            c_max_guess_mol_m3=c_max_guess_mol_m3)
        c_max = law.c_max_mol_m3
        ceiling = c_max - 1e-3 * (c_max - float(c.max()))
        before = np.array([f.D_m2_s for f in fits])
        fits = fit_pulses(data, sample, c, spans, list(before),  # eqn 5 without D_trace: its shape
                          shape_law=lambda cc, m=c_max, top=ceiling: (m + cc) / (m - np.minimum(cc, top)))
        rows = _rows(pulses, fits, spans, fraction_max)
        if np.max(np.abs(np.log(np.array([f.D_m2_s for f in fits]) / before))) < 2e-3:
            break  # converged: D hardly varies inside the pulses
    return rows


def _rows(pulses: list[Pulse], fits: list[PulseFit], spans: list[tuple[int, int]], fraction_max: float) -> list[dict]:
    before = [0.0] + [f.unrelaxed for f in fits[:-1]]
    return [_row(*args, fraction_max) for args in zip(pulses, fits, spans, before)]


def _row(pulse: Pulse, fit: PulseFit, span: tuple[int, int], unrelaxed_before: float, fraction_max: float) -> dict:
    fraction = abs(pulse.c_end_mol_m3 - pulse.c_start_mol_m3) / pulse.c_start_mol_m3
    note = ""
    if span[1] - span[0] < 2:
        note = "fewer than 3 samples in the pulse"
    elif pulse.dE_s_V == 0:
        note = "no steady-state voltage change"
    elif fraction > fraction_max:
        note = (f"pulse too long for a D constant over it: it moves {fraction:.2%} of the Li "
                f"> analysis.pulse_fraction_max = {fraction_max:g}")
    elif max(fit.unrelaxed, unrelaxed_before) > UNRELAXED_MAX:
        which = "after" if fit.unrelaxed > UNRELAXED_MAX else "before"
        note = (f"rest {which} the pulse too short: the model's surface is "
                f"{max(fit.unrelaxed, unrelaxed_before):.1%} of the pulse's step from relaxed at its end")
    elif not min(LOG_D_BOUNDS) + 0.1 < math.log(fit.D_m2_s) < max(LOG_D_BOUNDS) - 0.1:
        note = "model fit at a bound of D (no diffusion transient in the voltage)"
    return pulse.to_row() | {
        "D_m2_s": fit.D_m2_s, "D_stderr_m2_s": fit.D_stderr_m2_s, "ir_drop_fit_V": fit.ir_drop_V,
        "ocv_scale": fit.ocv_scale, "residual_rms_V": fit.residual_rms_V,
        "valid": not note, "note": note, "weppner_huggins_note": pulse.note, "first": span[0], "last": span[1],
    }


def fit_summary(fit: AnomalousFit, c_mol_m3: np.ndarray, D_m2_s: np.ndarray, stderr_m2_s: list[float]) -> dict:
    """The eqn-5 fit with units, standard errors from the scatter about the law, and a warning
    when the law does not describe the points (a systematic residual: too few sign runs)."""
    residual = np.log(D_m2_s / fit.diffusivity(c_mol_m3))
    warnings = []
    z = _runs_z(residual[np.argsort(c_mol_m3)])
    if z < -2.5 and fit.residual_rms_log10 > 0.02:
        warnings.append(f"eqn 5 does not describe the per-pulse D: systematic residual "
                        f"({fit.residual_rms_log10:.3f} decades RMS, runs test z = {z:.1f})")
    if fit.c_max_mol_m3 > 100 * float(np.max(c_mol_m3)):
        warnings.append(f"c_max = {fit.c_max_mol_m3:.3g} mol/m^3 is far beyond the data: D does not rise towards "
                        "a c_max as eqn 5 needs")
    relative = np.array(stderr_m2_s, float) / D_m2_s
    return {
        "law": "anomalous (paper 1, eqn 5): D = D_trace (c_max + c) / (c_max - c)",
        "D_trace_m2_s": fit.D_trace_m2_s,
        "D_trace_cm2_s": fit.D_trace_m2_s / CM2,
        "c_max_mol_m3": fit.c_max_mol_m3,
        "D_trace_stderr_log10": fit.D_trace_stderr_log10,
        "D_trace_stderr_m2_s": fit.D_trace_m2_s * fit.D_trace_stderr_log10 * math.log(10),
        "c_max_stderr_mol_m3": fit.c_max_stderr_mol_m3,
        "residual_rms_log10": fit.residual_rms_log10,
        "residual_runs_z": z,
        "pulse_D_stderr_median_relative": float(np.nanmedian(relative)) if np.isfinite(relative).any() else None,
        "warnings": warnings,
    }


def _runs_z(values: np.ndarray) -> float:
    """Wald-Wolfowitz runs test on the residual signs (ordered by c): z << 0 means long runs."""
    signs = values > 0
    n1, n = int(signs.sum()), signs.size
    n2 = n - n1
    if n < 6 or n1 == 0 or n2 == 0:
        return 0.0
    runs = 1 + int(np.sum(signs[1:] != signs[:-1]))
    mean = 2.0 * n1 * n2 / n + 1
    variance = (mean - 1) * (mean - 2) / (n - 1)
    return (runs - mean) / math.sqrt(variance) if variance > 0 else 0.0


def record_summary(data: GittData, sample: GittSample, spans: list[tuple[int, int]], start: AnomalousFit) -> dict:
    """The whole-record fit (model/gitt_record.py) from the per-pulse fit; its values replace the per-pulse ones."""
    fit = fit_record(data, sample, concentration(data, sample), spans, D_trace_start_m2_s=start.D_trace_m2_s,
                     c_max_start_mol_m3=start.c_max_mol_m3)
    return {
        "D_trace_m2_s": fit.D_trace_m2_s, "D_trace_cm2_s": fit.D_trace_m2_s / CM2, "c_max_mol_m3": fit.c_max_mol_m3,
        "D_trace_stderr_log10": fit.D_trace_stderr_log10,
        "D_trace_stderr_m2_s": fit.D_trace_m2_s * fit.D_trace_stderr_log10 * math.log(10),
        "c_max_stderr_mol_m3": fit.c_max_stderr_mol_m3, "resistance_ohm": fit.resistance_ohm,
        "record_residual_rms_V": fit.residual_rms_V,
        "per_pulse_D_trace_m2_s": start.D_trace_m2_s, "per_pulse_c_max_mol_m3": start.c_max_mol_m3,
    }
