"""PNG plots of a run: the c_norm(y, t) map (paper 1, Figs 3-5), profiles, mean SOC vs time.

matplotlib is imported lazily, with the non-interactive Agg backend.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twifli_fv.outputs.files import atomic_path


def pyplot():  # noqa: ANN202
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path: str | Path) -> Path:  # noqa: ANN001
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=130, bbox_inches="tight")
    pyplot().close(figure)
    return Path(path)


def plot_map(
    path: str | Path, times_s: np.ndarray, y_um: np.ndarray, c_norm: np.ndarray, *, title: str = "",
    step_ends_s: list[float] = (), ax=None,  # noqa: ANN001
) -> Path | None:
    """Time on x, distance from the current collector on y, colour c / c_sat (frames x rows)."""
    plt = pyplot()
    figure = None
    if ax is None:
        figure, ax = plt.subplots(figsize=(7, 3.6))
    mesh = ax.pcolormesh(np.asarray(times_s) / 3600, y_um, np.asarray(c_norm).T, shading="nearest",
                         cmap="viridis", vmin=0.0, vmax=1.0)
    for end in step_ends_s[:-1]:
        ax.axvline(end / 3600, color="w", lw=0.8, ls="--")
    ax.set_xlabel("time (h)")
    ax.set_ylabel("distance from current collector (um)")
    ax.set_title(title, fontsize=10)
    ax.figure.colorbar(mesh, ax=ax, label="c / c_sat (AM row average)")
    return save_figure(figure, path) if figure is not None else None


def plot_profiles(path: str | Path, times_s: np.ndarray, y_um: np.ndarray, c_norm: np.ndarray, *,
                  at_s: list[float], title: str = "") -> Path:
    """c_norm against y at the frames nearest to ``at_s``."""
    plt = pyplot()
    figure, ax = plt.subplots(figsize=(5.5, 3.6))
    for when in at_s:
        frame = int(np.argmin(np.abs(np.asarray(times_s) - when)))
        ax.plot(y_um, c_norm[frame], label=f"{times_s[frame] / 3600:.1f} h")
    ax.set_xlabel("distance from current collector (um)")
    ax.set_ylabel("c / c_sat")
    ax.set_ylim(0, 1.02)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, ncol=2)
    return save_figure(figure, path)


def plot_series(path: str | Path, times_s: np.ndarray, values: np.ndarray, *, ylabel: str, title: str = "") -> Path:
    """One quantity against time in hours (mean SOC, voltage, ...)."""
    plt = pyplot()
    figure, ax = plt.subplots(figsize=(5.5, 3.2))
    ax.plot(np.asarray(times_s) / 3600, values)
    ax.set_xlabel("time (h)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    return save_figure(figure, path)
