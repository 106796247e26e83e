"""Stress fields of a dense cathode as named cell data, tensile hotspots and Fig. 5d-f-like maps (paper 2).

Names follow the VTK axes of :mod:`twifli_fv.outputs.vtk`: in 2D x in-plane (image axis 1) and y through the
thickness (axis 0), z out of plane (plane strain); in 3D x, y in-plane (axes 2, 1) and z through the thickness.
Hotspots (large tensile maximum principal stress) and their features: README, "Chemo-mechanics".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from twifli_fv.image.grains import GrainMap
from twifli_fv.model.mechanics import stress_invariants
from twifli_fv.outputs.plots import pyplot, save_figure
from twifli_fv.properties.connectivity import label_components

FEATURE_REACH = 2.0  # voxels
CRACK_ELONGATION = 3.0  # a void component whose principal extents differ by this factor is a crack
VOIGT_NAMES = {2: {"sigma_yy": 0, "sigma_xx": 1, "sigma_zz": 2, "sigma_xy": 5},
               3: {"sigma_zz": 0, "sigma_yy": 1, "sigma_xx": 2, "sigma_xy": 3, "sigma_xz": 4, "sigma_yz": 5}}


def stress_fields(stress_Pa: np.ndarray) -> dict[str, np.ndarray]:
    """Cell data in MPa: the Voigt components by VTK axis name, von Mises, hydrostatic and maximum principal."""
    fields = {f"{name}_MPa": stress_Pa[..., i] * 1e-6 for name, i in VOIGT_NAMES[stress_Pa.ndim - 1].items()}
    fields |= {f"{name}_MPa": value * 1e-6 for name, value in stress_invariants(stress_Pa).items()}
    return fields


def feature_map(grains: GrainMap, contact: np.ndarray) -> np.ndarray:
    """The feature name (str array of the grain map's shape) each cathode cell sits next to; later masks win."""
    void, top = ~grains.solid, np.zeros(grains.shape, dtype=bool)
    top[-1] = True
    plane = np.asarray(contact, dtype=bool).reshape(grains.shape[1:])
    edges = (plane ^ ndimage.binary_erosion(plane, border_value=1)) | (
        ~plane ^ ndimage.binary_erosion(~plane, border_value=1))
    boundary = np.zeros(grains.shape, dtype=bool)
    for axis in range(grains.ndim):
        step = grains.grain != np.roll(grains.grain, 1, axis=axis)
        boundary |= step | np.roll(step, -1, axis=axis)
    boundary &= grains.solid
    labels = np.full(grains.shape, "grain interior", dtype=object)
    for mask, name in ((boundary, "grain boundary"), (_near(void), "void edge"),
                       (_near(top & ~plane[None]), "interfacial void"), (_near(top & edges[None]), "contact edge"),
                       (_near(_crack_tips(void)), "crack tip")):
        labels[mask] = name
    return labels


def hotspots(stress_Pa: np.ndarray, features: np.ndarray, *, voxel_size_m: float, count: int) -> list[dict]:
    """The ``count`` largest tensile maximum principal stresses, at least ``2 FEATURE_REACH`` voxels apart."""
    fields = stress_fields(stress_Pa)
    principal = fields["max_principal_MPa"]
    order = np.argsort(np.nan_to_num(principal, nan=-np.inf), axis=None)[::-1]
    picked: list[np.ndarray] = []
    result = []
    for flat in order:
        if len(result) == count or not principal.flat[flat] > 0:
            break
        where = np.array(np.unravel_index(flat, principal.shape))
        if any(np.max(np.abs(where - p)) < 2 * FEATURE_REACH for p in picked):
            continue
        picked.append(where)
        axes = ("y_um", "x_um") if principal.ndim == 2 else ("z_um", "y_um", "x_um")
        result.append({"max_principal_MPa": float(principal.flat[flat]),
                       "sigma_xx_MPa": float(fields["sigma_xx_MPa"].flat[flat]),
                       "sigma_yy_MPa": float(fields["sigma_yy_MPa"].flat[flat]),
                       **{name: float((i + 0.5) * voxel_size_m * 1e6) for name, i in zip(axes, where)},
                       "feature": str(features.flat[flat])})
    return result


def peak_by_feature(stress_Pa: np.ndarray, features: np.ndarray) -> dict[str, float]:
    """Largest maximum principal stress (MPa) among the cells of each feature."""
    principal = stress_invariants(stress_Pa)["max_principal"] * 1e-6
    return {str(name): float(np.nanmax(np.where(features == name, principal, np.nan)))
            for name in np.unique(features[np.isfinite(principal)])}


def plot_stress_maps(path: Path, maps: list[tuple[float, np.ndarray, np.ndarray, np.ndarray]], *, voxel_size_m: float,
                     title: str) -> None:
    """Fig. 5d-f: rows x = c / c_max, sigma_x, sigma_y (MPa); one column per (time_s, x, sigma_xx, sigma_yy) map."""
    plt = pyplot()
    rows = (("x = c / c_max", "viridis", 1), ("sigma_x (MPa)", "RdBu_r", 2), ("sigma_y (MPa)", "RdBu_r", 3))
    height, width = maps[0][1].shape
    extent = (0, width * voxel_size_m * 1e6, 0, height * voxel_size_m * 1e6)
    figure, axes = plt.subplots(3, len(maps), figsize=(3.2 * len(maps) + 1, 6.5), squeeze=False, layout="constrained")
    for row, (label, cmap, index) in enumerate(rows):
        values = np.array([m[index] for m in maps])
        limit = np.nanmax(np.abs(values)) if index > 1 else None
        low, high = (-limit, limit) if limit else (np.nanmin(values), np.nanmax(values))
        for column, frame in enumerate(maps):
            axis = axes[row, column]
            image = axis.imshow(np.ma.masked_invalid(frame[index]), origin="lower", extent=extent, cmap=cmap,
                                vmin=low, vmax=high, aspect="auto", interpolation="nearest")
            axis.set_facecolor("0.6")
            if row == 0:
                axis.set_title(f"t = {frame[0] / 3600:.2f} h")
            if column == 0:
                axis.set_ylabel("y (um), collector at 0")
            if row == 2:
                axis.set_xlabel("x (um)")
        figure.colorbar(image, ax=axes[row, :], label=label, shrink=0.9)
    figure.suptitle(title)
    save_figure(figure, path)


def _near(mask: np.ndarray) -> np.ndarray:
    """Cells within ``FEATURE_REACH`` voxels of ``mask``."""
    if not mask.any():
        return np.zeros(mask.shape, dtype=bool)
    return ndimage.distance_transform_edt(~mask) <= FEATURE_REACH


def _crack_tips(void: np.ndarray) -> np.ndarray:
    """Voxels at the ends (along the principal axis) of elongated void components (cracks)."""
    labels, count = label_components(void, wrap_axes=tuple(range(1, void.ndim)))
    tips = np.zeros(void.shape, dtype=bool)
    for label in range(1, count + 1):
        points = np.argwhere(labels == label).astype(float)
        if len(points) < 3:
            continue
        centred = points - points.mean(axis=0)
        values, vectors = np.linalg.eigh(centred.T @ centred / len(points))
        if values[-1] < CRACK_ELONGATION**2 * max(values[-2], 1 / 12):
            continue
        along = centred @ vectors[:, -1]
        ends = (along <= along.min() + 1.0) | (along >= along.max() - 1.0)
        tips[tuple(points[ends].astype(int).T)] = True
    return tips
