"""Run a case directory, whatever its model: case.toml -> prepared run -> protocol loop -> recorder.

``[model] kind`` picks the preparation (:mod:`twifli_fv.drivers.twifli_case` or
:mod:`twifli_fv.drivers.dense_case`); everything else (output clean-up, checkpoint and ``--resume``,
progress, the protocol loop of :mod:`twifli_fv.solve.stepping`, the :class:`~twifli_fv.outputs.recorder.Recorder`)
is the same for every model.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path

from twifli_fv.case import Case, load_case
from twifli_fv.drivers.dense_case import prepare_dense
from twifli_fv.drivers.twifli_case import prepare_twifli
from twifli_fv.errors import InputError
from twifli_fv.outputs.checkpoint import load_checkpoint
from twifli_fv.outputs.progress import ProgressBar
from twifli_fv.outputs.recorder import Recorder
from twifli_fv.solve.petsc_env import rank, world
from twifli_fv.solve.stepping import RunState, run_protocol

log = logging.getLogger(__name__)
PREPARE = {"twifli": prepare_twifli, "dense": prepare_dense}


def prepare(case: Case):  # noqa: ANN201 - TwifliRun | DenseRun
    """The case's model, checked and ready to start, before any output is touched."""
    kind = case.get("model", "kind", "twifli")
    if kind == "dense" and world().getSize() > 1:
        raise InputError(f"{case.directory / case.file}: the dense-cathode model runs on one process; run it "
                         "without mpiexec (`twifli sweep --jobs N` runs several cases side by side)")
    return PREPARE[kind](case)


def fingerprint(case: Case, data: bytes) -> str:
    """What a checkpoint must match to be resumed: the case file and the grid the run was built on."""
    return hashlib.sha256((case.directory / case.file).read_bytes() + data).hexdigest()


def run_case(directory: str | Path, *, resume: bool = False, progress: bool = True) -> dict:
    """Run (or resume) the case in ``directory``; returns the summary written to ``output/summary.json``."""
    case = load_case(directory)
    run = prepare(case)
    out = case.output
    writes = rank() == 0  # under mpiexec every rank runs the case; rank 0 writes and shows progress
    digest = fingerprint(case, run.fingerprint_data)
    recorder = Recorder(out, run, fields_every_s=case.positive("output", "fields_interval_s", 3600.0),
                        fingerprint=digest, writes=writes)
    state = RunState()
    if resume:
        saved, arrays = load_checkpoint(out / "checkpoint.npz", fingerprint=digest)
        state = RunState(**saved)
        run.start(arrays)
        recorder.restore(arrays)
        log.info("resuming %s at t = %.0f s (step %d)", case.directory.name, state.time_s, state.step_index + 1)
    else:
        if out.exists() and writes:
            shutil.rmtree(out)  # a fresh run never leaves an older, complete-looking output beside it
        run.start(None)
    bar = ProgressBar(run.total_time_s, enabled=progress and writes)

    def on_step(current: RunState, attempt) -> None:  # noqa: ANN001 - Attempt
        run.at_step(current, attempt)
        bar.update(current.time_s, run.steps[current.step_index].text)

    state = run_protocol(run.stepper, run.steps, state, on_frame=recorder.frame, on_step=on_step)
    bar.close()
    return recorder.finish(state)
