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

from .conftest import ROOT

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
    assert row["run"] == pytest.approx(row["experiment"]) and row["run"] > 0


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


def test_compare_command_writes_json_and_figure(tmp_path, capsys):
    case = fake_run(tmp_path)
    experiment = tmp_path / "measured.csv"
    shutil.copy(case / "output" / "profiles.csv", experiment)
    assert main(["compare", str(case), str(experiment)]) == 0
    report = json.loads((case / "output" / "comparison.json").read_text())
    assert report["rmse"] == 0.0 and (case / "output" / "comparison.png").stat().st_size > 1000
    assert "RMSE 0.0000" in capsys.readouterr().out


def test_missing_column_is_one_line(tmp_path):
    case = fake_run(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("time_s,y_um,c_norm\n0,1,0.5\n")
    run = subprocess.run([sys.executable, "-m", "twifli_fv.cli", "compare", str(case), str(bad)],
                         capture_output=True, text=True, cwd=ROOT)
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2 and len(lines) == 1 and "missing column(s) step" in lines[0], run.stderr
