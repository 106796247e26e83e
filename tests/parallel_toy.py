"""A toy distributed run for the recorder, run as ``[mpiexec -n P] python tests/parallel_toy.py OUT MODE``.

Each rank owns a slab of planes of a small 3D grid (:func:`~twifli_fv.image.slab.split_planes`) and knows its
field only there: ``f(t, g)`` of the global C-order cell index ``g``, so every rank count must write the same
profiles and fields as one process. MODE ``run`` records every event and finishes, ``stop`` stops after the frame
at :data:`STOP_S` (as a killed run would), ``resume`` continues from the checkpoint. Errors are said once, as the
CLI says them: one line on rank 0, exit 2.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import twifli_fv.outputs.recorder as recorder
from twifli_fv.drivers.fingerprint import difference
from twifli_fv.errors import InputError
from twifli_fv.image.slab import Slab, split_planes
from twifli_fv.image.voxels import VoxelGrid
from twifli_fv.outputs.checkpoint import load_checkpoint
from twifli_fv.outputs.recorder import Recorder
from twifli_fv.ranks import Ranks
from twifli_fv.solve.stepping import RunState

SHAPE = (7, 3, 4)  # 7 planes: 4 + 3 on two ranks, 3 + 2 + 2 on three
EVENTS = [(0.0, "frame"), (10.0, "frame"), (20.0, "frame"), (30.0, "frame"), (30.0, "end"), (40.0, "frame"),
          (50.0, "frame"), (50.0, "end")]
STOP_S = 20.0
FINGERPRINT = {"format": 0, "case": "toy", "grid": "toy", "inputs": {}}


def field(time_s: float, cells: np.ndarray) -> np.ndarray:
    return 0.5 + 0.4 * np.sin(0.3 * cells + 0.02 * time_s)


@dataclass(frozen=True)
class ToyGrid(VoxelGrid):
    slab: Slab
    voxel_size_m: float = 0.5e-6

    @property
    def shape(self) -> tuple[int, ...]:
        return self.slab.shape

    @property
    def ndim(self) -> int:
        return len(self.slab.shape)


class ToyRun:
    """The :class:`~twifli_fv.outputs.recorder.Recorded` contract on a slab: arrays of the owned planes only."""

    profile_label, map_name, title, plots, n_steps = "toy", "toy.png", "toy", False, 2

    def __init__(self, ranks: Ranks) -> None:
        self.ranks, self.time_s = ranks, 0.0
        self.grid = ToyGrid(split_planes(SHAPE, ranks=ranks))
        slab = self.grid.slab
        plane = int(np.prod(SHAPE[1:]))
        self.cells = np.arange(slab.lo * plane, slab.hi * plane).reshape(slab.local_shape)
        self.profile_mask = (self.cells % 5 != 0) & (self.cells // plane != 2)  # plane 2 has no cell: no row
        self.field_constants = {"phase_AM": 1}

    def start(self, arrays: dict[str, np.ndarray] | None) -> None:
        if arrays is not None:  # this rank's own piece, of the checkpoint's time
            np.testing.assert_array_equal(arrays.pop("c"), field(float(arrays.pop("time_s")), self.cells))

    def profile_field(self) -> np.ndarray:
        return field(self.time_s, self.cells)

    def at_frame(self, time_s: float) -> None:
        """Nothing of its own to record."""

    def field_data(self, state: RunState) -> dict[str, np.ndarray]:
        c = field(state.time_s, self.cells)
        return {"c": c.ravel(), "c_norm": np.where(self.profile_mask, c, np.nan), "cell": self.cells,
                "am": self.profile_mask}

    def checkpoint_arrays(self) -> dict[str, np.ndarray]:
        return {"c": field(self.time_s, self.cells), "time_s": np.array(self.time_s)}

    def profile_times_s(self, end_s: float) -> list[float]:
        return [0.0, end_s]

    def write_outputs(self, out: Path, state: RunState, times_s: np.ndarray) -> None:
        """No outputs of its own."""

    def summary(self, state: RunState) -> dict:
        return {"end_time_s": state.time_s, "total": float(self.ranks.sum(field(state.time_s, self.cells).sum()))}


def main(out: Path, mode: str, ranks: Ranks) -> Recorder:
    """Record the toy's events (``recorder.CHECKPOINT_EVERY_S = 0``: a checkpoint at every frame)."""
    run = ToyRun(ranks)
    rec = Recorder(out, run, fields_every_s=20.0, fingerprint=FINGERPRINT, writes=ranks.rank == 0)
    start_s = -1.0
    if mode == "resume":
        saved = load_checkpoint(out / "checkpoint.npz", fingerprint=FINGERPRINT, difference=difference, ranks=ranks)
        run.start(saved.arrays)
        rec.restore(saved)
        start_s = saved.state["time_s"]
    for time_s, event in EVENTS:
        if time_s < start_s:
            continue
        run.time_s = time_s
        state = RunState(time_s=time_s, step_index=int(time_s > 30.0), finished=event == "end" and time_s == 50.0)
        rec.frame(state) if event == "frame" else rec.step_end(state)
        if mode == "stop" and time_s == STOP_S:
            return rec
    rec.finish(state)
    return rec


if __name__ == "__main__":
    from twifli_fv.solve.petsc_env import ranks as world_ranks

    recorder.CHECKPOINT_EVERY_S = 0.0  # both slots of checkpoint pieces in turn
    every = world_ranks()
    try:
        done = main(Path(sys.argv[1]), sys.argv[2], every)
        assert len(set(every.gather(np.array(done.profiles).tobytes()))) == 1, "ranks hold different profiles"
    except (InputError, OSError) as exc:
        if every.rank == 0:
            print(f"twifli: error: {exc}", file=sys.stderr)
        sys.exit(2)
