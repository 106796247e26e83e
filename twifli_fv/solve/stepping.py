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
from dataclasses import dataclass, field
from typing import Any

from twifli_fv.model.protocol import Step

log = logging.getLogger(__name__)
SIGN = {"charge": -1, "discharge": 1, "rest": 0}  # direction of Li change in the AM


@dataclass
class SolverStats:
    """Counts a solver keeps (a model's solver adds its own)."""

    steps: int = 0
    rejected: int = 0


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


class Stepper:
    """What the loop needs of a model: its solver's state, step-length policy and end events.

    A model's stepper is a dataclass with ``solver`` and ``stepping`` that adds ``attempt(dt, step, state) ->
    Attempt`` (a trial step), ``mean()`` (the mean lithiation a step's ``until_lithiation`` aims at),
    ``wanted_dt(state)`` (its policy's step length) and ``rate(step, state)`` (the d(mean)/dt expected, 0 if unknown),
    and may add end events; the rest is the same for every model.
    """

    solver: Any  # the model's solver (its li_mol() and model.collector_area_m2)
    stepping: Stepping
    target_name: str = "mean SOC"  # what a step's until_lithiation aims at, in end reasons

    def li_mol(self) -> float:
        return self.solver.li_mol()

    def end_reason(self, step: Step, state: RunState) -> str | None:
        """Why ``step`` ends now: its duration is over or its mean-lithiation target reached; else None."""
        if step.duration_s is not None and state.step_elapsed_s >= step.duration_s * (1 - 1e-12):
            return "duration reached"
        target, tol = step.until_lithiation, self.stepping.target_tol
        if target is not None:
            mean = self.mean()
            if (step.kind == "charge" and mean <= target + tol) or (step.kind == "discharge" and mean >= target - tol):
                return f"{self.target_name} {target:g} reached"
        return None

    def next_dt(self, step: Step, state: RunState) -> float:
        """The wanted step length cut to land on the next frame, the step's end and its mean-lithiation target."""
        limits = [self.wanted_dt(state), state.next_frame_s - state.time_s]
        if step.duration_s is not None:
            limits.append(step.duration_s - state.step_elapsed_s)
        if step.until_lithiation is not None:
            rate = self.rate(step, state)
            remaining = (step.until_lithiation - self.mean()) / rate if rate else 0.0
            limits += [remaining] if remaining > 0 else []
        return max(min(limits), self.stepping.dt_min_s)

    def record(self, step: Step, state: RunState, reason: str) -> dict:
        """What a finished protocol step did: charge passed (positive on charge), Li change, end state and reason."""
        area = self.solver.model.collector_area_m2
        charge = -SIGN[step.kind] * step.current_density_A_m2 * area * state.step_elapsed_s
        change = self.li_mol() - state.li_at_step_start_mol
        return {
            "text": step.text,
            "kind": step.kind,
            "duration_s": state.step_elapsed_s,
            "current_density_A_m2": step.current_density_A_m2,
            "charge_C": charge,
            "li_change_mol": change,
            "charge_C_m2": charge / area,
            "li_change_mol_m2": change / area,
            "mean_c_norm_end": self.mean(),
            "end_reason": reason,
        }


def run_protocol(
    stepper: Stepper,
    steps: list[Step],
    state: RunState,
    *,
    on_frame: Callable[[RunState], None] = lambda state: None,
    on_step: Callable[[RunState, Attempt], None] = lambda state, attempt: None,
    on_step_end: Callable[[RunState], None] = lambda state: None,
) -> RunState:
    """Advance through ``steps`` from ``state``; ``on_step`` after every kept step, ``on_frame`` at frame times,
    ``on_step_end`` when a protocol step ends (``state.step_index`` still the ended step's; the last one's end
    is the run's end)."""
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
        on_step_end(state)
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
