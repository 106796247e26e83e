"""Run a protocol: adaptive backward-Euler steps that land on frames, step ends and SOC targets.

The whole loop state is a small :class:`RunState`; saving it with the concentration field at a
frame is a complete checkpoint, and resuming from it repeats the uninterrupted run exactly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from twifli_fv.model.constants import FARADAY
from twifli_fv.solve.twifli import EXHAUSTED, Drive, TwifliSolver

log = logging.getLogger(__name__)
SIGN = {"charge": -1, "discharge": 1, "rest": 0}  # direction of Li change in the AM


@dataclass(frozen=True)
class ProtocolStep:
    """A protocol step with its current resolved to A m^-2 (see :mod:`twifli_fv.model.protocol`)."""

    text: str
    kind: str
    current_density_A_m2: float = 0.0
    duration_s: float | None = None
    until_mean_c_norm: float | None = None
    until_voltage_V: float | None = None  # cell-voltage cut-off (dense-cathode model only)


@dataclass
class RunState:
    """Where a run is: enough, with the concentration field, to resume it exactly."""

    time_s: float = 0.0
    step_index: int = 0
    step_elapsed_s: float = 0.0
    dt_s: float = 1.0
    li_at_step_start_mol: float | None = None
    next_frame_s: float = 0.0
    rate_per_s: float = 0.0  # last observed d(mean c_norm)/dt, to aim at SOC targets
    steps: list[dict] = field(default_factory=list)
    finished: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Stepping:
    frame_interval_s: float = 300.0
    dt_initial_s: float = 1.0
    dt_max_s: float = 300.0
    dt_min_s: float = 1e-6
    growth: float = 2.0
    max_change: float = 0.05  # aim: at most this change of c / c_sat in any cell per step
    target_tol: float = 1e-9


def run_protocol(
    solver: TwifliSolver,
    steps: list[ProtocolStep],
    state: RunState,
    *,
    stepping: Stepping = Stepping(),
    on_frame: Callable[[RunState], None] = lambda state: None,
    on_step: Callable[[RunState], None] = lambda state: None,
) -> RunState:
    """Advance ``solver`` through ``steps`` from ``state``; call ``on_frame`` at every frame time."""
    if state.time_s == 0.0 and state.step_index == 0 and state.next_frame_s == 0.0:
        on_frame(state)
        state.next_frame_s = stepping.frame_interval_s
    while state.step_index < len(steps):
        step = steps[state.step_index]
        drive = Drive(step.kind, step.current_density_A_m2)
        if state.li_at_step_start_mol is None:
            state.li_at_step_start_mol = solver.li_mol()
            state.dt_s = stepping.dt_initial_s
        reason = _end_reason(solver, step, drive, state, stepping)
        while reason is None:
            dt = _next_dt(solver, step, state, stepping)
            before = solver.mean_c_norm()
            sweeps = solver.advance(dt, drive)
            if sweeps is None or _overshoots(solver, step, before, stepping):
                fraction = _target_fraction(solver, step, before) if sweeps is not None else 0.25
                if sweeps is not None:
                    solver.undo()
                state.dt_s = dt * fraction
                if state.dt_s < stepping.dt_min_s:
                    raise RuntimeError(f"time step collapsed below {stepping.dt_min_s} s in {step.text!r} at "
                                       f"t = {state.time_s:.1f} s; the nonlinear sweeps do not converge")
                continue
            solver.stats.steps += 1
            solver.stats.sweeps_per_step.append(sweeps)
            solver.stats.max_sweeps_in_step = max(solver.stats.max_sweeps_in_step, sweeps)
            state.rate_per_s = (solver.mean_c_norm() - before) / dt
            state.time_s += dt
            state.step_elapsed_s += dt
            state.dt_s = _grown(dt, sweeps, solver.last_change, stepping)
            if abs(state.time_s - state.next_frame_s) <= 1e-9 * max(1.0, state.time_s):
                state.time_s = state.next_frame_s
                state.next_frame_s += stepping.frame_interval_s
                on_frame(state)
            on_step(state)
            reason = _end_reason(solver, step, drive, state, stepping)
        state.steps.append(_summarise(solver, step, state, reason))
        log.info("step %d (%s) ended after %.0f s: %s", state.step_index + 1, step.text, state.step_elapsed_s, reason)
        state.step_index += 1
        state.step_elapsed_s = 0.0
        state.li_at_step_start_mol = None
    if state.time_s > state.next_frame_s - stepping.frame_interval_s + 1e-9:
        on_frame(state)  # the final state, between two frame times
    state.finished = True
    return state


def _grown(dt: float, sweeps: int, change: float, stepping: Stepping) -> float:
    """Next step length: aim at ``max_change`` per step, never grow past ``growth`` or ``dt_max_s``."""
    factor = stepping.growth if change <= 0 else min(stepping.growth, max(0.5, 0.9 * stepping.max_change / change))
    if sweeps > 10:
        factor = min(factor, 0.7)
    return min(dt * factor, stepping.dt_max_s)


def _end_reason(solver: TwifliSolver, step: ProtocolStep, drive: Drive, state: RunState, stepping: Stepping) -> str | None:
    if step.duration_s is not None and state.step_elapsed_s >= step.duration_s * (1 - 1e-12):
        return "duration reached"
    target = step.until_mean_c_norm
    if target is not None:
        mean = solver.mean_c_norm()
        if (step.kind == "charge" and mean <= target + stepping.target_tol) or (
            step.kind == "discharge" and mean >= target - stepping.target_tol
        ):
            return f"mean SOC {target:g} reached"
    if step.kind != "rest" and solver.reactivity(drive) < EXHAUSTED:
        what = "empty" if step.kind == "charge" else "full"
        return f"no active interface can react (AM at the AM|SE interfaces is {what}: sum(W s)/S < {EXHAUSTED:g})"
    return None


def _next_dt(solver: TwifliSolver, step: ProtocolStep, state: RunState, stepping: Stepping) -> float:
    limits = [state.dt_s, stepping.dt_max_s, state.next_frame_s - state.time_s]
    if step.duration_s is not None:
        limits.append(step.duration_s - state.step_elapsed_s)
    if step.until_mean_c_norm is not None and step.kind != "rest":
        rate = _expected_rate(solver, step) or state.rate_per_s
        if rate:
            remaining = (step.until_mean_c_norm - solver.mean_c_norm()) / rate
            if remaining > 0:
                limits.append(remaining)
    return max(min(limits), stepping.dt_min_s)


def _expected_rate(solver: TwifliSolver, step: ProtocolStep) -> float:
    """d(mean c_norm)/dt of a galvanostatic step in 'conserve' mode (exact there; 0 = unknown)."""
    model = solver.model
    if model.normalisation != "conserve":
        return 0.0
    li_rate = step.current_density_A_m2 * model.collector_area_m2 / FARADAY
    return SIGN[step.kind] * li_rate / (model.am_volume_m3 * model.c_sat_mol_m3)


def _overshoots(solver: TwifliSolver, step: ProtocolStep, before: float, stepping: Stepping) -> bool:
    target = step.until_mean_c_norm
    if target is None:
        return False
    after = solver.mean_c_norm()
    beyond = target - after if step.kind == "charge" else after - target
    return beyond > stepping.target_tol and (before - target) * (after - target) < 0


def _target_fraction(solver: TwifliSolver, step: ProtocolStep, before: float) -> float:
    after = solver.mean_c_norm()
    return min(max((before - step.until_mean_c_norm) / (before - after), 0.05), 0.999)


def _summarise(solver: TwifliSolver, step: ProtocolStep, state: RunState, reason: str) -> dict:
    return step_record(step, state, reason, collector_area_m2=solver.model.collector_area_m2, li_mol=solver.li_mol(),
                       mean_c_norm=solver.mean_c_norm())


def step_record(step: ProtocolStep, state: RunState, reason: str, *, collector_area_m2: float, li_mol: float,
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

