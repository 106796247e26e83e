"""Generate a synthetic composite cathode: polydisperse AM particles in SE with a CBD fraction.

Particles (discs in 2D, spheres in 3D) with log-normal radii are dropped at random positions, overlapping
freely and wrapping in-plane (periodic, as the model assumes), until the AM volume fraction is reached; the CBD
is the top ``cbd_fraction`` of a smoothed random field over the SE voxels. Seeded: same arguments, same image.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage

from twifli_fv.errors import InputError
from twifli_fv.memory import GENERATE_BYTES_PER_VOXEL, check_memory

LABELS = {"SE": 0, "AM": 85, "CBD": 170}  # the labels of the shared electrode image
LABEL_MAP = "0=SE,85=AM,170=CBD"


def generate_composite(*, shape: tuple[int, ...], voxel_size_um: float = 0.27, am_fraction: float = 0.6,
                       cbd_fraction: float = 0.05, radius_um: float = 2.5, radius_sigma: float = 0.35,
                       seed: int = 0) -> np.ndarray:
    """Label image (``LABELS``), axis 0 through the thickness; radii log-normal (median ``radius_um``)."""
    check_shape(shape, what="generate")
    if not 0 < am_fraction < 1 or not 0 <= cbd_fraction < 1 - am_fraction:
        raise InputError(f"generate: need 0 < am_fraction < 1 and 0 <= cbd_fraction < 1 - am_fraction "
                         f"(got {am_fraction}, {cbd_fraction})")
    if not radius_um > 0 or not voxel_size_um > 0:
        raise InputError("generate: radius_um and voxel_size_um must be positive")
    voxels = float(np.prod(shape, dtype=float))
    check_memory(voxels * GENERATE_BYTES_PER_VOXEL, what=f"generate: shape {shape} is {voxels:.3g} voxels",
                 change="generate a smaller --shape (or a larger --voxel-size-um)")
    rng = np.random.default_rng(seed)
    am = np.zeros(shape, dtype=bool)
    paint_balls(am, am_fraction, rng, radius=lambda: radius_um * np.exp(radius_sigma * rng.standard_normal()) / voxel_size_um)
    labels = np.where(am, LABELS["AM"], LABELS["SE"]).astype(np.uint8)
    if cbd_fraction > 0:
        field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=1.5, mode="wrap")
        field[am] = -np.inf
        cutoff = np.quantile(field[~am], 1 - cbd_fraction * am.size / np.count_nonzero(~am))
        labels[field > cutoff] = LABELS["CBD"]
    return labels


def check_shape(shape: tuple[int, ...], *, what: str) -> None:
    """A one-line error unless ``shape`` has 2 or 3 positive sizes."""
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise InputError(f"{what}: shape {shape} must have 2 or 3 positive sizes")


def paint_balls(mask: np.ndarray, fraction: float, rng: np.random.Generator, *, radius: Callable[[], float]) -> None:
    """Balls at uniform random centres until ``fraction`` of ``mask`` is set; each ball's radius (voxels, at
    least 0.75) is drawn by ``radius()`` before its centre."""
    filled, target = 0, fraction * mask.size
    while filled < target:
        size = radius()
        filled += paint_ball(mask, rng.uniform(0, mask.shape), max(size, 0.75))


def paint_ball(mask: np.ndarray, centre: np.ndarray, radius: float) -> int:
    """Set the voxels within ``radius`` of ``centre`` (in-plane wrapped, thickness clipped); return how many were new."""
    reach = int(np.ceil(radius))
    index, offsets = [], []
    for axis, (c, n) in enumerate(zip(centre, mask.shape)):
        span = np.arange(int(np.floor(c)) - reach, int(np.floor(c)) + reach + 1)
        span = span[(span >= 0) & (span < n)] if axis == 0 else span[:n]  # never wrap onto itself
        index.append(span % n)
        offsets.append(span + 0.5 - c)
    inside = sum(np.meshgrid(*[o**2 for o in offsets], indexing="ij")) <= radius**2
    region = np.ix_(*index)
    new = int(np.count_nonzero(inside & ~mask[region]))
    mask[region] |= inside
    return new
