"""Tortuosity factors with PETSc: lean CSR assembly on the voxel grid, CG + two-level multigrid (SPEC sect. 4).

The operator is the two-point-flux Laplacian on the percolating cells of one phase (see
:mod:`twifli_fv.properties.tortuosity`). It is assembled straight into CSR arrays with vectorised
shifts of the voxel grid, a slab of layers at a time, and handed to PETSc without a copy on one rank
(``MatCreateSeqAIJWithArrays``); under ``mpiexec`` each rank builds its own rows and PETSc
distributes the solve.

CG is preconditioned by one geometric level over algebraic multigrid (:mod:`twifli_fv.solve.multigrid`).
PETSc options can tune it under the prefix ``tortuosity_`` (e.g. ``-tortuosity_mg_coarse_pc_gamg_threshold 0.01``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np

from twifli_fv.image.phases import Phase
from twifli_fv.image.segmented import SegmentedImage
from twifli_fv.mesh.faces import in_plane_axes, neighbour_counts, shifted
from twifli_fv.properties.connectivity import percolating
from twifli_fv.properties.microstructure import ELECTRONIC
from twifli_fv.properties.tortuosity import C_IN, C_OUT, G_BOUNDARY, TortuosityResult, empty_result, tortuosity_from_flux
from twifli_fv.solve.multigrid import aggregate_ids, multigrid_cg, one_per_row
from twifli_fv.solve.fv import aij_matrix
from twifli_fv.solve.petsc_env import petsc, user_options, world

log = logging.getLogger(__name__)
CHUNK_CELLS = 1 << 18  # grid cells per assembly slab (bounds the temporaries)
RTOL = 1e-8  # CG relative residual (preconditioned norm); tau is then exact to ~1e-7
OPTIONS_PREFIX = "tortuosity_"


def tortuosity_factors(
    image: SegmentedImage,
    *,
    axis: int = 0,
    periodic: bool = True,
    rtol: float = RTOL,
    comm=None,  # noqa: ANN001 - PETSc.Comm
) -> dict[str, TortuosityResult]:
    """Tortuosity of every phase present and of the electronic network (AM + CBD), along ``axis`` (SPEC sect. 4)."""
    groups = {p.name: (p,) for p in image.present()}
    groups[ELECTRONIC] = (Phase.AM, Phase.CBD)
    return {
        name: tortuosity_factor(image.mask(*members), axis=axis, periodic=periodic, rtol=rtol, comm=comm)
        for name, members in groups.items()
    }


def tortuosity_factor(
    mask: np.ndarray,
    *,
    axis: int = 0,
    periodic: bool = True,
    rtol: float = RTOL,
    comm=None,  # noqa: ANN001 - PETSc.Comm
) -> TortuosityResult:
    """Tortuosity factor of the phase ``mask`` along ``axis`` (SPEC sect. 4).

    In-plane axes other than ``axis`` are periodic unless ``periodic=False`` (TauFactor: no-flux);
    the thickness axis 0 never wraps. ``rtol`` is the CG stopping tolerance; ``flux_mismatch`` in
    the result tells how well the solve converged.
    """
    mask = np.asarray(mask, dtype=bool)
    axis %= mask.ndim
    eps = float(np.count_nonzero(mask)) / mask.size
    moved = np.moveaxis(mask, axis, 0)
    wrap = tuple(a + 1 if a < axis else a for a in in_plane_axes(mask.ndim, periodic=periodic, transport_axis=axis))
    wrap = tuple(a for a in wrap if moved.shape[a] >= 3)  # shorter axes would couple a cell to itself or twice
    through = percolating(moved, axis=0, wrap_axes=wrap)
    count = int(np.count_nonzero(through))
    if count == 0:
        return empty_result(volume_fraction=eps, axis=axis)
    flux_in, flux_out, iterations = _solve_steady(through, wrap, rtol=rtol, comm=comm or world())
    d_eff, tau = tortuosity_from_flux(
        flux=flux_in, volume_fraction=eps, length=moved.shape[0], area=int(np.prod(moved.shape[1:]))
    )
    return TortuosityResult(
        volume_fraction=eps,
        percolating_fraction=count / max(int(np.count_nonzero(mask)), 1),
        D_eff=d_eff,
        tau=tau,
        axis=axis,
        iterations=iterations,
        flux_mismatch=abs(flux_in - flux_out) / flux_in if flux_in > 0 else 0.0,
    )


def _solve_steady(through: np.ndarray, wrap: tuple[int, ...], *, rtol: float, comm) -> tuple[float, float, int]:  # noqa: ANN001
    """Solve on the cells of ``through`` (SPEC sect. 4); return (flux in at y = 0, flux out at y = H, iterations)."""
    PETSc = petsc()
    index = _unknown_ids(through, PETSc.IntType)
    offsets = _layer_offsets(through)  # unknowns are numbered layer by layer: layer l holds offsets[l]..offsets[l+1]-1
    total = int(offsets[-1])
    first, last_start = int(offsets[1]), int(offsets[-2])

    x = PETSc.Vec().createMPI(total, comm=comm)
    start, stop = x.getOwnershipRange()
    indptr, indices, values, rhs = _assemble_rows(through, index, offsets, (start, stop), wrap, (first, last_start))
    mine = (stop - start, total)
    matrix = aij_matrix((indptr, indices, values), sizes=(mine, mine), comm=comm, spd=True)
    del indptr, indices, values, index
    ids, coarse_total = aggregate_ids(through, PETSc.IntType)  # the coarse unknown of each cell
    aggregate = np.empty(stop - start, dtype=PETSc.IntType)
    for a, b, cells, out in _slabs(offsets, (start, stop), through[0].size):
        aggregate[out] = ids[a:b][through[a:b]][cells]
    del ids
    coarse_rows = PETSc.Vec().createMPI(coarse_total, comm=comm)
    coarse_size = (coarse_rows.getLocalSize(), coarse_total)
    prolong = aij_matrix(one_per_row(aggregate), sizes=(mine, coarse_size), comm=comm)
    coarse = matrix.ptap(prolong)

    b = PETSc.Vec().createWithArray(rhs, size=(stop - start, total), comm=comm)  # no copy
    x.setArray(_linear_profile(offsets, (start, stop), through.shape[0]))  # initial guess
    ksp = multigrid_cg(matrix, prolong, coarse, rtol=rtol, comm=comm, prefix=OPTIONS_PREFIX)
    ksp.solve(b, x)
    reason = ksp.getConvergedReason()
    if reason < 0:
        raise RuntimeError(f"tortuosity solve did not converge (PETSc reason {reason}); try a smaller rtol or check the image")
    flux_in, flux_out = _boundary_fluxes(x.getArray(readonly=True), (start, stop), first, last_start, comm)
    iterations = ksp.getIterationNumber()
    log.debug("tortuosity solve: %d unknowns, %d coarse, %d CG iterations", total, coarse_total, iterations)
    for obj in (ksp, coarse, prolong, matrix, coarse_rows, b, x):
        obj.destroy()
    return flux_in, flux_out, iterations


def _unknown_ids(through: np.ndarray, dtype: type) -> np.ndarray:
    """Grid array of unknown ids, numbered in C order over the cells of ``through``; -1 elsewhere."""
    index = np.cumsum(through, dtype=dtype).reshape(through.shape)
    index -= 1
    index[~through] = -1
    return index


def _layer_offsets(through: np.ndarray) -> np.ndarray:
    """``offsets[l]``: the first unknown of layer ``l`` (axis 0); ``offsets[-1]``: the number of unknowns."""
    per_layer = np.count_nonzero(through.reshape(through.shape[0], -1), axis=1)
    return np.concatenate([[0], np.cumsum(per_layer)])


def _slabs(offsets: np.ndarray, rows: tuple[int, int], layer: int) -> Iterator[tuple[int, int, slice, slice]]:
    """Layer ranges ``[a, b)`` covering the unknowns ``rows``; with each, which of the slab's unknowns are in
    ``rows`` (slice into the slab's cells) and where they go (slice into the rows)."""
    start, stop = rows
    first = int(np.searchsorted(offsets, start, side="right")) - 1
    last = int(np.searchsorted(offsets, stop, side="left"))
    step = max(1, CHUNK_CELLS // max(layer, 1))
    for a in range(first, last, step):
        b = min(a + step, last)
        lo, hi = max(start, int(offsets[a])), min(stop, int(offsets[b]))
        if hi > lo:
            yield a, b, slice(lo - int(offsets[a]), hi - int(offsets[a])), slice(lo - start, hi - start)


def _assemble_rows(
    through: np.ndarray,
    index: np.ndarray,
    offsets: np.ndarray,
    rows: tuple[int, int],
    wrap: tuple[int, ...],
    planes: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays (sorted columns) and right-hand side of the unknowns ``rows = (start, stop)`` (SPEC sect. 4).

    Each face neighbour in the phase couples with -1; the diagonal is the sum of the conductances,
    plus ``G_BOUNDARY`` for a cell on a Dirichlet plane (unknowns below ``planes[0]``: y = 0; from
    ``planes[1]`` on: y = H).
    """
    start, stop = rows
    unknown = np.arange(start, stop, dtype=index.dtype)
    inlet, outlet = unknown < planes[0], unknown >= planes[1]
    rhs = G_BOUNDARY * (C_IN * inlet + C_OUT * outlet)
    diagonal = G_BOUNDARY * (inlet.astype(np.float64) + outlet)
    del inlet, outlet, unknown
    layer = through[0].size
    neighbours = np.empty(stop - start, dtype=np.uint8)
    for a, b, mine, out in _slabs(offsets, rows, layer):
        halo, inner = _halo(a, b, through.shape[0])
        grid = through[halo]
        neighbours[out] = neighbour_counts(grid, wrap_axes=wrap, dtype=np.uint8)[inner][grid[inner]][mine]
    diagonal += neighbours
    indptr = np.empty(stop - start + 1, dtype=index.dtype)
    indptr[0] = 0
    np.cumsum(neighbours + np.uint8(1), dtype=index.dtype, out=indptr[1:])
    del neighbours
    indices = np.empty(int(indptr[-1]), dtype=index.dtype)
    values = np.empty(int(indptr[-1]), dtype=np.float64)
    for a, b, mine, out in _slabs(offsets, rows, layer):
        cols = _stencil_columns(index, a, b, wrap)[mine]
        keep = cols >= 0
        span = slice(int(indptr[out.start]), int(indptr[out.stop]))
        indices[span] = cols[keep]
        values[span] = -1.0
        row = start + np.arange(out.start, out.stop, dtype=cols.dtype)
        before = np.count_nonzero(keep & (cols < row[:, None]), axis=1)  # columns sorted: the diagonal's place
        values[indptr[out] + before] = diagonal[out]
    return indptr, indices, values, rhs


def _halo(a: int, b: int, size: int) -> tuple[slice, slice]:
    """Layers ``a..b`` with one layer either side where it exists, and where ``a..b`` sit in them."""
    lo, hi = max(a - 1, 0), min(b + 1, size)
    return slice(lo, hi), slice(a - lo, b - lo)


def _directions(ndim: int) -> list[tuple[int, int]]:
    """Face-neighbour directions ``(axis, step)`` in increasing flat offset (C order); ``(0, 0)``: the cell."""
    below = [(axis, -1) for axis in range(ndim)]
    return [*below, (0, 0), *[(axis, 1) for axis in reversed(range(ndim))]]


def _stencil_columns(index: np.ndarray, a: int, b: int, wrap: tuple[int, ...]) -> np.ndarray:
    """Columns of the phase cells of layers ``a..b``: one row per cell, sorted; -1 for a missing neighbour."""
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
        ends = [slice(None)] * len(shape)
        ends[axis] = [0, shape[axis] - 1]
        edge[tuple(ends)] = True
    return edge


def _linear_profile(offsets: np.ndarray, rows: tuple[int, int], depth: int) -> np.ndarray:
    """Initial guess on ``rows``: the straight-line profile from ``C_IN`` to ``C_OUT``, layer by layer."""
    per_layer = C_IN + (C_OUT - C_IN) * (np.arange(depth) + 0.5) / depth
    first = int(np.searchsorted(offsets, rows[0], side="right")) - 1
    last = int(np.searchsorted(offsets, rows[1], side="left"))
    guess = np.repeat(per_layer[first:last], np.diff(offsets[first : last + 1]))
    return guess[rows[0] - int(offsets[first]) : rows[1] - int(offsets[first])]


def _boundary_fluxes(
    c: np.ndarray, rows: tuple[int, int], first: int, last_start: int, comm  # noqa: ANN001
) -> tuple[float, float]:
    """Flux in through y = 0 (unknowns below ``first``) and out through y = H (from ``last_start``), all ranks."""
    start, stop = rows
    flux_in = G_BOUNDARY * float(np.sum(C_IN - c[: max(0, min(first, stop) - start)]))
    flux_out = G_BOUNDARY * float(np.sum(c[max(last_start, start) - start :] - C_OUT))
    if comm.getSize() > 1:
        flux_in, flux_out = (comm.tompi4py().allreduce(v) for v in (flux_in, flux_out))
    return flux_in, flux_out
