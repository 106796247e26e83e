"""Tortuosity factors with PETSc: lean CSR assembly on the voxel grid, CG + two-level multigrid (SPEC sect. 4).

The operator is the two-point-flux Laplacian on the percolating cells of one phase (see
:mod:`twifli_fv.properties.tortuosity`). It is assembled straight into CSR arrays with vectorised
shifts of the voxel grid, a slab of layers at a time, and handed to PETSc without a copy on one rank
(``MatCreateSeqAIJWithArrays``); under ``mpiexec`` each rank builds its own rows and PETSc
distributes the solve.

Preconditioner: one geometric level, then algebraic multigrid. The cells are aggregated by
2 x 2 x 2 blocks of the grid, each block split into its face-connected pieces (piecewise-constant
prolongation, Galerkin coarse operator, one Chebyshev-Jacobi sweep on the fine grid); GAMG solves the
about eight times smaller coarse problem. This skips GAMG's costly set-up on the fine grid (graph
squaring, smoothed prolongator, fine Galerkin product): on the 256^3 reference electrode the solve
takes about half the time and two thirds of the memory of GAMG alone. PETSc options can tune it
under the prefix ``tortuosity_`` (e.g. ``-tortuosity_mg_coarse_pc_gamg_threshold 0.01``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from functools import cache

import numpy as np

from twifli_fv.errors import NumericalError
from twifli_fv.image.phases import Phase
from twifli_fv.image.segmented import SegmentedImage
from twifli_fv.properties.connectivity import in_plane_axes, percolating
from twifli_fv.properties.microstructure import ELECTRONIC
from twifli_fv.properties.tortuosity import (
    C_IN,
    C_OUT,
    G_BOUNDARY,
    TortuosityResult,
    empty_result,
    tortuosity_from_flux,
    volume_fraction,
)
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
    eps = volume_fraction(mask)
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
    matrix = _aij(PETSc, (indptr, indices, values), (stop - start, total), (stop - start, total), comm, spd=True)
    del indptr, indices, values
    aggregate, coarse_total = _aggregates(through, offsets, (start, stop), PETSc.IntType)
    del index
    coarse_rows = PETSc.Vec().createMPI(coarse_total, comm=comm)
    coarse_size = (coarse_rows.getLocalSize(), coarse_total)
    prolong = _aij(PETSc, _one_per_row(aggregate), (stop - start, total), coarse_size, comm, spd=False)
    coarse = matrix.ptap(prolong)

    b = PETSc.Vec().createWithArray(rhs, size=(stop - start, total), comm=comm)  # no copy
    x.setArray(_linear_profile(offsets, (start, stop), through.shape[0]))  # initial guess
    ksp = _krylov(PETSc, matrix, prolong, coarse, rtol=rtol, comm=comm)
    ksp.solve(b, x)
    reason = ksp.getConvergedReason()
    if reason < 0:
        raise NumericalError(f"tortuosity solve did not converge (PETSc reason {reason}); try a smaller rtol or check the image")
    flux_in, flux_out = _boundary_fluxes(x.getArray(readonly=True), (start, stop), first, last_start, comm)
    iterations = ksp.getIterationNumber()
    log.debug("tortuosity solve: %d unknowns, %d coarse, %d CG iterations", total, coarse_total, iterations)
    for obj in (ksp, coarse, prolong, matrix, coarse_rows, b, x):
        obj.destroy()
    return flux_in, flux_out, iterations


def _krylov(PETSc, matrix, prolong, coarse, *, rtol: float, comm):  # noqa: ANN001, ANN202 - petsc4py objects
    """CG preconditioned by a V-cycle: the aggregation level over GAMG on the coarse operator (SPEC sect. 4)."""
    ksp = PETSc.KSP().create(comm=comm)
    ksp.setOptionsPrefix(OPTIONS_PREFIX)
    ksp.setOperators(matrix)
    ksp.setType("cg")
    ksp.setTolerances(rtol=rtol, atol=0.0, max_it=10000)
    ksp.setInitialGuessNonzero(True)
    pc = ksp.getPC()
    pc.setType("mg")
    pc.setMGLevels(2)
    pc.setMGInterpolation(1, prolong)
    smoother = pc.getMGSmoother(1)
    smoother.setType("chebyshev")
    smoother.setTolerances(max_it=1)  # one Chebyshev-Jacobi sweep each way: the aggregates do the rest
    smoother.getPC().setType("jacobi")
    coarse_solve = pc.getMGCoarseSolve()
    coarse_solve.setOperators(coarse)
    coarse_solve.setType("preonly")
    coarse_solve.getPC().setType("gamg")
    with user_options("the tortuosity solve"):
        ksp.setFromOptions()
    return ksp


def _aij(  # noqa: ANN202 - PETSc.Mat
    PETSc,  # noqa: ANN001, N803 - the petsc4py module
    csr: tuple[np.ndarray, np.ndarray, np.ndarray],
    rows: tuple[int, int],
    cols: tuple[int, int],
    comm,  # noqa: ANN001 - PETSc.Comm
    *,
    spd: bool,
):
    """A PETSc AIJ matrix of this rank's CSR rows, sizes (local, global); no copy on one rank.

    ``spd``: flag it symmetric positive definite (the Laplacian, not the prolongation).
    """
    matrix = PETSc.Mat().createAIJWithArrays((rows, cols), csr, comm=comm)
    if spd:
        matrix.setOption(PETSc.Mat.Option.SYMMETRIC, True)
        matrix.setOption(PETSc.Mat.Option.SPD, True)
    return matrix


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
        neighbours[out] = _neighbour_counts(through, a, b, wrap)[mine]
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


def _shifted(grid: np.ndarray, axis: int, step: int, fill: int | bool, periodic: bool) -> np.ndarray:
    """``out[..., i, ...] = grid[..., i + step, ...]`` along ``axis``; ``fill`` past the edge unless ``periodic``."""
    if periodic:
        return np.roll(grid, -step, axis=axis)
    out = np.full_like(grid, fill)
    src, dst = [slice(None)] * grid.ndim, [slice(None)] * grid.ndim
    if step > 0:
        src[axis], dst[axis] = slice(step, None), slice(None, -step)
    else:
        src[axis], dst[axis] = slice(None, step), slice(-step, None)
    out[tuple(dst)] = grid[tuple(src)]
    return out


def _directions(ndim: int) -> list[tuple[int, int]]:
    """Face-neighbour directions ``(axis, step)`` in increasing flat offset (C order); ``(0, 0)``: the cell."""
    below = [(axis, -1) for axis in range(ndim)]
    return [*below, (0, 0), *[(axis, 1) for axis in reversed(range(ndim))]]


def _neighbour_counts(through: np.ndarray, a: int, b: int, wrap: tuple[int, ...]) -> np.ndarray:
    """In-phase face neighbours of each phase cell of layers ``a..b`` (in C order), by shifts of the grid."""
    halo, inner = _halo(a, b, through.shape[0])
    grid = through[halo]
    count = np.zeros(grid[inner].shape, dtype=np.uint8)
    for axis, step in _directions(through.ndim):
        if step:
            count += _shifted(grid, axis, step, False, axis in wrap)[inner]
    return count[grid[inner]]


def _stencil_columns(index: np.ndarray, a: int, b: int, wrap: tuple[int, ...]) -> np.ndarray:
    """Columns of the phase cells of layers ``a..b``: one row per cell, sorted; -1 for a missing neighbour."""
    halo, inner = _halo(a, b, index.shape[0])
    grid = index[halo]
    here = grid[inner] >= 0
    neighbours = ((_shifted(grid, axis, step, -1, axis in wrap) if step else grid) for axis, step in _directions(index.ndim))
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


def _aggregates(through: np.ndarray, offsets: np.ndarray, rows: tuple[int, int], dtype: type) -> tuple[np.ndarray, int]:
    """Coarse unknown of each unknown in ``rows``, and the number of coarse unknowns (SPEC sect. 4).

    An aggregate is a face-connected piece of ``through`` inside one 2 x 2 x 2 block of the grid (pieces
    of a block that do not touch stay apart, so thin walls are not bridged); aggregates are numbered in
    block C order, then piece by piece.
    """
    ndim = through.ndim
    rank, count = _piece_table(ndim)
    shape = [-(-n // 2) for n in through.shape]
    padded = np.zeros([2 * n for n in shape], dtype=bool)
    padded[tuple(slice(0, n) for n in through.shape)] = through
    cells = padded.reshape([v for n in shape for v in (n, 2)])  # per axis: block index, in-block position
    at = [tuple(v for bit in _bits(q, ndim) for v in (slice(None), bit)) for q in range(2**ndim)]  # position q of all blocks
    pattern = np.zeros(shape, dtype=np.uint8)  # bit q: the block's cell at in-block position q is in the phase
    for q, index in enumerate(at):
        pattern |= cells[index].view(np.uint8) << np.uint8(q)
    pieces = count[pattern]
    base = np.cumsum(pieces, dtype=dtype).reshape(shape)  # aggregates up to and including each block
    base -= pieces
    ids = np.empty(cells.shape, dtype=dtype)
    for q, index in enumerate(at):
        ids[index] = base + rank[pattern, q]
    ids = ids.reshape(padded.shape)[tuple(slice(0, n) for n in through.shape)]
    coarse = np.empty(rows[1] - rows[0], dtype=dtype)
    for a, b, mine, out in _slabs(offsets, rows, through[0].size):
        coarse[out] = ids[a:b, ...][through[a:b]][mine]
    return coarse, int(base.flat[-1]) + int(pieces.flat[-1])


def _bits(q: int, ndim: int) -> list[int]:
    """In-block coordinates of position ``q`` of a 2**ndim block (C order: the last axis is the lowest bit)."""
    return [(q >> (ndim - 1 - k)) & 1 for k in range(ndim)]


@cache
def _piece_table(ndim: int) -> tuple[np.ndarray, np.ndarray]:
    """For each occupancy pattern of a 2**ndim block (bit q: the cell at position q): the rank of the
    face-connected piece holding each position (pieces ordered by their first position), and the count
    of pieces. Face neighbours in a block differ in one bit of the position."""
    size = 2**ndim
    rank = np.zeros((2**size, size), dtype=np.uint8)
    count = np.zeros(2**size, dtype=np.uint8)
    for pattern in range(2**size):
        label: dict[int, int] = {}
        for seed in (q for q in range(size) if pattern >> q & 1):
            if seed in label:
                continue
            stack, label[seed] = [seed], int(count[pattern])
            while stack:
                q = stack.pop()
                for v in (q ^ (1 << k) for k in range(ndim)):
                    if pattern >> v & 1 and v not in label:
                        label[v] = label[seed]
                        stack.append(v)
            count[pattern] += 1
        for q, piece in label.items():
            rank[pattern, q] = piece
    return rank, count


def _one_per_row(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays of a matrix with a single 1 per row, in column ``columns[row]`` (the aggregation prolongation)."""
    return np.arange(columns.size + 1, dtype=columns.dtype), columns, np.ones(columns.size)


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
