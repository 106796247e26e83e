"""Studies (issue 6 item 5): --vary parsing against the case schema, a 2x2 TWIF-Li grid run in two
processes, points reused and resumed, one-line errors."""

from __future__ import annotations

import csv
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import twifli_fv.case as case_file
from twifli_fv.case import load_case
from twifli_fv.cli import main
from twifli_fv.drivers.sweep import run_sweep, write_point_case
from twifli_fv.drivers.sweep_grid import expand_grid, parse_vary
from twifli_fv.errors import InputError
from twifli_fv.model.constants import FARADAY

from .conftest import MESHES, ROOT, assert_plot

# 1C from 100 mAh/g and 4.8 g/cm3 (SPEC sect. 7); conserve mode: mean depletion = charge / (F c_sat V_AM).
CASE = """
[image]
file = "slice.png"
labels = "0=SE,85=AM,170=CBD"
voxel_size_um = 0.27
crop = "0:48,0:32"

[material]
c_sat_mol_m3 = 48000
diffusivity = "anomalous"
D_trace_cm2_s = 1e-10
c_max_mol_m3 = 51765
specific_capacity_mAh_g = 100
am_density_g_cm3 = 4.8

[tortuosity]
tau_e = 2.0
tau_Li = 3.5

[protocol]
steps = ["Charge at 1C for 6 minutes"]

[output]
frame_interval_s = 60
fields_interval_s = 360
plots = false
"""


def make_case(root: Path) -> Path:
    """A tiny case whose image is named by a relative path (it must still resolve from every point)."""
    case = root / "case"
    case.mkdir(parents=True)
    shutil.copy(MESHES / "electrode_nmc_slice256.png", case / "slice.png")
    (case / "case.toml").write_text(CASE)
    return case


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


# --- --vary -----------------------------------------------------------------------------------


def test_vary_resolves_keys_and_types_values():
    axis = parse_vary("tau_e=2,3.5")
    assert (axis.name, axis.values) == ("tortuosity.tau_e", (2, 3.5))
    assert parse_vary("material.D_trace_cm2_s=1e-10:1e-8:3log").values == pytest.approx((1e-10, 1e-9, 1e-8))
    assert parse_vary("coarsen=1:3:3").values == (1, 2, 3)
    assert parse_vary("in_plane=periodic,no-flux").values == ("periodic", "no-flux")
    assert parse_vary("output.plots=true,false").values == (True, False)
    grid = expand_grid([parse_vary("tau_e=1,2"), parse_vary("tau_Li=3,4,5")])
    assert len(grid) == 6 and grid[1] == {"tortuosity.tau_e": 1, "tortuosity.tau_Li": 4}


def test_vary_reads_the_schema_when_called(monkeypatch):
    """Tables added later (the dense model's [cell], ...) are found without changing the sweep."""
    monkeypatch.setitem(case_file.SCHEMA, "cell", {"thickness_um": (int, float)})
    assert parse_vary("thickness_um=50,100").name == "cell.thickness_um"


@pytest.mark.parametrize(("spec", "fragment"), [
    ("labels=a,b", "'labels' is ambiguous; write one of image.labels, tortuosity.labels"),
    ("tau_x=1,2", "unknown case key 'tau_x' (did you mean 'tortuosity.tau_e'?)"),
    ("material.D_trase_cm2_s=1", "unknown key 'material.D_trase_cm2_s' (did you mean 'material.D_trace_cm2_s'?)"),
    ("materail.c_sat_mol_m3=1", "unknown table 'materail' (did you mean 'material'?)"),
    ("coarsen=1.5", "image.coarsen takes int values; '1.5' is not one"),
    ("tau_e=2,x", "tortuosity.tau_e takes int or float values; 'x' is not one"),
    ("steps=a", "protocol.steps is a list; it cannot be varied"),
    ("tau_e=1,1", "a value is repeated"),
    ("tau_e", "write KEY=V1,V2"),
    ("D_trace_cm2_s=0:1:3log", "positive ends for log"),
])
def test_bad_vary_is_one_line(spec, fragment):
    with pytest.raises(InputError) as error:
        parse_vary(spec)
    assert fragment in str(error.value) and "\n" not in str(error.value)


def test_point_case_reroots_relative_paths_and_keeps_its_mtime(tmp_path):
    base = load_case(make_case(tmp_path))
    point = tmp_path / "case" / "sweeps" / "s" / "p"
    loaded = write_point_case(base, point, {"tortuosity.tau_e": 4.0, "output.plots": True}, header="test")
    assert loaded.get("tortuosity", "tau_e") == 4.0 and loaded.get("output", "plots") is True
    assert loaded.get("image", "file") == "../../../slice.png"
    assert loaded.path("image", "file") == base.path("image", "file")
    assert {k: v for k, v in loaded.settings.items() if k not in ("image", "tortuosity", "output")} == \
        {k: v for k, v in base.settings.items() if k not in ("image", "tortuosity", "output")}
    before = (point / "case.toml").stat().st_mtime_ns
    write_point_case(base, point, {"tortuosity.tau_e": 4.0, "output.plots": True}, header="test")
    assert (point / "case.toml").stat().st_mtime_ns == before


# --- a 2x2 TWIF-Li sweep ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def grid_sweep(tmp_path_factory):
    case = make_case(tmp_path_factory.mktemp("grid"))
    code = main(["sweep", str(case), "--vary", "specific_capacity_mAh_g=100,200", "--vary", "tau_e=1.5,4",
                 "--jobs", "2", "--name", "grid"])
    assert code == 0
    return case / "sweeps" / "grid"


def test_grid_sweep_writes_one_row_per_point(grid_sweep):
    rows = read_csv(grid_sweep / "sweep.csv")
    assert [(r["material.specific_capacity_mAh_g"], r["tortuosity.tau_e"]) for r in rows] == \
        [("100", "1.5"), ("100", "4"), ("200", "1.5"), ("200", "4")]
    assert {r["status"] for r in rows} == {"complete"} and {r["end_reason"] for r in rows} == {"duration reached"}
    depletion = [float(r["end_mean_depletion"]) for r in rows]
    expected = 100 * 3.6 * 4.8e6 * 0.1 / (FARADAY * 48000)  # 0.1 h at 1C: charge / (F c_sat V_AM)
    assert depletion == pytest.approx([expected, expected, 2 * expected, 2 * expected], rel=1e-6)
    spread = [float(r["end_spread_c_norm"]) for r in rows]
    assert spread[1] > 1.5 * spread[0] and spread[3] > 1.5 * spread[2]  # tau_e moves w1's peak: less uniform
    assert all(float(r["wall_time_s"]) > 0 for r in rows)
    assert_plot(grid_sweep / "end_mean_depletion.png")


def test_a_point_is_a_case_that_runs_again(grid_sweep):
    point = grid_sweep / "specific_capacity_mAh_g=200__tau_e=4"
    run = subprocess.run([sys.executable, "-m", "twifli_fv.cli", "run", str(point), "--no-progress"],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "0.9254" in run.stdout  # 1 - 2 x 0.0373


def test_sweep_reuses_complete_points_and_resumes_interrupted_ones(tmp_path, caplog):
    case = make_case(tmp_path)
    axes = [parse_vary("tau_e=1.5,4")]
    first = run_sweep(case, axes, name="one")
    assert (first.ran, first.reused, first.quantity) == (2, 0, "end_mean_depletion")
    assert first.plot is not None
    assert_plot(first.plot)  # a curve for one varied key
    points = [first.directory / r["point"] for r in first.rows]
    stamps = [(p / "output" / "summary.json").stat().st_mtime_ns for p in points]
    with caplog.at_level(logging.INFO, logger="twifli_fv"):
        again = run_sweep(case, axes, name="one")
    assert (again.ran, again.reused) == (0, 2) and "2 of 2 points complete already" in caplog.text
    assert [(p / "output" / "summary.json").stat().st_mtime_ns for p in points] == stamps
    assert again.rows == first.rows  # the same numbers, read back from the points
    # An interrupted point (checkpoint, no summary): --resume continues it, a plain re-run starts it afresh.
    (points[0] / "output" / "summary.json").unlink()
    (points[0] / "output" / "marker").write_text("kept by a resumed run")
    resumed = run_sweep(case, axes, name="one", resume=True)
    assert resumed.ran == 1 and (points[0] / "output" / "marker").is_file()
    assert resumed.rows[0]["end_mean_depletion"] == pytest.approx(first.rows[0]["end_mean_depletion"], rel=1e-9)
    (points[0] / "output" / "summary.json").unlink()
    assert run_sweep(case, axes, name="one").ran == 1 and not (points[0] / "output" / "marker").exists()
    # A changed base case rewrites every point's case.toml: nothing is reused.
    (case / "case.toml").write_text(CASE.replace("tau_Li = 3.5", "tau_Li = 3.0"))
    assert run_sweep(case, axes, name="one").ran == 2


@pytest.mark.parametrize(("args", "fragment"), [
    (["--vary", "tau_x=1,2"], "unknown case key 'tau_x' (did you mean 'tortuosity.tau_e'?)"),
    (["--vary", "tau_e=2,-1"], "tau_e = -1: -1 is outside [1, 10000]"),
    (["--vary", "tau_e=2", "--quantity", "end_mean_depletio"], "(did you mean 'end_mean_depletion'?)"),
    (["--vary", "tau_e=2", "--jobs", "0"], "--jobs 0"),
    (["--vary", "tau_e=2", "--name", "a/b"], "--name 'a/b'"),
])
def test_bad_sweep_is_one_line(tmp_path, args, fragment):
    case = make_case(tmp_path)
    run = subprocess.run([sys.executable, "-m", "twifli_fv.cli", "sweep", str(case), *args],
                         capture_output=True, text=True, cwd=ROOT)
    lines = [line for line in run.stderr.splitlines() if line.startswith("twifli: error")]
    assert run.returncode == 2 and len(lines) == 1 and fragment in lines[0], run.stderr


def test_sweep_checks_the_base_case_and_quantity_before_running_any_point(tmp_path):
    """Issue 17 item 3: a base case whose image is missing is named as written, and an unknown --quantity
    is refused, both before a single point directory exists."""
    case = make_case(tmp_path)
    (case / "case.toml").write_text(CASE.replace('"slice.png"', '"../meshes/missing.png"'))
    with pytest.raises(InputError, match=r"missing\.png.*not found|not found.*missing\.png"):
        run_sweep(case, [parse_vary("tau_e=2,3")], name="broken")
    assert not (case / "sweeps").exists()
    (case / "case.toml").write_text(CASE)
    with pytest.raises(InputError, match=r"--quantity 'foo': not a number that a run of .* reports"):
        run_sweep(case, [parse_vary("tau_e=2,3")], name="unknown", quantity="foo")
    assert not (case / "sweeps").exists()


def test_reported_quantities_are_the_columns_a_point_gets(grid_sweep):
    """The names checked before running are those a complete point's row has (plus a dense model's)."""
    from twifli_fv.drivers.run import prepare
    from twifli_fv.drivers.sweep import point_quantities
    from twifli_fv.drivers.sweep import number, reported_quantities

    point = grid_sweep / "specific_capacity_mAh_g=100__tau_e=4"  # (not the point another test runs again)
    row = point_quantities(point / "output")
    assert sorted(reported_quantities(prepare(load_case(point)))) == sorted(k for k, v in row.items() if number(v))
    dense = reported_quantities(prepare(load_case(ROOT / "cases" / "dense_lco")))
    assert {"capacity_mAh_g", "energy_Wh_kg", "step1_end_voltage_V", "end_mean_depletion"} <= set(dense)


@pytest.mark.parametrize(("key", "label"), [
    ("material.D_trace_cm2_s", "D_trace (cm^2/s)"), ("protocol.c_rate", "C-rate (1/h)"),
    ("cell.thickness_um", "thickness (um)"), ("capacity_mAh_g", "capacity (mAh/g)"),
    ("material.c_max_mol_m3", "c_max (mol/m^3)"), ("step2_duration_s", "step 2: duration (s)"),
    ("interface.contact_fraction", "contact fraction"), ("tortuosity.tau_e", "tau_e (electronic tortuosity factor)"),
])
def test_plot_labels_are_physical_names_with_units(key, label):
    from twifli_fv.outputs.labels import axis_label

    assert axis_label(key) == label


def test_sweep_plot_axes_carry_names_and_units_not_keys(grid_sweep, monkeypatch):
    """Issue 17 item 5: the contour map of a sweep labels its axes and colour bar with names and units."""
    import twifli_fv.outputs.plots as plots
    from twifli_fv.drivers.sweep import _plot

    labels = []
    monkeypatch.setattr(plots, "save_figure", lambda figure, path: labels.extend(
        [figure.axes[0].get_xlabel(), figure.axes[0].get_ylabel(), figure.axes[1].get_ylabel()]))
    rows = tuple(read_csv(grid_sweep / "sweep.csv"))
    rows = tuple({**r, "end_mean_depletion": float(r["end_mean_depletion"])} for r in rows)
    axes = [parse_vary("specific_capacity_mAh_g=100,200"), parse_vary("tau_e=1.5,4")]
    _plot(grid_sweep, "case", axes, rows, "end_mean_depletion")
    assert labels == ["specific capacity (mAh/g)", "tau_e (electronic tortuosity factor)",
                      "mean depletion at the end, 1 - c/c_sat (AM-weighted)"]
