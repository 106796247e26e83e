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


def plot_comparison(path: str | Path, times_s: np.ndarray, y_um: np.ndarray, run: np.ndarray, experiment: np.ndarray,
                    *, title: str = "") -> Path:
    """Run and experiment maps side by side, and their difference (run - experiment)."""
    plt = pyplot()
    figure, axes = plt.subplots(1, 3, figsize=(15, 3.8), constrained_layout=True)
    plot_map(None, times_s, y_um, run, title="run", ax=axes[0])
    plot_map(None, times_s, y_um, experiment, title="experiment", ax=axes[1])
    diff = np.asarray(run) - np.asarray(experiment)
    limit = float(np.nanmax(np.abs(diff))) or 1.0
    mesh = axes[2].pcolormesh(np.asarray(times_s) / 3600, y_um, diff.T, shading="nearest", cmap="RdBu_r",
                              vmin=-limit, vmax=limit)
    axes[2].set_xlabel("time (h)")
    axes[2].set_title("run - experiment", fontsize=10)
    figure.colorbar(mesh, ax=axes[2], label="difference in c / c_sat")
    figure.suptitle(title, fontsize=10)
    return save_figure(figure, path)
