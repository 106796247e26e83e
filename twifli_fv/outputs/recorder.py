"""One recorder for every model: frames (row-averaged profiles), field files, checkpoints, final outputs.

A run's ``output/`` receives ``profiles.csv`` (row averages of the model's normalised concentration),
``fields/`` (``fields.pvd`` and one ``.vti`` per field frame), ``plots/``, ``checkpoint.npz`` (for
``--resume``) and whatever the model adds (:class:`Recorded`), then ``summary.json``, last.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Protocol

import numpy as np

from twifli_fv.outputs.checkpoint import save_checkpoint
from twifli_fv.outputs.fields import write_pvd
from twifli_fv.outputs.files import write_json
from twifli_fv.outputs.plots import plot_map, plot_profiles
from twifli_fv.outputs.profiles import row_average, write_profiles
from twifli_fv.outputs.vtk import write_vti

CHECKPOINT_EVERY_S = 30.0  # wall time between checkpoints (also one with every field frame)


class Recorded(Protocol):
    """What the recorder needs of a running model (see :mod:`twifli_fv.drivers.run`)."""

    shape: tuple[int, ...]
    voxel_size_m: float
    profile_mask: np.ndarray  # cells averaged per row (AM, or solid)
    profile_label: str  # what the profiles are, for plots
    map_name: str  # file name of the profile map plot
    title: str
    plots: bool
    n_steps: int

    def profile_field(self) -> np.ndarray: ...  # the normalised concentration on the grid

    def at_frame(self, time_s: float) -> None: ...  # record the model's own series

    def field_data(self, step_index: int) -> dict[str, np.ndarray]: ...

    def checkpoint_arrays(self) -> dict[str, np.ndarray]: ...

    def profile_times_s(self, end_s: float) -> list[float]: ...

    def write_outputs(self, out: Path, state, times_s: np.ndarray) -> None: ...  # noqa: ANN001 - RunState

    def summary(self, state) -> dict: ...  # noqa: ANN001 - RunState


class Recorder:
    """Collects frames, writes field frames and checkpoints, then the outputs (rank 0 only writes)."""

    def __init__(self, out: Path, run: Recorded, *, fields_every_s: float, fingerprint: str,
                 writes: bool = True) -> None:
        self.out, self.run, self.writes = out, run, writes
        self.fields_every_s, self.fingerprint = fields_every_s, fingerprint
        self.times: list[float] = []
        self.steps: list[int] = []
        self.profiles: list[np.ndarray] = []
        self.fields: list[tuple[float, str]] = []
        self._saved_at = -np.inf  # wall time (monotonic) of the last checkpoint
        self.y_um = (np.arange(run.shape[0]) + 0.5) * run.voxel_size_m * 1e6

    def frame(self, state) -> None:  # noqa: ANN001 - RunState
        """Record the state at a frame time (once per time), and write a field frame and checkpoint when due."""
        if self.times and abs(self.times[-1] - state.time_s) < 1e-9:
            return
        run = self.run
        self.times.append(state.time_s)
        self.steps.append(min(state.step_index + 1, run.n_steps))
        self.profiles.append(row_average(run.profile_field(), run.profile_mask))
        run.at_frame(state.time_s)
        if not self.writes:
            return
        field = not self.fields or state.time_s >= self.fields[-1][0] + self.fields_every_s - 1e-9
        if field:
            name = f"frame_{len(self.fields):04d}.vti"
            write_vti(self.out / "fields" / name, run.shape, run.voxel_size_m, run.field_data(state.step_index))
            self.fields.append((state.time_s, name))
        if field or time.monotonic() - self._saved_at >= CHECKPOINT_EVERY_S:
            save_checkpoint(self.out / "checkpoint.npz", fingerprint=self.fingerprint, state=state.to_dict(),
                            arrays={**run.checkpoint_arrays(), **self._arrays()})
            self._saved_at = time.monotonic()

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"times": np.array(self.times), "steps": np.array(self.steps), "profiles": np.array(self.profiles),
                "field_times": np.array([t for t, _ in self.fields])}

    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        """Take back the frames of a checkpoint."""
        self.times, self.steps = arrays["times"].tolist(), arrays["steps"].tolist()
        self.profiles = list(arrays["profiles"])
        self.fields = [(t, f"frame_{i:04d}.vti") for i, t in enumerate(arrays["field_times"].tolist())]

    def finish(self, state) -> dict:  # noqa: ANN001 - RunState
        """Write every output, ``summary.json`` last; the summary."""
        run = self.run
        if not self.writes:
            return run.summary(state)
        times, profiles = np.array(self.times), np.array(self.profiles)
        write_profiles(self.out / "profiles.csv", times, np.array(self.steps), self.y_um, profiles)
        write_pvd(self.out / "fields" / "fields.pvd", self.fields)
        run.write_outputs(self.out, state, times)
        if run.plots:
            step_ends = list(np.cumsum([s["duration_s"] for s in state.steps]))
            plot_map(self.out / "plots" / run.map_name, times, self.y_um, profiles, title=run.title,
                     label=run.profile_label, step_ends_s=step_ends)
            plot_profiles(self.out / "plots" / "profiles.png", times, self.y_um, profiles,
                          at_s=run.profile_times_s(float(times[-1])), title=run.title)
        summary = run.summary(state)
        write_json(self.out / "summary.json", summary)
        return summary
