"""The diffusion problem behind a GITT record, solved by finite volumes: Li in a sphere of radius
R (particles) or a film of thickness L with one reacting face (SPEC sect. 2 and 5), a
piecewise-constant flux through the surface, and the surface concentration at chosen times.

    dc/dt = r^-k d/dr (r^k D(c) dc/dr),   k = 2 (sphere) or 0 (film),
    dc/dr = 0 at r = 0,   -D dc/dr = j(t) at r = R (j > 0 takes Li out).

Cells are graded geometrically towards the surface. Time stepping is variable-step BDF2, restarted with one
backward Euler step at every switch of the flux (the steps: :func:`step_times`); D(c) at a face is extrapolated
from the two previous steps (second order, no inner iteration). Each step is one tridiagonal solve with LAPACK's
``gtsv`` (``solve_banded``'s per-call checks cost more than the solve), too small for the PETSc solve layer.
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


def step_times(*, outputs_s: np.ndarray, switches_s: np.ndarray, first_step_s: float,
               growth: float = 1.1) -> np.ndarray:
    """Step ends: every output time and switch, plus steps growing by ``growth`` from
    ``first_step_s`` after each switch (by ``growth**2`` beyond 10^4 first steps, where the
    solution is smooth), until the next switch."""
    fixed = np.unique(np.concatenate([outputs_s, switches_s]))
    ends = np.append(switches_s[1:], max(float(np.max(outputs_s)), float(switches_s[-1])))
    fine = first_step_s * growth ** np.arange(int(np.log(1e4) / np.log(growth)) + 1)
    points = [fixed]
    for start, end in zip(switches_s, ends):
        if end > start:
            count = int(np.ceil(np.log(max((end - start) / fine[-1], 1.0)) / np.log(growth**2))) + 1
            offsets = np.concatenate([fine, fine[-1] * growth ** (2 * np.arange(1, count + 1))])
            spacing = np.diff(np.concatenate([[0.0], offsets]))
            near = np.abs(fixed[np.clip(np.searchsorted(fixed, start + offsets), 1, fixed.size - 1)
                                [:, None] - np.array([1, 0])] - (start + offsets)[:, None]).min(axis=1)
            points.append((start + offsets)[near > 0.5 * spacing])  # no sliver steps beside a fixed time
    times = np.unique(np.concatenate(points))
    return times[(times >= switches_s[0]) & (times <= ends[-1])]


def surface_concentration(grid: Grid, diffusivity: Diffusivity, *, c_initial_mol_m3: float,
                          switches_s: np.ndarray, flux_mol_m2_s: np.ndarray, outputs_s: np.ndarray,
                          first_step_s: float, growth: float = 1.1) -> np.ndarray:
    """c at the surface at ``outputs_s``, from a uniform ``c_initial`` at ``switches_s[0]``; the
    flux ``flux_mol_m2_s[i]`` holds from ``switches_s[i]`` to the next switch (the last to the end)."""
    times = step_times(outputs_s=outputs_s, switches_s=switches_s, first_step_s=first_step_s, growth=growth)
    edges, exponent = grid.edges_m, grid.exponent
    volumes, centres = np.diff(edges ** (exponent + 1)) / (exponent + 1), 0.5 * (edges[1:] + edges[:-1])
    conductance = edges[1:-1] ** exponent / np.diff(centres)  # face area / centre distance
    area, half = float(edges[-1] ** exponent), edges[-1] - centres[-1]
    dt = np.diff(times)
    flux = np.asarray(flux_mol_m2_s, float)[np.searchsorted(switches_s, times[:-1], side="right") - 1]
    ratio = dt / np.concatenate([[np.inf], dt[:-1]])
    euler = np.isin(times[:-1], switches_s)  # backward Euler after a switch
    euler[0] = True
    a0 = np.where(euler, 1.0, (1 + 2 * ratio) / (1 + ratio))
    a1 = np.where(euler, 1.0, 1 + ratio)
    a2 = np.where(euler, 0.0, ratio**2 / (1 + ratio))
    c = np.full(volumes.size, float(c_initial_mol_m3))
    previous = c
    last = np.empty(times.size)
    last[0] = c[-1]
    for i in range(dt.size):
        guess = c if euler[i] else a1[i] * c - ratio[i] * previous  # (1 + w) c_n - w c_{n-1}
        k = conductance * diffusivity(0.5 * (guess[1:] + guess[:-1])) * dt[i]
        diagonal = a0[i] * volumes
        diagonal[:-1] += k
        diagonal[1:] += k
        rhs = volumes * (a1[i] * c - a2[i] * previous)
        rhs[-1] -= dt[i] * area * flux[i]
        previous, c = c, lapack.dgtsv(-k, diagonal, -k, rhs)[3]
        last[i + 1] = c[-1]
    wanted = np.searchsorted(times, outputs_s)
    into = np.concatenate([[0.0], flux])[wanted]  # the flux of the step that ends at each output
    return last[wanted] - into * half / diffusivity(last[wanted])
