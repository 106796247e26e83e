"""A segmented cathode image: phase codes on a voxel grid, oriented as SPEC sect. 1 says.

Axis 0 is the through-thickness direction ``y``; row 0 touches the current collector (``y = 0``)
and the last row the separator (``y = H``). Every loader normalises to this orientation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from twifli_fv.errors import InputError
from twifli_fv.image.io import read_labels
from twifli_fv.image.phases import Phase, parse_label_map
from twifli_fv.image.slab import Slab
from twifli_fv.image.voxels import VoxelGrid
from twifli_fv.memory import check_memory


@dataclass(frozen=True)
class SegmentedImage(VoxelGrid):
    """Phase codes (:class:`Phase`) on a regular grid with cubic voxels of edge ``voxel_size_m``."""

    phases: np.ndarray
    voxel_size_m: float
    source: str = "<array>"
    label_map: dict[int, Phase] = field(default_factory=dict)
    slab: Slab | None = None  # set when ``phases`` holds only one rank's planes (and halo) of the grid ``slab.shape``

    @property
    def voxels(self) -> np.ndarray:
        return self.phases

    @property
    def shape(self) -> tuple[int, ...]:
        """The whole grid's shape (also under ``mpiexec``, where ``phases`` holds one slab)."""
        return self.phases.shape if self.slab is None else self.slab.shape

    @property
    def owned_phases(self) -> np.ndarray:
        """The phases of this rank's own planes (all of them on one process)."""
        return self.phases if self.slab is None else self.phases[self.slab.owned]

    def mask(self, *phases: Phase) -> np.ndarray:
        """Boolean array, True where the voxel belongs to any of ``phases``."""
        return np.isin(self.phases, [int(p) for p in phases])

    def present(self) -> list[Phase]:
        return [Phase(code) for code in np.unique(self.phases)]

    @classmethod
    def from_labels(
        cls,
        labels: np.ndarray,
        label_map: dict[int, Phase] | str,
        *,
        voxel_size_um: float,
        source: str = "<array>",
        require_all_mapped: bool = True,
    ) -> "SegmentedImage":
        """Map integer ``labels`` to phases and check them (unknown labels, absent phases, no AM)."""
        mapping = parse_label_map(label_map, source=source) if not isinstance(label_map, dict) or any(
            not isinstance(v, Phase) for v in label_map.values()
        ) else label_map
        size = check_voxel_size(voxel_size_um, source=source)
        labels = np.asarray(labels)
        if labels.ndim not in (2, 3):
            raise InputError(f"{source}: image has {labels.ndim} dimensions (shape {labels.shape}); need 2D or 3D")
        if min(labels.shape) < 1:
            raise InputError(f"{source}: image is empty (shape {labels.shape})")
        found = np.unique(labels)
        unknown = sorted(set(found.tolist()) - set(mapping))
        if unknown:
            raise InputError(f"{source}: labels {unknown} are not in the label map {_describe(mapping)}; map every label")
        if require_all_mapped:
            absent = sorted(set(mapping) - set(found.tolist()))
            if absent:
                names = ", ".join(f"{k}={mapping[k].name}" for k in absent)
                raise InputError(f"{source}: mapped label(s) {names} do not occur in the image; remove them from the map")
        codes = np.array([int(mapping[label]) for label in found.tolist()], dtype=np.uint8)
        phases = codes[np.searchsorted(found, labels)]  # no table over the label range: labels may be huge
        if not np.any(phases == Phase.AM):
            raise InputError(f"{source}: no active material (AM) in the image; check the label map {_describe(mapping)}")
        return cls(phases=phases, voxel_size_m=size * 1e-6, source=source, label_map=dict(mapping))


def load_image(
    path: str | Path,
    *,
    labels: dict[int, Phase] | str,
    voxel_size_um: float,
    thickness_axis: int = 0,
    collector_at_end: bool = False,
    crop: str | tuple[slice, ...] | None = None,
    coarsen: int = 1,
    refine: int = 1,
    shape: tuple[int, ...] | None = None,
    dtype: str | None = None,
) -> SegmentedImage:
    """Read a segmented image file and orient it (SPEC sect. 1).

    ``thickness_axis`` is the array axis that runs through the thickness; ``collector_at_end``
    says the current collector touches its last index (flipped so that row 0 does).
    ``crop`` (``"0:128,0:128,:"`` in file axes) is applied first; then ``coarsen`` (majority label
    of n^d blocks, voxel n times larger) or ``refine`` (each voxel split into n^d).
    """
    source = str(path)
    raw = read_labels(path, shape=shape, dtype=dtype)
    if crop is not None:
        region = parse_crop(crop, raw.ndim, source=source) if isinstance(crop, str) else crop
        raw = raw[region]
        if raw.size == 0:
            raise InputError(f"{source}: crop {crop!r} leaves an empty image")
    if not -raw.ndim <= thickness_axis < raw.ndim:
        raise InputError(f"{source}: thickness axis {thickness_axis} does not exist in a {raw.ndim}D image")
    raw = np.moveaxis(raw, thickness_axis, 0)
    if collector_at_end:
        raw = raw[::-1]
    voxel = check_voxel_size(voxel_size_um, source=source)
    coarsen, refine = _check_factor(coarsen, "coarsen", source), _check_factor(refine, "refine", source)
    if coarsen > 1:
        raw, voxel = coarsen_labels(raw, coarsen, source=source), voxel * coarsen
    if refine > 1:
        voxels = raw.size * float(refine) ** raw.ndim
        check_memory(voxels * (raw.itemsize + 9), what=f"{source}: refine = {refine} gives {voxels:.3g} voxels",
                     change="use a smaller refine, or crop the image")
        for axis in range(raw.ndim):
            raw = np.repeat(raw, refine, axis=axis)
        voxel = voxel / refine
    return SegmentedImage.from_labels(np.ascontiguousarray(raw), labels, voxel_size_um=voxel, source=source)


def parse_crop(text: str, ndim: int, *, source: str) -> tuple[slice, ...]:
    """``"0:128,:,10:20"`` -> slices, one per axis."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != ndim:
        raise InputError(f"{source}: crop {text!r} has {len(parts)} ranges but the image is {ndim}D")
    region = []
    for part in parts:
        bounds = part.split(":")
        try:
            if len(bounds) != 2:
                raise ValueError
            region.append(slice(*(int(b) if b.strip() else None for b in bounds)))
        except ValueError:
            raise InputError(f"{source}: crop range {part!r} is not of the form start:stop") from None
    return tuple(region)


def coarsen_labels(labels: np.ndarray, factor: int, *, source: str = "<array>") -> np.ndarray:
    """Majority label of each ``factor``^d block (ties go to the smallest label); trailing voxels are dropped."""
    if any(n < factor for n in labels.shape):
        raise InputError(f"{source}: cannot coarsen shape {labels.shape} by {factor}")
    trimmed = labels[tuple(slice(0, n - n % factor) for n in labels.shape)]
    values, codes = np.unique(trimmed, return_inverse=True)
    codes = codes.reshape(trimmed.shape)
    blocks = codes.reshape([s for n in trimmed.shape for s in (n // factor, factor)])
    blocks = blocks.transpose(list(range(0, 2 * labels.ndim, 2)) + list(range(1, 2 * labels.ndim, 2)))
    blocks = blocks.reshape(blocks.shape[: labels.ndim] + (-1,))
    counts = np.stack([(blocks == k).sum(axis=-1) for k in range(len(values))], axis=-1)
    return values[np.argmax(counts, axis=-1)]


def _check_factor(value: int, name: str, source: str) -> int:
    if not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{source}: {name} must be a positive integer, got {value!r}")
    return int(value)


def check_voxel_size(value: object, *, source: str) -> float:
    """The voxel edge in um as a float; a one-line error unless positive and finite."""
    try:
        size = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{source}: voxel size {value!r} is not a number of um") from None
    if not math.isfinite(size) or size <= 0:
        raise InputError(f"{source}: voxel size must be a positive finite number of um, got {value!r}")
    return size


def _describe(mapping: dict[int, Phase]) -> str:
    return ",".join(f"{k}={v.name}" for k, v in sorted(mapping.items()))
