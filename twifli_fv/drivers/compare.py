"""``twifli compare``: model-experiment comparison of through-thickness Li profiles (paper 1, Figs 3-4).

Both sides are ``profiles.csv`` tables (``time_s, step, y_um, c_norm``). The run is interpolated
linearly in time and in y onto the experiment's grid; experiment points outside the run's time
or thickness range are dropped (and counted). Errors are run minus experiment.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from twifli_fv.errors import InputError
from twifli_fv.outputs.files import write_json
from twifli_fv.outputs.plots import plot_comparison
from twifli_fv.outputs.profiles import read_profiles

Profiles = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # times_s, steps, y_um, c_norm[frames, rows]


@dataclass(frozen=True)
class Comparison:
    rmse: float
    mae: float
    max_error: float  # largest |run - experiment|
    max_error_y_um: float
    max_error_time_s: float
    points: int
    dropped_points: int
    per_frame: list[dict]  # time_s, rmse, mae, max_abs_error
    depletion_end_of_charge: list[dict]  # time_s, run, experiment (mean 1 - c_norm over rows)

    def to_dict(self) -> dict:
        return asdict(self)


def interpolate_run(run: Profiles, times_s: np.ndarray, y_um: np.ndarray) -> np.ndarray:
    """The run's c_norm at (times_s x y_um); NaN outside its time and thickness range."""
    run_t, _, run_y, run_c = run
    out = np.full((times_s.size, y_um.size), np.nan)
    for k, t in enumerate(times_s):
        if not run_t[0] - 1e-9 <= t <= run_t[-1] + 1e-9:
            continue
        j = int(np.clip(np.searchsorted(run_t, t) - 1, 0, max(run_t.size - 2, 0)))
        w = 0.0 if run_t.size == 1 else (t - run_t[j]) / (run_t[j + 1] - run_t[j])
        row = run_c[j] if run_t.size == 1 else (1 - w) * run_c[j] + w * run_c[j + 1]
        good = np.isfinite(row)
        if good.sum() < 2:
            continue
        inside = (y_um >= run_y[good][0] - 1e-9) & (y_um <= run_y[good][-1] + 1e-9)
        out[k, inside] = np.interp(y_um[inside], run_y[good], row[good])
    return out


def compare_profiles(run: Profiles, experiment: Profiles, *, charge_ends_s: list[float] = ()) -> Comparison:
    """Errors of ``run`` against ``experiment`` on the experiment's (y, t) grid."""
    exp_t, _, exp_y, exp_c = experiment
    model = interpolate_run(run, exp_t, exp_y)
    valid = np.isfinite(model) & np.isfinite(exp_c)
    if not valid.any():
        raise InputError("compare: the run and the experiment do not overlap in time and thickness")
    error = np.where(valid, model - exp_c, np.nan)
    worst = np.unravel_index(np.nanargmax(np.abs(error)), error.shape)
    per_frame = [
        {"time_s": float(t), "rmse": float(np.sqrt(np.nanmean(e**2))), "mae": float(np.nanmean(np.abs(e))),
         "max_abs_error": float(np.nanmax(np.abs(e)))}
        for t, e, v in zip(exp_t, error, valid) if v.any()
    ]
    depletion = []
    for end in charge_ends_s:
        k = int(np.argmin(np.abs(exp_t - end)))
        run_row = interpolate_run(run, np.array([end]), exp_y)[0]
        depletion.append({"time_s": float(end), "experiment_time_s": float(exp_t[k]),
                          "run": float(1 - np.nanmean(run_row)), "experiment": float(1 - np.nanmean(exp_c[k]))})
    return Comparison(
        rmse=float(np.sqrt(np.nanmean(error**2))),
        mae=float(np.nanmean(np.abs(error))),
        max_error=float(np.abs(error[worst])),
        max_error_y_um=float(exp_y[worst[1]]),
        max_error_time_s=float(exp_t[worst[0]]),
        points=int(valid.sum()),
        dropped_points=int(np.isfinite(exp_c).sum() - valid.sum()),
        per_frame=per_frame,
        depletion_end_of_charge=depletion,
    )


def run_compare(case_dir: str | Path, experiment_csv: str | Path) -> Comparison:
    """Compare the complete run in ``case_dir/output`` with measured profiles; writes ``comparison.json`` and
    ``comparison.png`` there. Mean depletion is reported at the end of every charge step of the run."""
    out = Path(case_dir) / "output"
    if not (out / "summary.json").is_file():
        raise InputError(f"{out}: no complete run here (no summary.json); run `twifli run {case_dir}` first")
    summary = json.loads((out / "summary.json").read_text())
    run = read_profiles(out / "profiles.csv")
    experiment = read_profiles(experiment_csv)
    ends = np.cumsum([step["duration_s"] for step in summary["steps"]])
    charge_ends = [float(end) for end, step in zip(ends, summary["steps"]) if step["kind"] == "charge"]
    result = compare_profiles(run, experiment, charge_ends_s=charge_ends)
    write_json(out / "comparison.json", {"experiment": str(experiment_csv), **result.to_dict()})
    times, _, y_um, measured = experiment
    plot_comparison(out / "comparison.png", times, y_um, interpolate_run(run, times, y_um), measured,
                    title=f"{Path(case_dir).name} vs {Path(experiment_csv).name}")
    return result
