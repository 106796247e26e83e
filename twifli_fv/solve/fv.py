"""The finite-volume core on the solver side: two-point operators from face pairs, PETSc matrices from CSR arrays.

A two-point flux couples the cells P and E on either side of a face ``f`` (found by
:mod:`twifli_fv.mesh.faces`) through a conductance ``g_f``: ``q_f = g_f (c_P - c_E)`` from P to E.
The net inflow of every cell is then ``L c`` with the symmetric, negative semi-definite operator::

    L_PE = L_EP = sum of g_f over the faces f between P and E,    L_PP = -sum of g_f over P's faces

whose columns sum to zero (the flux leaving one cell enters the other: Li is conserved exactly).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy import sparse

from twifli_fv.solve.petsc_env import petsc


def two_point_operator(faces: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]], size: int) -> sparse.csr_matrix:
    """``L`` of the module docstring over ``size`` cells, from groups of faces ``(first, second, g)`` (e.g. one per
    axis); repeated faces add up."""
    rows, cols, values = [], [], []
    for first, second, g in faces:
        rows += [first, second, first, second]
        cols += [second, first, first, second]
        values += [g, g, -g, -g]
    return sparse.csr_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size))


def aij_matrix(  # noqa: ANN201 - PETSc.Mat
    csr: tuple,
    *,
    sizes: tuple,
    comm,  # noqa: ANN001 - PETSc.Comm
    spd: bool = False,
    block: int | None = None,
):
    """A PETSc AIJ matrix (block size ``block``) of this rank's CSR rows using the arrays themselves, no copy:
    ``(indptr, indices, values)``, or under ``mpiexec`` the pair of them of :func:`split_blocks`; ``sizes``: rows
    and columns, each global or (local, global). ``spd``: flag it symmetric positive definite."""
    PETSc = petsc()
    matrix = PETSc.Mat().createAIJWithArrays(sizes, csr, bsize=block, comm=comm)
    if spd:
        matrix.setOption(PETSc.Mat.Option.SYMMETRIC, True)
        matrix.setOption(PETSc.Mat.Option.SPD, True)
    return matrix


def split_blocks(indptr: np.ndarray, indices: np.ndarray, *, own: slice) -> tuple[np.ndarray, tuple, tuple, np.ndarray]:
    """A rank's CSR rows (global columns) as PETSc's two blocks of a distributed matrix: the columns ``own`` (the
    rank's own rows; local numbers) first, the other columns (global numbers) after. Returns the new place of each
    entry, ``(indptr, indices)`` of each block and the row of each entry of the second."""
    PETSc = petsc()
    rows = np.repeat(np.arange(indptr.size - 1, dtype=np.int64), np.diff(indptr))
    inside = (indices >= own.start) & (indices < own.stop)
    inner = int(np.count_nonzero(inside))
    place = np.empty(indices.size, dtype=np.int64)
    place[inside] = np.arange(inner)
    place[~inside] = inner + np.arange(indices.size - inner)
    blocks = []
    for mask, shift in ((inside, own.start), (~inside, 0)):
        block_indptr = np.zeros(indptr.size, dtype=PETSc.IntType)
        np.cumsum(np.bincount(rows[mask], minlength=indptr.size - 1), out=block_indptr[1:])
        blocks.append((block_indptr, (indices[mask] - shift).astype(PETSc.IntType)))
    return place, blocks[0], blocks[1], rows[~inside]
