"""What every prepared case shares, whatever its model: the case file, the resolved protocol, 1C, the stepper."""

from __future__ import annotations

from dataclasses import dataclass, replace

from twifli_fv.case import Case
from twifli_fv.model.protocol import Step
from twifli_fv.outputs.recorder import Recorded
from twifli_fv.solve.stepping import Stepper, Stepping


@dataclass(kw_only=True)
class CaseRun(Recorded):
    """Base of :class:`~twifli_fv.drivers.twifli_case.TwifliRun` and :class:`~twifli_fv.drivers.dense_case.DenseRun`."""

    case: Case
    steps: list[Step]
    one_c_A_m2: float
    stepper: Stepper | None = None  # made by the model's start()

    @property
    def solver(self):  # noqa: ANN201 - the model's solver
        return self.stepper.solver

    def at_step(self, state, attempt) -> None:  # noqa: ANN001 - RunState, Attempt
        """What a model records per kept time step (nothing, unless it says; the progress bar is the driver's)."""

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

    def stepping(self, base: Stepping = Stepping(), **policy: float) -> Stepping:
        """``base`` (a model's step settings) with the case's ``[output]`` and ``[solver]`` values and ``policy``."""
        frame = self.case.positive("output", "frame_interval_s")
        return replace(base, frame_interval_s=frame, dt_initial_s=self.case.positive("solver", "dt_initial_s"),
                       dt_max_s=self.case.positive("solver", "dt_max_s", frame), **policy)
