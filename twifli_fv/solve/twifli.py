"""The TWIF-Li transient solver: implicit concentration-dependent diffusion in the AM with the
tortuosity-weighted interfacial flux on AM|SE faces (paper 1, eqns 1-5; SPEC sect. 2-3).

The equation reads as the PDE, in FiPy terms::

    TransientTerm() == DiffusionTerm(D(c) on AM|AM faces) - ImplicitSourceTerm(k) + s

with the interfacial flux of the active cells linearised as ``s - k c`` about the latest
iterate (see :mod:`twifli_fv.model.kinetics`). Each backward-Euler step sweeps (Picard) until
the concentration changes by less than ``sweep_tol * c_sat``; steps adapt their length and
land exactly on frame times, step ends and mean-SOC targets.
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
from twifli_fv.model.kinetics import TwifliCharge, TwifliDischarge
from twifli_fv.model.weights import w1

log = logging.getLogger(__name__)
FARADAY = 96485.33212  # C mol^-1
EXHAUSTED = 1e-2  # end a step when sum(W s) / S falls below this: no interface can react


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


class TwifliSolver:
    """Advance the Li concentration of a :class:`TwifliModel` in time (one backward-Euler step at a time)."""

    def __init__(
        self,
        model: TwifliModel,
        c_initial: np.ndarray | None = None,
        *,
        sweep_tol: float = 1e-8,
        max_sweeps: int = 30,
        linear_tol: float = 1e-12,
    ) -> None:
        import fipy

        self.model = model
        mesh = model.mesh.mesh
        self.sweep_tol, self.max_sweeps = sweep_tol, max_sweeps
        c0 = np.where(model.am, model.c_sat_mol_m3, 0.0) if c_initial is None else np.asarray(c_initial, float)
        self.c = fipy.CellVariable(mesh=mesh, value=c0, hasOld=True, name="c")
        self.D = fipy.FaceVariable(mesh=mesh, value=0.0)
        self.k = fipy.CellVariable(mesh=mesh, value=0.0)
        self.s = fipy.CellVariable(mesh=mesh, value=0.0)
        self.equation = fipy.TransientTerm() == fipy.DiffusionTerm(coeff=self.D) - fipy.ImplicitSourceTerm(coeff=self.k) + self.s
        self.solver = fipy.LinearPCGSolver(tolerance=linear_tol, iterations=5000, precon="jacobi")
        cells = np.ma.filled(mesh.faceCellIDs, -1)
        am = model.am
        both = (cells[1] >= 0) & am[cells[0]] & np.where(cells[1] >= 0, am[cells[1]], False)
        self._faces, self._left, self._right = np.flatnonzero(both), cells[0][both], cells[1][both]
        self._active = model.mesh.active_area_m2 > 0
        self._area = model.mesh.active_area_m2[self._active]
        self._w1 = model.w1()[self._active]
        self.stats = SolverStats()
        self.last_change = 0.0  # max |c_new - c_old| / c_sat of the last accepted step

    # -- state -------------------------------------------------------------------------------
    @property
    def values(self) -> np.ndarray:
        return np.asarray(self.c.value)

    def mean_c_norm(self, c: np.ndarray | None = None) -> float:
        c = self.values if c is None else c
        return float(c[self.model.am].mean()) / self.model.c_sat_mol_m3

    def li_mol(self, c: np.ndarray | None = None) -> float:
        c = self.values if c is None else c
        return float(c[self.model.am].sum()) * self.model.mesh.cell_volume_m3

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
        c = self.values[self._active]
        return float(np.sum(law.weight(c) * self._area) / np.sum(self._area))

    def cell_weight(self, drive: Drive) -> np.ndarray:
        """W per cell (0 off the active interface), for output."""
        weights = np.zeros(self.values.shape)
        law = self.law(drive)
        if law is not None:
            weights[self._active] = law.weight(self.values[self._active])
        return weights

    def diffusivity_cells(self) -> np.ndarray:
        d = np.zeros(self.values.shape)
        d[self.model.am] = self.model.diffusivity(self.values[self.model.am])
        return d

    # -- one implicit step ---------------------------------------------------------------------
    def advance(self, dt: float, drive: Drive) -> int | None:
        """One backward-Euler step of ``dt`` seconds; returns the sweeps used, or None (state restored)."""
        self.c.updateOld()
        old = self.values.copy()
        law = self.law(drive)
        base = 0.0
        if law is not None:
            total_area = float(np.sum(self._area))
            base = drive.current_density_A_m2 * self.model.collector_area_m2 / (FARADAY * total_area)  # J0
        volume = self.model.mesh.cell_volume_m3
        previous = old
        for sweep in range(1, self.max_sweeps + 1):
            c = self.values
            face_d = np.zeros(self.D.value.shape)
            face_d[self._faces] = self.model.diffusivity(0.5 * (c[self._left] + c[self._right]))
            self.D.setValue(face_d)
            k = np.zeros(c.shape)
            s = np.zeros(c.shape)
            if law is not None:
                ca = c[self._active]
                scale = 1.0
                if self.model.normalisation == "conserve":
                    scale = float(np.sum(self._area)) / float(np.sum(law.weight(ca) * self._area))
                amplitude = scale * base * self._area / volume
                p, q = law.linearised(ca)
                s[self._active] = law.sign * amplitude * p
                k[self._active] = -law.sign * amplitude * q
            self.k.setValue(k)
            self.s.setValue(s)
            self.equation.sweep(var=self.c, dt=dt, solver=self.solver)
            new = self.values
            if not np.all(np.isfinite(new)) or np.any(new < -1e-9 * self.model.c_sat_mol_m3) or np.any(
                new[self.model.am] > self.model.c_sat_mol_m3 * (1 + 1e-9)
            ):
                break  # a tangent step left [0, c_sat]: retry with a shorter step
            change = float(np.max(np.abs(new - previous))) / self.model.c_sat_mol_m3
            previous = new.copy()
            if change <= self.sweep_tol and sweep > 1 or (law is None and sweep == 1 and self._linear()):
                self.stats.sweeps += sweep
                self.last_change = float(np.max(np.abs(new - old))) / self.model.c_sat_mol_m3
                return sweep
        self.c.setValue(old)
        self.stats.rejected += 1
        return None

    def _linear(self) -> bool:
        """A rest step with constant D is linear: one sweep solves it."""
        return bool(getattr(self.model.diffusivity, "D_m2_s", None) is not None)
