"""``mpiexec -n 2``: the same results as one process, outputs and progress once (issue 5)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import twifli_fv.drivers.run as runner
from twifli_fv.outputs.profiles import read_profiles

from .conftest import MESHES, ROOT
from .test_run import make_case

MPIEXEC = shutil.which("mpiexec")
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="needs mpiexec (MPICH, as petsc4py is built against)")


def on_two_ranks(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([MPIEXEC, "-n", "2", sys.executable, "-m", "twifli_fv.cli", *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)


def test_run_on_two_ranks_equals_one(tmp_path):
    serial = runner.run_case(make_case(tmp_path / "one"), progress=False)
    case = make_case(tmp_path / "two")
    run = on_two_ranks("run", str(case))
    assert run.returncode == 0, run.stderr
    parallel = json.loads((case / "output" / "summary.json").read_text())
    assert "on 2 rank(s)" in parallel["solver"]["linear_solver"]
    for one, two in zip(serial["steps"], parallel["steps"], strict=True):
        assert two["duration_s"] == pytest.approx(one["duration_s"], rel=1e-12)
        assert two["mean_c_norm_end"] == pytest.approx(one["mean_c_norm_end"], abs=1e-9)
        assert two["li_change_mol"] == pytest.approx(one["li_change_mol"], rel=1e-8)
    times, _, _, profiles = read_profiles(case / "output" / "profiles.csv")
    times_one, _, _, profiles_one = read_profiles(tmp_path / "one" / "case" / "output" / "profiles.csv")
    np.testing.assert_array_equal(times, times_one)
    np.testing.assert_allclose(profiles, profiles_one, atol=1e-8)
    # written once (no second rank's temporary files), progress and log shown once
    assert not list((case / "output").rglob(".*partial*"))
    assert run.stdout.count("outputs in") == 1
    assert run.stderr.count("step 1 (Charge at 2C for 10 minutes) ended") == 1
    assert run.stderr.count("100.0%") == 1


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
