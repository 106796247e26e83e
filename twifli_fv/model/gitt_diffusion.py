"""The diffusion problem behind a GITT record, solved by finite volumes: Li in a sphere of radius
R (particles) or a film of thickness L with one reacting face (SPEC sect. 2 and 5), a
piecewise-constant flux through the surface, and the surface concentration at chosen times.

    dc/dt = r^-k d/dr (r^k D(c) dc/dr),   k = 2 (sphere) or 0 (film),
    dc/dr = 0 at r = 0,   -D dc/dr = j(t) at r = R (j > 0 takes Li out).

Cells are graded geometrically towards the surface (the diffusion layer of a short pulse is a
few per cent of R). Time stepping is implicit: variable-step BDF2, restarted with one backward
Euler step at every switch of the flux, on steps that grow geometrically after each switch and
land on every output time. D(c) at a face is the mean-concentration value extrapolated from
the two previous steps (second order, no inner iteration).

Each step solves a tridiagonal system of 60 unknowns with LAPACK's ``gtsv`` (through
``scipy.linalg.lapack``; what ``solve_banded`` does for this band, without its per-call checks,
which cost more than the solve): this is a one-dimensional analysis kernel called ~10^5 times per
record, for which a PETSc matrix and KSP (the project's solve layer, built for the 2D/3D
microstructure) would cost more in set-up than the solve. The kernel is checked against the
analytic series for constant D in the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.linalg import lapack

Diffusivity = Callable[[np.ndarray], np.ndarray]  # c [mol m^-3] -> D [m^2 s^-1]


@dataclass(frozen=True)
class Grid:
    """Finite-volume cells of a sphere (``exponent`` 2) or a film (0), radius/thickness ``length_m``."""

    edges_m: np.ndarray  # N + 1 cell edges from the centre (or the blocked face) to the surface
    exponent: int

    @classmethod
    def graded(cls, *, length_m: float, sphere: bool, cells: int = 80, surface_cell: float = 2e-4) -> "Grid":
        """Widths ``surface_cell * q**i`` (in units of the length) from the surface inwards, summing to 1."""
        low, high = 1.0 + 1e-9, 2.0
        for _ in range(100):  # bisection for q
            q = 0.5 * (low + high)
            low, high = (q, high) if surface_cell * (q**cells - 1) / (q - 1) < 1 else (low, q)
        widths = surface_cell * q ** np.arange(cells)
        edges = np.concatenate([[0.0], np.cumsum(widths[::-1])])
        return cls(edges_m=length_m * edges / edges[-1], exponent=2 if sphere else 0)

    @property
    def volumes(self) -> np.ndarray:
        k = self.exponent + 1
        return np.diff(self.edges_m**k) / k

    @property
    def centres(self) -> np.ndarray:
        return 0.5 * (self.edges_m[1:] + self.edges_m[:-1])

    @property
    def surface_area(self) -> float:
        return float(self.edges_m[-1] ** self.exponent)


def step_times(*, outputs_s: np.ndarray, switches_s: np.ndarray, first_step_s: float,
               growth: float = 1.15) -> np.ndarray:
    """Step ends: every output time and switch, plus steps growing by ``growth`` from
    ``first_step_s`` after each switch (until the next switch)."""
    points = [np.asarray(outputs_s, float), np.asarray(switches_s, float)]
    ends = np.append(switches_s[1:], max(float(np.max(outputs_s)), float(switches_s[-1])))
    for start, end in zip(switches_s, ends):
        if end > start:
            count = int(np.ceil(np.log(max((end - start) / first_step_s, 1.0)) / np.log(growth))) + 1
            points.append(start + first_step_s * growth ** np.arange(count))
    times = np.unique(np.concatenate(points))
    return times[(times >= switches_s[0]) & (times <= ends[-1])]


def surface_concentration(grid: Grid, diffusivity: Diffusivity, *, c_initial_mol_m3: float,
                          switches_s: np.ndarray, flux_mol_m2_s: np.ndarray, outputs_s: np.ndarray,
                          first_step_s: float, growth: float = 1.15) -> np.ndarray:
    """c at the surface at ``outputs_s``, from a uniform ``c_initial`` at ``switches_s[0]``; the
    flux ``flux_mol_m2_s[i]`` holds from ``switches_s[i]`` to the next switch (the last to the end)."""
    times = step_times(outputs_s=outputs_s, switches_s=switches_s, first_step_s=first_step_s, growth=growth)
    volumes, centres, edges = grid.volumes, grid.centres, grid.edges_m
    conductance = edges[1:-1] ** grid.exponent / np.diff(centres)  # face area / centre distance
    area, half = grid.surface_area, edges[-1] - centres[-1]
    c = np.full(volumes.size, float(c_initial_mol_m3))
    previous, dt_previous = c, 0.0
    step_flux = np.asarray(flux_mol_m2_s, float)[np.searchsorted(switches_s, times[:-1], side="right") - 1]
    switch = np.isin(times, switches_s)
    surface = np.empty(times.size)
    surface[0] = c[-1]
    for i in range(1, times.size):
        dt, flux = times[i] - times[i - 1], float(step_flux[i - 1])
        if i == 1 or switch[i - 1]:  # restart: backward Euler
            a0, a1, a2, guess = 1.0, 1.0, 0.0, c
        else:
            w = dt / dt_previous
            a0, a1, a2 = (1 + 2 * w) / (1 + w), 1 + w, w * w / (1 + w)
            guess = (1 + w) * c - w * previous
        k = conductance * diffusivity(0.5 * (guess[1:] + guess[:-1])) * dt
        diagonal = a0 * volumes
        diagonal[:-1] += k
        diagonal[1:] += k
        rhs = volumes * (a1 * c - a2 * previous)
        rhs[-1] -= dt * area * flux
        solution = lapack.dgtsv(-k, diagonal, -k, rhs)[3]
        previous, c, dt_previous = c, solution, dt
        surface[i] = c[-1] - flux * half / float(diffusivity(c[-1:])[0])
    return surface[np.searchsorted(times, outputs_s)]
