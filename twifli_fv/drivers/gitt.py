"""``twifli gitt``: GITT data + sample settings -> per-pulse D (``gitt.csv``), the eqn-5 fit
(``gitt_fit.json``, usable as a case's D(c)) and the D-vs-concentration plot (``gitt.png``)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from twifli_fv.case import GITT_REQUIRED, GITT_SCHEMA, Case, load_config
from twifli_fv.errors import InputError
from twifli_fv.model.diffusivity_fit import fit_anomalous
from twifli_fv.model.gitt import GittSample, Pulse, analyse_pulses, read_gitt_csv
from twifli_fv.outputs.files import atomic_path, write_json
from twifli_fv.outputs.plots import plot_gitt

CM2 = 1e-4  # m^2 per cm^2
FORMS = {"transient": "D_transient_m2_s", "sqrt_t": "D_sqrt_t_m2_s"}


def run_gitt(data_csv: str | Path, config_toml: str | Path, output_dir: str | Path) -> dict:
    """Analyse a GITT record and write ``gitt.csv``, ``gitt_fit.json`` (last) and ``gitt.png`` to ``output_dir``."""
    config = load_config(config_toml, schema=GITT_SCHEMA, required=GITT_REQUIRED)
    sample = gitt_sample(config)
    form = config.get("analysis", "fit_form", "transient")
    if form not in FORMS:
        raise InputError(f"{config.directory / config.file}: analysis.fit_form {form!r}: use 'transient' or 'sqrt_t'")
    data = read_gitt_csv(data_csv)
    pulses = analyse_pulses(
        data, sample, threshold_A=config.positive("analysis", "current_threshold_A"),
        short_time_ratio_max=config.positive("analysis", "short_time_ratio_max", 0.1),
    )
    used = [p for p in pulses if p.valid]
    if len(used) < 2:
        notes = "; ".join(f"pulse {p.index}: {p.note}" for p in pulses if not p.valid)[:300]
        raise InputError(f"{data.source}: {len(used)} of {len(pulses)} pulses are usable, need 2 ({notes})")
    fit = fit_anomalous(np.array([p.c_mol_m3 for p in used]), np.array([getattr(p, FORMS[form]) for p in used]),
                        c_max_guess_mol_m3=config.positive("sample", "c_max_guess_mol_m3"))
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    _write_pulses(out / "gitt.csv", pulses)
    c = np.array([p.c_mol_m3 for p in pulses])
    line = np.linspace(c.min(), c.max(), 200)
    plot_gitt(out / "gitt.png", c, {"dE_s/dE_t": [p.D_transient_m2_s for p in pulses],
                                    "dE/dsqrt(t)": [p.D_sqrt_t_m2_s for p in pulses]},
              np.array([p.valid for p in pulses]), line, fit.diffusivity(line),
              title=f"{Path(data_csv).name}: fit to the {form} form")
    result = {
        "law": "anomalous (paper 1, eqn 5): D = D_trace (c_max + c) / (c_max - c)",
        "D_trace_m2_s": fit.D_trace_m2_s,
        "D_trace_cm2_s": fit.D_trace_m2_s / CM2,
        "c_max_mol_m3": fit.c_max_mol_m3,
        "D_trace_stderr_log10": fit.D_trace_stderr_log10,
        "c_max_stderr_mol_m3": fit.c_max_stderr_mol_m3,
        "residual_rms_log10": fit.residual_rms_log10,
        "form": form,
        "pulses_found": len(pulses),
        "pulses_used": [p.index for p in used],
        "concentration_range_mol_m3": [min(p.c_mol_m3 for p in used), max(p.c_mol_m3 for p in used)],
        "diffusion_length_um": sample.diffusion_length_m * 1e6,
        "data": str(data_csv),
        "config": str(config_toml),
    }
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
        charge_current_positive=config.get("sample", "charge_current_positive", True),
    )


def _write_pulses(path: Path, pulses: list[Pulse]) -> None:
    columns = list(pulses[0].to_row())
    with atomic_path(path) as tmp, tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for pulse in pulses:
            writer.writerow({k: (f"{v:.8g}" if isinstance(v, float) and math.isfinite(v) else v)
                             for k, v in pulse.to_row().items()})
