"""PNG plots: a run's c_norm(y, t) map (paper 1, Figs 3-5), profiles and mean SOC, and the studies' figures."""

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
    step_ends_s: list[float] = (), ax=None, label: str = "c / c_sat (AM row average)",  # noqa: ANN001
    cmap: str = "viridis", limits: tuple[float, float] = (0.0, 1.0),
) -> Path | None:
    """Time on x, distance from the current collector on y, colour ``label`` (frames x rows)."""
    figure = None
    if ax is None:
        figure, ax = pyplot().subplots(figsize=(7, 3.6))
    mesh = ax.pcolormesh(np.asarray(times_s) / 3600, y_um, np.asarray(c_norm).T, shading="nearest",
                         cmap=cmap, vmin=limits[0], vmax=limits[1])
    for end in step_ends_s[:-1]:
        ax.axvline(end / 3600, color="w", lw=0.8, ls="--")
    ax.set(xlabel="time (h)", ylabel="distance from current collector (um)")
    ax.set_title(title, fontsize=10)
    ax.figure.colorbar(mesh, ax=ax, label=label)
    return save_figure(figure, path) if figure is not None else None


def plot_profiles(path: str | Path, times_s: np.ndarray, y_um: np.ndarray, c_norm: np.ndarray, *,
                  at_s: list[float], title: str = "", label: str = "c / c_sat (AM row average)") -> Path:
    """c_norm (``label``: what the run's profiles are) against y at the frames nearest to ``at_s``."""
    figure, ax = pyplot().subplots(figsize=(5.5, 3.6))
    for when in at_s:
        frame = int(np.argmin(np.abs(np.asarray(times_s) - when)))
        ax.plot(y_um, c_norm[frame], label=f"{times_s[frame] / 3600:.1f} h")
    ax.set(xlabel="distance from current collector (um)", ylabel=label, ylim=(0, 1.02))
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, ncol=2)
    return save_figure(figure, path)


def plot_series(path: str | Path, times_s: np.ndarray, values: np.ndarray, *, ylabel: str, title: str = "") -> Path:
    """One quantity against time in hours (mean SOC, voltage, ...)."""
    figure, ax = pyplot().subplots(figsize=(5.5, 3.2))
    ax.plot(np.asarray(times_s) / 3600, values)
    ax.set(xlabel="time (h)", ylabel=ylabel)
    ax.set_title(title, fontsize=10)
    return save_figure(figure, path)


def plot_comparison(path: str | Path, times_s: np.ndarray, y_um: np.ndarray, run: np.ndarray, experiment: np.ndarray,
                    *, title: str = "") -> Path:
    """Run (c/c_sat) and experiment (c/c_0, radiography's ratio to pristine) maps side by side, and run - experiment."""
    figure, axes = pyplot().subplots(1, 3, figsize=(15, 3.8), constrained_layout=True)
    plot_map(None, times_s, y_um, run, title="run", ax=axes[0])
    plot_map(None, times_s, y_um, experiment, title="experiment", ax=axes[1], label="c / c_0 (measured row average)")
    diff = np.asarray(run) - np.asarray(experiment)
    limit = float(np.nanmax(np.abs(diff))) or 1.0
    plot_map(None, times_s, y_um, diff, title="run - experiment", ax=axes[2], label="run c / c_sat - measured c / c_0",
             cmap="RdBu_r", limits=(-limit, limit))
    figure.suptitle(title, fontsize=10)
    return save_figure(figure, path)


def plot_gitt(path: str | Path, c_mol_m3: np.ndarray, estimates: dict[str, np.ndarray], valid: np.ndarray,
              fit_c_mol_m3: np.ndarray, fit_D_m2_s: np.ndarray, *, title: str = "") -> Path:
    """Weppner-Huggins D per pulse (filled: used, open: flagged) against concentration, with the fit."""
    figure, ax = pyplot().subplots(figsize=(5.5, 3.8))
    valid = np.asarray(valid, bool)
    for (label, values), marker in zip(estimates.items(), "os^"):
        values = np.asarray(values) * 1e4
        line, = ax.semilogy(c_mol_m3[valid], values[valid], marker, ls="none", label=label)
        if (~valid).any():
            ax.semilogy(c_mol_m3[~valid], values[~valid], marker, ls="none", mfc="none", color=line.get_color(),
                        label=f"{label}, flagged (not fitted)")
    ax.semilogy(fit_c_mol_m3, np.asarray(fit_D_m2_s) * 1e4, "k-", label="fit, paper 1 eqn 5")
    ax.set(xlabel="average Li concentration (mol m$^{-3}$)", ylabel="D (cm$^2$ s$^{-1}$)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return save_figure(figure, path)


def plot_fit(path: str | Path, x: np.ndarray, observed: np.ndarray, model: np.ndarray, groups: dict[str, np.ndarray],
             *, xlabel: str, ylabel: str, title: str = "") -> Path:
    """``twifli fit``'s data (points) and model (lines), one colour per group (a label -> the indices of its rows)."""
    figure, ax = pyplot().subplots(figsize=(5.5, 3.8))
    for number, (label, rows) in enumerate(groups.items()):
        order = rows[np.argsort(x[rows])]
        color = f"C{number % 10}"
        ax.plot(x[order], observed[order], "o", color=color, ms=4, label=label or None)
        ax.plot(x[order], model[order], "-", color=color, lw=1.2)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.set_title(f"{title} (points: data, lines: fitted model)", fontsize=9)
    if any(groups):
        ax.legend(fontsize=7)
    return save_figure(figure, path)


def plot_voltage_curves(path: str | Path, curves: dict[str, tuple[np.ndarray, np.ndarray]], *, title: str = "") -> Path:
    """Cell voltage against capacity (mAh/g), one line per label."""
    figure, ax = pyplot().subplots(figsize=(5.5, 3.8))
    for label, (capacity, voltage) in curves.items():
        ax.plot(capacity, voltage, label=label)
    ax.set(xlabel="capacity (mAh g$^{-1}$ LiCoO$_2$)", ylabel="cell voltage (V)")
    ax.set_title(title, fontsize=10)
    if len(curves) > 1:
        ax.legend(fontsize=8)
    return save_figure(figure, path)


def plot_study(path: str | Path, axes: list[tuple[str, list]], z: np.ndarray, *, zlabel: str, title: str = "") -> Path:
    """``z`` over the ``(label, values)`` of one varied key of a study (a curve) or two (filled contours of
    ``z[len(x), len(y)]``, paper 2, Figs 3d, 4e-g, 6b), points marked."""
    figure, ax = pyplot().subplots(figsize=(5.5, 3.6) if len(axes) == 1 else (5.8, 4.4))
    positions = [_study_axis(ax, which, label, values) for which, (label, values) in zip("xy", axes)]
    if len(axes) == 1:
        ax.plot(positions[0], z, "o-")
        ax.set_ylabel(zlabel)
    else:
        values = np.ma.masked_invalid(np.asarray(z, dtype=float).T)
        filled = ax.contourf(*positions, values, levels=12, cmap="viridis")
        lines = ax.contour(*positions, values, levels=filled.levels[1::3], colors="w", linewidths=0.7)
        ax.clabel(lines, fontsize=7, fmt="%.3g")
        grid_x, grid_y = np.meshgrid(*positions)
        ax.plot(grid_x.ravel(), grid_y.ravel(), "k.", ms=4, clip_on=False)
        figure.colorbar(filled, ax=ax, label=zlabel)
    ax.set_title(title, fontsize=10)
    return save_figure(figure, path)


def plot_bars(path: str | Path, names: list[str], panels: dict[str, list[float]], *, title: str = "") -> Path:
    """One bar chart per quantity (``{label: value per name}``) side by side, e.g. Wh/kg and Wh/L (paper 2, Fig 7c)."""
    figure, axes = pyplot().subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8), constrained_layout=True,
                                     squeeze=False)
    for ax, (label, values) in zip(axes[0], panels.items()):
        bars = ax.bar(range(len(names)), values, color="tab:blue")
        ax.bar_label(bars, fmt="%.0f", fontsize=8)
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel(label)
    figure.suptitle(title, fontsize=10)
    return save_figure(figure, path)


def _study_axis(ax, which: str, label: str, values: list) -> np.ndarray:  # noqa: ANN001
    """Label the ``which`` axis; the values' positions (log scale over two decades or more; text placed evenly)."""
    getattr(ax, f"set_{which}label")(label)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        positions = np.asarray(values, dtype=float)
        if positions.min() > 0 and positions.max() >= 100 * positions.min():
            getattr(ax, f"set_{which}scale")("log")
        return positions
    getattr(ax, f"set_{which}ticks")(range(len(values)), [str(v) for v in values])
    return np.arange(len(values), dtype=float)
