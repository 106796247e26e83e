"""Model-experiment comparison: zero against itself, a known shift found, bad data in one line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from twifli_fv.cli import main
from twifli_fv.drivers.compare import compare_profiles
from twifli_fv.outputs.files import write_json
from twifli_fv.outputs.profiles import read_profiles, write_profiles

from .conftest import ROOT, assert_plot

Y = (np.arange(20) + 0.5) * 2.0
T = np.arange(0, 3601, 300.0)


def fake_run(tmp_path):
    """A case directory with a complete-looking run: a travelling depletion front, charge then discharge."""
    case = tmp_path / "case"
    out = case / "output"
    c_norm = 1 - 0.5 * np.exp(-((Y[None, :] - 10 - T[:, None] / 200) ** 2) / 50) * (T[:, None] / 3600)
    write_profiles(out / "profiles.csv", T, np.where(T <= 1800, 1, 2), Y, c_norm)
    write_json(out / "summary.json", {"steps": [{"kind": "charge", "duration_s": 1800.0},
                                                {"kind": "discharge", "duration_s": 1800.0}]})
    return case


def test_a_run_against_itself_has_no_error(tmp_path):
    case = fake_run(tmp_path)
    profiles = read_profiles(case / "output" / "profiles.csv")
    result = compare_profiles(profiles, profiles, charge_ends_s=[1800.0])
    assert result.rmse == result.mae == result.max_error == 0.0
    assert result.dropped_points == 0 and len(result.per_frame) == T.size
    row = result.depletion_end_of_charge[0]
    assert row["run_row_mean"] == pytest.approx(row["experiment"]) and row["experiment"] > 0
    assert row["run"] is None and result.warnings == []  # no AM-weighted mean given


def test_a_known_shift_is_found_on_a_coarser_experiment_grid(tmp_path):
    case = fake_run(tmp_path)
    times, steps, y, c = read_profiles(case / "output" / "profiles.csv")
    y_exp = np.linspace(1.0, 39.0, 7)
    t_exp = np.array([0.0, 450.0, 1800.0, 3600.0, 5000.0])  # the last lies beyond the run
    run_on_exp = np.array([[np.interp(yy, y, (1 - w) * c[j] + w * c[min(j + 1, len(times) - 1)])
                            for yy in y_exp] for j, w in ((int(t // 300), (t % 300) / 300) for t in t_exp[:-1])])
    shifted = np.vstack([run_on_exp - 0.05, np.zeros(y_exp.size)])
    result = compare_profiles((times, steps, y, c), (t_exp, np.ones(5, int), y_exp, shifted))
    assert result.rmse == pytest.approx(0.05, rel=1e-9) and result.mae == pytest.approx(0.05, rel=1e-9)
    assert result.max_error == pytest.approx(0.05, rel=1e-9) and result.dropped_points == y_exp.size
    # 7 of 35 points (20 %) at a time beyond the run: warned about, with the reason
    assert (result.dropped_outside_time, result.dropped_outside_thickness) == (y_exp.size, 0)
    assert len(result.warnings) == 1 and "7 outside its time span (0-3600 s)" in result.warnings[0]


def test_compare_command_writes_json_and_figure(tmp_path, capsys):
    case = fake_run(tmp_path)
    experiment = tmp_path / "measured.csv"
    shutil.copy(case / "output" / "profiles.csv", experiment)
    assert main(["compare", str(case), str(experiment)]) == 0
    report = json.loads((case / "comparison" / "comparison.json").read_text())
    assert report["rmse"] == 0.0
    assert_plot(case / "comparison" / "comparison.png")
    assert "RMSE 0.0000" in capsys.readouterr().out


def test_missing_column_is_one_line(tmp_path):
    case = fake_run(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("time_s,y_um,c_norm\n0,1,0.5\n")
    run = subprocess.run([sys.executable, "-m", "twifli_fv.cli", "compare", str(case), str(bad)],
                         capture_output=True, text=True, cwd=ROOT)
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2 and len(lines) == 1 and "missing column(s) step" in lines[0], run.stderr


def test_compare_warns_when_the_thicknesses_differ_and_names_the_depletion_definitions(tmp_path, capsys):
    """Issue 17 item 2: a radiography grid three times as deep as the run (as with a wrong pixel size) leaves
    most points outside: stderr and the JSON say so and why; mean depletion is AM-weighted for the run
    (its summary's number) with the row mean, the experiment's definition, beside it."""
    case = fake_run(tmp_path)
    summary = json.loads((case / "output" / "summary.json").read_text())
    summary["steps"][0]["mean_c_norm_end"] = 0.9  # the run's AM-weighted mean at the end of its charge
    write_json(case / "output" / "summary.json", summary)
    times, steps, y, c = read_profiles(case / "output" / "profiles.csv")
    deep = np.arange(60) * 2.0 + 1.0  # 1 ... 119 um against the run's 1 ... 39 um
    measured = np.hstack([c, np.full((times.size, 40), 0.5)])
    write_profiles(tmp_path / "deep.csv", times, steps, deep, measured)
    run = subprocess.run([sys.executable, "-m", "twifli_fv.cli", "compare", str(case), str(tmp_path / "deep.csv")],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    outside = 40 * times.size
    assert f"warning: {outside} of {60 * times.size} measured points (67 %) fall outside the run" in run.stderr
    assert f"{outside} beyond its thickness" in run.stderr and "pixel_size_um" in run.stderr
    report = json.loads((case / "comparison" / "comparison.json").read_text())
    assert (report["dropped_outside_thickness"], report["dropped_outside_time"]) == (outside, 0)
    assert report["warnings"] and "beyond its thickness" in report["warnings"][0] and report["rmse"] == 0.0
    row = report["depletion_end_of_charge"][0]
    assert row["run"] == pytest.approx(0.1) and row["run_row_mean"] == pytest.approx(1 - np.mean(c[6]))
    assert row["experiment"] == pytest.approx(1 - np.mean(measured[6]))  # frame at 1800 s
    assert "AM-weighted" in report["depletion_definition"]["run"]
    assert "0.100 AM-weighted (as summary.json)" in run.stdout


def test_comparison_plot_labels_each_map_with_what_it_shows(tmp_path, monkeypatch):
    """The experiment's colour bar says c/c_0 (radiography's ratio to pristine), the run's c/c_sat."""
    import twifli_fv.outputs.plots as plots

    labels = []
    monkeypatch.setattr(plots, "save_figure", lambda figure, path: labels.extend(
        ax.get_ylabel() for ax in figure.axes if ax.get_label() == "<colorbar>"))
    c = np.full((T.size, Y.size), 0.7)
    plots.plot_comparison(tmp_path / "c.png", T, Y, c, c)
    assert labels == ["c / c_sat (AM row average)", "c / c_0 (measured row average)", "run c / c_sat - measured c / c_0"]


def test_rerunning_a_case_keeps_its_comparison(tmp_path):
    """Issue 17 item 6: `compare` writes CASE/comparison/, which `twifli run` (it replaces CASE/output/) keeps;
    the JSON names the run it compared by the SHA-256 of its profiles."""
    import hashlib

    from twifli_fv.drivers.run import run_case

    from .test_run import make_case

    case = make_case(tmp_path)
    run_case(case, progress=False)
    profiles = case / "output" / "profiles.csv"
    assert main(["compare", str(case), str(profiles)]) == 0
    report = (case / "comparison" / "comparison.json").read_text()
    run_case(case, progress=False)
    assert (case / "comparison" / "comparison.json").read_text() == report
    assert (case / "comparison" / "comparison.png").is_file() and not list((case / "output").glob("comparison*"))
    assert json.loads(report)["run_profiles_sha256"] == hashlib.sha256(profiles.read_bytes()).hexdigest()
