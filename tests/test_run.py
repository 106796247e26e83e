"""Case directories: a run's outputs, resume after an interruption, and one-line errors (issue 3)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import twifli_fv.drivers.run as runner
import twifli_fv.outputs.recorder as recorder
from twifli_fv.outputs.profiles import COLUMNS

from .conftest import MESHES, ROOT

CASE = f"""
[image]
file = "{MESHES / 'electrode_nmc_slice256.png'}"
labels = "0=SE,85=AM,170=CBD"
voxel_size_um = 0.27
crop = "0:48,0:32"

[material]
c_sat_mol_m3 = 48000
diffusivity = "anomalous"
D_trace_cm2_s = 1e-10
c_max_mol_m3 = 51765

[tortuosity]
tau_e = 2.0
tau_Li = 3.5

[protocol]
steps = ["Charge at 2C for 10 minutes", "Rest for 2 minutes", "Discharge at 1 mA/cm2 for 4 minutes"]

[output]
frame_interval_s = 60
fields_interval_s = 240
"""


def make_case(tmp_path: Path, text: str = CASE) -> Path:
    case = tmp_path / "case"
    case.mkdir(parents=True, exist_ok=True)
    (case / "case.toml").write_text(text)
    return case


def test_run_writes_every_output(tmp_path):
    case = make_case(tmp_path)
    summary = runner.run_case(case, progress=False)
    out = case / "output"
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(summary))
    assert [s["kind"] for s in summary["steps"]] == ["charge", "rest", "discharge"]
    assert summary["flux_normalisation"] == "conserve" and summary["diffusivity"]["D_cap_m2_s"] > 0
    for step in summary["steps"]:
        assert {"kind", "duration_s", "charge_C", "li_change_mol", "mean_c_norm_end", "end_reason"} <= set(step)
    assert summary["steps"][2]["charge_C"] < 0 < summary["steps"][0]["charge_C"]
    with (out / "profiles.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == COLUMNS
    assert sorted({float(r["time_s"]) for r in rows}) == [60.0 * k for k in range(17)]
    pvd = (out / "fields" / "fields.pvd").read_text()
    assert pvd.count("<DataSet") == 5 and 'file="frame_0004.vti"' in pvd
    assert (out / "fields" / "frame_0004.vti").is_file() and not list((out / "fields").glob("*.vtu"))
    for plot in ("c_norm_map.png", "profiles.png", "mean_soc.png"):
        assert (out / "plots" / plot).stat().st_size > 1000
    import pyvista

    grid = pyvista.read(out / "fields" / "frame_0004.vti")
    height, width = summary["image"]["shape"]  # 48 x 32: x along the 32 columns, y through the thickness
    assert isinstance(grid, pyvista.ImageData) and grid.dimensions == (width + 1, height + 1, 1)
    assert {"c", "c_norm", "D", "W", "phase"} <= set(grid.cell_data)


def test_resume_after_interruption_gives_the_same_results(tmp_path, monkeypatch):
    reference = runner.run_case(make_case(tmp_path / "a"), progress=False)
    case = make_case(tmp_path / "b")
    monkeypatch.setattr(recorder, "CHECKPOINT_EVERY_S", 0.0)  # a checkpoint at every frame, not every 30 s
    frame = recorder.Recorder.frame
    calls = []

    def interrupted(self, *args, **kwargs):
        frame(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == 9:  # in the rest step, after the 9th checkpoint
            raise KeyboardInterrupt

    monkeypatch.setattr(recorder.Recorder, "frame", interrupted)
    with pytest.raises(KeyboardInterrupt):
        runner.run_case(case, progress=False)
    assert not (case / "output" / "summary.json").exists()  # nothing that looks complete
    monkeypatch.setattr(recorder.Recorder, "frame", frame)
    resumed = runner.run_case(case, resume=True, progress=False)
    assert resumed["steps"] == reference["steps"]
    assert (case / "output" / "profiles.csv").read_text() == (tmp_path / "a" / "case" / "output" / "profiles.csv").read_text()


BAD_CASES = {
    "typo'd key": (("D_trace_cm2_s", "D_trase_cm2_s"), "unknown key 'material.D_trase_cm2_s' (did you mean 'D_trace_cm2_s'?)"),
    "negative current": (("Discharge at 1 mA/cm2", "Discharge at -1 mA/cm2"), "negative current"),
    "malformed step": (("Rest for 2 minutes", "Rest 2 minutes"), "'Rest 2 minutes' is malformed"),
    "missing image": (("electrode_nmc_slice256.png", "no_such_image.png"), "image file not found"),
    "unknown preconditioner": (("", ""), "PETSC_OPTIONS='-twifli_pc_type nosuch': Unable to find requested PC type nosuch"),
    "fill levels not a number": (("", ""), "Input string abc has no integer value"),
}
PETSC_OPTIONS = {"unknown preconditioner": "-twifli_pc_type nosuch", "fill levels not a number": "-twifli_pc_factor_levels abc"}


@pytest.mark.parametrize("name", sorted(BAD_CASES))
def test_bad_case_is_one_line_and_leaves_no_complete_output(tmp_path, name):
    (old, new), fragment = BAD_CASES[name]
    case = make_case(tmp_path, CASE.replace(old, new))
    env = {**os.environ, "PETSC_OPTIONS": PETSC_OPTIONS.get(name, "")}
    run = subprocess.run([sys.executable, "-m", "twifli_fv.cli", "run", str(case), "--no-progress"],
                         capture_output=True, text=True, cwd=ROOT, env=env)
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2 and len(lines) == 1 and fragment in lines[0], run.stderr
    assert not (case / "output" / "summary.json").exists()
