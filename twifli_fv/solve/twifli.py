"""The TWIF-Li transient solver: backward-Euler steps of the model of :mod:`twifli_fv.model.twifli`
(paper 1, eqns 1-5; SPEC sect. 2-3), with Newton sweeps (:meth:`TwifliSolver.advance`) and PETSc.

A step converges when the concentration changes by less than ``sweep_tol * c_sat``, or the contraction of
the sweeps puts the remaining error below a tenth of that. The sweeps solve the matrix assembled straight
into PETSc (:mod:`twifli_fv.solve.assembly`, ``assembly="petsc"``, the default); ``assembly="fipy"`` solves
FiPy's own (:mod:`twifli_fv.solve.fipy_reference`), the oracle it is tested against (one process only).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from twifli_fv.errors import InputError
from twifli_fv.model.kinetics import linearise
from twifli_fv.model.twifli import Drive, TwifliModel, interfacial_source
from twifli_fv.solve.petsc_env import world
from twifli_fv.solve.stepping import SolverStats

log = logging.getLogger(__name__)
# Inexact sweeps: a sweep's linear solve may stop once its error is below FORCING times the change of
# the sweep before (max norm, relative to c_sat; FIRST_CHANGE stands in before the first). The accepted
# iterate's error stays below sweep_tol; only the early sweeps save CG iterations.
FORCING = 1e-3
FIRST_CHANGE = 1e-2
DIRECTION_TOL = 0.1  # relative residual of A z = u, the direction of the normalisation's Newton correction
# A step also ends once the sweeps contract (change ratio below SETTLING) and the geometric estimate of the
# remaining error, change * ratio / (1 - ratio), is below SETTLED_FRACTION * sweep_tol.
SETTLING = 0.5
SETTLED_FRACTION = 0.1
MEAN_C_NORM = "AM-weighted: mean of c / c_sat over every AM cell (each step's mean_c_norm_end; mean depletion = 1 - it)"


def _project(c: np.ndarray, step: np.ndarray, c_sat: float) -> np.ndarray:
    """``c + step``, each cell kept within half its distance to 0 and to c_sat: Newton's tangent of the
    square-root weights still reacts at the bound, so a sweep may overshoot it; halving the room instead
    approaches the bound geometrically until the tangent is accurate."""
    return np.clip(c + step, 0.5 * c, c + 0.5 * np.maximum(c_sat - c, 0.0))


@dataclass
class TwifliStats(SolverStats):
    sweeps: int = 0
    sweeps_per_step: list[int] = field(default_factory=list)


class TwifliSolver:
    """Advance the Li concentration of a :class:`TwifliModel` in time (one backward-Euler step at a time).

    The state lives on the AM cells (``c`` never changes elsewhere). With ``assembly="petsc"`` each
    sweep fills the PETSc matrix of :class:`~twifli_fv.solve.assembly.CellSystem` in place. Under
    ``mpiexec`` each rank holds only the cells of its slab (``model.mesh``) and the values of the
    neighbours' cells across the slab boundaries; every number a decision rests on (sums, norms, the
    largest change) is combined over the ranks, so sweeps and step acceptance are the same on all of them.
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
        mesh = model.mesh
        self.ranks = mesh.ranks
        am = model.am  # this rank's cells
        c0 = np.where(am, model.c_sat_mol_m3, 0.0) if c_initial is None else np.asarray(c_initial, float).copy()
        self._cells = np.flatnonzero(am)  # AM cell ids: the unknowns, in cell order
        self._whole = c0  # the field on this rank's cells; only its AM part changes
        self._c = c0[self._cells].copy()
        self._old = self._c.copy()
        number = np.cumsum(am) - 1
        active = mesh.active_area_m2 > 0  # only AM cells have active area
        self._active_cells = np.flatnonzero(active)
        self._active = number[active]  # their place among the unknowns
        self._area = mesh.active_area_m2[active]
        self.total_area_m2 = self.ranks.sum(float(np.sum(self._area)))  # S, all ranks
        self._w1 = model.w1()[active]
        if assembly == "fipy":
            if (comm or world()).getSize() > 1:
                raise InputError("assembly 'fipy' is the serial reference; under mpiexec use 'petsc'")
            from twifli_fv.solve.fipy_reference import FipyEquation

            self._fipy, self._system = FipyEquation(model, linear_tol=linear_tol), None
        else:
            from twifli_fv.solve.assembly import CellSystem

            self._fipy = None
            self._system = CellSystem(*mesh.unknown_faces(), unknowns=mesh.unknowns, size=mesh.am_total,
                                      ndim=mesh.image.ndim, rtol=linear_tol, comm=comm)
        self.stats = TwifliStats()
        self._trend = self._trend_before = None  # (drive, dt, c change) of the last accepted step
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
        """c on every cell of this rank (mol m^-3), in cell order."""
        whole = self._whole.copy()
        whole[self._cells] = self._c
        return whole

    def undo(self) -> None:
        """Go back to the state before the last :meth:`advance`."""
        self._c = self._old.copy()
        self._trend = self._trend_before

    def history(self) -> dict[str, np.ndarray]:
        """What the next step starts from besides c (the last accepted step), for a checkpoint."""
        if self._trend is None:
            return {}
        drive, dt, change = self._trend
        return {"trend_change": change, "trend_dt_s": np.array(dt), "trend_kind": np.array(drive.kind),
                "trend_current_A_m2": np.array(drive.current_density_A_m2)}

    def restore_history(self, arrays: dict[str, np.ndarray]) -> None:
        """Take back :meth:`history` (keys absent: no history)."""
        if "trend_change" in arrays:
            drive = Drive(str(arrays["trend_kind"]), float(arrays["trend_current_A_m2"]))
            self._trend = (drive, float(arrays["trend_dt_s"]), np.asarray(arrays["trend_change"], float).copy())

    def mean_c_norm(self) -> float:
        """The state of lithiation of the outputs, :data:`MEAN_C_NORM` (every AM cell has the same volume)."""
        return self.ranks.sum(float(self._c.sum())) / self.model.mesh.am_total / self.model.c_sat_mol_m3

    def li_mol(self) -> float:
        return self.ranks.sum(float(self._c.sum())) * self.model.mesh.cell_volume_m3

    def reactivity(self, drive: Drive) -> float:
        """``sum(W s) / S`` now: how much of the active interface can still react (1 for rest)."""
        law = self.model.law(drive, w1_active=self._w1)
        if law is None:
            return 1.0
        return self.ranks.sum(float(np.sum(law.weight(self._c[self._active]) * self._area))) / self.total_area_m2

    def cell_weight(self, drive: Drive) -> np.ndarray:
        """W per cell (0 off the active interface), for output."""
        weights = np.zeros(self._whole.shape)
        law = self.model.law(drive, w1_active=self._w1)
        if law is not None:
            weights[self._active_cells] = law.weight(self._c[self._active])
        return weights

    def diffusivity_cells(self) -> np.ndarray:
        d = np.zeros(self._whole.shape)
        d[self._cells] = self.model.diffusivity(self._c)
        return d

    # -- one implicit step ---------------------------------------------------------------------
    def advance(self, dt: float, drive: Drive) -> int | None:
        """One backward-Euler step of ``dt`` seconds; returns the sweeps used, or None (state restored).

        Each sweep solves the system linearised about the latest iterate: Newton's tangent for the kinetics
        (:func:`~twifli_fv.model.kinetics.linearise`), D(c) lagged, and in ``conserve`` mode a Newton correction
        for the normalisation ``S / sum(W s)``, a rank-one term of the Jacobian (Sherman-Morrison: one more,
        loose solve ``A z = u``); the new iterate is kept within half of each cell's distance to its bounds
        (:func:`_project`). The first iterate extrapolates the previous step of the same drive. None of this
        changes the converged solution, only the way to it.
        """
        self._old = old = self._c.copy()
        self._trend_before = self._trend
        law = self.model.law(drive, w1_active=self._w1)
        base = self.model.base_flux(drive, total_area_m2=self.total_area_m2)  # J0
        volume = self.model.mesh.cell_volume_m3
        c_sat = self.model.c_sat_mol_m3
        previous = old
        if self._trend is not None and self._trend[0] == drive:
            previous = self._c = _project(old, self._trend[2] * (dt / self._trend[1]), c_sat)
        linear = law is None and self.model.diffusivity.constant  # a rest step with constant D: one exact solve
        change = 0.0 if linear else FIRST_CHANGE
        conserve = law is not None and self.model.normalisation == "conserve" and base != 0.0
        direction = None
        ratio = 1.0
        for sweep in range(1, self.max_sweeps + 1):
            k = np.zeros(self._active.size)
            s = np.zeros(self._active.size)
            if law is not None:
                ca = self._c[self._active]
                flux = interfacial_source(law, ca, j0=base, area_m2=self._area, volume_m3=volume,
                                          normalisation=self.model.normalisation, ranks=self.ranks)
                p, q = linearise(law, ca)  # W ~ p + q c, so q_source ~ s - k c
                s = flux.sign * flux.amplitude * p
                k = -flux.sign * flux.amplitude * q
            forcing = FORCING * change  # bound on this sweep's linear error (relative to c_sat)
            if sweep > 2 and ratio < 1.0:  # a slow contraction leaves the next change large: no need to solve finer
                forcing = max(forcing, min(0.1 * ratio, 0.1) * change)
            new = self._sweep(dt, k, s, atol=forcing * c_sat)
            if conserve:
                # J = A + dt u v^T: u_i = sign amplitude_i W_i / sum(W s), v_j = W'(c_j) s_j
                u = flux.sign * flux.amplitude * flux.weight / flux.total
                v = q * self._area
                direction = self._direction(dt, k, u, direction)
                dots = self.ranks.sum(np.array([np.dot(v, direction[self._active]), np.dot(v, new[self._active] - ca)]))
                denominator = 1.0 + dt * float(dots[0])
                if denominator > 0.1:  # else the rank-one term dominates: leave this sweep a Picard one
                    gamma = float(dots[1]) / denominator
                    new = new - dt * gamma * direction
            finite = bool(np.all(np.isfinite(new)))
            new = _project(previous, new - previous, c_sat)
            largest = self.ranks.max(float(np.max(np.abs(new - previous), initial=0.0)) if finite else np.inf)
            if largest == np.inf:
                break  # a solve gave a non-finite value on some rank: retry with a shorter step
            last, change = change, largest / c_sat
            self._c = previous = new
            ratio = change / last if sweep > 1 and last > 0 else 1.0
            settled = ratio < SETTLING and change * ratio / (1.0 - ratio) <= SETTLED_FRACTION * self.sweep_tol
            if (change <= self.sweep_tol or settled) and forcing <= self.sweep_tol and sweep > 1 or linear:
                self.stats.sweeps += sweep
                self.last_change = self.ranks.max(float(np.max(np.abs(new - old), initial=0.0))) / c_sat
                self._trend = (drive, dt, new - old)
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
        c = system.with_ghosts(self._c)
        face_d = self.model.diffusivity(0.5 * (c[system.first] + c[system.second]))
        diagonal = np.ones(self._c.size)
        diagonal[self._active] += dt * k
        rhs = self._old.copy()
        rhs[self._active] += dt * s
        system.fill(diagonal, face_d * (dt / self.model.mesh.image.voxel_size_m**2))
        return system.solve(rhs, self._c, atol=atol)

    def _direction(self, dt: float, k: np.ndarray, u: np.ndarray, guess: np.ndarray | None) -> np.ndarray:
        """``z = A^-1 u`` (``u`` on the active cells) with the matrix of the last sweep, to ``DIRECTION_TOL``:
        it only shapes the Newton correction of the normalisation."""
        if self._fipy is not None:
            whole_k, whole_s = np.zeros(self._whole.shape), np.zeros(self._whole.shape)
            whole_k[self._active_cells], whole_s[self._active_cells] = k, u / dt
            return self._fipy.sweep(dt, np.zeros(self._whole.shape), self.values, whole_k, whole_s)[self._cells]
        rhs = np.zeros(self._c.size)
        rhs[self._active] = u
        start = np.zeros(self._c.size) if guess is None else guess
        return self._system.solve(rhs, start, atol=DIRECTION_TOL * np.sqrt(self.ranks.sum(float(np.dot(u, u)))))
