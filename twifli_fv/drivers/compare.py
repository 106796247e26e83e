"""``twifli compare``: model-experiment comparison of through-thickness Li profiles (paper 1, Figs 3-4);
errors are run minus experiment, the run interpolated onto the measured grid (README, "3. Compare.").
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from twifli_fv.errors import InputError
from twifli_fv.outputs.files import write_json
from twifli_fv.outputs.plots import plot_comparison
from twifli_fv.outputs.profiles import read_profiles

log = logging.getLogger(__name__)
DROPPED_WARNING = 0.10  # warn when more than this share of the measured points fall outside the run
DEPLETION = {
    "run": "1 - AM-weighted mean c/c_sat of the run at the end of the charge (summary.json steps[].mean_c_norm_end)",
    "run_row_mean": "1 - mean over the measured rows of the run's row-averaged c/c_sat (the experiment's definition)",
    "experiment": "1 - mean over the measured rows of c_norm in the measured frame nearest the end of the charge",
}
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
    dropped_outside_time: int  # measured points at times the run does not cover
    dropped_outside_thickness: int  # measured rows beyond the run's thickness (at covered times)
    warnings: list[str]
    per_frame: list[dict]  # time_s, rmse, mae, max_abs_error
    depletion_end_of_charge: list[dict]  # time_s, experiment_time_s, run, run_row_mean, experiment (DEPLETION)
    depletion_definition: dict


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


def compare_profiles(run: Profiles, experiment: Profiles, *, charge_ends_s: list[float] = (),
                     run_mean_c_norm: list[float | None] | None = None) -> Comparison:
    """Errors of ``run`` against ``experiment`` on the experiment's (y, t) grid; ``run_mean_c_norm`` the run's
    AM-weighted mean c/c_sat at each of ``charge_ends_s`` (from its summary; None where unknown)."""
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
    for end, mean in zip(charge_ends_s, run_mean_c_norm or [None] * len(charge_ends_s)):
        k = int(np.argmin(np.abs(exp_t - end)))
        run_row = interpolate_run(run, np.array([end]), exp_y)[0]
        depletion.append({"time_s": float(end), "experiment_time_s": float(exp_t[k]),
                          "run": None if mean is None else float(1 - mean),
                          "run_row_mean": float(1 - np.nanmean(run_row)), "experiment": float(1 - np.nanmean(exp_c[k]))})
    return Comparison(
        rmse=float(np.sqrt(np.nanmean(error**2))),
        mae=float(np.nanmean(np.abs(error))),
        max_error=float(np.abs(error[worst])),
        max_error_y_um=float(exp_y[worst[1]]),
        max_error_time_s=float(exp_t[worst[0]]),
        points=int(valid.sum()),
        **_dropped(run, experiment, valid),
        per_frame=per_frame,
        depletion_end_of_charge=depletion,
        depletion_definition=DEPLETION,
    )


def _dropped(run: Profiles, experiment: Profiles, compared: np.ndarray) -> dict:
    """The measured points not compared, by reason, and the warning when they are over :data:`DROPPED_WARNING`."""
    run_t, _, run_y, run_c = run
    exp_t, _, exp_y, exp_c = experiment
    measured = np.isfinite(exp_c)
    late = (exp_t < run_t[0] - 1e-9) | (exp_t > run_t[-1] + 1e-9)
    rows = run_y[np.isfinite(run_c).any(axis=0)]
    beyond = (exp_y < rows.min() - 1e-9) | (exp_y > rows.max() + 1e-9)
    outside_time, outside_thickness = int(measured[late].sum()), int(measured[~late][:, beyond].sum())
    total = int(measured.sum())
    dropped = total - int(compared.sum())
    reasons = []
    if outside_thickness:
        reasons.append(f"{outside_thickness} beyond its thickness (rows at y = {run_y[0]:.3g}-{run_y[-1]:.3g} um; "
                       "check the radiography's pixel_size_um and cathode_rows against the case)")
    if outside_time:
        reasons.append(f"{outside_time} outside its time span ({run_t[0]:.0f}-{run_t[-1]:.0f} s)")
    if dropped - outside_time - outside_thickness:
        reasons.append(f"{dropped - outside_time - outside_thickness} where the run has no value")
    warnings = []
    if dropped > DROPPED_WARNING * total:
        warnings.append(f"{dropped} of {total} measured points ({100 * dropped / total:.0f} %) fall outside the run "
                        "and are not compared: " + "; ".join(reasons))
        log.warning("warning: %s", warnings[0])
    return {"dropped_points": dropped, "dropped_outside_time": outside_time,
            "dropped_outside_thickness": outside_thickness, "warnings": warnings}


def comparison_dir(case_dir: str | Path) -> Path:
    """``CASE/comparison/``: beside the run's ``output/``, which a re-run replaces, so a comparison is kept."""
    return Path(case_dir) / "comparison"


def run_compare(case_dir: str | Path, experiment_csv: str | Path) -> Comparison:
    """Compare the complete run in ``case_dir/output`` with measured profiles; writes ``comparison.json`` and
    ``comparison.png`` to :func:`comparison_dir`."""
    out = Path(case_dir) / "output"
    if not (out / "summary.json").is_file():
        raise InputError(f"{out}: no complete run here (no summary.json); run `twifli run {case_dir}` first")
    summary = json.loads((out / "summary.json").read_text())
    run = read_profiles(out / "profiles.csv")
    experiment = read_profiles(experiment_csv)
    ends = np.cumsum([step["duration_s"] for step in summary["steps"]])
    charges = [(float(end), step.get("mean_c_norm_end")) for end, step in zip(ends, summary["steps"])
               if step["kind"] == "charge"]
    result = compare_profiles(run, experiment, charge_ends_s=[end for end, _ in charges],
                              run_mean_c_norm=[mean for _, mean in charges])
    target = comparison_dir(case_dir)
    run_sha = hashlib.sha256((out / "profiles.csv").read_bytes()).hexdigest()
    write_json(target / "comparison.json", {"experiment": str(experiment_csv), "run_profiles_csv": str(out / "profiles.csv"),
                                            "run_profiles_sha256": run_sha, **asdict(result)})
    times, _, y_um, measured = experiment
    plot_comparison(target / "comparison.png", times, y_um, interpolate_run(run, times, y_um), measured,
                    title=f"{Path(case_dir).name} vs {Path(experiment_csv).name}")
    return result
