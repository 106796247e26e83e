"""The finite-volume core on the solver side: two-point operators from face pairs, PETSc matrices from CSR arrays.

A two-point flux couples the cells P and E on either side of a face ``f`` (found by
:mod:`twifli_fv.mesh.faces`) through a conductance ``g_f``: ``q_f = g_f (c_P - c_E)`` from P to E.
The net inflow of every cell is then ``L c`` with the symmetric, negative semi-definite operator::

    L_PE = L_EP = sum of g_f over the faces f between P and E,    L_PP = -sum of g_f over P's faces

whose columns sum to zero (the flux leaving one cell enters the other: Li is conserved exactly).
Tortuosity (:mod:`twifli_fv.solve.tortuosity`), TWIF-Li (:mod:`twifli_fv.solve.assembly`) and the
dense model (:mod:`twifli_fv.solve.anisotropic_diffusion`, :mod:`twifli_fv.solve.sparse_lu`) hand
their CSR arrays to PETSc through :func:`aij_matrix`.
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
    csr: tuple[np.ndarray, ...],
    *,
    sizes: tuple,
    comm,  # noqa: ANN001 - PETSc.Comm
    spd: bool = False,
    coo_first_row: int | None = None,
):
    """A PETSc AIJ matrix of this rank's CSR rows (``sizes``: rows and columns, each global or (local, global));
    on one rank PETSc uses the arrays themselves, no copy. With ``coo_first_row`` (this rank's first row) only the
    pattern ``csr[:2]`` goes in, through PETSc's COO interface (its split into diagonal and off-diagonal blocks
    done once; values later by ``setValuesCOO``). ``spd``: flag it symmetric positive definite."""
    PETSc = petsc()
    if coo_first_row is None:
        matrix = PETSc.Mat().createAIJWithArrays(sizes, csr, comm=comm)
    else:
        indptr, indices = csr[:2]
        matrix = PETSc.Mat().createAIJ(sizes, comm=comm)
        rows = np.arange(coo_first_row, coo_first_row + indptr.size - 1, dtype=indices.dtype)
        matrix.setPreallocationCOO(np.repeat(rows, np.diff(indptr)), indices)
    if spd:
        matrix.setOption(PETSc.Mat.Option.SYMMETRIC, True)
        matrix.setOption(PETSc.Mat.Option.SPD, True)
    return matrix
