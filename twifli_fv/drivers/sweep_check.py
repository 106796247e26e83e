"""What a sweep checks before any point runs, and the numbers a run reports (``sweep.csv``'s columns).

A multi-run command must fail on its own inputs, not once per point: :func:`check_base` prepares the
base case as ``twifli run`` would (every input file found, every value valid, so a missing file is named
as the user wrote it) and checks ``--quantity`` against the numbers a run of that model reports, read
from a summary of the prepared, not yet run, case (:func:`reported_quantities`).
"""

from __future__ import annotations

from typing import Any

from twifli_fv.case import Case
from twifli_fv.errors import InputError, did_you_mean

RUN_QUANTITIES = ("end_spread_c_norm", "wall_time_s")  # from a point's profiles.csv and timing, not its summary


def check_base(base: Case, quantity: str | None) -> None:
    """Raise the base case's one-line error (as ``twifli run`` would), or an unknown ``quantity``'s."""
    from twifli_fv.drivers.run import prepare  # the solver stack, loaded only by a command that runs cases

    run = prepare(base)
    if quantity is None:
        return
    known = reported_quantities(run)
    if quantity not in known:
        hint = did_you_mean(quantity, known, listing="numbers")
        raise InputError(f"--quantity {quantity!r}: not a number that a run of {base.directory} reports{hint}")


def reported_quantities(run) -> list[str]:  # noqa: ANN001 - a prepared TwifliRun | DenseRun
    """The numeric columns a point of this prepared case gets: its summary before a single time step
    (each protocol step recorded at zero length; a value only a run can know counts as a number)."""
    from twifli_fv.solve.stepping import RunState

    run.start(None)
    state = RunState(li_at_step_start_mol=run.stepper.li_mol())
    state.steps = [run.stepper.record(step, state, "not run") for step in run.steps]
    row = summary_row(run.summary(state))
    return [name for name, value in row.items() if value is None or number(value)] + list(RUN_QUANTITIES)


def summary_row(summary: dict) -> dict[str, Any]:
    """The numbers of a run's ``summary.json`` as one flat row: top-level numbers, each step's numbers, kind
    and end reason (``stepN_...``), ``end_reason`` and ``end_mean_depletion`` (1 - mean c/c_sat after the
    last step; the AM-weighted mean of the run summary). Values not known yet (None) are kept."""
    row = {key: value for key, value in summary.items() if value is None or number(value)}
    steps = summary.get("steps") or []
    for index, step in enumerate(steps, 1):
        row |= {f"step{index}_{key}": value for key, value in step.items()
                if value is None or number(value) or key in ("kind", "end_reason")}
    last = steps[-1] if steps else summary
    if isinstance(last.get("end_reason"), str):
        row["end_reason"] = last["end_reason"]
    if number(last.get("mean_c_norm_end")):
        row["end_mean_depletion"] = 1.0 - last["mean_c_norm_end"]
    return row


def number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
