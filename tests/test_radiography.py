"""Radiography: synthetic radiographs of a known Li field through a cylindrical cell with known
attenuation coefficients, open beam and dark current give back the field's row averages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from twifli_fv.outputs.profiles import read_profiles

from .conftest import assert_plot

SHAPE = (70, 90)
ROWS, COLS = (20, 50), (10, 80)  # cathode rows and in-plane columns
MU_HOST, MU_LI = 0.30, 0.60  # per pixel of path: Li carries 2/3 of the pristine cathode's attenuation


def li_field(t: float) -> np.ndarray:
    """c / c_0 over the whole image (only the cathode rows matter): depleted most near the middle."""
    y, x = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    depth = np.sin(np.pi * (y - ROWS[0] + 0.5) / (ROWS[1] - ROWS[0]))
    return 1.0 - t * (0.3 + 0.2 * depth) * (1.0 + 0.1 * np.cos(x / 5.0))


def radiograph(c_norm: np.ndarray, open_beam: np.ndarray, dark: np.ndarray) -> np.ndarray:
    x = np.arange(SHAPE[1]) - 45.0
    path = 2.0 * np.sqrt(np.clip(46.0**2 - x**2, 0.0, None)) / 46.0  # chord of the cylinder, up to 2 px-units
    mu = np.full(SHAPE, 0.8)  # plungers, PTFE: attenuate, no Li
    mu[ROWS[0]:ROWS[1]] = MU_HOST + MU_LI * c_norm[ROWS[0]:ROWS[1]]
    return dark + (open_beam - dark) * np.exp(-mu * path[None, :])


def write_stack(folder: Path, times: list[float], *, collector_at: str = "start") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    y, x = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    open_beam = 30000.0 + 2000.0 * np.sin(x / 13.0) + 500.0 * np.cos(y / 7.0)
    dark = 100.0 + 5.0 * np.cos(x / 3.0)
    save = lambda name, a: Image.fromarray(a.astype(np.float32), mode="F").save(folder / name)  # noqa: E731
    save("open.tif", open_beam)
    save("dark.tif", dark)
    save("pristine.tif", radiograph(li_field(0.0), open_beam, dark))
    for k, t in enumerate(times):
        save(f"frame_{k:03d}.tif", radiograph(li_field(t), open_beam, dark))
    (folder / "radiography.toml").write_text(f"""
[images]
frames = "frame_*.tif"
times_s = {[3600.0 * t for t in times]}
pristine = "pristine.tif"
open_beam = "open.tif"
dark = "dark.tif"

[region]
cathode_rows = [{ROWS[0]}, {ROWS[1]}]
columns = [{COLS[0]}, {COLS[1]}]
pixel_size_um = 13.5
collector_at = "{collector_at}"

[attenuation]
li_fraction = {MU_LI / (MU_HOST + MU_LI)}
""")
    return folder / "radiography.toml"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "twifli_fv.cli", *args], capture_output=True, text=True)


@pytest.mark.parametrize("collector_at", ["start", "end"])
def test_radiographs_give_back_the_row_averages_of_the_li_field(tmp_path: Path, collector_at: str) -> None:
    times = [0.25, 0.5, 1.0]
    config = write_stack(tmp_path / "stack", times, collector_at=collector_at)
    done = cli("radiography", "--config", str(config), "-o", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    t, steps, y_um, c_norm = read_profiles(tmp_path / "out" / "profiles.csv")
    np.testing.assert_allclose(t, [900.0, 1800.0, 3600.0])
    np.testing.assert_allclose(y_um, (np.arange(ROWS[1] - ROWS[0]) + 0.5) * 13.5)
    for frame, when in enumerate(times):
        expected = li_field(when)[ROWS[0]:ROWS[1], COLS[0]:COLS[1]].mean(axis=1)
        if collector_at == "end":
            expected = expected[::-1]
        np.testing.assert_allclose(c_norm[frame], expected, atol=2e-5)  # float32 TIFFs
    assert abs(c_norm[2].mean() - c_norm[0].mean()) > 0.2  # the field really changes
    summary = json.loads((tmp_path / "out" / "radiography.json").read_text())
    assert summary["frames"] == 3 and summary["excluded_pixels"] == 0
    assert_plot(tmp_path / "out" / "radiography_map.png")


def test_ratio_without_li_fraction_is_the_attenuation_ratio(tmp_path: Path) -> None:
    config = write_stack(tmp_path / "stack", [1.0])
    config.write_text(config.read_text().replace("[attenuation]\nli_fraction", "[attenuation]\n# li_fraction"))
    assert cli("radiography", "--config", str(config), "-o", str(tmp_path / "out")).returncode == 0
    _, _, _, c_norm = read_profiles(tmp_path / "out" / "profiles.csv")
    field = li_field(1.0)[ROWS[0]:ROWS[1], COLS[0]:COLS[1]]
    ratio = (MU_HOST + MU_LI * field) / (MU_HOST + MU_LI)  # mu / mu_0
    np.testing.assert_allclose(c_norm[0], ratio.mean(axis=1), atol=2e-5)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda folder: Image.fromarray(np.ones((70, 89), np.float32), mode="F").save(folder / "frame_001.tif"),
         "shape (70, 89) differs from the pristine image's (70, 90)"),
        (lambda folder: (folder / "radiography.toml").write_text(
            (folder / "radiography.toml").read_text().replace("times_s = [900.0, 1800.0]", "times_s = [900.0, 800.0]")),
         "frame times must increase strictly"),
        (lambda folder: (folder / "radiography.toml").write_text(
            (folder / "radiography.toml").read_text().replace("times_s = [900.0, 1800.0]", "times_s = [900.0]")),
         "1 frame times for 2 frames"),
        (lambda folder: (folder / "radiography.toml").write_text(
            (folder / "radiography.toml").read_text().replace("cathode_rows = [20, 50]", "cathode_rows = [20, 90]")),
         "region.cathode_rows = [20, 90]"),
        (lambda folder: (folder / "pristine.tif").unlink(), "pristine.tif: image file not found"),
    ],
)
def test_bad_radiography_input_gives_one_line_errors(tmp_path: Path, edit, message: str) -> None:  # noqa: ANN001
    config = write_stack(tmp_path / "stack", [0.25, 0.5])
    edit(tmp_path / "stack")
    done = cli("radiography", "--config", str(config), "-o", str(tmp_path / "out"))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert message in done.stderr
    assert not (tmp_path / "out" / "radiography.json").exists()


def test_radiographs_of_a_run_compare_back_to_it(tmp_path: Path) -> None:
    """The whole chain: a run's profiles -> radiographs -> `twifli radiography` -> `twifli compare` ~ 0."""
    from .test_compare import fake_run

    case = fake_run(tmp_path)
    times, _, y_um, c_norm = read_profiles(case / "output" / "profiles.csv")
    folder = tmp_path / "stack"
    folder.mkdir()
    rows = slice(5, 5 + y_um.size)
    open_beam = np.full((40, 30), 20000.0)
    path = 1.0 + np.hanning(30)[None, :]  # any path length: it cancels
    for name, field in [("pristine.tif", np.ones(y_um.size))] + [(f"f{k:03d}.tif", c) for k, c in enumerate(c_norm)]:
        mu = np.full((40, 30), 0.5)
        mu[rows] = field[:, None]  # Li carries all of the cathode's attenuation (li_fraction = 1)
        Image.fromarray((open_beam * np.exp(-mu * path)).astype(np.float32), mode="F").save(folder / name)
    (folder / "radiography.toml").write_text(f"""
[images]
frames = "f*.tif"
times_s = {list(map(float, times))}
pristine = "pristine.tif"
open_beam = "open.tif"
[region]
cathode_rows = [5, {5 + y_um.size}]
pixel_size_um = {y_um[1] - y_um[0]}
""")
    Image.fromarray(open_beam.astype(np.float32), mode="F").save(folder / "open.tif")
    assert cli("radiography", "--config", str(folder / "radiography.toml"), "-o", str(folder / "out")).returncode == 0
    done = cli("compare", str(case), str(folder / "out" / "profiles.csv"))
    assert done.returncode == 0, done.stderr
    result = json.loads((case / "comparison" / "comparison.json").read_text())
    assert result["rmse"] < 1e-5 and result["dropped_points"] == 0 and result["points"] == c_norm.size
