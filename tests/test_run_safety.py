"""A run owns its output (lock, stale lock, partial files, failed writes), resumes only from matching inputs,
and says a numerical failure in one line (issue 12); `twifli keys`, `--version` and the installed script."""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import twifli_fv.drivers.output_owner as owner
import twifli_fv.outputs.recorder as recorder
from twifli_fv import __version__
from twifli_fv.case_keys import CASE_KEYS, keys_markdown
from twifli_fv.cli import main
from twifli_fv.errors import NumericalError
from twifli_fv.outputs.files import atomic_path
from twifli_fv.solve.twifli import TwifliSolver

from .conftest import ROOT
from .test_bad_input import CASE, STEP, write_case
from .test_run import CASE as RUN_CASE

TORTUOSITY_IMAGE = """
[tortuosity]
image_file = "columns.npy"
labels = "0=SE,85=AM"
"""


def run(case: Path, *extra: str) -> int:
    return main(["run", str(case), "--no-progress", *extra])


def stderr_lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def outputs(case: Path) -> dict[str, bytes]:
    out = case / "output"
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture
def done(tmp_path, capsys) -> Path:
    """A case with a complete run in its output (no plots: quicker)."""
    case = write_case(tmp_path, CASE + "plots = false\n")
    assert run(case) == 0
    capsys.readouterr()
    return case


def test_a_second_run_on_the_same_case_is_refused(done, capsys):
    before = outputs(done)
    (done / "output" / ".lock").write_text(f"{os.getpid()} {socket.gethostname()}\n")  # a live run
    assert run(done) == 2
    lines = stderr_lines(capsys)
    assert len(lines) == 1 and f"another twifli run (PID {os.getpid()}) is writing this output" in lines[0]
    (done / "output" / ".lock").unlink()
    assert outputs(done) == before  # nothing of the live run's output was touched


def test_a_stale_lock_is_taken_over_with_a_notice(done, capsys):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (done / "output" / ".lock").write_text(f"{dead.pid} {socket.gethostname()}\n")
    assert run(done) == 0
    err = capsys.readouterr().err
    assert f"taking over the lock of PID {dead.pid}, which is no longer running" in err
    assert not (done / "output" / ".lock").exists() and (done / "output" / "summary.json").is_file()


def test_partial_files_of_a_killed_run_are_removed_at_the_next_start(done, capsys):
    left = [done / "output" / ".summary.partial-99999.json", done / "output" / "fields" / ".frame_0001.partial-7.vti"]
    for path in left:
        path.write_text("half")
    assert run(done) == 0
    assert not any(path.exists() for path in left)
    assert not list((done / "output").rglob(".*partial*")) and not (done / "output" / ".previous").exists()


def test_an_unwritable_output_is_one_line_and_keeps_the_previous_output(done, capsys, monkeypatch):
    """As root, chmod does not stop writes: the refusal of the file system is simulated."""
    before = outputs(done)

    def refused(self):  # noqa: ANN001
        raise PermissionError(errno.EACCES, "Permission denied", str(self.lock))

    monkeypatch.setattr(owner.OutputOwner, "_lock", refused)
    assert run(done) == 2
    lines = stderr_lines(capsys)
    assert len(lines) == 1 and str(done / "output" / ".lock") in lines[0] and "Permission denied" in lines[0]
    assert outputs(done) == before


@pytest.mark.parametrize(("code", "reason", "target"), [
    (errno.EROFS, "Read-only file system", "write_profiles"),
    (errno.ENOSPC, "No space left on device", "write_json"),
])
def test_a_failed_write_removes_the_partial_output_and_restores_the_previous(done, capsys, monkeypatch, code,
                                                                             reason, target):
    before = outputs(done)

    def failing(path, *args, **kwargs):  # noqa: ANN001 - half a file, then the file system gives up
        with atomic_path(path) as tmp:
            tmp.write_text("half")
            raise OSError(code, reason, str(path))

    monkeypatch.setattr(recorder, target, failing)
    assert run(done) == 2
    lines = stderr_lines(capsys)
    assert lines[-1].startswith("twifli: error: ") and reason in lines[-1] and str(done / "output") in lines[-1]
    assert not any("Traceback" in line for line in lines)
    assert outputs(done) == before  # the previous run's output, whole; no partial file, no lock


def columns_case(tmp_path: Path) -> Path:
    """A case whose tortuosity comes from straight AM and SE columns (tau = 1 exactly) in its own file."""
    case = write_case(tmp_path, CASE.replace("[tortuosity]\ntau_e = 2.0\ntau_Li = 3.5\n", TORTUOSITY_IMAGE)
                      .replace(STEP, '"Charge at 2C for 3 minutes"'))
    columns = np.zeros((6, 4, 4), dtype=np.uint8)
    columns[:, :2] = 85
    np.save(case / "columns.npy", columns)
    return case


def interrupt_after(monkeypatch, frames: int) -> None:
    frame, calls = recorder.Recorder.frame, []

    def interrupted(self, *args, **kwargs):  # noqa: ANN001
        frame(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == frames:
            raise KeyboardInterrupt

    monkeypatch.setattr(recorder, "CHECKPOINT_EVERY_S", 0.0)
    monkeypatch.setattr(recorder.Recorder, "frame", interrupted)


def test_the_tortuosity_image_file_is_used_and_a_changed_one_refuses_resume(tmp_path, capsys, monkeypatch):
    case = columns_case(tmp_path)
    interrupt_after(monkeypatch, 3)
    assert run(case) == 130
    monkeypatch.undo()
    changed = np.load(case / "columns.npy")
    changed[2, 0, 0] = 0
    np.save(case / "columns.npy", changed)
    capsys.readouterr()
    assert run(case, "--resume") == 2
    lines = stderr_lines(capsys)
    assert len(lines) == 1 and f"the input file {case / 'columns.npy'} changed" in lines[0]
    np.save(case / "columns.npy", np.where(np.arange(4)[None, :, None] < 2, 85, 0).repeat(6, 0).repeat(4, 2)
            .astype(np.uint8))  # the original content again: resumable
    (case / "case.toml").write_text((case / "case.toml").read_text() + "\n[solver]\ndt_max_s = 20\n")
    assert run(case, "--resume") == 0  # [solver] may change before --resume
    summary = json.loads((case / "output" / "summary.json").read_text())
    assert summary["tortuosity"]["tau_e"] == pytest.approx(1.0, abs=1e-9)
    assert summary["tortuosity"]["tau_Li"] == pytest.approx(1.0, abs=1e-9)
    assert summary["tortuosity"]["source"] == str(case / "columns.npy")


def test_a_changed_case_or_checkpoint_format_refuses_resume(tmp_path, capsys, monkeypatch):
    case = columns_case(tmp_path)
    interrupt_after(monkeypatch, 2)
    assert run(case) == 130
    monkeypatch.undo()
    (case / "case.toml").write_text((case / "case.toml").read_text().replace("c_sat_mol_m3 = 48000",
                                                                             "c_sat_mol_m3 = 47000"))
    capsys.readouterr()
    assert run(case, "--resume") == 2
    assert "cannot resume: case.toml changed" in stderr_lines(capsys)[0]
    import twifli_fv.drivers.fingerprint as fingerprint

    monkeypatch.setattr(fingerprint, "CHECKPOINT_FORMAT", fingerprint.CHECKPOINT_FORMAT + 1)
    assert run(case, "--resume") == 2
    assert "another version of twifli" in stderr_lines(capsys)[0]


def test_a_numerical_failure_is_one_line_with_step_time_checkpoint_and_hint(tmp_path, capsys, monkeypatch):
    case = write_case(tmp_path, CASE)
    advance, calls = TwifliSolver.advance, []

    def failing(self, dt, drive):  # noqa: ANN001 - a linear solve that fails after a while
        calls.append(dt)
        if sum(calls) > 35:  # after the frame (and checkpoint) at 30 s
            raise NumericalError("the TWIF-Li linear solve did not converge (PETSc reason -9)")
        return advance(self, dt, drive)

    monkeypatch.setattr(recorder, "CHECKPOINT_EVERY_S", 0.0)
    monkeypatch.setattr(TwifliSolver, "advance", failing)
    assert run(case) == 3
    line = stderr_lines(capsys)[-1]
    assert line.startswith("twifli: error: numerical failure in step 1 ('Charge at 2C for 1 minute') at t = ")
    assert "did not converge (PETSc reason -9)" in line and f"{case / 'output' / 'checkpoint.npz'} holds t = 30.0 s" in line
    assert "--resume" in line and "dt_max_s" in line and not (case / "output" / "summary.json").exists()
    monkeypatch.setattr(TwifliSolver, "advance", lambda self, dt, drive: None)  # sweeps never converge
    assert run(case) == 3
    line = stderr_lines(capsys)[-1]
    assert "at t = 0.0 s: time step collapsed below 1e-06 s" in line and "no checkpoint was written yet" not in line


def test_keys_lists_every_case_key(capsys):
    assert main(["keys"]) == 0
    text = capsys.readouterr().out
    for table, keys in CASE_KEYS.items():
        assert f"[{table}]" in text
        for key in keys:
            assert f"  {key} " in text
    assert main(["keys", "solver"]) == 0
    solver = capsys.readouterr().out.splitlines()
    assert solver[0].split() == ["key", "unit", "type", "default", "allowed", "meaning"]
    assert solver[1] == "[solver]" and len(solver) == 2 + len(CASE_KEYS["solver"])
    assert solver[3].split()[:4] == ["max_sweeps", "-", "integer", "30"] and "[2, 10000]" in solver[3]
    rows = keys_markdown().splitlines()
    assert len(rows) == 2 + sum(len(keys) for keys in CASE_KEYS.values())
    assert "| `image.voxel_size_um` | um | number |  | [0.001, 1000] | voxel edge length |" in rows


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"twifli {__version__}"


SCRIPT = ROOT / ".venv" / "bin" / "twifli"


@pytest.mark.skipif(not SCRIPT.is_file(), reason="no installed twifli script (run scripts/setup.sh)")
def test_the_readme_parallel_sweep_runs_through_the_installed_script(tmp_path):
    """`twifli sweep CASE --vary ... --jobs 2` as the README writes it: spawned workers must not re-run the command."""
    case = write_case(tmp_path, CASE.replace(STEP, '"Charge at 2C for 20 s"'))
    done = subprocess.run([str(SCRIPT), "sweep", str(case), "--vary", "tau_e=2,3", "--jobs", "2", "--no-plots"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "BrokenProcessPool" not in done.stderr
    rows = (case / "sweeps" / "tau_e" / "sweep.csv").read_text().splitlines()
    assert len(rows) == 3 and all((case / "sweeps" / "tau_e" / f"tau_e={v}" / "output" / "summary.json").is_file()
                                  for v in (2, 3))


def test_a_failed_field_write_mid_run_stops_in_one_line_and_keeps_the_checkpoint(tmp_path, capsys, monkeypatch):
    """Resuming into a folder where a field frame cannot be written (a directory in its place)."""
    case = write_case(tmp_path, CASE.replace("frame_interval_s = 30", "frame_interval_s = 10\nfields_interval_s = 20"))
    interrupt_after(monkeypatch, 2)  # frames at 0 and 10 s; fields at 0 s
    assert run(case) == 130
    monkeypatch.undo()
    blocked = case / "output" / "fields" / "frame_0001.vti"
    blocked.mkdir()  # the field frame of t = 20 s
    checkpoint = (case / "output" / "checkpoint.npz").read_bytes()
    capsys.readouterr()
    assert run(case, "--resume") == 2
    lines = [line for line in stderr_lines(capsys) if line.startswith("twifli")]
    assert len(lines) == 1 and str(blocked) in lines[0]
    assert (case / "output" / "checkpoint.npz").read_bytes() == checkpoint
    assert not list((case / "output").rglob(".*partial*")) and not (case / "output" / ".lock").exists()
    if shutil.which("mpiexec"):  # one process's checkpoint is not resumed on two ranks: said once, nothing touched
        done = subprocess.run([shutil.which("mpiexec"), "-n", "2", sys.executable, "-m", "twifli_fv.cli", "run",
                               str(case), "--resume", "--no-progress"], capture_output=True, text=True, timeout=120)
        lines = [line for line in done.stderr.splitlines() if line.startswith("twifli")]
        assert done.returncode == 2 and len(lines) == 1, done.stderr
        assert "written by 1 rank(s) and this run has 2" in lines[0]
        assert (case / "output" / "checkpoint.npz").read_bytes() == checkpoint


@pytest.mark.skipif(shutil.which("mpiexec") is None, reason="needs mpiexec")
def test_a_real_numerical_failure_under_mpiexec_is_said_once(tmp_path):
    """A linear solve PETSc cannot finish (one unpreconditioned CG iteration), on two ranks: exit 3, one line."""
    case = write_case(tmp_path, CASE)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PETSC_OPTIONS": "-twifli_pc_type none -twifli_ksp_max_it 1"}
    done = subprocess.run([shutil.which("mpiexec"), "-n", "2", sys.executable, "-m", "twifli_fv.cli", "run", str(case),
                           "--no-progress"], capture_output=True, text=True, timeout=120, env=env)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 3 and len(lines) == 1, done.stderr
    assert "numerical failure in step 1 ('Charge at 2C for 1 minute') at t = 0.0 s" in lines[0]
    assert "linear solve did not converge (PETSc reason -3)" in lines[0] and "Traceback" not in done.stderr


def test_two_runs_at_once_the_second_is_refused_and_the_first_completes(tmp_path, capsys):
    import time

    case = write_case(tmp_path, RUN_CASE.replace('"Rest for 2 minutes"', '"Rest for 60 minutes"'))  # a few seconds
    first = subprocess.Popen([sys.executable, "-m", "twifli_fv.cli", "run", str(case), "--no-progress"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    lock = case / "output" / ".lock"
    deadline = time.monotonic() + 120
    while not lock.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    running = first.poll() is None and lock.exists()
    second = run(case) if running else None
    out, err = first.communicate(timeout=300)
    if not running:
        pytest.skip("the first run finished before the second could start")
    lines = stderr_lines(capsys)
    assert second == 2 and len(lines) == 1 and f"another twifli run (PID {first.pid})" in lines[0]
    assert first.returncode == 0, err
    summary = json.loads((case / "output" / "summary.json").read_text())
    assert summary["steps"][1]["duration_s"] == pytest.approx(3600.0) and not lock.exists()


def test_an_empty_lock_is_being_taken_unless_it_is_old(done, capsys):
    lock = done / "output" / ".lock"
    lock.write_text("")  # another run between creating the lock and writing its PID
    assert run(done) == 2
    assert "another twifli run is taking this output folder" in stderr_lines(capsys)[0]
    os.utime(lock, (lock.stat().st_atime - 60, lock.stat().st_mtime - 60))  # a run killed at that moment
    assert run(done) == 0
    assert "taking over the lock of an interrupted run" in capsys.readouterr().err and not lock.exists()
