"""``mpiexec -n 2..4``: the same results as one process, outputs and progress once (issues 5 and 16)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import twifli_fv.drivers.run as runner
from twifli_fv.outputs.profiles import read_profiles

from .conftest import MESHES, ROOT
from .test_run import CASE, make_case

MPIEXEC = shutil.which("mpiexec")
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="needs mpiexec (MPICH, as petsc4py is built against)")


def on_ranks(count: int, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([MPIEXEC, "-n", str(count), sys.executable, "-m", "twifli_fv.cli", *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)


def on_two_ranks(*args: str) -> subprocess.CompletedProcess:
    return on_ranks(2, *args)


CASE_3D = CASE.replace("electrode_nmc_slice256.png", "electrode_nmc_crop128.tif").replace(
    'crop = "0:48,0:32"', 'crop = "0:14,0:10,0:9"').replace("0.27", "0.5")
# Ranks differ by the iterative solves' error: make it smaller than 1e-8.
TIGHT = "\n[solver]\nsweep_tol = 1e-10\n"
SHORT = ('steps = ["Charge at 2C for 10 minutes", "Rest for 2 minutes", "Discharge at 1 mA/cm2 for 4 minutes"]',
         'steps = ["Charge at 2C for 10 minutes", "Rest for 1 minute"]')
# The suite runs 2 ranks; TWIFLI_TEST_RANKS=1,2,3,4 adds more (as in test_parallel_tortuosity). Beyond the cores,
# every collective waits for a process to be scheduled: 3 ranks on this 2-core machine take minutes, 2 seconds.
RANK_COUNTS = [n for n in map(int, os.environ.get("TWIFLI_TEST_RANKS", "1,2").split(",")) if n > 1]
CASES = {"2d-no-flux": CASE.replace("crop =", 'in_plane = "no-flux"\ncrop =').replace(*SHORT) + TIGHT,
         "3d-periodic": CASE_3D.replace(*SHORT) + TIGHT}


def read_fields(out: Path) -> list[dict[str, np.ndarray]]:
    """The cell data of every field frame listed in ``fields.pvd`` (a .vti, or a .pvti of pieces)."""
    import pyvista

    frames = pyvista.read(out / "fields" / "fields.pvd")
    return [{name: np.asarray(block.cell_data[name]) for name in block.cell_data} for block in
            (frames.get_block(i) for i in range(frames.n_blocks))] if hasattr(frames, "n_blocks") else [frames]


@pytest.fixture(scope="module")
def serial_runs(tmp_path_factory) -> dict[str, Path]:
    """Each case of CASES run on one process (the reference)."""
    runs = {}
    for name, text in CASES.items():
        case = make_case(tmp_path_factory.mktemp(name), text)
        runner.run_case(case, progress=False)
        runs[name] = case / "output"
    return runs


@pytest.mark.parametrize("count", RANK_COUNTS)
@pytest.mark.parametrize("name", list(CASES))
def test_a_run_on_several_ranks_equals_one(tmp_path, serial_runs, name, count):
    """Each rank holds its slab of planes only; profiles, summaries and fields agree with one process to 1e-8
    in c / c_sat (issue 16)."""
    case = make_case(tmp_path, CASES[name])
    run = on_ranks(count, "run", str(case))
    assert run.returncode == 0, run.stderr
    one, out = serial_runs[name], case / "output"
    serial, parallel = (json.loads((o / "summary.json").read_text()) for o in (one, out))
    block = {"2d-no-flux": "asm/icc(4)", "3d-periodic": "bjacobi/icc(1)"}[name]  # each rank's block, by dimension
    assert f"{block} on {count} rank(s)" in parallel["solver"]["linear_solver"]
    for key in ("am_volume_fraction", "active_area_m2", "one_c_current_density_A_m2", "am_volume_m3"):
        assert parallel[key] == pytest.approx(serial[key], rel=1e-12)
    for a, b in zip(serial["steps"], parallel["steps"], strict=True):
        assert b["duration_s"] == pytest.approx(a["duration_s"], rel=1e-12)
        assert b["mean_c_norm_end"] == pytest.approx(a["mean_c_norm_end"], abs=1e-8)
        assert b["li_change_mol"] == pytest.approx(a["li_change_mol"], rel=1e-8)
    times, _, _, profiles = read_profiles(out / "profiles.csv")
    times_one, _, _, profiles_one = read_profiles(one / "profiles.csv")
    np.testing.assert_array_equal(times, times_one)
    np.testing.assert_allclose(profiles, profiles_one, atol=1e-8)
    pieces = sorted((out / "fields").glob("*.pvti"))
    assert pieces and not list((out / "fields").glob("frame_*.vti"))  # one dataset of pieces per frame
    fields, fields_one = read_fields(out), read_fields(one)
    assert len(fields) == len(fields_one)
    for frame, frame_one in zip(fields, fields_one, strict=True):
        np.testing.assert_array_equal(frame["phase"], frame_one["phase"])
        np.testing.assert_allclose(frame["c_norm"], frame_one["c_norm"], atol=1e-8)
        np.testing.assert_allclose(frame["W"], frame_one["W"], atol=1e-8)
    # written once (no second rank's temporary files), progress and log shown once
    assert not list(out.rglob(".*partial*"))
    assert run.stdout.count("outputs in") == 1
    assert run.stderr.count("step 1 (Charge at 2C for 10 minutes) ended") == 1
    bars = [line for line in run.stderr.splitlines() if line.startswith("[")]
    assert bars and len(bars) == len(set(bars)) and "100.0%" in bars[-1]


def test_tortuosity_on_two_ranks_equals_one():
    image = str(MESHES / "electrode_nmc_slice256.png")
    args = ("tortuosity", image, "--labels", "0=SE,85=AM,170=CBD", "--no-flux", "--json")
    run = on_two_ranks(*args)
    assert run.returncode == 0, run.stderr
    serial = subprocess.run([sys.executable, "-m", "twifli_fv.cli", *args], capture_output=True, text=True, cwd=ROOT)
    parallel, one = json.loads(run.stdout), json.loads(serial.stdout)  # exactly one JSON object each
    assert set(parallel) == set(one)
    for name, result in one.items():
        if result["tau"] is None:
            assert parallel[name]["tau"] is None
        else:
            assert parallel[name]["tau"] == pytest.approx(result["tau"], rel=1e-6)


def test_a_dense_case_under_mpiexec_is_one_line_said_once(tmp_path):
    case = tmp_path / "dense"
    shutil.copytree(ROOT / "cases" / "dense_lco", case, ignore=shutil.ignore_patterns("output", "sweeps"))
    run = on_two_ranks("run", str(case))
    assert run.returncode == 2 and run.stderr.count("twifli: error:") == 1 and "runs on one process" in run.stderr
    assert not (case / "output").exists()


@pytest.mark.parametrize(("name", "options"), [("2d-no-flux", "-twifli_pc_asm_overlap 2 -twifli_sub_pc_factor_levels 2"),
                                               ("3d-periodic", "-twifli_pc_type asm -twifli_sub_pc_factor_levels 2")])
def test_the_preconditioner_options_the_readme_names_are_taken(tmp_path, serial_runs, name, options):
    """The README's options tune each rank's preconditioner (in 3D, additive Schwarz instead of block Jacobi):
    the same answer."""
    case = make_case(tmp_path, CASES[name])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PETSC_OPTIONS": options}
    run = subprocess.run([MPIEXEC, "-n", "2", sys.executable, "-m", "twifli_fv.cli", "run", str(case), "--no-progress"],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    summary = json.loads((case / "output" / "summary.json").read_text())
    assert "asm/icc(2) on 2 rank(s)" in summary["solver"]["linear_solver"]
    _, _, _, profiles = read_profiles(case / "output" / "profiles.csv")
    np.testing.assert_allclose(profiles, read_profiles(serial_runs[name] / "profiles.csv")[3], atol=1e-8)
