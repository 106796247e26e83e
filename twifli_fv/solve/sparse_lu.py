"""Sparse direct solves on one process by PETSc's LU: the dense-cathode model's backward-Euler matrix
``I / dt - L / V`` (:mod:`twifli_fv.solve.dense`) and the steady through-thickness problem of its effective D
(:func:`twifli_fv.solve.anisotropic_diffusion.effective_diffusivity`).

PETSc's native LU without pivoting (both matrices are diagonally dominant M-matrices); only an exactly zero pivot
counts as zero, since PETSc's test is absolute and the effective D's matrix has pivots near 1e-16 m^3 s^-1.
PETSc options under the prefix ``dense_`` (e.g. ``-dense_pc_factor_mat_ordering_type rcm``).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from twifli_fv.errors import NumericalError
from twifli_fv.solve.fv import aij_matrix
from twifli_fv.solve.petsc_env import krylov, petsc, user_options

OPTIONS_PREFIX = "dense_"


class SparseLU:
    """The LU factorisation of a square sparse ``matrix``; :meth:`solve` gives ``matrix^-1 b`` (one or more columns)."""

    def __init__(self, matrix: sparse.spmatrix | sparse.sparray) -> None:
        PETSc = petsc()
        csr = sparse.csr_matrix(matrix, dtype=PETSc.ScalarType, copy=True)
        if csr.shape[0] != csr.shape[1]:
            raise ValueError(f"SparseLU needs a square matrix, got shape {csr.shape}")
        csr.sum_duplicates()  # also sorts the column indices of each row, as PETSc's AIJ format wants
        self.size = csr.shape[0]
        self._csr = (np.ascontiguousarray(csr.indptr, dtype=PETSc.IntType),  # PETSc's matrix uses these arrays
                     np.ascontiguousarray(csr.indices, dtype=PETSc.IntType),
                     np.ascontiguousarray(csr.data, dtype=PETSc.ScalarType))
        comm = PETSc.COMM_SELF
        self.matrix = aij_matrix(self._csr, sizes=(self.size, self.size), comm=comm)
        self.ksp = krylov(self.matrix, comm=comm, prefix=OPTIONS_PREFIX, method="preonly", preconditioner="lu")
        pc = self.ksp.getPC()
        pc.setFactorPivot(zeropivot=0.0)  # only exact zeros, as SuperLU: PETSc's test is absolute, not scaled
        with user_options("the dense model's LU"):
            self.ksp.setFromOptions()
        self.ksp.setUp()  # the factorisation
        failed = pc.getFailedReason()
        if failed:
            names = {value: name for name, value in vars(PETSc.PC.FailedReason).items() if isinstance(value, int)}
            raise NumericalError(f"PETSc LU factorisation failed: {names.get(failed, failed)}")
        self._b, self._x = self.matrix.createVecs()

    def solve(self, b: np.ndarray) -> np.ndarray:
        """``matrix^-1 b`` for a vector ``b`` (n,) or the columns of an array ``b`` (n, k); a new array of b's shape."""
        b = np.asarray(b, dtype=float)
        if b.ndim not in (1, 2) or b.shape[0] != self.size:
            raise ValueError(f"right-hand side of shape {b.shape} for a {self.size} x {self.size} matrix")
        if b.ndim == 1:
            return self._solve(b)
        # one column at a time: faster here than KSPMatSolve
        return np.column_stack([self._solve(column) for column in b.T]) if b.shape[1] else np.zeros(b.shape)

    def destroy(self) -> None:
        """Free the PETSc objects now (else garbage collection does)."""
        for obj in (self.ksp, self.matrix, self._b, self._x):
            obj.destroy()

    def _solve(self, b: np.ndarray) -> np.ndarray:
        self._b.setArray(b)
        self.ksp.solve(self._b, self._x)
        reason = self.ksp.getConvergedReason()
        if reason < 0:
            raise NumericalError(f"PETSc sparse LU solve failed (KSP reason {reason})")
        return self._x.getArray(readonly=True).copy()
