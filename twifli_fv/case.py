"""Case directories: ``case.toml`` read, checked key by key (an unknown key is an error naming the nearest
known one, so a typo never falls back to a default), and turned into typed settings."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomllib

from twifli_fv.case_keys import CASE_KEYS, NUM, Key
from twifli_fv.errors import InputError, did_you_mean

Schema = dict[str, dict[str, type | tuple[type, ...]]]  # table -> key -> allowed types
SCHEMA: Schema = {  # the types of CASE_KEYS, always a tuple (sweeps and fits read it)
    table: {key: spec.kinds if isinstance(spec.kinds, tuple) else (spec.kinds,) for key, spec in keys.items()}
    for table, keys in CASE_KEYS.items()
}
REQUIRED = {"image": ("file", "labels", "voxel_size_um"), "material": ("c_sat_mol_m3",), "protocol": ("steps",)}
DENSE_ONLY_MATERIAL = ("D_fast_cm2_s", "D_slow_cm2_s", "D_eff_cm2_s", "initial_stoichiometry")
MODEL_KINDS: dict[str, dict[str, tuple[str, ...] | None]] = {  # [model] kind -> its tables (None: every key)
    "twifli": {"image": None, "material": tuple(k for k in SCHEMA["material"] if k not in DENSE_ONLY_MATERIAL),
               "tortuosity": None, "model": ("kind", "normalisation"), "protocol": None, "output": None,
               "solver": ("sweep_tol", "max_sweeps", "linear_tol", "dt_initial_s", "dt_max_s")},
    "dense": {"cell": None, "grains": None, "interface": None, "kinetics": None, "mechanics": None,
              "material": DENSE_ONLY_MATERIAL + ("specific_capacity_mAh_g", "am_density_g_cm3", "c_max_mol_m3"),
              "model": ("kind",), "protocol": None, "output": ("frame_interval_s", "fields_interval_s", "plots"),
              "solver": ("dt_initial_s", "dt_max_s", "max_change")},
}
KIND_REQUIRED = {"twifli": REQUIRED, "dense": {"protocol": ("steps",)}}

GITT_SCHEMA: Schema = {  # `twifli gitt --config gitt.toml`
    "sample": {
        "active_mass_mg": NUM, "molar_mass_g_mol": NUM, "density_g_cm3": NUM,
        "molar_volume_cm3_mol": NUM, "electrode_area_cm2": NUM, "particle_radius_um": NUM,
        "c_initial_mol_m3": NUM, "c_max_guess_mol_m3": NUM, "charge_current_positive": bool,
    },
    "analysis": {"current_threshold_A": NUM, "short_time_ratio_max": NUM, "fit_form": str, "pulse_fraction_max": NUM},
}
GITT_REQUIRED = {"sample": ("active_mass_mg", "molar_mass_g_mol", "c_max_guess_mol_m3")}
RADIOGRAPHY_SCHEMA: Schema = {  # `twifli radiography --config ...`
    "images": {"frames": (str, list), "times_csv": str, "times_s": list, "pristine": str, "open_beam": str,
               "dark": str},
    "region": {"cathode_rows": list, "columns": list, "pixel_size_um": NUM, "collector_at": str},
    "attenuation": {"li_fraction": NUM},
}
RADIOGRAPHY_REQUIRED = {"images": ("frames", "pristine"), "region": ("cathode_rows", "pixel_size_um")}
NUM_OR_LIST = (int, float, list)  # a list: one composite per entry (paper 2, Fig 7: 60-90 wt% CAM)
ENERGY_DENSITY_SCHEMA: Schema = {  # `twifli energy-density --config ...`
    "active_material": {"name": str, "specific_capacity_mAh_g": NUM, "density_g_cm3": NUM, "average_voltage_V": NUM},
    "dense": {"porosity": NUM, "delivered_capacity_mAh_g": NUM, "average_voltage_V": NUM},
    "composite": {"am_mass_fraction": NUM_OR_LIST, "se_mass_fraction": NUM_OR_LIST,
                  "carbon_mass_fraction": NUM_OR_LIST, "binder_mass_fraction": NUM_OR_LIST,
                  "se_density_g_cm3": NUM, "carbon_density_g_cm3": NUM, "binder_density_g_cm3": NUM,
                  "porosity": NUM, "delivered_capacity_mAh_g": NUM_OR_LIST, "average_voltage_V": NUM},
    "electrode": {"am_loading_mg_cm2": NUM, "thickness_um": NUM, "areal_capacity_mAh_cm2": NUM},
}
ENERGY_DENSITY_REQUIRED = {"active_material": ("specific_capacity_mAh_g", "density_g_cm3", "average_voltage_V")}


@dataclass(frozen=True)
class Case:
    """A checked case file: its directory and its tables (keys as in SCHEMA, paths resolved)."""

    directory: Path
    settings: dict[str, dict[str, Any]]
    file: str = "case.toml"
    defaults: dict[tuple[str, str], Any] = field(default_factory=dict)  # (table, key) -> schema default

    @property
    def output(self) -> Path:
        return self.directory / "output"

    @property
    def toml_path(self) -> Path:
        return self.directory / self.file

    def get(self, table: str, key: str, default: Any = None) -> Any:
        """The value given, else ``default``, else the schema's default for the case's model (else None)."""
        if default is None:
            default = self.defaults.get((table, key))
        return self.settings.get(table, {}).get(key, default)

    def given(self, table: str, key: str) -> bool:
        return key in self.settings.get(table, {})

    def path(self, table: str, key: str) -> Path | None:
        value = self.get(table, key)
        return None if value is None else (self.directory / value).resolve()

    def positive(self, table: str, key: str, default: float | None = None) -> float | None:
        """A finite positive number from the case, or ``default`` when absent; else a one-line error."""
        value = self.get(table, key, default)
        if value is not None and not (math.isfinite(value) and value > 0):
            raise InputError(f"{self.toml_path}: [{table}] {key} must be positive, got {value!r}")
        return value


def load_case(directory: str | Path) -> Case:
    """Read and check ``directory/case.toml``."""
    path = Path(directory) / "case.toml"
    if not path.is_file():
        raise InputError(f"{path}: no case file here (a case directory holds case.toml and its inputs)")
    case = load_config(path, schema=SCHEMA, required={}, keys=CASE_KEYS)
    kind = case.get("model", "kind", "twifli")  # one of MODEL_KINDS: the schema checked it
    for table, values in case.settings.items():
        allowed = MODEL_KINDS[kind].get(table, ())
        for key in values if allowed is not None else ():
            if key not in allowed:
                raise InputError(f"{path}: '{table}.{key}' is not used by model.kind = {kind!r}")
    _check_required(path, case.settings, KIND_REQUIRED[kind])
    return replace(case, defaults={(table, key): spec.default_for(kind)
                                   for table, keys in CASE_KEYS.items() for key, spec in keys.items()})


def load_config(path: str | Path, *, schema: dict, required: dict, keys: dict | None = None) -> Case:
    """Read and check any TOML settings file against ``schema`` (and each key's range in ``keys``, if given)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: settings file not found")
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None
    for table, values in data.items():
        if table not in schema:
            raise InputError(f"{path}: unknown table [{table}]{did_you_mean(table, list(schema))}")
        if not isinstance(values, dict):
            raise InputError(f"{path}: {table} must be a table [{table}]")
        for key, value in values.items():
            if key not in schema[table]:
                raise InputError(f"{path}: unknown key '{table}.{key}'{did_you_mean(key, list(schema[table]))}")
            kinds = schema[table][key]
            if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
                raise InputError(f"{path}: '{table}.{key}' must not be true/false")
            if not isinstance(value, kinds):
                raise InputError(f"{path}: '{table}.{key}' has the wrong type ({type(value).__name__}: {value!r})")
            _check_value(path, table, key, value, None if keys is None else keys[table][key])
    _check_required(path, data, required)
    return Case(directory=path.parent.resolve(), settings=data, file=path.name)


def _check_value(path: Path, table: str, key: str, value: Any, spec: Key | None) -> None:
    if spec is not None:
        problem = spec.problem(value)
        if problem:
            raise InputError(f"{path}: [{table}] {key} = {value!r}: {problem} ({spec.meaning})")
    elif not all(math.isfinite(v) for v in (value if isinstance(value, list) else [value]) if isinstance(v, NUM)):
        raise InputError(f"{path}: [{table}] {key} = {value!r}: numbers must be finite")


def _check_required(path: Path, data: dict, required: dict) -> None:
    for table, keys in required.items():
        for key in keys:
            if key not in data.get(table, {}):
                raise InputError(f"{path}: missing key '{table}.{key}'")
