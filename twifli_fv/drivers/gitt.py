"""``twifli gitt``: GITT data + sample settings -> per-pulse D (``gitt.csv``), the eqn-5 fit
(``gitt_fit.json``, usable as a case's D(c)) and the D-vs-concentration plot (``gitt.png``)."""

from __future__ import annotations

import csv
import logging
import math
from pathlib import Path

import numpy as np

from twifli_fv.case import GITT_REQUIRED, GITT_SCHEMA, Case, load_config
from twifli_fv.drivers.gitt_results import fit_summary, model_rows, record_summary
from twifli_fv.errors import InputError
from twifli_fv.model.diffusivity_fit import AnomalousFit, fit_anomalous
from twifli_fv.model.gitt import GittSample, analyse_pulses, check_current_sign, find_pulses, read_gitt_csv
from twifli_fv.outputs.files import atomic_path, write_json
from twifli_fv.outputs.plots import plot_gitt

CM2 = 1e-4  # m^2 per cm^2
FORMS = {"model": "D_m2_s", "record": "D_m2_s", "transient": "D_transient_m2_s", "sqrt_t": "D_sqrt_t_m2_s"}


def run_gitt(data_csv: str | Path, config_toml: str | Path, output_dir: str | Path) -> dict:
    """Analyse a GITT record and write ``gitt.csv``, ``gitt_fit.json`` (last) and ``gitt.png`` to ``output_dir``."""
    config = load_config(config_toml, schema=GITT_SCHEMA, required=GITT_REQUIRED)
    sample = gitt_sample(config)
    form = config.get("analysis", "fit_form", "model")
    if form not in FORMS:
        raise InputError(f"{config.directory / config.file}: analysis.fit_form {form!r}: use 'model', 'record', "
                         "'transient' or 'sqrt_t'")
    data = read_gitt_csv(data_csv)
    threshold = config.positive("analysis", "current_threshold_A")
    spans = find_pulses(data, threshold_A=threshold)
    check_current_sign(data, sample, spans)
    pulses = analyse_pulses(data, sample, threshold_A=threshold,
                            short_time_ratio_max=config.positive("analysis", "short_time_ratio_max", 0.1))
    c_max_guess = config.positive("sample", "c_max_guess_mol_m3")
    if form in ("transient", "sqrt_t"):
        rows = [p.to_row() for p in pulses]
    else:
        rows = model_rows(data, sample, pulses, spans, c_max_guess_mol_m3=c_max_guess,
                          fraction_max=config.positive("analysis", "pulse_fraction_max", 0.02))
    used = [row for row in rows if row["valid"]]
    if len(used) < 2:
        notes = "; ".join(f"pulse {row['index']}: {row['note']}" for row in rows if not row["valid"])[:300]
        raise InputError(f"{data.source}: {len(used)} of {len(rows)} pulses are usable, need 2 ({notes})")
    c_used, d_used = np.array([r["c_mol_m3"] for r in used]), np.array([r[FORMS[form]] for r in used])
    fit = fit_anomalous(c_used, d_used, c_max_guess_mol_m3=c_max_guess)
    result = fit_summary(fit, c_used, d_used, [r.get("D_stderr_m2_s", math.nan) for r in used])
    if form == "record":
        result |= record_summary(data, sample, [(r["first"], r["last"]) for r in rows], fit)  # every pulse moves Li
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    _write_pulses(out / "gitt.csv", rows)
    c = np.array([r["c_mol_m3"] for r in rows])
    line = np.linspace(c.min(), c.max(), 200)
    law = AnomalousFit(result["D_trace_m2_s"], result["c_max_mol_m3"], 0.0, 0.0, 0.0, 0)
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
    where = config.directory / config.file
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


def _write_pulses(path: Path, rows: list[dict]) -> None:
    columns = [k for k in rows[0] if k not in ("first", "last")]
    with atomic_path(path) as tmp, tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{row[k]:.8g}" if isinstance(row[k], float) and math.isfinite(row[k]) else row[k])
                             for k in columns})
