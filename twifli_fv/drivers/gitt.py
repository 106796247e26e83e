"""``twifli gitt``: GITT data + sample settings -> per-pulse D (``gitt.csv``), the eqn-5 fit
(``gitt_fit.json``, usable as a case's D(c)) and the D-vs-concentration plot (``gitt.png``); the passes
and forms: README, "Model-based fit per pulse" (paper 1, eqn 5; SPEC sect. 5).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from twifli_fv.case import GITT_REQUIRED, GITT_SCHEMA, Case, load_config
from twifli_fv.errors import InputError
from twifli_fv.model.diffusivity import AnomalousFit, fit_anomalous
from twifli_fv.model.gitt import GittData, GittSample, Pulse, analyse_pulses, concentration, read_gitt_csv
from twifli_fv.model.gitt_model import LOG_D_BOUNDS, PulseFit, RecordFit, fit_pulses, fit_record
from twifli_fv.outputs.files import write_csv, write_json
from twifli_fv.outputs.plots import plot_gitt

CM2 = 1e-4  # m^2 per cm^2
FORMS = {"model": "D_m2_s", "record": "D_m2_s", "transient": "D_transient_m2_s", "sqrt_t": "D_sqrt_t_m2_s"}
REFITS = 2  # passes with D(c) inside the pulse from the previous pass's eqn-5 fit
UNRELAXED_MAX = 0.005  # a rest must bring the surface within 0.5 % of the step: the next pulse starts uniform


def run_gitt(data_csv: str | Path, config_toml: str | Path, output_dir: str | Path) -> dict:
    """Analyse a GITT record and write ``gitt.csv``, ``gitt_fit.json`` (last) and ``gitt.png`` to ``output_dir``."""
    config = load_config(config_toml, schema=GITT_SCHEMA, required=GITT_REQUIRED)
    sample = gitt_sample(config)
    form = config.get("analysis", "fit_form", "model")
    if form not in FORMS:
        raise InputError(f"{config.toml_path}: analysis.fit_form {form!r}: use 'model', 'record', "
                         "'transient' or 'sqrt_t'")
    data = read_gitt_csv(data_csv)
    pulses = analyse_pulses(data, sample, threshold_A=config.positive("analysis", "current_threshold_A"),
                            short_time_ratio_max=config.positive("analysis", "short_time_ratio_max", 0.1))
    c_max_guess = config.positive("sample", "c_max_guess_mol_m3")
    if form in ("transient", "sqrt_t"):
        rows = [p.to_row() for p in pulses]
    else:
        rows = model_rows(data, sample, pulses, c_max_guess_mol_m3=c_max_guess,
                          fraction_max=config.positive("analysis", "pulse_fraction_max", 0.02))
    used = [row for row in rows if row["valid"]]
    if len(used) < 2:
        notes = "; ".join(f"pulse {row['index']}: {row['note']}" for row in rows if not row["valid"])[:300]
        raise InputError(f"{data.source}: {len(used)} of {len(rows)} pulses are usable, need 2 ({notes})")
    c_used, d_used = np.array([r["c_mol_m3"] for r in used]), np.array([r[FORMS[form]] for r in used])
    fit = fit_anomalous(c_used, d_used, c_max_guess_mol_m3=c_max_guess)
    result = fit_summary(fit, c_used, d_used, [r.get("D_stderr_m2_s", math.nan) for r in used])
    if form == "record":
        result |= record_summary(data, sample, [(p.first, p.last) for p in pulses], fit)  # every pulse moves Li
    out = Path(output_dir)  # write_csv makes it
    write_csv(out / "gitt.csv", [k for k in rows[0] if k not in ("first", "last")],
              [{k: f"{v:.8g}" if isinstance(v, float) and math.isfinite(v) else v for k, v in r.items()} for r in rows])
    c = np.array([r["c_mol_m3"] for r in rows])
    line = np.linspace(c.min(), c.max(), 200)
    law = AnomalousFit(result["D_trace_m2_s"], result["c_max_mol_m3"], 0.0, 0.0, 0.0)
    estimates = {"dE_s/dE_t": [r["D_transient_m2_s"] for r in rows], "dE/dsqrt(t)": [r["D_sqrt_t_m2_s"] for r in rows]}
    if "D_m2_s" in rows[0]:
        estimates["model (sphere)" if sample.sphere else "model (film)"] = [r["D_m2_s"] for r in rows]
    plot_gitt(out / "gitt.png", c, estimates, np.array([r["valid"] for r in rows]), line, law.diffusivity(line),
              title=f"{Path(data_csv).name}: fit to the {form} form")
    result |= {
        "form": form,
        "pulses_found": len(rows),
        "pulses_used": [r["index"] for r in used],
        "concentration_range_mol_m3": [float(c_used.min()), float(c_used.max())],
        "diffusion_length_um": sample.diffusion_length_m * 1e6,
        "geometry": "sphere" if sample.sphere else "film",
        "data": str(data_csv),
        "config": str(config_toml),
    }
    for warning in result["warnings"]:
        logging.getLogger(__name__).warning("%s: %s", data.source, warning)
    write_json(out / "gitt_fit.json", result)
    return result


def gitt_sample(config: Case) -> GittSample:
    """The sample table of ``gitt.toml`` in SI units (one of density/molar volume, one of area/radius)."""
    where = config.toml_path
    mass = config.positive("sample", "active_mass_mg") * 1e-6
    molar_mass = config.positive("sample", "molar_mass_g_mol") * 1e-3
    density, molar_volume = (config.positive("sample", k) for k in ("density_g_cm3", "molar_volume_cm3_mol"))
    if (density is None) == (molar_volume is None):
        raise InputError(f"{where}: give exactly one of sample.density_g_cm3 and sample.molar_volume_cm3_mol")
    density_kg_m3 = density * 1e3 if density is not None else molar_mass / (molar_volume * 1e-6)
    area, radius = (config.positive("sample", k) for k in ("electrode_area_cm2", "particle_radius_um"))
    if (area is None) == (radius is None):
        raise InputError(f"{where}: give exactly one of sample.electrode_area_cm2 (film) and "
                         "sample.particle_radius_um (spheres)")
    length = (mass / density_kg_m3) / (area * CM2) if area is not None else radius * 1e-6 / 3.0
    c_initial = config.positive("sample", "c_initial_mol_m3", density_kg_m3 / molar_mass)
    return GittSample(
        active_mass_kg=mass, molar_mass_kg_mol=molar_mass, density_kg_m3=density_kg_m3,
        diffusion_length_m=length, c_initial_mol_m3=c_initial,
        charge_current_positive=config.get("sample", "charge_current_positive", True), sphere=radius is not None,
    )


def model_rows(data: GittData, sample: GittSample, pulses: list[Pulse], *, c_max_guess_mol_m3: float,
               fraction_max: float) -> list[dict]:
    """One row per pulse: the Weppner-Huggins columns and the model fit's; ``valid``/``note`` judge the model fit."""
    c = concentration(data, sample)
    spans = [(p.first, p.last) for p in pulses]
    fits = fit_pulses(data, sample, c, spans, [p.D_transient_m2_s for p in pulses])
    rows = _rows(pulses, fits, fraction_max)
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
        rows = _rows(pulses, fits, fraction_max)
        if np.max(np.abs(np.log(np.array([f.D_m2_s for f in fits]) / before))) < 2e-3:
            break  # converged: D hardly varies inside the pulses
    return rows


def _rows(pulses: list[Pulse], fits: list[PulseFit], fraction_max: float) -> list[dict]:
    before = [0.0] + [f.unrelaxed for f in fits[:-1]]
    return [_row(*args, fraction_max) for args in zip(pulses, fits, before)]


def _row(pulse: Pulse, fit: PulseFit, unrelaxed_before: float, fraction_max: float) -> dict:
    fraction = abs(pulse.c_end_mol_m3 - pulse.c_start_mol_m3) / pulse.c_start_mol_m3
    note = ""
    if pulse.last - pulse.first < 2:
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
        "valid": not note, "note": note, "weppner_huggins_note": pulse.note,
    }


def fit_summary(fit: AnomalousFit, c_mol_m3: np.ndarray, D_m2_s: np.ndarray, stderr_m2_s: list[float]) -> dict:
    """The eqn-5 fit with units and standard errors, and its warnings (README, "Model-based fit per pulse")."""
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
        **_law(fit),
        "residual_rms_log10": fit.residual_rms_log10,
        "residual_runs_z": z,
        "pulse_D_stderr_median_relative": float(np.nanmedian(relative)) if np.isfinite(relative).any() else None,
        "warnings": warnings,
    }


def _law(fit: AnomalousFit | RecordFit) -> dict:
    """``D_trace`` and ``c_max`` of eqn 5 with their standard errors, as ``gitt_fit.json`` carries them."""
    return {
        "D_trace_m2_s": fit.D_trace_m2_s, "D_trace_cm2_s": fit.D_trace_m2_s / CM2, "c_max_mol_m3": fit.c_max_mol_m3,
        "D_trace_stderr_log10": fit.D_trace_stderr_log10,
        "D_trace_stderr_m2_s": fit.D_trace_m2_s * fit.D_trace_stderr_log10 * math.log(10),
        "c_max_stderr_mol_m3": fit.c_max_stderr_mol_m3,
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
    """The whole-record fit (:func:`fit_record`) from the per-pulse fit; its values replace the per-pulse ones."""
    fit = fit_record(data, sample, concentration(data, sample), spans, D_trace_start_m2_s=start.D_trace_m2_s,
                     c_max_start_mol_m3=start.c_max_mol_m3)
    return _law(fit) | {
        "resistance_ohm": fit.resistance_ohm, "record_residual_rms_V": fit.residual_rms_V,
        "per_pulse_D_trace_m2_s": start.D_trace_m2_s, "per_pulse_c_max_mol_m3": start.c_max_mol_m3,
    }
