"""The plot of ``twifli fit``: measured data (points) against the fitted model (lines), one colour per group."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twifli_fv.outputs.plots import pyplot, save_figure


def plot_fit(path: str | Path, x: np.ndarray, observed: np.ndarray, model: np.ndarray, groups: dict[str, np.ndarray],
             *, xlabel: str, ylabel: str, title: str = "") -> Path:
    """``groups`` maps a label (a rate, a time, a contact fraction ...) to the indices of its rows."""
    plt = pyplot()
    figure, ax = plt.subplots(figsize=(5.5, 3.8))
    for number, (label, rows) in enumerate(groups.items()):
        order = rows[np.argsort(x[rows])]
        color = f"C{number % 10}"
        ax.plot(x[order], observed[order], "o", color=color, ms=4, label=label or None)
        ax.plot(x[order], model[order], "-", color=color, lw=1.2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(f"{title} (points: data, lines: fitted model)", fontsize=9)
    if any(groups):
        ax.legend(fontsize=7)
    return save_figure(figure, path)
