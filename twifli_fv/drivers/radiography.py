"""``twifli radiography``: a stack of operando radiographs -> ``profiles.csv`` (the columns of a
run's, so ``twifli compare`` takes it), ``radiography_map.png`` (like paper 1, Fig. 3a) and
``radiography.json`` (written last)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from twifli_fv.case import RADIOGRAPHY_REQUIRED, RADIOGRAPHY_SCHEMA, Case, load_config
from twifli_fv.errors import InputError
from twifli_fv.image.radiography import Region, load_stack, relative_li_profiles
from twifli_fv.outputs.files import write_json
from twifli_fv.outputs.plots import plot_map
from twifli_fv.outputs.profiles import write_profiles


def run_radiography(config_toml: str | Path, output_dir: str | Path) -> dict:
    """Process the radiographs named in ``config_toml``; returns the summary written to ``radiography.json``."""
    config = load_config(config_toml, schema=RADIOGRAPHY_SCHEMA, required=RADIOGRAPHY_REQUIRED)
    files = _frame_files(config)
    times, steps = _times(config, len(files))
    frames, pristine, open_beam, dark = load_stack(
        files, config.path("images", "pristine"),
        open_beam_file=config.path("images", "open_beam"), dark_file=config.path("images", "dark"),
    )
    region = _region(config, pristine.shape)
    li_fraction = config.positive("attenuation", "li_fraction", 1.0)
    result = relative_li_profiles(frames, pristine, region, open_beam=open_beam, dark=dark, li_fraction=li_fraction,
                                  names=[str(f) for f in files])
    if np.all(np.isnan(result.c_norm)):
        raise InputError(f"{config.toml_path}: no usable pixel in the region (transmissions outside (0, 1)?)")
    out = Path(output_dir)
    write_profiles(out / "profiles.csv", times, steps, result.y_um, result.c_norm)
    plot_map(out / "radiography_map.png", times, result.y_um, result.c_norm,
             title=f"operando radiography, {len(files)} frames", label="c / c_0 (row average over the region)")
    summary = {
        "frames": len(files),
        "first_frame": str(files[0]),
        "times_s": [float(times[0]), float(times[-1])],
        "region": {"rows": region.rows, "columns": region.columns,
                   "pixel_size_um": region.pixel_size_m * 1e6,
                   "collector_at": "end" if region.collector_at_end else "start"},
        "li_fraction": li_fraction,
        "open_beam": config.get("images", "open_beam"),
        "dark": config.get("images", "dark"),
        "excluded_pixels": result.excluded_pixels,
        "mean_c_norm_first": float(np.nanmean(result.c_norm[0])),
        "mean_c_norm_last": float(np.nanmean(result.c_norm[-1])),
    }
    write_json(out / "radiography.json", summary)
    return summary


def _frame_files(config: Case) -> list[Path]:
    frames = config.get("images", "frames")
    if isinstance(frames, str):
        files = sorted(config.directory.glob(frames))
        if not files:
            raise InputError(f"{config.toml_path}: images.frames {frames!r} matches no file")
        return files
    if not frames or not all(isinstance(f, str) for f in frames):
        raise InputError(f"{config.toml_path}: images.frames must be a glob or a list of file names")
    return [(config.directory / f).resolve() for f in frames]


def _times(config: Case, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame times (and protocol step numbers, 1 when not given): ``times_s`` or a CSV ``time_s[, step]``."""
    given, table = config.get("images", "times_s"), config.path("images", "times_csv")
    if (given is None) == (table is None):
        raise InputError(f"{config.toml_path}: give exactly one of images.times_s and images.times_csv")
    source = f"{config.toml_path}: images.times_s"
    steps = None
    if table is not None:
        source = str(table)
        try:
            with table.open(newline="") as handle:
                rows = list(csv.DictReader(handle))
            given = [float(r["time_s"]) for r in rows]
            steps = [int(float(r["step"])) for r in rows] if rows and "step" in rows[0] else None
        except OSError as exc:
            raise InputError(f"{table}: cannot read frame times ({exc.strerror})") from None
        except KeyError:
            raise InputError(f"{table}: missing column time_s") from None
        except (TypeError, ValueError):
            raise InputError(f"{table}: non-numeric frame time or step") from None
    try:
        times = np.array(given, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{source}: frame times must be numbers") from None
    if times.size != count:
        raise InputError(f"{source}: {times.size} frame times for {count} frames")
    if not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0):
        raise InputError(f"{source}: frame times must increase strictly")
    return times, np.ones(count, dtype=int) if steps is None else np.array(steps)


def _region(config: Case, shape: tuple[int, int]) -> Region:
    where = config.toml_path
    bounds = {}
    for key, default, size in (("cathode_rows", None, shape[0]), ("columns", [0, shape[1]], shape[1])):
        value = config.get("region", key, default)
        if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)
                and 0 <= value[0] < value[1] <= size):
            raise InputError(f"{where}: region.{key} = {value!r}: give [start, stop) pixel indices within 0..{size}")
        bounds[key] = value
    collector = config.get("region", "collector_at", "start")
    if collector not in ("start", "end"):
        raise InputError(f"{where}: region.collector_at must be 'start' or 'end', got {collector!r}")
    return Region(bounds["cathode_rows"], bounds["columns"], config.positive("region", "pixel_size_um") * 1e-6,
                  collector_at_end=collector == "end")
