"""Voltage curves of a dense-cathode run: ``voltage.csv`` (their plot, paper 2 Fig 3c: outputs/plots.py)."""

from __future__ import annotations

from pathlib import Path

from twifli_fv.outputs.files import write_csv

COLUMNS = ["time_s", "step", "current_density_mA_cm2", "capacity_mAh_g", "voltage_V", "cathode_potential_V_vs_Li",
           "ocp_V", "overpotential_V", "ohmic_drop_V", "mean_x", "surface_x_mean"]


def write_voltage_curve(path: str | Path, rows: list[dict]) -> Path:
    """One line per kept time step; columns as ``COLUMNS`` (capacity counted within each protocol step)."""
    return write_csv(path, COLUMNS, [{k: f"{v:.8g}" if isinstance(v, float) else v for k, v in r.items()} for r in rows])

