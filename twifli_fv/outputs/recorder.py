"""One recorder for every model: frames (row-averaged profiles), field files, checkpoints, final outputs.

A run's ``output/`` receives ``profiles.csv`` (row averages of the model's normalised concentration), ``fields/``
(``fields.pvd`` and one ``.vti`` per field frame: every ``fields_every_s`` and at the end of every protocol step, so
the last one is the run's final state), ``plots/``, ``checkpoint.npz`` (for ``--resume``) and whatever the model adds
(:class:`Recorded`), then ``summary.json``, last.

Under ``mpiexec`` with a distributed model (``run.ranks`` of several ranks, each owning a slab of planes of
``run.grid``) the recorder is collective: profiles are row averages on each rank's own rows, gathered in plane order,
so every rank holds the same frames; field frames and checkpoints are written in pieces; rank 0 writes the rest.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Protocol

import numpy as np

from twifli_fv.image.voxels import VoxelGrid
from twifli_fv.outputs.checkpoint import Checkpoint, save_checkpoint
from twifli_fv.outputs.files import write_json
from twifli_fv.outputs.plots import plot_map, plot_profiles
from twifli_fv.outputs.profiles import row_average, write_profiles
from twifli_fv.outputs.vtk import frame_name, write_frame, write_pvd
from twifli_fv.ranks import ONE, Ranks

CHECKPOINT_EVERY_S = 30.0  # wall time between checkpoints (also one with every field frame)


class Recorded(Protocol):
    """What the recorder needs of a running model (see :mod:`twifli_fv.drivers.run`). With several ``ranks`` every
    array (``profile_field``, ``profile_mask``, ``field_data``, ``checkpoint_arrays``) is of this rank's own planes
    (``grid.slab.local_shape``, or flat in C order); ``write_outputs`` runs on rank 0 alone."""

    ranks: Ranks = ONE  # the processes the model is distributed over (ONE: one process holds every cell)
    grid: VoxelGrid  # the image or grain map the run is on (its ``slab``, if any, this rank's planes)
    profile_mask: np.ndarray  # cells averaged per row (AM, or solid)
    profile_label: str  # what the profiles are, for plots
    map_name: str  # file name of the profile map plot
    title: str
    plots: bool
    n_steps: int

    def profile_field(self) -> np.ndarray: ...  # the normalised concentration on the (own planes of the) grid

    def at_frame(self, time_s: float) -> None:
        """Record the model's own series at a frame (nothing unless it has one)."""

    def field_data(self, state) -> dict[str, np.ndarray]: ...  # noqa: ANN001 - RunState

    @property
    def field_constants(self) -> dict[str, int]:
        """One-value field data of every .vti (none unless the model has codes to name, e.g. phase codes)."""
        return {}

    def checkpoint_arrays(self) -> dict[str, np.ndarray]: ...

    def profile_times_s(self, end_s: float) -> list[float]: ...

    def write_outputs(self, out: Path, state, times_s: np.ndarray) -> None: ...  # noqa: ANN001 - RunState

    def summary(self, state) -> dict: ...  # noqa: ANN001 - RunState


class Recorder:
    """The recorder of a run; ``writes``: this process writes the outputs (rank 0; the others only their pieces)."""

    def __init__(self, out: Path, run: Recorded, *, fields_every_s: float, fingerprint: dict,
                 writes: bool = True) -> None:
        self.out, self.run, self.writes, self.ranks = out, run, writes, run.ranks
        self.takes_part = writes or run.ranks.size > 1  # writes the outputs or its pieces of them
        self.fields_every_s, self.fingerprint = fields_every_s, fingerprint
        self.times: list[float] = []
        self.steps: list[int] = []
        self.profiles: list[np.ndarray] = []
        self.fields: list[tuple[float, str]] = []
        self.regular: list[bool] = []  # per field frame: on the fields_every_s cadence (not a step end)
        self._saved_at = -np.inf  # wall time (monotonic) of the last checkpoint
        self.checkpoint_s: float | None = None  # simulated time of the last checkpoint
        self.checkpoints = 0  # sequence number of the last checkpoint
        self.y_um = run.grid.row_centres_m * 1e6

    def frame(self, state) -> None:  # noqa: ANN001 - RunState
        """Record the state at a frame time (once per time), and write a field frame and checkpoint when due."""
        if self.times and abs(self.times[-1] - state.time_s) < 1e-9:
            return
        run = self.run
        self.times.append(state.time_s)
        self.steps.append(min(state.step_index + 1, run.n_steps))
        self.profiles.append(np.concatenate(self.ranks.gather(row_average(run.profile_field(), run.profile_mask))))
        run.at_frame(state.time_s)
        if not self.takes_part:
            return
        cadence = [t for (t, _), regular in zip(self.fields, self.regular) if regular]
        field = not cadence or state.time_s >= cadence[-1] + self.fields_every_s - 1e-9
        if field and not self._has_field(state.time_s):
            self._write_field(state, regular=True)
        if field or self.ranks.broadcast(time.monotonic() - self._saved_at >= CHECKPOINT_EVERY_S):
            self.checkpoints += 1
            save_checkpoint(self.out / "checkpoint.npz", fingerprint=self.fingerprint, state=asdict(state),
                            own=run.checkpoint_arrays(), shared=self._arrays(), ranks=self.ranks,
                            sequence=self.checkpoints)
            self._saved_at, self.checkpoint_s = time.monotonic(), state.time_s

    def step_end(self, state) -> None:  # noqa: ANN001 - RunState
        """At the end of a protocol step (and so of the run): a field frame of that state unless one exists."""
        if self.takes_part and not self._has_field(state.time_s):
            self._write_field(state, regular=False)

    def _has_field(self, time_s: float) -> bool:
        return bool(self.fields) and abs(self.fields[-1][0] - time_s) <= 1e-9 * max(1.0, time_s)

    def _write_field(self, state, *, regular: bool) -> None:  # noqa: ANN001 - RunState
        run = self.run
        name = write_frame(self.out / "fields", len(self.fields), grid=run.grid, cell_data=run.field_data(state),
                           field_data=run.field_constants, ranks=self.ranks)
        self.fields.append((state.time_s, name))
        self.regular.append(regular)

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"times": np.array(self.times), "steps": np.array(self.steps), "profiles": np.array(self.profiles),
                "field_times": np.array([t for t, _ in self.fields]), "field_regular": np.array(self.regular)}

    def restore(self, checkpoint: Checkpoint) -> None:
        """Take back the frames of a checkpoint."""
        arrays = checkpoint.arrays
        self.times, self.steps = arrays["times"].tolist(), arrays["steps"].tolist()
        self.profiles = list(arrays["profiles"])
        self.fields = [(t, frame_name(i, ranks=self.ranks)) for i, t in enumerate(arrays["field_times"].tolist())]
        regular = arrays.get("field_regular")  # absent from checkpoints written before step-end frames
        self.regular = [True] * len(self.fields) if regular is None else regular.astype(bool).tolist()
        self.checkpoints, self.checkpoint_s = checkpoint.sequence, checkpoint.state["time_s"]

    def finish(self, state) -> dict:  # noqa: ANN001 - RunState
        """Write every output, ``summary.json`` last; the summary (on every rank)."""
        self.ranks.together(lambda: self.writes and self._write_outputs(state))
        summary = self.run.summary(state)
        self.ranks.together(lambda: self.writes and write_json(self.out / "summary.json", summary))
        return summary

    def _write_outputs(self, state) -> None:  # noqa: ANN001 - RunState
        run = self.run
        times, profiles = np.array(self.times), np.array(self.profiles)
        write_profiles(self.out / "profiles.csv", times, np.array(self.steps), self.y_um, profiles)
        write_pvd(self.out / "fields" / "fields.pvd", self.fields)
        run.write_outputs(self.out, state, times)
        if run.plots:
            step_ends = list(np.cumsum([s["duration_s"] for s in state.steps]))
            plot_map(self.out / "plots" / run.map_name, times, self.y_um, profiles, title=run.title,
                     label=run.profile_label, step_ends_s=step_ends)
            plot_profiles(self.out / "plots" / "profiles.png", times, self.y_um, profiles,
                          at_s=run.profile_times_s(float(times[-1])), title=run.title, label=run.profile_label)
