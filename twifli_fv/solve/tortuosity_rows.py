"""The rows of the tortuosity operator: lean CSR assembly on the voxel grid, a chunk of planes at a time (SPEC sect. 4).

The unknowns are the percolating cells of the phase, numbered plane by plane (axis 0) in C order over the whole
grid, so a rank's own planes hold one contiguous block of rows (issue 16). Rows are built with vectorised shifts of
the planes a rank reads (its own and a halo plane either side where one exists), which is all the two-point
stencil needs; one chunk of planes at a time bounds the temporaries.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from twifli_fv.mesh.faces import neighbour_counts, shifted
from twifli_fv.properties.tortuosity import C_IN, C_OUT, G_BOUNDARY

CHUNK_CELLS = 1 << 18  # grid cells per assembly chunk (bounds the temporaries)


def assemble_rows(
    through: np.ndarray,
    *,
    dtype: type,
    plane_rows: np.ndarray,
    owned: slice,
    wrap: tuple[int, ...],
    planes: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays (sorted global columns, indices of ``dtype``) and right-hand side of the unknowns of the ``owned``
    planes of ``through`` (the planes read); ``plane_rows[p]``: the first unknown of plane ``p`` of them (SPEC sect. 4).

    Each face neighbour in the phase couples with -1; the diagonal is the sum of the conductances,
    plus ``G_BOUNDARY`` for a cell on a Dirichlet plane (unknowns below ``planes[0]``: y = 0; from
    ``planes[1]`` on: y = H).
    """
    index = np.cumsum(through, dtype=dtype).reshape(through.shape)  # each cell's unknown (C order), -1 off the phase
    index += int(plane_rows[0]) - 1
    index[~through] = -1
    start, stop = int(plane_rows[owned.start]), int(plane_rows[owned.stop])
    unknown = np.arange(start, stop, dtype=index.dtype)
    inlet, outlet = unknown < planes[0], unknown >= planes[1]
    rhs = G_BOUNDARY * (C_IN * inlet + C_OUT * outlet)
    diagonal = G_BOUNDARY * (inlet.astype(np.float64) + outlet)
    del inlet, outlet, unknown
    neighbours = np.empty(stop - start, dtype=np.uint8)
    for a, b, out in _chunks(plane_rows, owned, through[0].size):
        halo, inner = _halo(a, b, through.shape[0])
        grid = through[halo]
        neighbours[out] = neighbour_counts(grid, wrap_axes=wrap, dtype=np.uint8)[inner][grid[inner]]
    diagonal += neighbours
    indptr = np.empty(stop - start + 1, dtype=index.dtype)
    indptr[0] = 0
    np.cumsum(neighbours + np.uint8(1), dtype=index.dtype, out=indptr[1:])
    del neighbours
    indices = np.empty(int(indptr[-1]), dtype=index.dtype)
    values = np.empty(int(indptr[-1]), dtype=np.float64)
    for a, b, out in _chunks(plane_rows, owned, through[0].size):
        cols = _stencil_columns(index, a, b, wrap)
        keep = cols >= 0
        span = slice(int(indptr[out.start]), int(indptr[out.stop]))
        indices[span] = cols[keep]
        values[span] = -1.0
        row = start + np.arange(out.start, out.stop, dtype=cols.dtype)
        before = np.count_nonzero(keep & (cols < row[:, None]), axis=1)  # columns sorted: the diagonal's place
        values[indptr[out] + before] = diagonal[out]
    return indptr, indices, values, rhs


def linear_profile(per_plane: np.ndarray, *, first_plane: int, depth: int) -> np.ndarray:
    """Initial guess on the unknowns of planes ``first_plane..`` (``per_plane`` of them in each): the straight-line
    profile from ``C_IN`` at y = 0 to ``C_OUT`` at y = H over the ``depth`` planes of the grid."""
    planes = np.arange(first_plane, first_plane + per_plane.size)
    return np.repeat(C_IN + (C_OUT - C_IN) * (planes + 0.5) / depth, per_plane)


def _chunks(plane_rows: np.ndarray, owned: slice, layer: int) -> Iterator[tuple[int, int, slice]]:
    """Planes ``[a, b)`` covering the ``owned`` planes, each with where its unknowns go among the owned rows."""
    step = max(1, CHUNK_CELLS // max(layer, 1))
    start = int(plane_rows[owned.start])
    for a in range(owned.start, owned.stop, step):
        b = min(a + step, owned.stop)
        if plane_rows[b] > plane_rows[a]:
            yield a, b, slice(int(plane_rows[a]) - start, int(plane_rows[b]) - start)


def _halo(a: int, b: int, size: int) -> tuple[slice, slice]:
    """Planes ``a..b`` with one plane either side where it exists, and where ``a..b`` sit in them."""
    lo, hi = max(a - 1, 0), min(b + 1, size)
    return slice(lo, hi), slice(a - lo, b - lo)


def _directions(ndim: int) -> list[tuple[int, int]]:
    """Face-neighbour directions ``(axis, step)`` in increasing flat offset (C order); ``(0, 0)``: the cell."""
    below = [(axis, -1) for axis in range(ndim)]
    return [*below, (0, 0), *[(axis, 1) for axis in reversed(range(ndim))]]


def _stencil_columns(index: np.ndarray, a: int, b: int, wrap: tuple[int, ...]) -> np.ndarray:
    """Columns of the phase cells of planes ``a..b``: one row per cell, sorted; -1 for a missing neighbour."""
    halo, inner = _halo(a, b, index.shape[0])
    grid = index[halo]
    here = grid[inner] >= 0
    neighbours = (shifted(grid, axis, step, fill=-1, periodic=axis in wrap) if step else grid
                  for axis, step in _directions(index.ndim))
    cols = np.stack([ids[inner][here] for ids in neighbours], axis=1)
    if wrap:  # a wrapped neighbour sits at the far end of its row: re-sort the rows of cells on a periodic edge
        edge = _on_edge(here.shape, wrap)[here]
        big = np.iinfo(cols.dtype).max
        rows = np.sort(np.where(cols[edge] < 0, big, cols[edge]), axis=1)
        rows[rows == big] = -1
        cols[edge] = rows
    return cols


def _on_edge(shape: tuple[int, ...], axes: tuple[int, ...]) -> np.ndarray:
    """True on the first and last cells along any of ``axes``."""
    edge = np.zeros(shape, dtype=bool)
    for axis in axes:
        np.moveaxis(edge, axis, 0)[[0, -1]] = True
    return edge
