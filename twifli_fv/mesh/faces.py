"""Face neighbours on a voxel grid: the one place that knows which cells share a face (SPEC sect. 1).

Two cells share a face when they differ by one along one axis. Axis 0 runs through the thickness and never wraps;
the in-plane axes wrap around (periodic) unless the caller says ``periodic=False``, so a wrapped axis of length 1
pairs a cell with itself and one of length 2 pairs two cells twice, as FiPy's periodic grids do. Every face has area
``h^(d-1)`` and centre distance ``h``. The finite-volume operators and the interface counts are all built on these.
"""

from __future__ import annotations

import numpy as np


def in_plane_axes(ndim: int, *, periodic: bool, transport_axis: int = 0) -> tuple[int, ...]:
    """The axes that wrap around: in-plane axes (not the thickness axis 0) other than the transport axis."""
    return tuple(a for a in range(1, ndim) if a != transport_axis % ndim) if periodic else ()


def shifted(grid: np.ndarray, axis: int, step: int, *, fill: int | bool, periodic: bool) -> np.ndarray:
    """``out[..., i, ...] = grid[..., i + step, ...]`` along ``axis``; ``fill`` past the edge unless ``periodic``."""
    out = np.roll(grid, -step, axis=axis)
    if not periodic:
        edge = [slice(None)] * grid.ndim
        edge[axis] = slice(-step, None) if step > 0 else slice(None, -step)
        out[tuple(edge)] = fill
    return out


def neighbour_counts(target: np.ndarray, *, wrap_axes: tuple[int, ...], dtype: type) -> np.ndarray:
    """Per cell: how many of its face neighbours are in the boolean grid ``target``."""
    counts = np.zeros(target.shape, dtype=dtype)
    for axis in range(target.ndim):
        for step in (-1, 1):
            counts += shifted(target, axis, step, fill=False, periodic=axis in wrap_axes)
    return counts


def axis_pairs(mask: np.ndarray, axis: int, *, periodic: bool) -> tuple[np.ndarray, np.ndarray]:
    """Flat ids ``(first, second)`` of the cells on either side of each face normal to ``axis`` with both
    sides in ``mask``: ``second`` is ``first``'s + neighbour; in C order of ``first``."""
    ids = np.arange(mask.size, dtype=np.int64).reshape(mask.shape)
    both = mask & shifted(mask, axis, 1, fill=False, periodic=periodic)
    return ids[both], shifted(ids, axis, 1, fill=-1, periodic=periodic)[both]


def face_pairs(mask: np.ndarray, *, wrap_axes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`axis_pairs` of every axis, axis by axis: the interior faces of ``mask``, periodic ones included."""
    pairs = [axis_pairs(mask, axis, periodic=axis in wrap_axes) for axis in range(mask.ndim)]
    return np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])


def face_counts(labels: np.ndarray, of: int, to: int, *, wrap_axes: tuple[int, ...] = ()) -> np.ndarray:
    """Per cell labelled ``of``: how many of its faces touch a cell labelled ``to`` (0 elsewhere)."""
    counts = neighbour_counts(labels == to, wrap_axes=wrap_axes, dtype=np.int8)
    counts[labels != of] = 0
    return counts
