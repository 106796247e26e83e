"""Measured data for ``twifli fit``: a CSV read into the model runs it needs and the numbers it holds.

Three kinds, told apart by their columns (:data:`KINDS`; SPEC sect. 6; README, "Calibration"): capacities
(paper 2, Figs 3c, 4e; optionally case keys per row, one run per distinct condition), voltage curves, profiles.
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from twifli_fv import case as case_file
from twifli_fv.drivers.compare import interpolate_run
from twifli_fv.drivers.sweep_grid import resolve_key
from twifli_fv.errors import InputError
from twifli_fv.outputs.profiles import COLUMNS as PROFILE_COLUMNS
from twifli_fv.outputs.profiles import read_profiles

KINDS = {"capacity": ("c_rate", "capacity_mAh_g"), "voltage": ("c_rate", "capacity_mAh_g", "voltage_V"),
         "profiles": PROFILE_COLUMNS}
_CUT_OFF = re.compile(r"cut-off (\S+) V reached")  # a dense step's end_reason (solve/dense_stepping.py)
OBSERVED = {"capacity": ("capacity_mAh_g", "mAh/g"), "voltage": ("voltage_V", "V"), "profiles": ("c_norm", "")}


@dataclass(frozen=True)
class FitData:
    """Measured rows of one kind, the case values of the runs they need, and which run each row belongs to."""

    path: Path
    kind: str
    rows: tuple[dict[str, float], ...]  # as read, numbers
    conditions: tuple[dict[str, Any], ...]  # {"table.key": value} per model run
    row_condition: np.ndarray  # index into ``conditions`` per row
    observed: np.ndarray

    def model(self, outputs: list[Path]) -> np.ndarray:
        """The model's value at every data row, from the runs of ``conditions`` (their ``output/`` folders)."""
        values = np.empty(len(self.rows))
        for index, output in enumerate(outputs):
            rows = self.row_condition == index
            values[rows] = _MODEL[self.kind](self, output, np.flatnonzero(rows))
        return values


def load_fit_data(path: str | Path) -> FitData:
    """Read a data CSV; a missing file, unknown kind, unknown or non-numeric column or value is a one-line error."""
    path = Path(path)
    header, lines = _read(path)
    kind = _kind(path, header)
    extra = [name for name in header if name not in KINDS[kind] and name]
    if kind == "profiles" and extra:
        raise InputError(f"{path}: profile data take only the columns {', '.join(PROFILE_COLUMNS)}; "
                         f"unexpected {', '.join(extra)}")
    keys = {name: _condition_key(path, name) for name in extra + (["c_rate"] if kind != "profiles" else [])}
    rows = tuple(_numbers(path, line_number, header, line) for line_number, line in lines)
    if not rows:
        raise InputError(f"{path}: no data rows")
    settings = [tuple((keys[name], row[name]) for name in keys) for row in rows]
    conditions = list(dict.fromkeys(settings))  # in order of first appearance
    return FitData(path=path, kind=kind, rows=rows, conditions=tuple(dict(c) for c in conditions),
                   row_condition=np.array([conditions.index(s) for s in settings]),
                   observed=np.array([row[OBSERVED[kind][0]] for row in rows]))


def _read(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    try:
        with path.open(newline="") as handle:
            table = [(number, line) for number, line in enumerate(csv.reader(handle), 1)
                     if any(c.strip() for c in line)]
    except OSError as exc:
        raise InputError(f"{path}: cannot read the data ({exc.strerror})") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: not a CSV file ({exc})") from None
    if not table:
        raise InputError(f"{path}: empty data file")
    return [name.strip() for name in table[0][1]], table[1:]


def _kind(path: Path, header: list[str]) -> str:
    if len(set(header)) != len(header):
        raise InputError(f"{path}: a column is repeated ({', '.join(header)})")
    for kind in ("profiles", "voltage", "capacity"):
        if set(KINDS[kind]) <= set(header):
            return kind
    raise InputError(f"{path}: columns {', '.join(header)} are none of the data kinds: capacities "
                     "(c_rate, capacity_mAh_g[, case keys]), voltage curves (c_rate, capacity_mAh_g, voltage_V) "
                     "or profiles (time_s, step, y_um, c_norm)")


def _condition_key(path: Path, column: str) -> str:
    table, key = resolve_key("protocol.c_rate" if column == "c_rate" else column, option=f"{path}: column")
    if float not in case_file.SCHEMA[table][key]:
        raise InputError(f"{path}: column {column!r} is {table}.{key}, which does not take numbers")
    return f"{table}.{key}"


def _numbers(path: Path, line_number: int, header: list[str], line: list[str]) -> dict[str, float]:
    if len(line) != len(header):
        raise InputError(f"{path}, line {line_number}: {len(line)} values for {len(header)} columns")
    row = {}
    for name, text in zip(header, line):
        try:
            value = float(text)
        except ValueError:
            raise InputError(f"{path}, line {line_number}: {name} = {text.strip()!r} is not a number") from None
        if not math.isfinite(value):
            raise InputError(f"{path}, line {line_number}: {name} = {text.strip()!r} is not finite")
        row[name] = value
    return row


def _capacity(data: FitData, output: Path, rows: np.ndarray) -> np.ndarray:
    """The last step's capacity; at a voltage cut-off, where the curve crosses it (why: README, "Calibration")."""
    summary = json.loads((output / "summary.json").read_text())
    capacity = summary.get("capacity_mAh_g")
    if capacity is None:
        raise InputError(f"{data.path}: capacity data need a model that reports capacity_mAh_g (a dense case)")
    cut = _CUT_OFF.fullmatch(str(summary["steps"][-1].get("end_reason")))
    if cut and (output / "voltage.csv").is_file():
        q, v = _curve(data, output)
        if q.size > 1 and v[-2] > float(cut[1]) >= v[-1]:
            capacity = q[-2] + (v[-2] - float(cut[1])) / (v[-2] - v[-1]) * (q[-1] - q[-2])
    return np.full(rows.size, float(capacity))


def _voltage(data: FitData, output: Path, rows: np.ndarray) -> np.ndarray:
    capacity, voltage = _curve(data, output)
    measured = np.array([data.rows[i]["capacity_mAh_g"] for i in rows])
    return np.interp(measured, capacity, voltage)


def _curve(data: FitData, output: Path) -> tuple[np.ndarray, np.ndarray]:
    """Capacity and cell voltage of the run's last protocol step (the discharge), from its start."""
    if not (output / "voltage.csv").is_file():
        raise InputError(f"{data.path}: voltage data need a model that writes voltage.csv (a dense case)")
    with (output / "voltage.csv").open(newline="") as handle:
        curve = [(int(r["step"]), float(r["capacity_mAh_g"]), float(r["voltage_V"])) for r in csv.DictReader(handle)]
    last = [point for point in curve if point[0] == curve[-1][0]]
    return np.array([0.0] + [p[1] for p in last]), np.array([last[0][2]] + [p[2] for p in last])


def _profiles(data: FitData, output: Path, rows: np.ndarray) -> np.ndarray:
    run = read_profiles(output / "profiles.csv")
    times = np.array([data.rows[i]["time_s"] for i in rows])
    y_um = np.array([data.rows[i]["y_um"] for i in rows])
    grid_t, at_t = np.unique(times, return_inverse=True)
    grid_y, at_y = np.unique(y_um, return_inverse=True)
    values = interpolate_run(run, grid_t, grid_y)[at_t, at_y]
    outside = ~np.isfinite(values)
    if outside.any():
        k = int(np.flatnonzero(outside)[0])
        raise InputError(f"{data.path}: {outside.sum()} data points lie outside the run's times and thickness "
                         f"(first: time_s {times[k]:g}, y_um {y_um[k]:g}); trim them or lengthen the protocol")
    return values


_MODEL = {"capacity": _capacity, "voltage": _voltage, "profiles": _profiles}
