"""Run a case directory, whatever its model: case.toml -> prepared run -> protocol loop -> recorder.

``[model] kind`` picks the preparation (:mod:`twifli_fv.drivers.twifli_case` or
:mod:`twifli_fv.drivers.dense_case`); everything else (output clean-up, checkpoint and ``--resume``,
the output lock, progress, the protocol loop of :mod:`twifli_fv.solve.stepping`, the :class:`~twifli_fv.outputs.recorder.Recorder`)
is the same for every model.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from pathlib import Path

from twifli_fv.case import Case, load_case
from twifli_fv.drivers.dense_case import prepare_dense
from twifli_fv.drivers.fingerprint import difference, fingerprint
from twifli_fv.drivers.output_owner import OutputOwner
from twifli_fv.drivers.twifli_case import prepare_twifli
from twifli_fv.errors import InputError, NumericalError
from twifli_fv.outputs.checkpoint import load_checkpoint
from twifli_fv.outputs.progress import ProgressBar
from twifli_fv.outputs.recorder import Recorder
from twifli_fv.ranks import Ranks
from twifli_fv.solve.petsc_env import ranks, world
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


def run_case(directory: str | Path, *, resume: bool = False, progress: bool = True) -> dict:
    """Run (or resume) the case in ``directory``; returns the summary written to ``output/summary.json``.

    The run owns ``output/`` while it runs (:class:`~twifli_fv.drivers.output_owner.OutputOwner`); a numerical
    failure becomes a :class:`NumericalError` saying where it happened and what to try.
    """
    case = load_case(directory)
    run = prepare(case)
    out = case.output
    every = ranks()
    writes = every.rank == 0  # under mpiexec every rank runs the case; rank 0 writes and shows progress
    digest = fingerprint(case, run.fingerprint_data, ranks=run.ranks)
    owner = OutputOwner(out) if writes else None
    every.together(lambda: owner and owner.claim(fresh=not resume), errors=(InputError,))
    recorder = Recorder(out, run, fields_every_s=case.positive("output", "fields_interval_s"),
                        fingerprint=digest, writes=writes)
    with owner or nullcontext():
        return _run(case, run, recorder, resume=resume, progress=progress and writes)


def _run(case: Case, run, recorder: Recorder, *, resume: bool, progress: bool) -> dict:  # noqa: ANN001
    state = RunState()
    if resume:
        saved = load_checkpoint(case.output / "checkpoint.npz", fingerprint=recorder.fingerprint,
                                difference=difference, ranks=run.ranks)
        state = RunState(**saved.state)
        run.start(saved.arrays)
        recorder.restore(saved)
        log.info("resuming %s at t = %.0f s (step %d)", case.directory.name, state.time_s, state.step_index + 1)
    else:
        run.start(None)
    bar = ProgressBar(run.total_time_s, enabled=progress)

    def on_step(current: RunState, attempt) -> None:  # noqa: ANN001 - Attempt
        run.at_step(current, attempt)
        bar.update(current.time_s, run.steps[current.step_index].text)

    try:
        every = ranks()
        state = run_protocol(run.stepper, run.steps, state, on_frame=_on_every_rank(recorder.frame, every),
                             on_step=on_step, on_step_end=_on_every_rank(recorder.step_end, every))
    except NumericalError as exc:
        bar.close()
        raise NumericalError(_failure(case, run, state, recorder, exc)) from exc
    bar.close(finished=state.finished)
    return recorder.finish(state)


def _on_every_rank(record, every: Ranks):  # noqa: ANN001, ANN202 - a recorder method taking the RunState
    """``record`` such that a failed write on any of ``every`` rank stops them all (none is left waiting in a
    solve). ``every`` is all the processes, also when only rank 0 writes (a model not distributed over them)."""

    def recorded(current: RunState) -> None:
        every.together(lambda: record(current))

    return recorded


def _failure(case: Case, run, state: RunState, recorder: Recorder, exc: NumericalError) -> str:  # noqa: ANN001
    """One line: what failed, where, the checkpoint to resume from and what to try."""
    step = run.steps[min(state.step_index, len(run.steps) - 1)]
    where = f"in step {state.step_index + 1} ('{step.text}') at t = {state.time_s:.1f} s"
    if recorder.checkpoint_s is not None:
        resume = (f"{case.output / 'checkpoint.npz'} holds t = {recorder.checkpoint_s:.1f} s: change [solver] in "
                  f"{case.directory / case.file} and run `twifli run {case.directory} --resume`")
    else:
        resume = "no checkpoint was written yet"
    hint = ("try a smaller [solver] dt_max_s or dt_initial_s, a tighter linear_tol, or a lower rate"
            if case.get("model", "kind") == "twifli" else "try a smaller [solver] dt_max_s or max_change")
    return f"numerical failure {where}: {exc}; {resume}; {hint}"
