"""The dense model's step-length policy and end events for the protocol loop (:mod:`twifli_fv.solve.stepping`;
paper 2, Fig 3c: galvanostatic discharge to a cut-off).

Step lengths are ``dt_max / 2^k`` (so factorisations are reused) cut to land on frames, step ends and
targets; they grow while the largest change of ``x = c / c_max`` in a cell stays under ``max_change``
and the voltage moves less than ``MAX_VOLTAGE_CHANGE_V``. A step that crosses a cut-off is not kept: its
length is re-aimed (secant on the voltage) until the crossing lands within ``VOLTAGE_TOL_V``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twifli_fv.model.constants import FARADAY
from twifli_fv.model.protocol import Step
from twifli_fv.solve.dense import DenseSolver, DenseStep
from twifli_fv.solve.stepping import SIGN, Attempt, RunState, Stepper, Stepping

MAX_VOLTAGE_CHANGE_V = 0.02
VOLTAGE_TOL_V = 1e-3
GROWTH = 2.0
MIN_GROWTH = 0.3
REJECTED_FRACTION = 0.25  # a step whose Newton solve fails is retried this much shorter
DENSE_STEPPING = Stepping(dt_min_s=1e-3, max_change=0.02, frames_at_step_ends=True)  # the dense model's settings


@dataclass
class DenseStepping(Stepper):
    """A :class:`DenseSolver` as the protocol loop's stepper."""

    solver: DenseSolver
    stepping: Stepping = DENSE_STEPPING
    crossed: bool = False  # the last kept step crossed the voltage cut-off
    target_name = "mean x"

    def mean(self) -> float:
        return self.solver.mean_x()

    def end_reason(self, step: Step, state: RunState) -> str | None:
        return f"cut-off {step.until_voltage_V:g} V reached" if self.crossed else super().end_reason(step, state)

    def wanted_dt(self, state: RunState) -> float:
        """``dt_max / 2^k``, at most the step length aimed at."""
        dt_max = self.stepping.dt_max_s
        return dt_max / 2 ** max(0, math.ceil(math.log2(dt_max / min(state.dt_s, dt_max)) - 1e-9))

    def rate(self, step: Step, state: RunState) -> float:
        model = self.solver.model
        volume = float(np.count_nonzero(model.grains.solid)) * model.grains.cell_volume_m3
        return _current(step) * model.collector_area_m2 / (FARADAY * volume * model.c_max_mol_m3)

    def attempt(self, dt: float, step: Step, state: RunState) -> Attempt:
        solver, stepping = self.solver, self.stepping
        current = _current(step)  # + discharge (Li into the cathode)
        trial = solver.solve_step(dt, current)
        if trial is None:
            stop = None
            if dt * REJECTED_FRACTION < stepping.dt_min_s:
                what = "full (x -> 1)" if current > 0 else "empty (x -> 0)"
                stop = f"the contacts cannot carry the current: the cathode at the interface is {what}"
            return Attempt(accepted=False, dt_next_s=dt * REJECTED_FRACTION, stop=stop)
        crossed = _crossed(step, trial)
        if crossed and abs(trial.voltage_V - step.until_voltage_V) > VOLTAGE_TOL_V and dt > stepping.dt_min_s:
            before = solver.voltage if solver.voltage is not None else float(
                np.mean(solver.model.ocp(trial.x_surface))) - solver.model.counter_potential_V
            span = before - trial.voltage_V
            aim = (before - step.until_voltage_V) / span if span else 0.5
            return Attempt(accepted=False, dt_next_s=dt * min(max(aim, 0.05), 0.9))
        change = float(np.max(np.abs(trial.c - solver.c))) / solver.model.c_max_mol_m3
        voltage_change = abs(trial.voltage_V - solver.voltage) if solver.voltage is not None else 0.0
        solver.commit(trial)
        self.crossed = crossed
        return Attempt(accepted=True, dt_next_s=self._grown(dt, change, voltage_change), detail=trial)

    def record(self, step: Step, state: RunState, reason: str) -> dict:
        self.crossed = False
        record = super().record(step, state, reason)
        return record | {"capacity_mAh_g": abs(record["charge_C"]) / 3.6 / (self.solver.model.am_mass_kg * 1e3),
                         "end_voltage_V": self.solver.voltage}

    def _grown(self, dt: float, change: float, voltage_change: float) -> float:
        factors = [0.9 * limit / value for value, limit in ((change, self.stepping.max_change),
                                                            (voltage_change, MAX_VOLTAGE_CHANGE_V)) if value > 0]
        return min(dt * max(min([GROWTH, *factors]), MIN_GROWTH), self.stepping.dt_max_s)


def _current(step: Step) -> float:
    return SIGN[step.kind] * step.current_density_A_m2


def _crossed(step: Step, trial: DenseStep) -> bool:
    cut = step.until_voltage_V
    if cut is None or step.kind == "rest":
        return False
    return trial.voltage_V <= cut if step.kind == "discharge" else trial.voltage_V >= cut
