"""TWIF-Li's step-length policy and end events for the protocol loop (:mod:`twifli_fv.solve.stepping`).

Steps grow by at most ``GROWTH`` while the largest change of c / c_sat in a cell stays near
``max_change`` and the sweeps converge quickly; a step that would pass a mean-SOC target is not kept and
is re-aimed at it; a step whose sweeps fail is retried at a quarter of its length. A charge or discharge
also ends when no interface can react any more (``sum(W s) / S`` below
:data:`~twifli_fv.model.twifli.EXHAUSTED`).
"""

from __future__ import annotations

from dataclasses import dataclass

from twifli_fv.errors import NumericalError
from twifli_fv.model.constants import FARADAY
from twifli_fv.model.protocol import Step
from twifli_fv.model.twifli import EXHAUSTED, Drive
from twifli_fv.solve.stepping import SIGN, Attempt, RunState, Stepper, Stepping
from twifli_fv.solve.twifli import TwifliSolver

GROWTH = 2.0  # largest growth of the step length from one step to the next
SLOW_SWEEPS = 10  # more sweeps than this: grow by at most SLOW_GROWTH
SLOW_GROWTH = 0.7


@dataclass
class TwifliStepping(Stepper):
    """A :class:`TwifliSolver` as the protocol loop's stepper."""

    solver: TwifliSolver
    stepping: Stepping = Stepping()

    def mean(self) -> float:
        return self.solver.mean_c_norm()

    def end_reason(self, step: Step, state: RunState) -> str | None:
        reason = super().end_reason(step, state)
        if reason is None and step.kind != "rest" and self.solver.reactivity(_drive(step)) < EXHAUSTED:
            what = "empty" if step.kind == "charge" else "full"
            return f"no active interface can react (AM at the AM|SE interfaces is {what}: sum(W s)/S < {EXHAUSTED:g})"
        return reason

    def wanted_dt(self, state: RunState) -> float:
        return min(state.dt_s, self.stepping.dt_max_s)

    def rate(self, step: Step, state: RunState) -> float:
        """Exact for a galvanostatic step in 'conserve' mode, else the last step's; none at rest."""
        model = self.solver.model
        if step.kind == "rest":
            return 0.0
        if model.normalisation != "conserve":
            return state.rate_per_s
        li_rate = step.current_density_A_m2 * model.collector_area_m2 / FARADAY
        return SIGN[step.kind] * li_rate / (model.am_volume_m3 * model.c_sat_mol_m3) or state.rate_per_s

    def attempt(self, dt: float, step: Step, state: RunState) -> Attempt:
        solver, stepping = self.solver, self.stepping
        before = solver.mean_c_norm()
        sweeps = solver.advance(dt, _drive(step))
        fraction = 0.25 if sweeps is None else self._aimed(step, before)
        if fraction < 1.0:
            if sweeps is not None:
                solver.undo()
            if dt * fraction < stepping.dt_min_s:
                raise NumericalError(f"time step collapsed below {stepping.dt_min_s:g} s: the nonlinear sweeps do not "
                                     "converge")
            return Attempt(accepted=False, dt_next_s=dt * fraction)
        solver.stats.steps += 1
        solver.stats.sweeps_per_step.append(sweeps)
        state.rate_per_s = (solver.mean_c_norm() - before) / dt
        return Attempt(accepted=True, dt_next_s=self._grown(dt, sweeps, solver.last_change))

    def _grown(self, dt: float, sweeps: int, change: float) -> float:
        """Next step length: aim at ``max_change`` per step, never grow past ``GROWTH`` or ``dt_max_s``."""
        target = self.stepping.max_change
        factor = GROWTH if change <= 0 else min(GROWTH, max(0.5, 0.9 * target / change))
        if sweeps > SLOW_SWEEPS:
            factor = min(factor, SLOW_GROWTH)
        return min(dt * factor, self.stepping.dt_max_s)

    def _aimed(self, step: Step, before: float) -> float:
        """The share of the kept step that lands on the mean-SOC target if the step passed it, else 1."""
        target = step.until_lithiation
        if target is None:
            return 1.0
        after = self.solver.mean_c_norm()
        beyond = target - after if step.kind == "charge" else after - target
        if beyond > self.stepping.target_tol and (before - target) * (after - target) < 0:
            return min(max((before - target) / (before - after), 0.05), 0.999)
        return 1.0


def _drive(step: Step) -> Drive:
    return Drive(step.kind, step.current_density_A_m2)
