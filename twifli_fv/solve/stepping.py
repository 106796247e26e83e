"""Run a protocol, for every model: adaptive implicit steps that land on frames, step ends and targets.

The loop is the same for every model; a model plugs in through a small :class:`Stepper` (its solver
plus its step-length policy and end events: :mod:`twifli_fv.solve.twifli_stepping`,
:mod:`twifli_fv.solve.dense_stepping`). The whole loop state is a small :class:`RunState`; saving it
with the model's fields at a frame is a complete checkpoint, and resuming from it repeats the
uninterrupted run exactly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from twifli_fv.model.protocol import Step

log = logging.getLogger(__name__)
SIGN = {"charge": -1, "discharge": 1, "rest": 0}  # direction of Li change in the AM


@dataclass
class RunState:
    """Where a run is: enough, with the model's fields, to resume it exactly."""

    time_s: float = 0.0
    step_index: int = 0
    step_elapsed_s: float = 0.0
    dt_s: float = 1.0
    li_at_step_start_mol: float | None = None
    next_frame_s: float = 0.0
    rate_per_s: float = 0.0  # last observed d(mean lithiation)/dt, to aim at targets
    steps: list[dict] = field(default_factory=list)
    finished: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Stepping:
    """Step-length settings shared by every model (a model's policy may add its own)."""

    frame_interval_s: float = 300.0
    dt_initial_s: float = 1.0
    dt_max_s: float = 300.0
    dt_min_s: float = 1e-6
    max_change: float = 0.05  # aim: at most this change of c / c_sat (or x) in any cell per step
    target_tol: float = 1e-9  # a mean-lithiation target counts as reached this close
    frames_at_step_ends: bool = False  # also record a frame when a protocol step ends


@dataclass(frozen=True)
class Attempt:
    """The outcome of one trial step: kept or not, the next step length, and why to stop (if so)."""

    accepted: bool
    dt_next_s: float
    stop: str | None = None  # a rejected step that ends the protocol step
    detail: Any = None  # what the model reports about the kept step (e.g. the dense model's voltages)


class Stepper(Protocol):
    """What the loop needs of a model: its solver's state, step-length policy and end events."""

    stepping: Stepping

    def li_mol(self) -> float: ...

    def end_reason(self, step: Step, state: RunState) -> str | None: ...

    def next_dt(self, step: Step, state: RunState) -> float: ...

    def attempt(self, dt: float, step: Step, state: RunState) -> Attempt: ...

    def record(self, step: Step, state: RunState, reason: str) -> dict: ...


def run_protocol(
    stepper: Stepper,
    steps: list[Step],
    state: RunState,
    *,
    on_frame: Callable[[RunState], None] = lambda state: None,
    on_step: Callable[[RunState, Attempt], None] = lambda state, attempt: None,
) -> RunState:
    """Advance through ``steps`` from ``state``; ``on_step`` after every kept step, ``on_frame`` at frame times."""
    stepping = stepper.stepping
    if state.time_s == 0.0 and state.step_index == 0 and state.next_frame_s == 0.0:
        on_frame(state)
        state.next_frame_s = stepping.frame_interval_s
    while state.step_index < len(steps):
        step = steps[state.step_index]
        if state.li_at_step_start_mol is None:
            state.li_at_step_start_mol = stepper.li_mol()
            state.dt_s = stepping.dt_initial_s
        reason = stepper.end_reason(step, state)
        while reason is None:
            dt = stepper.next_dt(step, state)
            attempt = stepper.attempt(dt, step, state)
            state.dt_s = attempt.dt_next_s
            if not attempt.accepted:
                reason = attempt.stop
                continue
            state.time_s += dt
            state.step_elapsed_s += dt
            on_step(state, attempt)
            if abs(state.time_s - state.next_frame_s) <= 1e-9 * max(1.0, state.time_s):
                state.time_s = state.next_frame_s
                state.next_frame_s += stepping.frame_interval_s
                on_frame(state)
            reason = stepper.end_reason(step, state)
        state.steps.append(stepper.record(step, state, reason))
        log.info("step %d (%s) ended after %.0f s: %s", state.step_index + 1, step.text, state.step_elapsed_s, reason)
        state.step_index += 1
        state.step_elapsed_s = 0.0
        state.li_at_step_start_mol = None
        if stepping.frames_at_step_ends:
            on_frame(state)
    if state.time_s > state.next_frame_s - stepping.frame_interval_s + 1e-9:
        on_frame(state)  # the final state, between two frame times
    state.finished = True
    return state


def step_record(step: Step, state: RunState, reason: str, *, collector_area_m2: float, li_mol: float,
                mean_c_norm: float) -> dict:
    """What a finished protocol step did: charge passed (positive on charge), Li change, end state and reason."""
    charge = -SIGN[step.kind] * step.current_density_A_m2 * collector_area_m2 * state.step_elapsed_s
    change = li_mol - state.li_at_step_start_mol
    return {
        "text": step.text,
        "kind": step.kind,
        "duration_s": state.step_elapsed_s,
        "current_density_A_m2": step.current_density_A_m2,
        "charge_C": charge,
        "li_change_mol": change,
        "charge_C_m2": charge / collector_area_m2,
        "li_change_mol_m2": change / collector_area_m2,
        "mean_c_norm_end": mean_c_norm,
        "end_reason": reason,
    }
