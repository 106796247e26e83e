"""Grain maps of dense cathodes: which oriented crystal (or pore/crack) fills each voxel (paper 2, Figs 3a-b, 5c).

Tilt and azimuth as in :mod:`twifli_fv.model.anisotropy`; axes as in SPEC sect. 1, in-plane axes periodic.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twifli_fv.errors import InputError
from twifli_fv.image.generate import check_shape, paint_balls
from twifli_fv.image.io import read_labels
from twifli_fv.image.voxels import VoxelGrid

VOID = -1


@dataclass(frozen=True)
class GrainMap(VoxelGrid):
    """Grain id per voxel (``VOID`` for pores/cracks) and per-grain orientation (degrees)."""

    grain: np.ndarray
    tilt_deg: np.ndarray  # one per grain id 0..n-1
    azimuth_deg: np.ndarray
    voxel_size_m: float
    source: str = "<generated>"

    @property
    def shape(self) -> tuple[int, ...]:
        return self.grain.shape

    @property
    def solid(self) -> np.ndarray:
        return self.grain != VOID

    def cell_tilt_deg(self) -> np.ndarray:
        return np.where(self.solid, self.tilt_deg[np.maximum(self.grain, 0)], np.nan)

    def cell_azimuth_deg(self) -> np.ndarray:
        return np.where(self.solid, self.azimuth_deg[np.maximum(self.grain, 0)], np.nan)


def generate_grains(
    *,
    shape: tuple[int, ...],
    voxel_size_um: float,
    grain_width_um: float = 5.0,
    tilt_mean_deg: float = 0.0,
    tilt_spread_deg: float = 10.0,
    pore_fraction: float = 0.0,
    pore_radius_um: float = 1.0,
    crack_count: int = 0,
    crack_length_um: float = 5.0,
    crack_angle_deg: float = 0.0,
    seed: int = 0,
) -> GrainMap:
    """Columnar grains through the thickness, tilts ~ N(mean, spread); pores, then cracks (angle to the collector)."""
    check_shape(shape, what="grains")
    for name, value in (("voxel_size_um", voxel_size_um), ("grain_width_um", grain_width_um),
                        ("pore_radius_um", pore_radius_um), ("crack_length_um", crack_length_um)):
        if not (math.isfinite(value) and value > 0):
            raise InputError(f"grains: {name} must be positive, got {value!r}")
    if not 0 <= pore_fraction < 1:
        raise InputError(f"grains: pore_fraction must lie in [0, 1), got {pore_fraction!r}")
    if crack_count < 0 or tilt_spread_deg < 0:
        raise InputError("grains: crack_count and tilt_spread_deg must not be negative")
    from scipy.spatial import cKDTree

    rng = np.random.default_rng([seed, 1])
    plane = shape[1:]
    width_cells = grain_width_um / voxel_size_um
    n_grains = max(1, round(float(np.prod(plane)) / width_cells ** len(plane)))
    seeds = rng.uniform(0, plane, size=(n_grains, len(plane)))
    centres = np.indices(plane).reshape(len(plane), -1).T + 0.5
    columns = cKDTree(seeds % plane, boxsize=plane).query(centres)[1]  # nearest seed, periodic: Voronoi columns
    grain = np.broadcast_to(columns.reshape(plane), shape).copy()
    tilt = rng.normal(tilt_mean_deg, tilt_spread_deg, n_grains)
    azimuth = rng.uniform(0.0, 360.0, n_grains) if len(shape) == 3 else np.zeros(n_grains)
    void = np.zeros(shape, dtype=bool)
    paint_balls(void, pore_fraction, np.random.default_rng([seed, 2]), radius=lambda: pore_radius_um / voxel_size_um)
    cracks = np.random.default_rng([seed, 3])
    for _ in range(crack_count):
        _paint_crack(void, cracks.uniform(0, shape), crack_length_um / voxel_size_um, crack_angle_deg,
                     cracks.uniform(0, 360.0))
    grain[void] = VOID
    if np.all(grain == VOID):
        raise InputError("grains: pores and cracks fill the whole map")
    return GrainMap(grain=grain, tilt_deg=tilt, azimuth_deg=azimuth, voxel_size_m=voxel_size_um * 1e-6)


def read_grains(
    path: str | Path,
    *,
    voxel_size_um: float,
    orientation_csv: str | Path,
    void_labels: list[int] = (),
    thickness_axis: int = 0,
    collector_at_end: bool = False,
) -> GrainMap:
    """A labelled image (one label per grain, ``void_labels`` for pores/cracks) and a CSV of orientations."""
    raw = np.moveaxis(read_labels(path), thickness_axis, 0)
    if collector_at_end:
        raw = raw[::-1]
    if not (math.isfinite(voxel_size_um) and voxel_size_um > 0):
        raise InputError(f"{path}: voxel size must be positive, got {voxel_size_um!r}")
    tilts = _read_orientations(Path(orientation_csv))
    labels = [int(v) for v in np.unique(raw) if int(v) not in set(void_labels)]
    missing = [v for v in labels if v not in tilts]
    if missing:
        raise InputError(f"{orientation_csv}: no orientation for grain label(s) {missing[:10]} of {path}")
    if not labels:
        raise InputError(f"{path}: every label is a void label; no grains")
    grain = np.full(raw.shape, VOID, dtype=np.int64)
    for index, label in enumerate(labels):
        grain[raw == label] = index
    return GrainMap(
        grain=np.ascontiguousarray(grain),
        tilt_deg=np.array([tilts[v][0] for v in labels]),
        azimuth_deg=np.array([tilts[v][1] for v in labels]),
        voxel_size_m=voxel_size_um * 1e-6,
        source=str(path),
    )


def _read_orientations(path: Path) -> dict[int, tuple[float, float]]:
    if not path.is_file():
        raise InputError(f"{path}: orientation file not found (columns label, tilt_deg[, azimuth_deg])")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if not {"label", "tilt_deg"} <= set(reader.fieldnames or ()):
            raise InputError(f"{path}: need columns label, tilt_deg (and optionally azimuth_deg)")
        try:
            return {int(r["label"]): (float(r["tilt_deg"]), float(r.get("azimuth_deg") or 0.0)) for r in reader}
        except ValueError as exc:
            raise InputError(f"{path}: not a number ({exc})") from None


def _paint_crack(mask: np.ndarray, centre: np.ndarray, length: float, angle_deg: float, azimuth_deg: float) -> None:
    """A one-voxel-thin straight crack (a disc in 3D) of ``length`` voxels at ``angle_deg`` to the collector plane."""
    angle, azimuth = math.radians(angle_deg), math.radians(azimuth_deg)
    if mask.ndim == 2:
        direction = np.array([[math.sin(angle), math.cos(angle)]])
        offsets = np.arange(-length / 2, length / 2 + 1e-9, 0.25)[:, None] * direction
    else:
        along = np.array([math.sin(angle), math.cos(angle) * math.cos(azimuth), math.cos(angle) * math.sin(azimuth)])
        across = np.array([0.0, -math.sin(azimuth), math.cos(azimuth)])
        t = np.arange(-length / 2, length / 2 + 1e-9, 0.25)
        a, b = np.meshgrid(t, t, indexing="ij")
        inside = a**2 + b**2 <= (length / 2) ** 2
        offsets = a[inside][:, None] * along + b[inside][:, None] * across
    points = np.floor(centre + offsets).astype(int)
    keep = (points[:, 0] >= 0) & (points[:, 0] < mask.shape[0])
    points = points[keep]
    for axis in range(1, mask.ndim):
        points[:, axis] %= mask.shape[axis]
    mask[tuple(points.T)] = True
