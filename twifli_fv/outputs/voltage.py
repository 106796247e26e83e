"""Voltage curves of a dense-cathode run: ``voltage.csv`` and the discharge/charge plot (paper 2, Fig 3c)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twifli_fv.outputs.files import write_csv
from twifli_fv.outputs.plots import pyplot, save_figure

COLUMNS = ["time_s", "step", "current_density_mA_cm2", "capacity_mAh_g", "voltage_V", "cathode_potential_V_vs_Li",
           "ocp_V", "overpotential_V", "ohmic_drop_V", "mean_x", "surface_x_mean"]


def write_voltage_curve(path: str | Path, rows: list[dict]) -> Path:
    """One line per kept time step; columns as ``COLUMNS`` (capacity counted within each protocol step)."""
    return write_csv(path, COLUMNS, [{k: f"{v:.8g}" if isinstance(v, float) else v for k, v in r.items()} for r in rows])


def plot_voltage_curves(path: str | Path, curves: dict[str, tuple[np.ndarray, np.ndarray]], *, title: str = "") -> Path:
    """Cell voltage against capacity (mAh/g), one line per label."""
    figure, ax = pyplot().subplots(figsize=(5.5, 3.8))
    for label, (capacity, voltage) in curves.items():
        ax.plot(capacity, voltage, label=label)
    ax.set_xlabel("capacity (mAh g$^{-1}$ LiCoO$_2$)")
    ax.set_ylabel("cell voltage (V)")
    ax.set_title(title, fontsize=10)
    if len(curves) > 1:
        ax.legend(fontsize=8)
    return save_figure(figure, path)
