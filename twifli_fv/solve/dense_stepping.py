"""Run a protocol on a dense cell: adaptive implicit steps ending on durations, mean-x targets and
voltage cut-offs (paper 2, Fig 3c: galvanostatic discharge to a cut-off).

Step lengths are ``dt_max / 2^k`` (so factorisations are reused) cut to land on frames, step ends and
targets; they grow while the largest change of ``x = c / c_max`` in a cell stays under ``max_change``
and the voltage moves less than ``max_voltage_change_V``. A step that crosses a cut-off is not
kept: its length is re-aimed (secant on the voltage) until the crossing lands within ``voltage_tol_V``.
The loop state is the shared :class:`~twifli_fv.solve.stepping.RunState`, so a frame's checkpoint
resumes the run exactly.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from twifli_fv.model.constants import FARADAY
from twifli_fv.solve.dense import DenseSolver, DenseStep
from twifli_fv.solve.stepping import SIGN, ProtocolStep, RunState, step_record

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DenseStepping:
    frame_interval_s: float = 300.0
    dt_initial_s: float = 1.0
    dt_max_s: float = 300.0
    dt_min_s: float = 1e-3
    max_change: float = 0.02
    max_voltage_change_V: float = 0.02
    voltage_tol_V: float = 1e-3


def run_dense_protocol(
    solver: DenseSolver,
    steps: list[ProtocolStep],
    state: RunState,
    *,
    stepping: DenseStepping = DenseStepping(),
    on_frame: Callable[[RunState], None] = lambda state: None,
    on_step: Callable[[RunState, DenseStep], None] = lambda state, step: None,
) -> RunState:
    """Advance through ``steps``; ``on_step`` after every kept step, ``on_frame`` at frame times and step ends."""
    if state.time_s == 0.0 and state.step_index == 0 and state.next_frame_s == 0.0:
        on_frame(state)
        state.next_frame_s = stepping.frame_interval_s
    while state.step_index < len(steps):
        step = steps[state.step_index]
        current = SIGN[step.kind] * step.current_density_A_m2  # + discharge (Li into the cathode)
        if state.li_at_step_start_mol is None:
            state.li_at_step_start_mol = solver.li_mol()
            state.dt_s = stepping.dt_initial_s
        reason = _target_reached(solver, step, state)
        while reason is None:
            dt = _next_dt(solver, step, state, stepping, current)
            trial = solver.solve_step(dt, current)
            if trial is None:
                state.dt_s = dt * 0.25
                if state.dt_s < stepping.dt_min_s:
                    what = "full (x -> 1)" if current > 0 else "empty (x -> 0)"
                    reason = f"the contacts cannot carry the current: the cathode at the interface is {what}"
                continue
            crossed = _crossed(step, trial)
            if crossed and abs(trial.voltage_V - step.until_voltage_V) > stepping.voltage_tol_V and dt > stepping.dt_min_s:
                before = solver.voltage if solver.voltage is not None else float(
                    np.mean(solver.cell.ocp(trial.x_surface))) - solver.cell.counter_potential_V
                span = before - trial.voltage_V
                aim = (before - step.until_voltage_V) / span if span else 0.5
                state.dt_s = dt * min(max(aim, 0.05), 0.9)
                continue
            change = float(np.max(np.abs(trial.c - solver.c))) / solver.cell.c_max_mol_m3
            voltage_change = abs(trial.voltage_V - solver.voltage) if solver.voltage is not None else 0.0
            solver.commit(trial)
            state.time_s += dt
            state.step_elapsed_s += dt
            state.dt_s = _grown(dt, change, voltage_change, stepping)
            on_step(state, trial)
            if abs(state.time_s - state.next_frame_s) <= 1e-9 * max(1.0, state.time_s):
                state.time_s = state.next_frame_s
                state.next_frame_s += stepping.frame_interval_s
                on_frame(state)
            reason = f"cut-off {step.until_voltage_V:g} V reached" if crossed else _target_reached(solver, step, state)
        state.steps.append(_summarise(solver, step, state, reason))
        log.info("step %d (%s) ended after %.0f s: %s", state.step_index + 1, step.text, state.step_elapsed_s, reason)
        state.step_index += 1
        state.step_elapsed_s = 0.0
        state.li_at_step_start_mol = None
        on_frame(state)
    state.finished = True
    return state


def _crossed(step: ProtocolStep, trial: DenseStep) -> bool:
    cut = step.until_voltage_V
    if cut is None or step.kind == "rest":
        return False
    return trial.voltage_V <= cut if step.kind == "discharge" else trial.voltage_V >= cut


def _target_reached(solver: DenseSolver, step: ProtocolStep, state: RunState) -> str | None:
    if step.duration_s is not None and state.step_elapsed_s >= step.duration_s * (1 - 1e-12):
        return "duration reached"
    target = step.until_mean_c_norm
    if target is not None:
        mean = solver.mean_x()
        if (step.kind == "charge" and mean <= target + 1e-9) or (step.kind == "discharge" and mean >= target - 1e-9):
            return f"mean x {target:g} reached"
    return None


def _next_dt(solver: DenseSolver, step: ProtocolStep, state: RunState, stepping: DenseStepping, current: float) -> float:
    wanted = min(state.dt_s, stepping.dt_max_s)
    dt = stepping.dt_max_s / 2 ** max(0, math.ceil(math.log2(stepping.dt_max_s / wanted) - 1e-9))
    limits = [dt, state.next_frame_s - state.time_s]
    if step.duration_s is not None:
        limits.append(step.duration_s - state.step_elapsed_s)
    if step.until_mean_c_norm is not None and current != 0:
        cell = solver.cell
        rate = current * cell.collector_area_m2 / (FARADAY * cell.solid_volume_m3 * cell.c_max_mol_m3)
        remaining = (step.until_mean_c_norm - solver.mean_x()) / rate
        if remaining > 0:
            limits.append(remaining)
    return max(min(limits), stepping.dt_min_s)


def _grown(dt: float, change: float, voltage_change: float, stepping: DenseStepping) -> float:
    factor = 2.0
    if change > 0:
        factor = min(factor, 0.9 * stepping.max_change / change)
    if voltage_change > 0:
        factor = min(factor, 0.9 * stepping.max_voltage_change_V / voltage_change)
    return min(dt * max(factor, 0.3), stepping.dt_max_s)


def _summarise(solver: DenseSolver, step: ProtocolStep, state: RunState, reason: str) -> dict:
    cell = solver.cell
    record = step_record(step, state, reason, collector_area_m2=cell.collector_area_m2, li_mol=solver.li_mol(),
                         mean_c_norm=solver.mean_x())
    return record | {"capacity_mAh_g": abs(record["charge_C"]) / 3.6 / (cell.am_mass_kg * 1e3),
                     "end_voltage_V": solver.voltage}
