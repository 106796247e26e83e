"""The TWIF-Li equation as FiPy terms: the readable definition of the system and the oracle that the
PETSc assembly (:mod:`twifli_fv.solve.assembly`) is tested against (paper 1, eqns 1 and 5)::

    TransientTerm() == DiffusionTerm(D(c) on AM|AM faces) - ImplicitSourceTerm(k) + s

``s - k c`` is the interfacial source of :func:`twifli_fv.model.twifli.interfacial_source` linearised
about the latest iterate. FiPy rebuilds its matrix from the terms at every sweep, at 10-30 times the
cost of the linear solve, so runs use the PETSc assembly; this one serves tests (one process only).
"""

from __future__ import annotations

import numpy as np

from twifli_fv.model.twifli import TwifliModel


class FipyEquation:
    """The TWIF-Li equation as FiPy terms on the whole mesh of ``model``."""

    def __init__(self, model: TwifliModel, *, linear_tol: float) -> None:
        import fipy

        mesh = model.mesh.mesh
        self.model = model
        self.c = fipy.CellVariable(mesh=mesh, value=0.0, hasOld=True, name="c")
        self.D = fipy.FaceVariable(mesh=mesh, value=0.0)
        self.k = fipy.CellVariable(mesh=mesh, value=0.0)
        self.s = fipy.CellVariable(mesh=mesh, value=0.0)
        self.equation = fipy.TransientTerm() == fipy.DiffusionTerm(coeff=self.D) - fipy.ImplicitSourceTerm(coeff=self.k) + self.s
        self.solver = fipy.LinearPCGSolver(tolerance=linear_tol, iterations=5000, precon="jacobi")
        cells = np.ma.filled(mesh.faceCellIDs, -1)
        am = model.am
        both = (cells[1] >= 0) & am[cells[0]] & np.where(cells[1] >= 0, am[cells[1]], False)
        self._faces, self._left, self._right = np.flatnonzero(both), cells[0][both], cells[1][both]

    def sweep(self, dt: float, c_old: np.ndarray, c: np.ndarray, k: np.ndarray, s: np.ndarray) -> np.ndarray:
        """One linear solve about the iterate ``c`` (whole-mesh arrays, ``k >= 0``); the new iterate."""
        self.c.setValue(c_old)
        self.c.updateOld()
        self.c.setValue(c)
        face_d = np.zeros(self.D.value.shape)
        face_d[self._faces] = self.model.diffusivity(0.5 * (c[self._left] + c[self._right]))
        self.D.setValue(face_d)
        self.k.setValue(k)
        self.s.setValue(s)
        self.equation.sweep(var=self.c, dt=dt, solver=self.solver)
        return np.array(self.c.value)
