"""The implicit diffusion-reaction system on a set of grid cells, assembled once into PETSc and refilled
in place each sweep (paper 1, eqns 1 and 5; SPEC sect. 2).

The TWIF-Li equation of :class:`~twifli_fv.solve.fipy_reference.FipyEquation` divided by FiPy's transient
coefficient ``V / dt``, on the cells of a mask only (elsewhere the equation is ``c = c_old``)::

    A_ii = d_i + sum_f g_f,    A_ij = -sum of g_f over the faces f between cells i and j,    b_i given

with ``d_i = 1 + dt k_i``, ``g_f = dt D_f / h^2`` (face area / centre distance / cell volume = 1 / h^2)
and ``b_i = c_old_i + dt s_i``: symmetric positive definite. The sparsity pattern is built once; each
sweep places ``-g_f`` in the off-diagonal entries (summed where a periodic direction two cells wide gives
two faces), sets each diagonal from its row sum and hands the values to the same PETSc matrix. Under
``mpiexec`` each rank owns the rows of its slab's AM cells (PETSc's diagonal and off-diagonal blocks, also
filled in place); :meth:`CellSystem.with_ghosts` brings over the neighbours' values across the slab
boundaries. CG is preconditioned by ICC(``FILL_LEVELS``); under ``mpiexec`` each rank factorises its own rows
grown by ``OVERLAP`` layers (additive Schwarz, the symmetric ``basic`` variant, in 2D; block Jacobi in 3D;
README "Performance" has the measurements). CG stops on the unpreconditioned residual relative to the
initial guess, the current iterate (see :meth:`CellSystem.solve`). PETSc options tune it under the prefix
``twifli_`` (e.g. ``-twifli_pc_factor_levels 2``, under ``mpiexec`` ``-twifli_sub_pc_factor_levels 2``,
``-twifli_pc_asm_overlap 2`` in 2D, ``-twifli_pc_type asm`` in 3D).
"""

from __future__ import annotations

import numpy as np

from twifli_fv.errors import NumericalError
from twifli_fv.solve.fv import aij_matrix, split_blocks
from twifli_fv.solve.petsc_env import krylov, petsc, user_options, world

OPTIONS_PREFIX = "twifli_"
FILL_LEVELS = {2: 4, 3: 1}  # ICC fill levels by dimension (measured by benchmarks/transient.py, README)
OVERLAP = {2: 1, 3: 0}  # under mpiexec, by dimension: layers of neighbouring rows each rank's ICC also covers


class CellSystem:
    """``A x = b`` of the AM cells (numbered in cell order over the whole grid), with ``A`` as in the module
    docstring; this rank owns the rows ``unknowns``, and ``first``, ``second`` are the faces touching them."""

    def __init__(
        self,
        first: np.ndarray,
        second: np.ndarray,
        *,
        unknowns: slice,
        size: int,
        ndim: int,
        rtol: float,
        comm=None,  # noqa: ANN001 - PETSc.Comm; default: all ranks
    ) -> None:
        PETSc = petsc()
        self.comm = comm or world()
        self.size = int(size)
        self.start, self.stop = unknowns.start, unknowns.stop
        self.x = PETSc.Vec().createMPI((self.stop - self.start, self.size), comm=self.comm)
        mine_first = (first >= self.start) & (first < self.stop)
        mine_second = (second >= self.start) & (second < self.stop)
        self.ghosts = np.unique(np.concatenate([first[~mine_first], second[~mine_second]]))  # the neighbours' cells
        rows = np.arange(self.start, self.stop, dtype=np.int64)
        faces = np.arange(first.size)
        row = np.concatenate([rows, first[mine_first], second[mine_second]])
        column = np.concatenate([rows, second[mine_first], first[mine_second]])
        self._face = np.concatenate([faces[mine_first], faces[mine_second]])  # face of each off-diagonal contribution
        entries, target = np.unique((row - self.start) * self.size + column, return_inverse=True)
        del row, column
        index = PETSc.IntType
        diagonal = target[: rows.size]
        on_row = np.concatenate([diagonal[first[mine_first] - self.start], diagonal[second[mine_second] - self.start]])
        self.nonzeros = int(entries.size)
        off = target[rows.size :]  # the value of each off-diagonal contribution
        if np.unique(off).size == off.size:  # one face per off-diagonal entry: place the values directly
            order = np.argsort(off)
            self._off, self._off_face = off[order], self._face[order]
            self._diagonal, self._targets = diagonal.copy(), None
            del self._face
        else:  # two faces between the same cells (a periodic direction two cells wide): sum them
            self._targets = np.concatenate([diagonal, on_row, off])  # where each weight of fill() goes
        del off
        indptr = np.zeros(rows.size + 1, dtype=index)
        np.cumsum(np.bincount(entries // self.size, minlength=rows.size), out=indptr[1:])
        self._csr = (indptr, (entries % self.size).astype(index))
        del entries, target, diagonal, on_row
        if self.ghosts.size:  # the faces' cells as indices into [own cells..., ghosts...] (see with_ghosts)
            owned = self.stop - self.start
            first, second = (np.where(mine, cells - self.start, owned + np.searchsorted(self.ghosts, cells))
                             for cells, mine in ((first, mine_first), (second, mine_second)))
        elif self.start:
            first, second = first - self.start, second - self.start
        self.first, self.second = first, second  # each face's cells, local: own rows first, then the ghosts
        del mine_first, mine_second
        self._values = np.zeros(self.nonzeros)  # PETSc uses them in place, refilled by fill()
        self._row_starts, self._inner, self._outer_rows = self._csr[0][:-1], self.nonzeros, None
        csr = (*self._csr, self._values)
        if self.comm.getSize() > 1:  # PETSc's diagonal and off-diagonal blocks, in place as well (no COO copy)
            place, (ai, aj), (bi, bj), self._outer_rows = split_blocks(*self._csr, own=unknowns)
            if self._targets is None:
                self._off, self._diagonal = place[self._off], place[self._diagonal]
            else:
                self._targets = place[self._targets]
            self._row_starts, self._inner, self._csr = ai[:-1], int(ai[-1]), None
            csr = ((ai, aj, self._values[: self._inner]), (bi, bj, self._values[self._inner :]))
            del place
        local_size = (self.stop - self.start, self.size)
        self.matrix = aij_matrix(csr, sizes=(local_size, local_size), comm=self.comm, spd=True)
        self.b = self.x.duplicate()
        self._ghost_values = PETSc.Vec().createSeq(self.ghosts.size, comm=PETSc.COMM_SELF)
        ghost_index = PETSc.IS().createGeneral(self.ghosts.astype(PETSc.IntType), comm=PETSc.COMM_SELF)
        self._to_ghosts = PETSc.Scatter().create(self.x, ghost_index, self._ghost_values, None)
        blocks = self.comm.getSize() > 1  # ICC on each rank's rows, grown by OVERLAP layers (symmetric ASM) or not
        self.ksp = krylov(self.matrix, comm=self.comm, prefix=OPTIONS_PREFIX, method="cg",
                          preconditioner=("asm" if OVERLAP[ndim] else "bjacobi") if blocks else "icc")
        self.ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
        self.rtol = rtol
        self.ksp.setTolerances(rtol=0.0, atol=0.0, max_it=10000)
        self.ksp.setInitialGuessNonzero(True)
        with user_options("the TWIF-Li linear solve"):
            pc = self.ksp.getPC()
            if blocks:
                if OVERLAP[ndim]:
                    pc.setASMOverlap(OVERLAP[ndim])
                self.fill(np.ones(self.stop - self.start), np.zeros(self.first.size))  # A = I: values to set up on
                self.ksp.setFromOptions()  # before the set-up: PETSc takes -twifli_pc_asm_overlap only then
                if pc.getType() == "asm" and not PETSc.Options().hasName(f"{OPTIONS_PREFIX}pc_asm_type"):
                    pc.setASMType(PETSc.PC.ASMType.BASIC)  # symmetric, as CG needs (PETSc's default is not)
                self.ksp.setUp()
                pc = _block(pc)
                pc.setType("icc")
            option = f"{OPTIONS_PREFIX}{'sub_' if blocks else ''}pc_factor_levels"
            self.fill_levels = PETSc.Options().getInt(option, FILL_LEVELS[ndim])
            pc.setFactorLevels(self.fill_levels)
            self.ksp.setFromOptions()
        self.iterations = 0

    def describe(self) -> str:
        pc = self.ksp.getPC()
        name = pc.getType()
        if name in ("asm", "bjacobi"):
            name = f"{name}/{_block(pc).getType()}"
        name += f"({self.fill_levels})"
        return (f"PETSc {self.ksp.getType().upper()} + {name} on {self.comm.getSize()} rank(s), "
                "matrix assembled in place (twifli_fv.solve.assembly)")

    def fill(self, diagonal: np.ndarray, conductance: np.ndarray) -> None:
        """Set ``A`` from ``d`` of this rank's rows and ``g`` of its faces (:attr:`first`, :attr:`second`)."""
        if self._targets is None:
            values = self._values
            values[self._off] = -conductance[self._off_face]
            values[self._diagonal] = 0.0
            sums = np.add.reduceat(values[: self._inner], self._row_starts)
            if self._outer_rows is not None:  # the entries of the off-diagonal block (columns of other ranks)
                sums += np.bincount(self._outer_rows, weights=values[self._inner :], minlength=sums.size)
            values[self._diagonal] = diagonal - sums
        else:
            g = conductance[self._face]
            self._values[:] = np.bincount(self._targets, weights=np.concatenate([diagonal, g, -g]), minlength=self.nonzeros)
        self.matrix.assemble()

    def with_ghosts(self, own: np.ndarray) -> np.ndarray:
        """``own`` (this rank's rows) followed by the values of :attr:`ghosts` on the ranks that own them."""
        if self.comm.getSize() == 1:
            return own
        share = self.b  # the right-hand side's vector is free between solves
        share.setArray(own)
        self._to_ghosts.scatter(share, self._ghost_values)
        return np.concatenate([own, self._ghost_values.getArray(readonly=True)])

    def solve(self, rhs: np.ndarray, guess: np.ndarray, *, atol: float = 0.0) -> np.ndarray:
        """Solve with this rank's rows of ``b`` and of the initial guess; this rank's rows of the solution.

        CG stops when ``|r| <= max(rtol |x0|, atol)`` (2-norms, ``x0`` the initial guess); as ``A >= I``, the
        error is then at most that in every cell. Relative to ``x0`` (about c) rather than ``b``: cells pinned at a
        bound by a steep linearisation make ``b`` huge without making the solution any larger.
        """
        self.b.setArray(rhs)
        self.x.setArray(guess)
        self.ksp.setTolerances(atol=max(atol, self.rtol * self.x.norm()))
        self.ksp.solve(self.b, self.x)
        reason = self.ksp.getConvergedReason()
        if reason < 0:
            raise NumericalError(f"the TWIF-Li linear solve did not converge (PETSc reason {reason})")
        self.iterations += self.ksp.getIterationNumber()
        return self.x.getArray(readonly=True).copy()


def _block(pc):  # noqa: ANN001, ANN202 - PETSc.PC
    """The preconditioner of this rank's block under additive Schwarz or block Jacobi (else ``pc`` itself)."""
    if pc.getType() == "asm":
        return pc.getASMSubKSP()[0].getPC()
    if pc.getType() == "bjacobi":
        return pc.getBJacobiSubKSP()[0].getPC()
    return pc
