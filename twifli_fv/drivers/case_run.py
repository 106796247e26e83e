"""What every prepared case shares, whatever its model: the case file, the resolved protocol, 1C, the stepper."""

from __future__ import annotations

from twifli_fv.case import Case
from twifli_fv.model.protocol import Step
from twifli_fv.solve.stepping import Stepping


class CaseRun:
    """Base of :class:`~twifli_fv.drivers.twifli_case.TwifliRun` and :class:`~twifli_fv.drivers.dense_case.DenseRun`."""

    case: Case
    steps: list[Step]
    one_c_A_m2: float
    stepper: object

    @property
    def solver(self):  # noqa: ANN201 - the model's solver
        return self.stepper.solver

    @property
    def n_steps(self) -> int:
        return len(self.steps)

    @property
    def plots(self) -> bool:
        return bool(self.case.get("output", "plots", True))

    @property
    def title(self) -> str:
        return f"{self.case.directory.name}: " + " / ".join(s.text for s in self.steps)

    @property
    def total_time_s(self) -> float:
        """Simulated time the protocol should take (at most about one capacity per step without a duration)."""
        total = 0.0
        for step in self.steps:
            if step.duration_s is not None:
                total += step.duration_s
            elif step.current_density_A_m2 > 0:
                total += 3600.0 * self.one_c_A_m2 / step.current_density_A_m2
        return total

    def stepping(self, **policy: float | bool) -> Stepping:
        """The case's ``[output]`` and ``[solver]`` step settings, with a model's own ``policy`` on top."""
        frame = self.case.positive("output", "frame_interval_s", 300.0)
        dt_max = policy.pop("dt_max_s", self.case.positive("solver", "dt_max_s", frame))
        return Stepping(frame_interval_s=frame, dt_initial_s=self.case.positive("solver", "dt_initial_s", 1.0),
                        dt_max_s=dt_max, **policy)
