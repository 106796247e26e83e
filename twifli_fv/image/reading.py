"""From a label file to a rank's planes of the oriented grid (SPEC sect. 1).

An image is oriented in five steps: ``crop`` (in file axes), the thickness axis moved to axis 0, a flip when the
current collector touches its last index, ``coarsen`` (majority label of k^d blocks, trailing voxels dropped) and
``refine`` (each voxel split into r^d). :class:`Orientation` does this arithmetic on the file's shape, so that every
rank knows the whole grid without reading it and decodes only the file region of its own planes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twifli_fv.errors import InputError
from twifli_fv.image.io import ImageFile
from twifli_fv.memory import check_memory


@dataclass(frozen=True)
class Orientation:
    """How the voxels of a file become the grid :attr:`shape` (made and checked by :meth:`of`)."""

    crop: tuple[range, ...]  # the kept indices of each file axis
    axis: int  # the file axis through the thickness
    flip: bool  # the collector touches the last index of ``axis``
    coarsen: int
    refine: int
    source: str

    @classmethod
    def of(cls, file_shape: tuple[int, ...], *, crop: str | tuple[slice, ...] | None, thickness_axis: int,
           collector_at_end: bool, coarsen: int, refine: int, source: str) -> Orientation:
        ndim = len(file_shape)
        region = parse_crop(crop, ndim, source=source) if isinstance(crop, str) else crop or ()
        if len(region) > ndim or not all(isinstance(part, slice) for part in region):
            raise InputError(f"{source}: crop {crop!r} is not one start:stop range per axis of a {ndim}D image")
        kept = tuple(range(n)[part] for n, part in zip(file_shape, (*region, *[slice(None)] * (ndim - len(region)))))
        if not all(kept):
            raise InputError(f"{source}: crop {crop!r} leaves an empty image")
        if not -ndim <= thickness_axis < ndim:
            raise InputError(f"{source}: thickness axis {thickness_axis} does not exist in a {ndim}D image")
        grid = cls(kept, thickness_axis % ndim, bool(collector_at_end), _check_factor(coarsen, "coarsen", source),
                   _check_factor(refine, "refine", source), source)
        if any(n < grid.coarsen for n in grid.oriented_shape):
            raise InputError(f"{source}: cannot coarsen shape {grid.oriented_shape} by {grid.coarsen}")
        return grid

    @property
    def oriented_shape(self) -> tuple[int, ...]:
        """The cropped voxels with the thickness axis first."""
        sizes = [len(kept) for kept in self.crop]
        return (sizes.pop(self.axis), *sizes)

    @property
    def shape(self) -> tuple[int, ...]:
        """The whole grid, coarsened and refined."""
        return tuple(n // self.coarsen * self.refine for n in self.oriented_shape)

    def read(self, image: ImageFile, planes: slice) -> np.ndarray:
        """Planes ``planes`` (along axis 0 of :attr:`shape`) of the grid, decoding only the file region they need."""
        first, last = planes.start // self.refine, -(-planes.stop // self.refine)  # planes before refining
        low, high = first * self.coarsen, last * self.coarsen  # planes before coarsening (oriented)
        if self.flip:
            low, high = self.oriented_shape[0] - high, self.oriented_shape[0] - low
        region = [_as_slice(kept) for kept in self.crop]
        region[self.axis] = _as_slice(self.crop[self.axis][low:high])
        block = np.moveaxis(image.labels(tuple(region)), self.axis, 0)
        if self.flip:
            block = block[::-1]
        if self.coarsen > 1:
            block = coarsen_labels(block, self.coarsen)
        if self.refine > 1:
            voxels = block.size * float(self.refine) ** block.ndim
            where = "" if planes.stop - planes.start == self.shape[0] else " in this rank's planes"
            check_memory(voxels * (block.itemsize + 9), what=f"{self.source}: refine = {self.refine} gives "
                         f"{voxels:.3g} voxels{where}", change="use a smaller refine, or crop the image")
            for axis in range(block.ndim):
                block = np.repeat(block, self.refine, axis=axis)
            block = block[planes.start - first * self.refine:][: planes.stop - planes.start]
        return np.ascontiguousarray(block)


def parse_crop(text: str, ndim: int, *, source: str) -> tuple[slice, ...]:
    """``"0:128,:,10:20"`` -> slices, one per axis."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != ndim:
        raise InputError(f"{source}: crop {text!r} has {len(parts)} ranges but the image is {ndim}D")
    region = []
    for part in parts:
        try:
            start, stop = part.split(":")  # a ValueError unless there is exactly one colon
            region.append(slice(*(int(b) if b.strip() else None for b in (start, stop))))
        except ValueError:
            raise InputError(f"{source}: crop range {part!r} is not of the form start:stop") from None
    return tuple(region)


def coarsen_labels(labels: np.ndarray, factor: int) -> np.ndarray:
    """Majority label of each ``factor``^d block (ties go to the smallest label); trailing voxels are dropped.
    Every axis must have at least ``factor`` voxels (:meth:`Orientation.of` checks it)."""
    trimmed = labels[tuple(slice(0, n - n % factor) for n in labels.shape)]
    values, codes = np.unique(trimmed, return_inverse=True)
    codes = codes.reshape(trimmed.shape)
    blocks = codes.reshape([s for n in trimmed.shape for s in (n // factor, factor)])
    blocks = blocks.transpose(list(range(0, 2 * labels.ndim, 2)) + list(range(1, 2 * labels.ndim, 2)))
    blocks = blocks.reshape(blocks.shape[: labels.ndim] + (-1,))
    counts = np.stack([(blocks == k).sum(axis=-1) for k in range(len(values))], axis=-1)
    return values[np.argmax(counts, axis=-1)]


def _as_slice(kept: range) -> slice:
    return slice(kept.start, kept.stop if kept.stop >= 0 else None, kept.step)


def _check_factor(value: int, name: str, source: str) -> int:
    if not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{source}: {name} must be a positive integer, got {value!r}")
    return int(value)
