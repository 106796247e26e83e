"""Parameter studies: a grid of case variants run with ``run_case`` (issue 6 item 5; paper 2, Figs 3d, 4e-g, 6b)."""

from twifli_fv.study.grid import SweepAxis, expand_grid, parse_vary
from twifli_fv.study.sweep import SweepResult, run_sweep

__all__ = ["SweepAxis", "SweepResult", "expand_grid", "parse_vary", "run_sweep"]
