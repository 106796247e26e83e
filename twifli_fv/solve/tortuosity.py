"""Tortuosity factors with PETSc: lean CSR assembly on the voxel grid, CG + algebraic multigrid.

The operator is the two-point-flux Laplacian on the percolating cells of one phase (see
:mod:`twifli_fv.properties.tortuosity`). It is assembled straight into CSR arrays, a slab of
rows at a time, and handed to PETSc without a copy on one rank (``MatCreateSeqAIJWithArrays``);
under ``mpiexec`` each rank builds its own rows and PETSc distributes the solve.
"""

from __future__ import annotations

import logging

import numpy as np

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
from twifli_fv.solve.petsc_env import petsc, world

log = logging.getLogger(__name__)
CHUNK_ROWS = 1 << 20


def tortuosity_factors(
    image: SegmentedImage,
    *,
    axis: int = 0,
    periodic: bool = True,
    rtol: float = 1e-8,
    comm=None,  # noqa: ANN001 - PETSc.Comm
) -> dict[str, TortuosityResult]:
    """Tortuosity of every phase present and of the electronic network (AM + CBD), along ``axis``."""
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
    rtol: float = 1e-8,
    comm=None,  # noqa: ANN001 - PETSc.Comm
) -> TortuosityResult:
    """Tortuosity factor of the phase ``mask`` along ``axis`` (SPEC sect. 4).

    In-plane axes other than ``axis`` are periodic unless ``periodic=False`` (TauFactor: no-flux);
    the thickness axis 0 never wraps.
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
    """Solve on the cells of ``through``; return (flux in at y = 0, flux out at y = H, iterations)."""
    PETSc = petsc()
    shape = through.shape
    cells = np.flatnonzero(through)
    total = cells.size
    index = np.full(through.size, -1, dtype=PETSc.IntType)
    index[cells] = np.arange(total, dtype=PETSc.IntType)
    layer = int(np.prod(shape[1:]))
    first = int(np.count_nonzero(cells < layer))  # unknowns in the first layer come first
    last = int(np.count_nonzero(cells >= through.size - layer))

    rows = PETSc.Vec().createMPI(total, comm=comm)
    start, stop = rows.getOwnershipRange()
    indptr, indices, values, rhs = _assemble_rows(cells[start:stop], start, index, shape, wrap, first, total - last)
    del index
    matrix = PETSc.Mat().createAIJWithArrays(((stop - start, total), (stop - start, total)), (indptr, indices, values), comm=comm)
    matrix.setOption(PETSc.Mat.Option.SYMMETRIC, True)
    matrix.setOption(PETSc.Mat.Option.SPD, True)

    b = rows.duplicate()
    b.setArray(rhs)
    x = rows  # initial guess: the straight-line profile
    depth = cells[start:stop] // layer
    x.setArray(C_IN + (C_OUT - C_IN) * (depth + 0.5) / shape[0])

    ksp = PETSc.KSP().create(comm=comm)
    ksp.setOperators(matrix)
    ksp.setType("cg")
    ksp.getPC().setType("gamg")
    ksp.setTolerances(rtol=rtol, atol=0.0, max_it=10000)
    ksp.setInitialGuessNonzero(True)
    ksp.setFromOptions()
    ksp.solve(b, x)
    reason = ksp.getConvergedReason()
    if reason < 0:
        raise RuntimeError(f"tortuosity solve did not converge (PETSc reason {reason}); try a smaller rtol or check the image")
    c = x.getArray()
    own = np.arange(start, stop)
    flux_in = G_BOUNDARY * float(np.sum(C_IN - c[own < first]))
    flux_out = G_BOUNDARY * float(np.sum(c[own >= total - last] - C_OUT))
    flux_in, flux_out = (comm.tompi4py().allreduce(v) if comm.getSize() > 1 else v for v in (flux_in, flux_out))
    iterations = ksp.getIterationNumber()
    log.debug("tortuosity solve: %d unknowns, %d CG iterations", total, iterations)
    for obj in (ksp, matrix, b, x):
        obj.destroy()
    return flux_in, flux_out, iterations


def _assemble_rows(
    cells: np.ndarray,
    start: int,
    index: np.ndarray,
    shape: tuple[int, ...],
    wrap: tuple[int, ...],
    first: int,
    last_start: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CSR rows (sorted columns) and right-hand side for the unknowns ``start + k`` at grid cells ``cells``.

    Each face neighbour in the phase couples with -1; the diagonal is the sum of the
    conductances, plus ``G_BOUNDARY`` for a cell on a Dirichlet plane.
    """
    ndim = len(shape)
    strides = [int(np.prod(shape[a + 1 :])) for a in range(ndim)]
    n = cells.size
    neighbours = np.empty(n, dtype=np.int8)  # first pass: how many in-phase neighbours each row has
    chunks = range(0, n, CHUNK_ROWS)
    for lo in chunks:
        cols = _neighbour_columns(cells[lo : lo + CHUNK_ROWS], index, shape, strides, wrap)
        neighbours[lo : lo + cols.shape[0]] = np.count_nonzero(cols >= 0, axis=1)
    indptr = np.zeros(n + 1, dtype=index.dtype)
    np.cumsum(neighbours + 1, out=indptr[1:])
    indices = np.empty(int(indptr[-1]), dtype=index.dtype)
    values = np.empty(int(indptr[-1]), dtype=np.float64)
    unknown = np.arange(start, start + n)
    boundary = G_BOUNDARY * ((unknown < first).astype(np.float64) + (unknown >= last_start))
    rhs = G_BOUNDARY * (C_IN * (unknown < first) + C_OUT * (unknown >= last_start))
    sentinel = np.iinfo(index.dtype).max
    for lo in chunks:  # second pass: fill, a chunk of rows at a time
        hi = min(lo + CHUNK_ROWS, n)
        cols = _neighbour_columns(cells[lo:hi], index, shape, strides, wrap)
        diag = neighbours[lo:hi] + boundary[lo:hi]
        cols = np.concatenate([cols, unknown[lo:hi, None].astype(cols.dtype)], axis=1)
        vals = np.concatenate([np.full((hi - lo, cols.shape[1] - 1), -1.0), diag[:, None]], axis=1)
        cols[cols < 0] = sentinel
        order = np.argsort(cols, axis=1, kind="stable")
        cols, vals = np.take_along_axis(cols, order, 1), np.take_along_axis(vals, order, 1)
        keep = cols != sentinel
        indices[indptr[lo] : indptr[hi]] = cols[keep]
        values[indptr[lo] : indptr[hi]] = vals[keep]
    return indptr, indices, values, rhs


def _neighbour_columns(
    cells: np.ndarray, index: np.ndarray, shape: tuple[int, ...], strides: list[int], wrap: tuple[int, ...]
) -> np.ndarray:
    """Unknown ids of the 2 d face neighbours of each cell (-1: outside the grid or the phase)."""
    coords = np.unravel_index(cells, shape)
    out = np.full((cells.size, 2 * len(shape)), -1, dtype=index.dtype)
    for axis, (size, stride) in enumerate(zip(shape, strides)):
        coord = coords[axis]
        for k, step in enumerate((-1, 1)):
            target = cells + step * stride
            inside = (coord + step >= 0) & (coord + step < size)
            if axis in wrap:
                target = np.where(inside, target, target - step * size * stride)
                inside = np.ones_like(inside)
            out[inside, 2 * axis + k] = index[target[inside]]
    return out
