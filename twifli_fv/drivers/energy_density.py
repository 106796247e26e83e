"""``twifli energy-density``: dense and composite cathodes of given composition compared at electrode level
(paper 2, Fig 7c-d), written as ``energy_density.json`` (last), ``energy_density.csv`` and ``energy_density.png``.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from twifli_fv.case import ENERGY_DENSITY_REQUIRED, ENERGY_DENSITY_SCHEMA, Case, load_config
from twifli_fv.errors import InputError
from twifli_fv.model.energy_density import Cathode, EnergyDensity, energy_density
from twifli_fv.outputs.files import write_csv, write_json
from twifli_fv.outputs.plots import plot_bars

SOLIDS = {"AM": "am", "SE": "se", "carbon": "carbon", "binder": "binder"}  # phase -> key prefix in [composite]
GEOMETRY = ("am_loading_mg_cm2", "thickness_um", "areal_capacity_mAh_cm2")


def run_energy_density(config_toml: str | Path, output_dir: str | Path) -> dict:
    """Energy densities of the cathodes in ``config_toml``, and the dense cathode's gain over the best composite."""
    config = load_config(config_toml, schema=ENERGY_DENSITY_SCHEMA, required=ENERGY_DENSITY_REQUIRED)
    given = {key: config.positive("electrode", key) for key in GEOMETRY if config.get("electrode", key) is not None}
    if len(given) > 1:
        raise InputError(f"{config.toml_path}: give one of electrode.{', electrode.'.join(GEOMETRY)}, not {len(given)}")
    dense, composites = cathodes_from_config(config)
    results = [energy_density(cathode, **given) for cathode in ([dense] if dense else []) + composites]
    rows = [asdict(result) for result in results]
    data = {
        "method": "electrode level (paper 2, Fig 7c-d): E_g = w_AM q V, E_v = E_g rho_electrode; "
                  "pores in the volume, no current collector",
        "source": str(Path(config_toml)),
        "cathodes": rows,
        "dense_gain_over_best_composite_percent": _gain(results) if dense and composites else None,
    }
    out = Path(output_dir)
    write_csv(out / "energy_density.csv", list(rows[0]), rows)
    plot_bars(out / "energy_density.png", [r.name for r in results],
              {"Wh/kg (electrode)": [r.gravimetric_Wh_kg for r in results],
               "Wh/L (electrode)": [r.volumetric_Wh_L for r in results]},
              title=f"{Path(config_toml).name}: electrode-level energy density")
    write_json(out / "energy_density.json", data)
    return data


def cathodes_from_config(config: Case) -> tuple[Cathode | None, list[Cathode]]:
    """The dense cathode (``[dense]``) and the composites (``[composite]``, one per list entry) of a settings file."""
    for key in ("specific_capacity_mAh_g", "average_voltage_V", "density_g_cm3"):  # checked first
        config.positive("active_material", key)
    dense, composites = None, []
    if "dense" in config.settings:
        dense = _cathode(config, "dense", {"AM": 1.0}, {"AM": config.get("active_material", "density_g_cm3")},
                         config.get("dense", "delivered_capacity_mAh_g"))
    if "composite" in config.settings:
        table = config.settings["composite"]
        if "am_mass_fraction" not in table:
            raise InputError(f"{config.toml_path}: missing key 'composite.am_mass_fraction'")
        keys = [f"{prefix}_mass_fraction" for prefix in SOLIDS.values()] + ["delivered_capacity_mAh_g"]
        columns = {key: table[key] for key in keys if key in table}
        lengths = {len(v) for v in columns.values() if isinstance(v, list)}
        if len(lengths) > 1:
            raise InputError(f"{config.toml_path}: the lists in [composite] differ in length ({sorted(lengths)})")
        for index in range(lengths.pop() if lengths else 1):
            row = {key: (value[index] if isinstance(value, list) else value) for key, value in columns.items()}
            composites.append(_cathode(config, "composite", *_composition(config, row),
                                       row.get("delivered_capacity_mAh_g")))
    if dense is None and not composites:
        raise InputError(f"{config.toml_path}: give a [dense] table, a [composite] table or both")
    return dense, composites


def _composition(config: Case, row: dict) -> tuple[dict[str, float], dict[str, float]]:
    """The solid mass fractions of one composite (AM included, sum 1) and the densities of its solids."""
    fractions, densities = {}, {}
    for phase, prefix in SOLIDS.items():
        value = row.get(f"{prefix}_mass_fraction", 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise InputError(f"{config.toml_path}: composite.{prefix}_mass_fraction must be in [0, 1], got {value!r}")
        if value > 0:
            fractions[phase] = float(value)
            key = ("active_material", "density_g_cm3") if phase == "AM" else ("composite", f"{prefix}_density_g_cm3")
            densities[phase] = config.positive(*key)
            if densities[phase] is None:
                raise InputError(f"{config.toml_path}: missing key 'composite.{prefix}_density_g_cm3' "
                                 f"({phase} fraction {value:g})")
    if "AM" not in fractions or abs(sum(fractions.values()) - 1.0) > 1e-6:
        raise InputError(f"{config.toml_path}: [composite] mass fractions {fractions} must include AM and sum to 1")
    return fractions, densities


def _cathode(config: Case, table: str, fractions: dict[str, float], densities: dict[str, float],
             delivered: object) -> Cathode:
    """The cathode of ``table`` ([dense] or [composite]), its delivered capacity checked against the theoretical."""
    theoretical = config.get("active_material", "specific_capacity_mAh_g")
    if delivered is None:
        delivered = theoretical
    elif isinstance(delivered, bool) or not isinstance(delivered, (int, float)) or not 0 < delivered <= theoretical:
        raise InputError(f"{config.toml_path}: {table}.delivered_capacity_mAh_g must be in (0, {theoretical:g}] "
                         f"(active_material.specific_capacity_mAh_g), got {delivered!r}")
    voltage = config.positive(table, "average_voltage_V", config.get("active_material", "average_voltage_V"))
    porosity = config.get(table, "porosity", 0.0)
    if not 0 <= porosity < 1:
        raise InputError(f"{config.toml_path}: {table}.porosity must be in [0, 1), got {porosity!r}")
    material = config.get("active_material", "name", "AM")
    return Cathode(
        name=f"dense {material}" if table == "dense" else f"composite {100 * fractions['AM']:g} wt% {material}",
        mass_fractions=fractions, densities_g_cm3=densities, theoretical_capacity_mAh_g=theoretical,
        delivered_capacity_mAh_g=float(delivered), average_voltage_V=voltage, porosity=float(porosity),
    )


def _gain(results: list[EnergyDensity]) -> dict[str, float]:
    """The dense cathode (first) over the best composite, per measure, in percent (paper 2, Fig 7c-d)."""
    dense, composites = results[0], results[1:]
    return {
        "gravimetric": 100 * (dense.gravimetric_Wh_kg / max(r.gravimetric_Wh_kg for r in composites) - 1),
        "volumetric": 100 * (dense.volumetric_Wh_L / max(r.volumetric_Wh_L for r in composites) - 1),
    }
