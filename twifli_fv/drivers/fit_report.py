"""What ``twifli fit`` writes: ``fit.json`` (values, uncertainties, residuals), ``fit.csv`` (every run), ``fit.png``.

``cov = s^2 (J^T J)^-1`` in the fitted (log10 or range-scaled) parameters, ``s^2 = sum r^2 / (m - n)`` for
``m`` data rows and ``n`` free keys; 68 % and 95 % intervals from Student's t with ``m - n`` degrees of freedom.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from twifli_fv.case import Case
from twifli_fv.drivers.fit_data import OBSERVED, FitData
from twifli_fv.outputs.files import write_csv, write_json
from twifli_fv.outputs.fit_plot import plot_fit

_PLOT = {"capacity": ("c_rate", "C-rate", None), "voltage": ("capacity_mAh_g", "capacity (mAh/g)", "c_rate"),
         "profiles": ("y_um", "y (um)", "time_s")}  # x column, x label and the column grouping rows into lines


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
