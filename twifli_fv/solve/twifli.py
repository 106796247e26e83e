"""The TWIF-Li transient solver: implicit concentration-dependent diffusion in the AM with the
tortuosity-weighted interfacial flux on AM|SE faces (paper 1, eqns 1-5; SPEC sect. 2-3).

The equation reads as the PDE, in FiPy terms (:class:`FipyEquation`)::

    TransientTerm() == DiffusionTerm(D(c) on AM|AM faces) - ImplicitSourceTerm(k) + s

with the interfacial flux of the active cells linearised as ``s - k c`` about the latest
iterate (see :mod:`twifli_fv.model.kinetics`). Each backward-Euler step sweeps (Picard) until
the concentration changes by less than ``sweep_tol * c_sat``; steps adapt their length and
land exactly on frame times, step ends and mean-SOC targets. The sweeps solve the same matrix
assembled straight into PETSc (:mod:`twifli_fv.solve.assembly`, ``assembly="petsc"``, the default);
``assembly="fipy"`` solves FiPy's own, the reference it is tested against (one process only).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from twifli_fv.errors import InputError
from twifli_fv.image.phases import Phase
from twifli_fv.mesh.grid import CathodeMesh
from twifli_fv.model.constants import FARADAY
from twifli_fv.model.kinetics import TwifliCharge, TwifliDischarge
from twifli_fv.model.weights import w1
from twifli_fv.solve.petsc_env import world

log = logging.getLogger(__name__)
EXHAUSTED = 1e-2  # end a step when sum(W s) / S falls below this: no interface can react
# Inexact sweeps: a sweep's linear solve may stop once its error is below FORCING times the change of
# the sweep before (max norm, relative to c_sat; FIRST_CHANGE stands in before the first). The accepted
# iterate's error stays far below sweep_tol; only the early sweeps save CG iterations.
FORCING = 1e-3
FIRST_CHANGE = 1e-2


@dataclass(frozen=True)
class TwifliModel:
    """Everything the transient solve needs; concentrations in mol m^-3, SI throughout."""

    mesh: CathodeMesh
    diffusivity: Callable[[np.ndarray], np.ndarray]
    c_sat_mol_m3: float
    tau_e: float
    tau_li: float
    normalisation: str = "conserve"  # or "literal" (SPEC sect. 3)

    def __post_init__(self) -> None:
        if self.normalisation not in ("conserve", "literal"):
            raise InputError(f"normalisation {self.normalisation!r}: use 'conserve' or 'literal'")
        if not (self.tau_e >= 1 and self.tau_li >= 1 and math.isfinite(self.tau_e) and math.isfinite(self.tau_li)):
            raise InputError(f"tortuosity factors must be finite and >= 1 (tau_e={self.tau_e}, tau_Li={self.tau_li})")

    @property
    def am(self) -> np.ndarray:
        return self.mesh.phase == Phase.AM

    @property
    def collector_area_m2(self) -> float:
        """Projected current-collector area A_cc of the domain (m^2; m per m of depth in 2D)."""
        return float(np.prod(self.mesh.image.shape[1:])) * self.mesh.image.voxel_size_m ** (self.mesh.image.ndim - 1)

    @property
    def am_volume_m3(self) -> float:
        return float(np.count_nonzero(self.am)) * self.mesh.cell_volume_m3

    def w1(self) -> np.ndarray:
        return w1(self.mesh.y_m, thickness_m=self.mesh.image.thickness_m, tau_e=self.tau_e, tau_li=self.tau_li)


@dataclass(frozen=True)
class Drive:
    """What the interface does during a step: a kinetics law at an applied current density (or rest)."""

    kind: str  # "charge", "discharge", "rest"
    current_density_A_m2: float = 0.0


@dataclass
class SolverStats:
    steps: int = 0
    rejected: int = 0
    sweeps: int = 0
    max_sweeps_in_step: int = 0
    sweeps_per_step: list[int] = field(default_factory=list)



class FipyEquation:
    """The TWIF-Li equation as FiPy terms on the whole mesh: the readable definition of the system that
    :class:`~twifli_fv.solve.assembly.CellSystem` assembles directly, and the reference it is tested
    against. FiPy rebuilds the matrix from the terms at every sweep."""

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


class TwifliSolver:
    """Advance the Li concentration of a :class:`TwifliModel` in time (one backward-Euler step at a time).

    The state lives on the AM cells (``c`` never changes elsewhere). With ``assembly="petsc"`` each
    sweep fills the PETSc matrix of :class:`~twifli_fv.solve.assembly.CellSystem` in place; under
    ``mpiexec`` PETSc splits its rows over ``comm`` and every rank keeps the whole AM field, so every
    decision (sweeps, step acceptance) is the same on all ranks.
    """

    def __init__(
        self,
        model: TwifliModel,
        c_initial: np.ndarray | None = None,
        *,
        sweep_tol: float = 1e-8,
        max_sweeps: int = 30,
        linear_tol: float = 1e-12,
        assembly: str = "petsc",
        comm=None,  # noqa: ANN001 - PETSc.Comm; default: all ranks
    ) -> None:
        if assembly not in ("petsc", "fipy"):
            raise InputError(f"assembly {assembly!r}: use 'petsc' or 'fipy'")
        self.model = model
        self.sweep_tol, self.max_sweeps = sweep_tol, max_sweeps
        am = model.am
        c0 = np.where(am, model.c_sat_mol_m3, 0.0) if c_initial is None else np.asarray(c_initial, float).copy()
        self._cells = np.flatnonzero(am)  # AM cell ids: the unknowns, in cell order
        self._whole = c0  # the field on all cells; only its AM part changes
        self._c = c0[self._cells].copy()
        self._old = self._c.copy()
        number = np.cumsum(am) - 1
        active = model.mesh.active_area_m2 > 0  # only AM cells have active area
        self._active_cells = np.flatnonzero(active)
        self._active = number[active]  # their place among the unknowns
        self._area = model.mesh.active_area_m2[active]
        self._w1 = model.w1()[active]
        if assembly == "fipy":
            if (comm or world()).getSize() > 1:
                raise InputError("assembly 'fipy' is the serial reference; under mpiexec use 'petsc'")
            self._fipy, self._system = FipyEquation(model, linear_tol=linear_tol), None
        else:
            from twifli_fv.solve.assembly import CellSystem

            self._fipy, self._system = None, CellSystem(model.mesh, am, rtol=linear_tol, comm=comm)
            rows = self._system.rows
            mine = (self._active >= rows.start) & (self._active < rows.stop)
            self._mine, self._mine_rows = np.flatnonzero(mine), self._active[mine] - rows.start
        self.stats = SolverStats()
        self.last_change = 0.0  # max |c_new - c_old| / c_sat of the last accepted step

    @property
    def linear_solver(self) -> str:
        """What solves the sweeps, for the run summary."""
        if self._system is None:
            return "FiPy LinearPCGSolver on PETSc, Jacobi preconditioner (FiPy assembly)"
        return self._system.describe()

    # -- state -------------------------------------------------------------------------------
    @property
    def values(self) -> np.ndarray:
        """c on every cell (mol m^-3), in cell order."""
        whole = self._whole.copy()
        whole[self._cells] = self._c
        return whole

    def undo(self) -> None:
        """Go back to the state before the last :meth:`advance`."""
        self._c = self._old.copy()

    def mean_c_norm(self, c: np.ndarray | None = None) -> float:
        c = self._c if c is None else c[self._cells]
        return float(c.mean()) / self.model.c_sat_mol_m3

    def li_mol(self, c: np.ndarray | None = None) -> float:
        c = self._c if c is None else c[self._cells]
        return float(c.sum()) * self.model.mesh.cell_volume_m3

    def law(self, drive: Drive) -> TwifliCharge | TwifliDischarge | None:
        if drive.kind == "charge":
            return TwifliCharge(w1=self._w1, c_sat=self.model.c_sat_mol_m3)
        if drive.kind == "discharge":
            return TwifliDischarge(c_sat=self.model.c_sat_mol_m3)
        return None

    def reactivity(self, drive: Drive) -> float:
        """``sum(W s) / S`` now: how much of the active interface can still react (1 for rest)."""
        law = self.law(drive)
        if law is None:
            return 1.0
        return float(np.sum(law.weight(self._c[self._active]) * self._area) / np.sum(self._area))

    def cell_weight(self, drive: Drive) -> np.ndarray:
        """W per cell (0 off the active interface), for output."""
        weights = np.zeros(self._whole.shape)
        law = self.law(drive)
        if law is not None:
            weights[self._active_cells] = law.weight(self._c[self._active])
        return weights

    def diffusivity_cells(self) -> np.ndarray:
        d = np.zeros(self._whole.shape)
        d[self._cells] = self.model.diffusivity(self._c)
        return d

    # -- one implicit step ---------------------------------------------------------------------
    def advance(self, dt: float, drive: Drive) -> int | None:
        """One backward-Euler step of ``dt`` seconds; returns the sweeps used, or None (state restored)."""
        self._old = old = self._c.copy()
        law = self.law(drive)
        base = 0.0
        if law is not None:
            total_area = float(np.sum(self._area))
            base = drive.current_density_A_m2 * self.model.collector_area_m2 / (FARADAY * total_area)  # J0
        volume = self.model.mesh.cell_volume_m3
        c_sat = self.model.c_sat_mol_m3
        previous = old
        change = 0.0 if law is None and self._linear() else FIRST_CHANGE  # one exact solve for a linear step
        for sweep in range(1, self.max_sweeps + 1):
            k = np.zeros(self._active.size)
            s = np.zeros(self._active.size)
            if law is not None:
                ca = self._c[self._active]
                scale = 1.0
                if self.model.normalisation == "conserve":
                    scale = float(np.sum(self._area)) / float(np.sum(law.weight(ca) * self._area))
                amplitude = scale * base * self._area / volume
                p, q = law.linearised(ca)
                s = law.sign * amplitude * p
                k = -law.sign * amplitude * q
            new = self._sweep(dt, k, s, atol=FORCING * change * c_sat)
            if not np.all(np.isfinite(new)) or np.any(new < -1e-9 * c_sat) or np.any(new > c_sat * (1 + 1e-9)):
                break  # a tangent step left [0, c_sat]: retry with a shorter step
            change = float(np.max(np.abs(new - previous))) / c_sat
            self._c = previous = new
            if change <= self.sweep_tol and sweep > 1 or (law is None and sweep == 1 and self._linear()):
                self.stats.sweeps += sweep
                self.last_change = float(np.max(np.abs(new - old))) / c_sat
                return sweep
        self.undo()
        self.stats.rejected += 1
        return None

    def _sweep(self, dt: float, k: np.ndarray, s: np.ndarray, *, atol: float) -> np.ndarray:
        """One linear solve about the current iterate with the interfacial terms ``k``, ``s`` of the active cells.

        ``atol`` (mol m^-3) bounds the linear error in every cell (PETSc path; FiPy's solves to its tolerance).
        """
        if self._fipy is not None:
            whole_k, whole_s = np.zeros(self._whole.shape), np.zeros(self._whole.shape)
            whole_k[self._active_cells], whole_s[self._active_cells] = k, s
            old = self._whole.copy()
            old[self._cells] = self._old
            return self._fipy.sweep(dt, old, self.values, whole_k, whole_s)[self._cells]
        system = self._system
        rows = system.rows
        c = self._c
        face_d = self.model.diffusivity(0.5 * (c[system.first] + c[system.second]))
        diagonal = np.ones(rows.stop - rows.start)
        diagonal[self._mine_rows] += dt * k[self._mine]
        rhs = self._old[rows].copy()
        rhs[self._mine_rows] += dt * s[self._mine]
        system.fill(diagonal, face_d * (dt / self.model.mesh.image.voxel_size_m**2))
        return system.solve(rhs, c[rows], atol=atol)

    def _linear(self) -> bool:
        """A rest step with constant D is linear: one sweep solves it."""
        return bool(getattr(self.model.diffusivity, "D_m2_s", None) is not None)
