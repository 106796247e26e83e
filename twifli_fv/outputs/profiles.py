"""Through-thickness Li profiles: AM-averaged ``c_norm`` per row, and their long-format CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from twifli_fv.errors import InputError
from twifli_fv.outputs.files import atomic_path

COLUMNS = ("time_s", "step", "y_um", "c_norm")


def row_average(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of ``values`` over the ``mask`` cells of each row (axis 0); NaN for rows without any."""
    rows = mask.shape[0]
    weights = mask.reshape(rows, -1)
    count = weights.sum(axis=1)
    total = np.where(weights, values.reshape(rows, -1), 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def write_profiles(path: str | Path, times_s: np.ndarray, steps: np.ndarray, y_um: np.ndarray, c_norm: np.ndarray) -> Path:
    """Long format: one line per (frame, row); rows with no AM are left out. ``c_norm`` is frames x rows."""
    with atomic_path(path) as tmp, tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for time, step, row in zip(times_s, steps, c_norm):
            for y, value in zip(y_um, row):
                if np.isfinite(value):
                    writer.writerow((f"{time:.6g}", int(step), f"{y:.6g}", f"{value:.8g}"))
    return Path(path)


def read_profiles(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(times_s, steps, y_um, c_norm[frames, rows])`` from a profiles CSV (NaN where a row is missing)."""
    path = Path(path)
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            missing = set(COLUMNS) - set(reader.fieldnames or ())
            rows = [] if missing else [(float(r["time_s"]), int(float(r["step"])), float(r["y_um"]), float(r["c_norm"]))
                                       for r in reader]
    except OSError as exc:
        raise InputError(f"{path}: cannot read profiles ({exc.strerror})") from None
    except ValueError:
        raise InputError(f"{path}: non-numeric value in the profiles") from None
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(sorted(missing))}; need {', '.join(COLUMNS)}")
    if not rows:
        raise InputError(f"{path}: no profile rows")
    data = np.array(rows)
    times, first = np.unique(data[:, 0], return_index=True)
    y = np.unique(data[:, 2])
    grid = np.full((times.size, y.size), np.nan)
    grid[np.searchsorted(times, data[:, 0]), np.searchsorted(y, data[:, 2])] = data[:, 3]
    return times, data[first, 1].astype(int), y, grid
