"""Run a grid of case variants (``twifli sweep``; its outputs: README, "Sweeps"). A point's ``case.toml`` is only
rewritten when its text changes, so its modification time tells whether an output next to it is older."""

from __future__ import annotations

import copy
import json
import logging
import math
import multiprocessing
import os
import re
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from twifli_fv.case import Case, load_case
from twifli_fv.drivers.sweep_grid import SweepAxis, expand_grid
from twifli_fv.errors import InputError, did_you_mean
from twifli_fv.outputs.files import atomic_path, write_csv, write_json
from twifli_fv.outputs.labels import axis_label
from twifli_fv.outputs.plots import plot_study
from twifli_fv.outputs.profiles import read_profiles

log = logging.getLogger(__name__)
DEFAULT_QUANTITIES = ("capacity_mAh_g", "end_mean_depletion")  # dense model (paper 2), then TWIF-Li
RUN_QUANTITIES = ("end_spread_c_norm", "wall_time_s")  # from a point's profiles.csv and timing, not its summary
_NAME = re.compile(r"[A-Za-z0-9._=+-]+")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class SweepResult:
    """Where a sweep wrote its outputs, one row per point (as in ``sweep.csv``), and what was run."""

    directory: Path
    csv: Path
    rows: tuple[dict[str, Any], ...]
    quantity: str | None
    plot: Path | None
    ran: int
    reused: int

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [row for row in self.rows if row["status"] != "complete"]


def run_sweep(
    case_dir: str | Path, axes: list[SweepAxis], *, name: str | None = None, jobs: int = 1, resume: bool = False,
    quantity: str | None = None, plots: bool = True,
) -> SweepResult:
    """Run the points of the grid not complete yet, after :func:`check_base`; ``resume`` continues interrupted ones."""
    base = load_case(case_dir)
    if not axes:
        raise InputError("sweep: give at least one --vary KEY=V1,V2,...")
    if jobs < 1:
        raise InputError(f"--jobs {jobs}: give 1 or more worker processes")
    name = name or "__".join(axis.key for axis in axes)
    if not _NAME.fullmatch(name):
        raise InputError(f"--name {name!r}: use letters, digits and . _ = + -")
    check_base(base, quantity)
    directory = base.directory / "sweeps" / name
    grid = expand_grid(axes)
    points = [directory / point_name(values) for values in grid]
    for values, point in zip(grid, points):
        settings = ", ".join(f"{key} = {value!r}" for key, value in values.items())
        write_point_case(base, point, values, header=f"Point of sweep '{name}' of {base.directory}: {settings}")
    write_json(directory / "sweep.json", {
        "case": str(base.directory), "axes": [{"key": axis.name, "values": list(axis.values)} for axis in axes],
        "points": [point.name for point in points],
    })
    todo = [point for point in points if not point_complete(point)]
    if len(todo) < len(points):
        log.info("%s: %d of %d points complete already, not run again", directory, len(points) - len(todo), len(points))
    errors = _run_points(todo, jobs=jobs, resume=resume)
    rows = tuple(_row(values, point, errors.get(point)) for values, point in zip(grid, points))
    columns = list(dict.fromkeys([axis.name for axis in axes] + ["point", "status"]
                                 + [key for row in rows for key in row if key != "error"]))
    csv_path = write_csv(directory / "sweep.csv", columns + ["error"], list(rows))
    quantity = _quantity(quantity, rows, columns[len(axes) + 2:], csv_path)
    plot = _plot(directory, base.directory.name, axes, rows, quantity) if plots and quantity else None
    return SweepResult(directory, csv_path, rows, quantity, plot, ran=len(todo), reused=len(points) - len(todo))


def check_base(base: Case, quantity: str | None) -> None:
    """Raise the base case's one-line error (as ``twifli run`` would) or an unknown ``quantity``'s, once."""
    from twifli_fv.drivers.run import prepare  # the solver stack, loaded only by a command that runs cases

    run = prepare(base)
    if quantity is None:
        return
    known = reported_quantities(run)
    if quantity not in known:
        hint = did_you_mean(quantity, known, listing="numbers")
        raise InputError(f"--quantity {quantity!r}: not a number that a run of {base.directory} reports{hint}")


def reported_quantities(run) -> list[str]:  # noqa: ANN001 - a prepared TwifliRun | DenseRun
    """The numeric columns a point of this prepared case gets: its summary before a single time step
    (each protocol step recorded at zero length; a value only a run can know counts as a number)."""
    from twifli_fv.solve.stepping import RunState

    run.start(None)
    state = RunState(li_at_step_start_mol=run.stepper.li_mol())
    state.steps = [run.stepper.record(step, state, "not run") for step in run.steps]
    row = summary_row(run.summary(state))
    return [name for name, value in row.items() if value is None or number(value)] + list(RUN_QUANTITIES)


def summary_row(summary: dict) -> dict[str, Any]:
    """The numbers of a run's ``summary.json`` as one flat row (the columns: README, "Sweeps"); values not known
    yet (None) are kept."""
    row = {key: value for key, value in summary.items() if value is None or number(value)}
    steps = summary.get("steps") or []
    for index, step in enumerate(steps, 1):
        row |= {f"step{index}_{key}": value for key, value in step.items()
                if value is None or number(value) or key in ("kind", "end_reason")}
    last = steps[-1] if steps else summary
    if isinstance(last.get("end_reason"), str):
        row["end_reason"] = last["end_reason"]
    if number(last.get("mean_c_norm_end")):
        row["end_mean_depletion"] = 1.0 - last["mean_c_norm_end"]
    return row


def number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def point_quantities(output: Path) -> dict[str, Any]:
    """The numbers of a complete point: :func:`summary_row` (values known), ``end_spread_c_norm``, ``wall_time_s``."""
    row = {key: value for key, value in summary_row(json.loads((output / "summary.json").read_text())).items()
           if value is not None}
    if (output / "profiles.csv").is_file():
        profile = read_profiles(output / "profiles.csv")[3][-1]
        row["end_spread_c_norm"] = float(np.nanmax(profile) - np.nanmin(profile))
    if (output / "sweep_timing.json").is_file():
        row["wall_time_s"] = json.loads((output / "sweep_timing.json").read_text())["wall_time_s"]
    return row


def point_complete(point: Path) -> bool:
    summary = point / "output" / "summary.json"
    return summary.is_file() and summary.stat().st_mtime_ns >= (point / "case.toml").stat().st_mtime_ns


def _run_points(points: list[Path], *, jobs: int, resume: bool) -> dict[Path, str | None]:
    """Run the points (in ``jobs`` processes, each single-threaded); each one's error (None: complete)."""
    if jobs == 1 or len(points) < 2:
        return _logged(((point, run_point(str(point), resume)) for point in points), len(points))
    os.environ["OMP_NUM_THREADS"] = "1"  # inherited by the workers
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no PETSc state shared with this one
    with ProcessPoolExecutor(max_workers=min(jobs, len(points)), mp_context=context) as pool:
        futures = {pool.submit(run_point, str(point), resume): point for point in points}
        return _logged(((futures[future], future.result()) for future in as_completed(futures)), len(points))


def _logged(finished: Iterable[tuple[Path, tuple[str | None, float]]], total: int) -> dict[Path, str | None]:
    """One log line per point as it finishes."""
    errors = {}
    for done, (point, (error, seconds)) in enumerate(finished, 1):
        outcome = f"failed: {error}" if error else "complete"
        log.info("[%d/%d] %s: %s (%.1f s)", done, total, point.name, outcome, seconds)
        errors[point] = error
    return errors


def run_point(directory: str, resume: bool) -> tuple[str | None, float]:
    """Run one point (in a worker); returns its one-line error or None, and the wall time."""
    from twifli_fv.drivers.run import run_case  # imported here: a worker loads the solver itself

    start = time.perf_counter()
    resumed = resume and (Path(directory) / "output" / "checkpoint.npz").is_file()
    try:
        run_case(directory, resume=resumed, progress=False)
    except Exception as exc:  # noqa: BLE001 - one failed point must not stop the others; the CSV records why
        message = str(exc) if isinstance(exc, InputError) else f"{type(exc).__name__}: {exc}"
        return message, time.perf_counter() - start
    seconds = time.perf_counter() - start
    write_json(Path(directory) / "output" / "sweep_timing.json", {"wall_time_s": seconds, "resumed": resumed})
    return None, seconds


def _row(values: dict[str, Any], point: Path, error: str | None) -> dict[str, Any]:
    row = {**values, "point": point.name}
    if error is not None:
        return row | {"status": "failed", "error": error}
    return row | {"status": "complete"} | point_quantities(point / "output")


def _quantity(requested: str | None, rows: tuple[dict, ...], columns: list[str], csv_path: Path) -> str | None:
    numeric = [column for column in columns if any(number(row.get(column)) for row in rows)]
    if requested is None:
        return next((q for q in DEFAULT_QUANTITIES if q in numeric), numeric[0] if numeric else None)
    if requested not in numeric:
        hint = did_you_mean(requested, numeric, listing="numbers")
        raise InputError(f"--quantity {requested!r}: not a number in {csv_path}{hint}")
    return requested


def _plot(directory: Path, case: str, axes: list[SweepAxis], rows: tuple[dict, ...], quantity: str) -> Path | None:
    values = np.array([row.get(quantity) if number(row.get(quantity)) else np.nan for row in rows], dtype=float)
    varied = [axis for axis in axes if len(axis.values) > 1]
    if np.all(np.isnan(values)) or not 1 <= len(varied) <= 2:
        log.info("no plot: it needs one or two keys with several values and a finite %s", quantity)
        return None
    grid = values.reshape([len(axis.values) for axis in axes]).squeeze(
        axis=tuple(i for i, axis in enumerate(axes) if len(axis.values) == 1))
    label = axis_label(quantity)
    return plot_study(directory / f"{quantity}.png", [(axis_label(axis.name), list(axis.values)) for axis in varied],
                      grid, zlabel=label, title=f"{case}: {label}")


def point_name(values: dict[str, Any]) -> str:
    """A directory name from the point's values: ``tau_e=2__D_trace_cm2_s=1e-10`` (``table.key`` if a key repeats)."""
    keys = [name.partition(".")[2] for name in values]
    labels = [key if keys.count(key) == 1 else name for name, key in zip(values, keys)]
    texts = [value if isinstance(value, str) else _value(value) for value in values.values()]
    return "__".join(f"{label}={re.sub(r'[^A-Za-z0-9._+-]', '-', text)}" for label, text in zip(labels, texts))


def write_point_case(base: Case, directory: Path, values: dict[str, Any], *, header: str) -> Case:
    """Write ``directory/case.toml`` (the base settings, ``values``, relative inputs re-rooted); return it loaded."""
    directory = Path(directory).resolve()
    settings = copy.deepcopy(base.settings)
    for name, value in values.items():
        table, _, key = name.partition(".")
        settings.setdefault(table, {})[key] = value
    for table in settings.values():
        for key, value in table.items():
            if isinstance(value, str) and not os.path.isabs(value) and (base.directory / value).is_file():
                table[key] = os.path.relpath(base.directory / value, directory)
    text = "".join(f"# {line}\n" for line in header.splitlines()) + _dump(settings)
    path = directory / "case.toml"
    if not path.is_file() or path.read_text() != text:
        with atomic_path(path) as tmp:
            tmp.write_text(text)
    return load_case(directory)


def _dump(settings: dict[str, dict[str, Any]]) -> str:
    return "".join(f"\n[{table}]\n" + "".join(f"{_key(k)} = {_value(v)}\n" for k, v in values.items())
                   for table, values in settings.items())


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("nan" if math.isnan(value) else "inf" if value > 0 else "-inf")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid TOML basic-string escapes
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} to case.toml")
