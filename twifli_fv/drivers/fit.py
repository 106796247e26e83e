"""``twifli fit``: case keys fitted to measured data by bounded least squares (SPEC sect. 6; README, "Calibration").
Uncertainties: ``cov = s^2 (J^T J)^-1``, ``s^2 = sum r^2 / (m - n)``, Student's t with ``m - n`` degrees of freedom.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from twifli_fv import case as case_file
from twifli_fv.case import Case, load_case
from twifli_fv.drivers.fit_data import OBSERVED, FitData, load_fit_data
from twifli_fv.drivers.sweep import point_complete, point_quantities, run_point, write_point_case
from twifli_fv.drivers.sweep_grid import resolve_key
from twifli_fv.errors import InputError
from twifli_fv.outputs.files import write_csv, write_json
from twifli_fv.outputs.plots import plot_fit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FreeParameter:
    """A fitted case key (``table.key``), its bounds, its start and whether it is fitted in log10."""

    name: str
    lower: float
    upper: float
    start: float
    log: bool

    def scaled(self, value: float) -> float:
        return math.log10(value) if self.log else value / (self.upper - self.lower)

    def value(self, scaled: float) -> float:
        return float(f"{(10.0 ** scaled if self.log else scaled * (self.upper - self.lower)):.12g}")


_FREE = re.compile(r"([^=]+?)\s*(?:=\s*([^:]+):([^:]+))?")
_RATE_KEYS = re.compile(r"(^D_|_cm2_s$|exchange_current|conductivity)")
_PLOT = {"capacity": ("c_rate", "C-rate", None), "voltage": ("capacity_mAh_g", "capacity (mAh/g)", "c_rate"),
         "profiles": ("y_um", "y (um)", "time_s")}  # x column, x label and the column grouping rows into lines
RECORDED = ("capacity_mAh_g", "end_reason", "end_mean_depletion", "wall_time_s")  # fit.csv's columns from a run


@dataclass(frozen=True)
class FitResult:
    """Where a fit wrote its outputs, the fitted values (``{"table.key": value}``) and the content of fit.json."""

    directory: Path
    values: dict[str, float]
    report: dict[str, Any]


def parse_free(spec: str, *, case: Case) -> list[FreeParameter]:
    """``KEY[=LO:HI],...`` -> free parameters; without bounds, the case's value / 10 .. x 10 (log)."""
    free = []
    for part in (p.strip() for p in spec.split(",")):
        match = _FREE.fullmatch(part)
        if not part or not match:
            raise InputError(f"--free {spec!r}: write KEY[=LO:HI],..., e.g. D_eff_cm2_s=1e-10:1e-8")
        table, key = resolve_key(match[1], option="--free")
        if float not in case_file.SCHEMA[table][key]:
            raise InputError(f"--free {part!r}: {table}.{key} does not take numbers; it cannot be fitted")
        current = case.get(table, key)
        lower, upper = _bounds(part, match, current)
        log_scaled = lower > 0 and (upper / lower >= 10 or bool(_RATE_KEYS.search(key)))
        start = current if current is not None and lower <= current <= upper else (
            math.sqrt(lower * upper) if log_scaled else (lower + upper) / 2)
        free.append(FreeParameter(f"{table}.{key}", lower, upper, float(start), log_scaled))
    names = [p.name for p in free]
    if len(set(names)) != len(names):
        raise InputError(f"--free {spec!r}: a key is given twice")
    return free


def run_fit(case_dir: str | Path, data_csv: str | Path, free: list[FreeParameter], *, name: str | None = None,
            jobs: int = 1, resume: bool = False, plots: bool = True, step: float = 0.01,
            max_evaluations: int = 30) -> FitResult:
    """Fit ``free`` to the data; writes ``fit.json``, ``fit.csv``, ``fit.png`` and ``fitted/case.toml``."""
    from scipy.optimize import least_squares

    base = load_case(case_dir)
    data = load_fit_data(data_csv)
    if not free:
        raise InputError("fit: give the keys to fit with --free KEY[=LO:HI],...")
    if jobs < 1:
        raise InputError(f"--jobs {jobs}: give 1 or more worker processes")
    clash = {p.name for p in free} & {k for condition in data.conditions for k in condition}
    if clash:
        raise InputError(f"{data.path}: {', '.join(sorted(clash))} is both a data column and a --free key")
    directory = base.directory / "fits" / (name or Path(data_csv).stem)
    lower = np.array([p.scaled(p.lower) for p in free])
    upper = np.array([p.scaled(p.upper) for p in free])
    with _Evaluator(base, data, free, directory, jobs=jobs, resume=resume) as evaluator:
        def jacobian(u: np.ndarray) -> np.ndarray:
            steps = [step if u[i] + step <= upper[i] else -step for i in range(len(free))]
            shifted = [u + h * np.eye(len(free))[i] for i, h in enumerate(steps)]
            centre, *moved = evaluator.residuals([u] + shifted)
            return np.column_stack([(r - centre) / h for r, h in zip(moved, steps)])

        start = np.clip([p.scaled(p.start) for p in free], lower, upper)
        solution = least_squares(lambda u: evaluator.residuals([u])[0], start, jac=jacobian,
                                 bounds=(lower, upper), method="trf", x_scale=1.0, xtol=1e-5, ftol=1e-6,
                                 max_nfev=max_evaluations)
        final = evaluator.residuals([solution.x])[0]
        values = {p.name: p.value(u) for p, u in zip(free, solution.x)}
        report = write_fit_outputs(
            directory, base=base, data=data, free=free, solution=solution, residuals=final,
            model=data.observed + final, runs=evaluator.runs(solution.x), records=evaluator.records, plots=plots)
    write_point_case(base, directory / "fitted", values,
                     header=f"{base.directory.name} fitted to {data.path} by `twifli fit` ({directory / 'fit.json'})")
    return FitResult(directory, values, report)


def _bounds(part: str, match: re.Match, current: Any) -> tuple[float, float]:
    if match[2] is None:
        if not isinstance(current, (int, float)) or current <= 0:
            raise InputError(f"--free {part!r}: the case gives no positive value to bound around; write KEY=LO:HI")
        return current / 10.0, current * 10.0
    try:
        lower, upper = float(match[2]), float(match[3])
    except ValueError:
        raise InputError(f"--free {part!r}: bounds LO:HI must be numbers") from None
    if not (math.isfinite(lower) and math.isfinite(upper) and lower < upper):
        raise InputError(f"--free {part!r}: bounds must be finite with LO < HI")
    return lower, upper


class _Evaluator:
    """Runs the model at parameter points (every data condition each), cached by the values' hash."""

    def __init__(self, base: Case, data: FitData, free: list[FreeParameter], directory: Path, *, jobs: int,
                 resume: bool) -> None:
        self.base, self.data, self.free, self.directory = base, data, free, directory
        self.jobs, self.resume = jobs, resume
        self.records: dict[str, dict[str, Any]] = {}
        self.pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> _Evaluator:
        if self.jobs > 1:
            os.environ["OMP_NUM_THREADS"] = "1"  # inherited by the workers: each run single-threaded
            self.pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=multiprocessing.get_context("spawn"))
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def runs(self, u: np.ndarray) -> list[Path]:
        """The run folders of one parameter point, one per data condition (written, not run)."""
        values = {p.name: p.value(x) for p, x in zip(self.free, u)}
        folders = []
        for condition in self.data.conditions:
            settings = values | condition | {"output.plots": False}
            digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
            folder = self.directory / f"eval_{digest}"
            settings_text = ", ".join(f"{k} = {v!r}" for k, v in {**values, **condition}.items())
            write_point_case(self.base, folder, settings, header=f"Evaluation of `twifli fit`: {settings_text}")
            self.records.setdefault(folder.name, {"evaluation": folder.name, **values, **condition})  # in order
            folders.append(folder)
        return folders

    def residuals(self, points: list[np.ndarray]) -> list[np.ndarray]:
        """Model minus data at each point (runs not complete yet are run, ``jobs`` at a time)."""
        folders = [self.runs(u) for u in points]
        todo = list(dict.fromkeys(f for group in folders for f in group if not point_complete(f)))
        outcomes = (self.pool.map(run_point, map(str, todo), [self.resume] * len(todo)) if self.pool and len(todo) > 1
                    else (run_point(str(f), self.resume) for f in todo))
        for folder, (error, seconds) in zip(todo, outcomes):
            log.info("%s: %s (%.1f s)", folder.name, f"failed: {error}" if error else "complete", seconds)
            if error:
                raise InputError(f"{folder}: the model run failed: {error}")
        for group in folders:
            for folder in group:
                quantities = point_quantities(folder / "output")
                recorded = {k: quantities[k] for k in RECORDED if k in quantities}
                self.records[folder.name] |= {"status": "complete"} | recorded
        return [self.data.model([f / "output" for f in group]) - self.data.observed for group in folders]


def write_fit_outputs(directory: Path, *, base: Case, data: FitData, free: list, solution: Any,
                      residuals: np.ndarray, model: np.ndarray, runs: list[Path], records: dict[str, dict],
                      plots: bool) -> dict[str, Any]:
    """Write the three outputs; returns the content of ``fit.json``."""
    dof = residuals.size - len(free)
    variance = float(residuals @ residuals / dof) if dof > 0 else math.nan
    covariance = variance * np.linalg.pinv(solution.jac.T @ solution.jac)
    se = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = covariance / np.outer(se, se)
    quantity, unit = OBSERVED[data.kind]
    report = {
        "case": str(base.directory), "data": str(data.path), "kind": data.kind, "quantity": quantity, "unit": unit,
        "free": [_parameter(p, u, s, dof) for p, u, s in zip(free, solution.x, se)],
        "correlation": _finite(correlation),
        "residual": {"rms": float(np.sqrt(np.mean(residuals**2))), "variance": _finite(variance),
                     "degrees_of_freedom": dof, "unit": unit},
        "rows": [{**row, f"model_{quantity}": float(v), "residual": float(r)}
                 for row, v, r in zip(data.rows, model, residuals)],
        "runs": [str(run) for run in runs],
        "evaluations": len(records),
        "optimizer": {"status": int(solution.status), "message": solution.message, "function_evaluations":
                      int(solution.nfev), "jacobian_evaluations": int(solution.njev or 0)},
    }
    write_json(directory / "fit.json", report)
    rows = list(records.values())  # in the order the evaluations were first asked for
    write_csv(directory / "fit.csv", list(dict.fromkeys(k for row in rows for k in row)), rows)
    if plots:
        x_name, x_label, _ = _PLOT[data.kind]
        plot_fit(directory / "fit.png", np.array([row[x_name] for row in data.rows]), data.observed, model,
                 _groups(data), xlabel=x_label, ylabel=f"{quantity} ({unit})" if unit else quantity,
                 title=f"{base.directory.name} fitted to {data.path.name}")
    return report


def _groups(data: FitData) -> dict[str, np.ndarray]:
    key = _PLOT[data.kind][2]
    if key is None:  # capacities: one line per combination of the other condition columns
        labels = [", ".join(f"{k.partition('.')[2]}={v:g}" for k, v in c.items() if k != "protocol.c_rate")
                  for c in data.conditions]
        labels = [labels[i] for i in data.row_condition]
    else:
        labels = [f"{key}={row[key]:g}" for row in data.rows]
    unique = list(dict.fromkeys(labels))
    if data.kind == "profiles" and len(unique) > 6:  # a few frames, evenly spread
        unique = [unique[i] for i in np.linspace(0, len(unique) - 1, 6).round().astype(int)]
    return {label: np.array([i for i, lab in enumerate(labels) if lab == label]) for label in unique}


def _parameter(p: Any, u: float, se: float, dof: int) -> dict[str, Any]:
    from scipy.stats import t as student

    entry = {"key": p.name, "value": p.value(u), "start": p.start, "lower": p.lower, "upper": p.upper,
             "scale": "log10" if p.log else "linear"}
    if dof <= 0 or not math.isfinite(se):
        return entry | {"standard_error": None, "note": "as many free keys as data rows: no residual variance"}
    if p.log:
        entry |= {"standard_error": p.value(u) * math.log(10) * se, "log10_standard_error": float(se)}
    else:
        entry |= {"standard_error": se * (p.upper - p.lower)}
    for level in (68, 95):
        half = float(student.ppf(0.5 + level / 200, dof)) * se
        entry[f"interval_{level}"] = [p.value(u - half), p.value(u + half)]
    return entry


def _finite(value: Any) -> Any:
    """A number or nested list of numbers for JSON, ``None`` for each one not finite."""
    array = np.asarray(value, dtype=float)
    return np.where(np.isfinite(array), array, None).tolist()
