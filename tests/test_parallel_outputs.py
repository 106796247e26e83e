"""Outputs of a distributed run (issue 16, item 3): profiles by reduction, parallel VTK, checkpoint pieces, resume.

The recorder is driven by a toy run that knows its field only on the planes its rank owns (``parallel_toy.py``,
``f(t, global cell index)``), on 1, 2 and 3 ranks: every rank count must write what one process writes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import twifli_fv.outputs.recorder as recorder
from twifli_fv.drivers.fingerprint import difference
from twifli_fv.errors import InputError
from twifli_fv.image.slab import Slab, split_planes
from twifli_fv.outputs.checkpoint import Checkpoint, load_checkpoint, piece_path, save_checkpoint
from twifli_fv.outputs.export import export_frame, frame_file
from twifli_fv.outputs.vtk import write_pvti, write_vti
from twifli_fv.ranks import ONE, Ranks

from . import parallel_toy as toy
from .conftest import ROOT, SameOnEveryRank

MPIEXEC = shutil.which("mpiexec")
TOY = Path(__file__).with_name("parallel_toy.py")
SAME = toy.FINGERPRINT


def cells(shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    index = np.arange(int(np.prod(shape))).reshape(shape)
    return {"c": np.sin(index), "phase": (index % 3).astype(np.uint8), "am": index % 2 == 0}


@pytest.mark.parametrize("shape", [(5, 4), (5, 3, 2)])
def test_pieces_and_pvti_open_as_the_whole_grid(tmp_path, shape):
    pyvista = pytest.importorskip("pyvista")
    whole = cells(shape)
    write_vti(tmp_path / "whole.vti", shape, 1e-6, whole, field_data={"phase_AM": 1})
    slabs = [split_planes(shape, ranks=Ranks(SameOnEveryRank(r, 3))) for r in range(3)]  # planes 2 + 2 + 1
    for r, slab in enumerate(slabs):
        write_vti(tmp_path / f"p/{r}.vti", shape, 1e-6, {k: v[slab.lo:slab.hi] for k, v in whole.items()},
                  field_data={"phase_AM": 1}, slab=slab)
    write_pvti(tmp_path / "all.pvti", shape, 1e-6, {k: v.dtype for k, v in whole.items()},
               [(slab, f"p/{r}.vti") for r, slab in enumerate(slabs)], field_data={"phase_AM": 1})
    one, parallel = pyvista.read(tmp_path / "whole.vti"), pyvista.read(tmp_path / "all.pvti")
    assert parallel.n_cells == one.n_cells == int(np.prod(shape)) and parallel.bounds == one.bounds
    for name in whole:
        np.testing.assert_array_equal(np.asarray(parallel.cell_data[name]), np.asarray(one.cell_data[name]))
    assert int(parallel.field_data["phase_AM"][0]) == 1
    np.testing.assert_allclose(parallel.cell_centers().points, one.cell_centers().points)
    with pytest.raises(ValueError, match="has 8 values for 4 cells"):  # a piece holds its own planes only
        write_vti(tmp_path / "bad.vti", (5, 4), 1e-6, {"c": np.zeros(8)}, slab=Slab((5, 4), 4, 5))


def test_checkpoint_pieces_alternate_slots_and_a_mixed_piece_is_refused(tmp_path):
    index = tmp_path / "checkpoint.npz"

    def save(sequence: int, *, ranks: range = range(2)) -> None:  # rank 0 last: it writes the index
        for r in reversed(ranks):
            save_checkpoint(index, fingerprint=SAME, state={"time_s": float(sequence)},
                            own={"c": np.full(3, r + sequence)}, shared={"times": np.arange(sequence)}, ranks=Ranks(SameOnEveryRank(r, 2)), sequence=sequence)

    def load(rank: int) -> Checkpoint:
        return load_checkpoint(index, fingerprint=SAME, difference=difference, ranks=Ranks(SameOnEveryRank(rank, 2)))

    save(1)
    save(2)
    assert {p.name for p in index.with_name("checkpoint_pieces").iterdir()} == {
        f"slot{s}_rank{r}.npz" for s in (0, 1) for r in (0, 1)}
    for r in (0, 1):
        saved = load(r)
        assert saved.sequence == 2 and saved.state == {"time_s": 2.0}
        np.testing.assert_array_equal(saved.arrays["c"], np.full(3, r + 2))
        np.testing.assert_array_equal(saved.arrays["times"], np.arange(2))
    save(3, ranks=range(1, 2))  # rank 1 wrote checkpoint 3 over slot 1, then the run was killed: 2 still whole
    assert load(1).sequence == 2
    shutil.copy(piece_path(index, 1, 1), piece_path(index, 2, 1))  # a piece of another checkpoint
    with pytest.raises(InputError, match=r"slot0_rank1.npz: piece of checkpoint 3 \(rank 1\), but .* is checkpoint 2"):
        load(1)
    with pytest.raises(InputError, match="written by 2 rank\\(s\\) and this run has 1; resume on 2"):
        load_checkpoint(index, fingerprint=SAME, difference=difference, ranks=ONE)


def on_ranks(n: int, out: Path, mode: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([MPIEXEC, "-n", str(n), sys.executable, str(TOY), str(out), mode], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=120)


@pytest.fixture(scope="module")
def serial(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("serial") / "output"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(recorder, "CHECKPOINT_EVERY_S", 0.0)
        toy.main(out, "run", ONE)
    return out


def assert_same_outputs(out: Path, serial: Path, ranks: int) -> None:
    pyvista = pytest.importorskip("pyvista")
    assert (out / "profiles.csv").read_bytes() == (serial / "profiles.csv").read_bytes()
    reader = pyvista.get_reader(out / "fields" / "fields.pvd")
    frames = sorted(p.name for p in (serial / "fields").glob("frame_*.vti"))
    assert [Path(d.path).name for d in reader.datasets] == [f.replace(".vti", ".pvti") for f in frames]
    for number, frame in enumerate(frames):
        one = pyvista.read(serial / "fields" / frame)
        reader.set_active_time_point(number)
        for grid in (pyvista.read(out / "fields" / frame.replace(".vti", ".pvti")), reader.read()[0]):
            assert grid.n_cells == one.n_cells == int(np.prod(toy.SHAPE))
            for name in one.cell_data.keys():
                np.testing.assert_array_equal(np.asarray(grid.cell_data[name]), np.asarray(one.cell_data[name]))
        assert len(list((out / "fields" / frame.replace(".vti", "")).glob("*.vti"))) == ranks
    summary, expected = (json.loads((o / "summary.json").read_text()) for o in (out, serial))
    assert summary["total"] == pytest.approx(expected["total"], rel=1e-12)
    assert not list(out.rglob(".*partial*"))


@pytest.mark.skipif(MPIEXEC is None, reason="needs mpiexec")
def test_two_ranks_stop_fail_resume_and_write_what_one_process_writes(tmp_path, serial):
    out = tmp_path / "output"
    assert on_ranks(2, out, "stop").returncode == 0
    blocked = out / "fields" / "frame_0002" / "frame_0002_1.vti"
    blocked.mkdir(parents=True)  # rank 1 cannot write its piece of the next field frame
    failed = on_ranks(2, out, "resume")
    lines = failed.stderr.splitlines()
    assert failed.returncode == 2 and len(lines) == 1 and str(blocked) in lines[0], failed.stderr
    blocked.rmdir()
    resumed = on_ranks(2, out, "resume")
    assert resumed.returncode == 0, resumed.stderr
    assert_same_outputs(out, serial, 2)
    refused = on_ranks(3, out, "resume")
    lines = refused.stderr.splitlines()
    assert refused.returncode == 2 and lines == [
        f"twifli: error: {out / 'checkpoint.npz'}: cannot resume: the checkpoint was written by 2 rank(s) and this "
        "run has 3; resume on 2 (`mpiexec -n 2`) or run without --resume"], refused.stderr


@pytest.mark.skipif(MPIEXEC is None, reason="needs mpiexec")
def test_three_uneven_ranks_write_what_one_process_writes(tmp_path, serial):
    done = on_ranks(3, tmp_path / "output", "run")
    assert done.returncode == 0, done.stderr
    assert_same_outputs(tmp_path / "output", serial, 3)
    meshio = pytest.importorskip("meshio")
    assert frame_file(tmp_path / "output").name == "frame_0004.pvti"  # `twifli export` takes the parallel frame
    one, three = (meshio.read(export_frame(frame_file(o), tmp_path / f"{n}.vtu"))
                  for n, o in (("one", serial), ("three", tmp_path / "output")))
    np.testing.assert_array_equal(three.points, one.points)
    np.testing.assert_array_equal(three.cell_data["cell"][0], one.cell_data["cell"][0])
