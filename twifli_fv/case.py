"""Case directories: ``case.toml`` read, checked key by key, and turned into typed settings.

Only this module and the CLI read TOML. Every key carries its unit; a key that is not known
is an error that names it (and the nearest known key), so a typo never falls back to a default.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twifli_fv.errors import InputError

SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "image": {
        "file": str, "labels": (str, dict), "voxel_size_um": (int, float), "thickness_axis": int,
        "collector_at": str, "crop": str, "coarsen": int, "refine": int, "in_plane": str,
        "shape": list, "dtype": str,
    },
    "material": {
        "c_sat_mol_m3": (int, float), "diffusivity": str, "D_cm2_s": (int, float), "D_trace_cm2_s": (int, float),
        "c_max_mol_m3": (int, float), "D_cap_cm2_s": (int, float), "table_csv": str, "gitt_fit_json": str,
        "specific_capacity_mAh_g": (int, float), "am_density_g_cm3": (int, float),
    },
    "tortuosity": {"tau_e": (int, float), "tau_Li": (int, float), "image_file": str, "labels": (str, dict)},
    "model": {"normalisation": str},
    "protocol": {"steps": list},
    "output": {"frame_interval_s": (int, float), "fields_interval_s": (int, float), "profile_times_h": list,
               "plots": bool},
    "solver": {"sweep_tol": (int, float), "max_sweeps": int, "linear_tol": (int, float), "dt_initial_s": (int, float),
               "dt_max_s": (int, float)},
}
REQUIRED = {"image": ("file", "labels", "voxel_size_um"), "material": ("c_sat_mol_m3",), "protocol": ("steps",)}


@dataclass(frozen=True)
class Case:
    """A checked case file: its directory and its tables (keys as in SCHEMA, paths resolved)."""

    directory: Path
    settings: dict[str, dict[str, Any]]

    @property
    def output(self) -> Path:
        return self.directory / "output"

    def get(self, table: str, key: str, default: Any = None) -> Any:
        return self.settings.get(table, {}).get(key, default)

    def path(self, table: str, key: str) -> Path | None:
        value = self.get(table, key)
        return None if value is None else (self.directory / value).resolve()

    def positive(self, table: str, key: str, default: float | None = None) -> float | None:
        """A finite positive number from the case, or ``default`` when absent; else a one-line error."""
        value = self.get(table, key, default)
        if value is not None and not (math.isfinite(value) and value > 0):
            raise InputError(f"{self.directory / 'case.toml'}: [{table}] {key} must be positive, got {value!r}")
        return value


def load_case(directory: str | Path) -> Case:
    """Read and check ``directory/case.toml``."""
    directory = Path(directory)
    path = directory / "case.toml"
    if not path.is_file():
        raise InputError(f"{path}: no case file here (a case directory holds case.toml and its inputs)")
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid TOML ({exc})") from None
    for table, values in data.items():
        if table not in SCHEMA:
            raise InputError(f"{path}: unknown table [{table}]{_nearest(table, SCHEMA)}")
        if not isinstance(values, dict):
            raise InputError(f"{path}: {table} must be a table [{table}]")
        for key, value in values.items():
            if key not in SCHEMA[table]:
                raise InputError(f"{path}: unknown key '{table}.{key}'{_nearest(key, SCHEMA[table])}")
            kinds = SCHEMA[table][key]
            if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
                raise InputError(f"{path}: '{table}.{key}' must not be true/false")
            if not isinstance(value, kinds):
                raise InputError(f"{path}: '{table}.{key}' has the wrong type ({type(value).__name__}: {value!r})")
    for table, keys in REQUIRED.items():
        for key in keys:
            if key not in data.get(table, {}):
                raise InputError(f"{path}: missing key '{table}.{key}'")
    return Case(directory=directory.resolve(), settings=data)


def _nearest(name: str, known: dict) -> str:
    match = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{match[0]}'?)" if match else f" (known: {', '.join(known)})"
