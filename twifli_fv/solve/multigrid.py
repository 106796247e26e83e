"""The tortuosity solve's preconditioner: one geometric level, then algebraic multigrid (SPEC sect. 4).

The cells are aggregated by 2 x 2 x 2 blocks, each block split into its face-connected pieces (thin walls are not
bridged); one Chebyshev-Jacobi sweep on the fine grid, GAMG on the Galerkin coarse operator, which skips GAMG's
costly fine-grid set-up (README, "Tortuosity: accuracy and speed").
"""

from __future__ import annotations

from functools import cache

import numpy as np

from twifli_fv.ranks import Ranks
from twifli_fv.solve.fv import aij_matrix
from twifli_fv.solve.petsc_env import krylov, petsc, user_options


def aggregate_ids(through: np.ndarray, dtype: type) -> tuple[np.ndarray, int]:
    """Coarse unknown of every cell of the grid (meaningful on the cells of ``through``), and the number of
    coarse unknowns; aggregates are numbered in block C order, then piece by piece."""
    ndim = through.ndim
    rank, count = _piece_table(ndim)
    shape = [-(-n // 2) for n in through.shape]
    padded = np.zeros([2 * n for n in shape], dtype=bool)
    padded[tuple(slice(0, n) for n in through.shape)] = through
    cells = padded.reshape([v for n in shape for v in (n, 2)])  # per axis: block index, in-block position
    bits = [[(q >> (ndim - 1 - k)) & 1 for k in range(ndim)] for q in range(2**ndim)]  # position q (C order)
    at = [tuple(v for bit in bits[q] for v in (slice(None), bit)) for q in range(2**ndim)]  # position q of all blocks
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
    return ids, int(base.flat[-1]) + int(pieces.flat[-1])


def prolongation(through: np.ndarray, mine: tuple[int, int], *, comm, ranks: Ranks):  # noqa: ANN001, ANN201
    """The prolongation (a single 1 per row, in the column of the cell's aggregate) from the aggregates of this
    rank's own planes ``through``, numbered after the other ranks' aggregates; and the number of aggregates of
    all ranks."""
    ids, count = aggregate_ids(through, petsc().IntType)
    counts = ranks.gather(count)
    aggregate = ids[through]
    del ids
    aggregate += sum(counts[: ranks.rank])
    csr = (np.arange(aggregate.size + 1, dtype=aggregate.dtype), aggregate, np.ones(aggregate.size))
    return aij_matrix(csr, sizes=(mine, (count, sum(counts))), comm=comm), sum(counts)


def multigrid_cg(matrix, prolong, coarse, *, rtol: float, comm, prefix: str):  # noqa: ANN001, ANN201 - petsc4py objects
    """CG on ``matrix`` preconditioned by a V-cycle: the aggregation level (``prolong``) over GAMG on the
    ``coarse`` operator; PETSc options under ``prefix`` (SPEC sect. 4)."""
    ksp = krylov(matrix, comm=comm, prefix=prefix, method="cg", preconditioner="mg")
    ksp.setTolerances(rtol=rtol, atol=0.0, max_it=10000)
    ksp.setInitialGuessNonzero(True)
    pc = ksp.getPC()
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
