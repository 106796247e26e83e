"""The dense-cathode solver: backward-Euler steps of :class:`~twifli_fv.model.dense.DenseModel` (paper 2; SPEC sect. 6).

The interior is linear, so ``c_new = a + Z N`` exactly, and the whole step is a Newton solve in the ``n_contacts + 1``
unknowns ``(N, Phi)`` with the dense matrix ``G = Z[contacts]``, cached per step length with the LU of
``I / dt - L / V`` (:mod:`twifli_fv.solve.sparse_lu`). Li is conserved to round-off (``sum V dc = dt sum N``).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from twifli_fv.model.constants import FARADAY
from twifli_fv.model.dense import DenseModel
from twifli_fv.solve.anisotropic_diffusion import diffusion_matrix
from twifli_fv.solve.sparse_lu import SparseLU
from twifli_fv.solve.stepping import SolverStats

CACHE_SIZE = 12  # factorised step lengths kept
NEWTON_TOL = 1e-10  # on the flow residual, in units of the exchange flow of one contact cell
EXPONENT_LIMIT = 80.0
MAX_UPHILL = 10  # Newton steps per solve allowed to raise the residual


@dataclass(frozen=True)
class DenseStep:
    """A solved (not yet committed) step: new field, flows, potentials."""

    dt_s: float
    c: np.ndarray
    flow_mol_s: np.ndarray  # per contact cell, into the AM
    phi_V: float  # cathode vs electrolyte at the interface = U + eta
    current_A_m2: float  # cell current density, + on discharge
    voltage_V: float
    ocp_V: float  # current-weighted mean U at the contacts
    ohmic_V: float
    x_surface: np.ndarray


@dataclass
class DenseStats(SolverStats):
    newton_iterations: int = 0
    factorisations: int = 0
    max_newton: int = 0


class DenseSolver:
    """Advance the Li concentration of a :class:`DenseModel` one implicit step at a time."""

    def __init__(self, model: DenseModel, c_initial: np.ndarray, *, flow: np.ndarray | None = None,
                 phi: float | None = None, voltage: float | None = None) -> None:
        self.model, grains = model, model.grains
        self.c = np.where(grains.solid.ravel(), np.asarray(c_initial, float).ravel(), 0.0)
        self.L = diffusion_matrix(model.tensor, grains.solid, grains.voxel_size_m)
        self._cells = np.arange(grains.grain.size).reshape(grains.shape)[-1][model.reactive_top]  # flat indices
        self._area = model.area_factor[model.reactive_top] * grains.face_area_m2
        d00 = model.tensor.reshape(-1, grains.ndim, grains.ndim)[self._cells, 0, 0]
        self._half_cell = 0.5 * grains.voxel_size_m / (grains.face_area_m2 * d00)  # c_s - c per unit flow
        self._volume = grains.cell_volume_m3
        self._scale = model.kinetics.exchange_current_A_m2 * float(np.mean(self._area)) / FARADAY
        self._cache: OrderedDict[float, tuple[SparseLU, np.ndarray]] = OrderedDict()
        self.flow, self.phi, self.voltage = flow, phi, voltage  # last step's; start the next Newton solve
        self.stats = DenseStats()

    def mean_x(self) -> float:
        return self.model.mean_x(self.c)

    def li_mol(self) -> float:
        return float(self.c.sum()) * self._volume

    def commit(self, step: DenseStep) -> None:
        self.c, self.flow, self.phi, self.voltage = step.c, step.flow_mol_s, step.phi_V, step.voltage_V
        self.stats.steps += 1

    def solve_step(self, dt: float, current_A_m2: float) -> DenseStep | None:
        """Backward-Euler step of ``dt`` s at cell current density ``current_A_m2`` (+ discharge, - charge, 0 rest);
        None when Newton fails or the field leaves [0, c_max] (try a shorter step)."""
        cell = self.model
        lu, green = self._factor(dt)
        base = lu.solve(self.c / dt)
        total = current_A_m2 * cell.collector_area_m2 / FARADAY
        solved = self._newton(base[self._cells], green, total)
        if solved is None:
            self.stats.rejected += 1
            return None
        flow, phi, x_s = solved
        source = np.zeros_like(self.c)
        source[self._cells] = flow / self._volume
        c_new = lu.solve(self.c / dt + source)
        c_new[~cell.grains.solid.ravel()] = 0.0
        c_max = cell.c_max_mol_m3
        if not np.all(np.isfinite(c_new)) or c_new.min() < -1e-6 * c_max or c_new.max() > (1 + 1e-6) * c_max:
            self.stats.rejected += 1
            return None
        u = cell.ocp(x_s)
        weights = np.abs(flow) if np.any(flow != 0) else self._area
        ocp = float(np.sum(weights * u) / np.sum(weights))
        ohmic = current_A_m2 * cell.separator_resistance_ohm_m2
        return DenseStep(dt_s=dt, c=c_new, flow_mol_s=flow, phi_V=phi, current_A_m2=current_A_m2,
                         voltage_V=phi - ohmic - cell.counter_potential_V, ocp_V=ocp, ohmic_V=ohmic, x_surface=x_s)

    def _factor(self, dt: float) -> tuple[SparseLU, np.ndarray]:
        """PETSc LU of ``I / dt - L / V`` and the Green's matrix ``G`` of the contacts, cached by step length."""
        if dt in self._cache:
            self._cache.move_to_end(dt)
            return self._cache[dt]
        n = self.c.size
        lu = SparseLU(sparse.identity(n, format="csr") / dt - self.L / self._volume)
        units = np.zeros((n, self._cells.size))
        units[self._cells, np.arange(self._cells.size)] = 1.0 / self._volume
        green = lu.solve(units)[self._cells] + np.diag(self._half_cell)
        self._cache[dt] = (lu, green)
        if len(self._cache) > CACHE_SIZE:
            _, (oldest, _) = self._cache.popitem(last=False)
            oldest.destroy()  # free its PETSc factor now, not at garbage collection
        self.stats.factorisations += 1
        return lu, green

    def _rates(self, flow: np.ndarray, phi: float, base: np.ndarray, green: np.ndarray):  # noqa: ANN202
        """Residual pieces: x_s, the BV flow ``-A i / F`` and its derivatives in x and phi."""
        kin, x = self.model.kinetics, (base + green @ flow) / self.model.c_max_mol_m3
        eta = self._clipped(phi - self.model.ocp(x))
        d_phi = -self._area * kin.d_current_d_eta(kin.exchange_current_A_m2, eta) / FARADAY
        return x, self._bv_flow(eta), -d_phi * self.model.ocp.derivative(x), d_phi

    def _clipped(self, eta: np.ndarray) -> np.ndarray:
        limit = EXPONENT_LIMIT / self.model.kinetics.f
        return np.clip(eta, -limit, limit)

    def _bv_flow(self, eta: np.ndarray) -> np.ndarray:
        """Li flow into each contact cell, ``-A i(eta) / F`` (mol s^-1)."""
        kin = self.model.kinetics
        return -self._area * kin.current(kin.exchange_current_A_m2, eta) / FARADAY

    def _newton(self, base: np.ndarray, green: np.ndarray, total: float):  # noqa: ANN202
        """Solve for (flows, phi): first from the last step's flow pattern (same direction), else from flows
        proportional to the reactive areas; phi is first fitted alone by bisection."""
        starts = [total * self._area / np.sum(self._area)]
        if self.flow is not None and np.sum(self.flow) * total > 0:
            starts.insert(0, self.flow * (total / np.sum(self.flow)))
        for flow in starts:
            solved = self._newton_from(flow, base, green, total)
            if solved is not None:
                return solved
        return None

    def _newton_from(self, flow: np.ndarray, base: np.ndarray, green: np.ndarray, total: float):  # noqa: ANN202
        n = base.size
        c_max, scale = self.model.c_max_mol_m3, self._scale
        phi = self._fit_phi(flow, base, green, total)

        def residual(f: np.ndarray, p: float) -> tuple[np.ndarray, tuple]:
            parts = self._rates(f, p, base, green)
            return np.append((f - parts[1]) / scale, (np.sum(f) - total) / (scale * n)), parts

        r, parts = residual(flow, phi)
        uphill = 0
        for iteration in range(1, 60):
            norm = float(np.max(np.abs(r)))
            if norm < NEWTON_TOL:
                self.stats.newton_iterations += iteration
                self.stats.max_newton = max(self.stats.max_newton, iteration)
                return flow, phi, parts[0]
            x, rate, d_x, d_phi = parts
            jac = np.zeros((n + 1, n + 1))
            jac[:n, :n] = (np.eye(n) - d_x[:, None] * green / c_max) / scale
            jac[:n, n] = -d_phi / scale
            jac[n, :n] = 1.0 / (scale * n)
            try:
                delta = np.linalg.solve(jac, -r)
            except np.linalg.LinAlgError:
                return None
            # backtrack to a step that lowers the residual; if none does, take the first finite one
            # (a few such non-monotone steps are allowed: near flat parts of U the residual can rise first)
            first = None
            step = min(1.0, 0.1 / max(abs(delta[n]), 1e-300))
            while step > 1e-3:
                trial_flow, trial_phi = flow + step * delta[:n], phi + step * delta[n]
                trial, trial_parts = residual(trial_flow, trial_phi)
                if np.all(np.isfinite(trial)):
                    first = first or (trial_flow, trial_phi, trial, trial_parts)
                    if np.max(np.abs(trial)) < (1 - 1e-4 * step) * norm:
                        break
                step *= 0.5
            else:
                if first is None or uphill >= MAX_UPHILL:
                    return None
                uphill += 1
                trial_flow, trial_phi, trial, trial_parts = first
            flow, phi, r, parts = trial_flow, trial_phi, trial, trial_parts
        return None

    def _fit_phi(self, flow: np.ndarray, base: np.ndarray, green: np.ndarray, total: float) -> float:
        """Phi that makes the BV flows sum to ``total`` with the surface x of ``flow`` (bisection)."""
        u = self.model.ocp((base + green @ flow) / self.model.c_max_mol_m3)  # x_s does not depend on phi
        low, high = float(np.min(u)) - 3.0, float(np.max(u)) + 3.0  # the BV flow falls as phi rises
        for _ in range(80):
            mid = 0.5 * (low + high)
            if np.sum(self._bv_flow(self._clipped(mid - u))) > total:
                low = mid
            else:
                high = mid
        return 0.5 * (low + high)
