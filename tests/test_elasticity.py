"""Voxel Q1 elasticity with eigenstrain (issue 14): closed-form checks of twifli_fv.solve.elasticity."""

from __future__ import annotations

import numpy as np
import pytest

from twifli_fv.mesh.q1 import node_shape
from twifli_fv.model.mechanics import (
    chemical_strain,
    crystal_frames,
    isotropic_stiffness,
    rotate_stiffness,
    strain_to_voigt,
    transversely_isotropic_stiffness,
)
from twifli_fv.solve.elasticity import ElasticProblem, face_nodes, face_traction, solve_elasticity

E, NU, H = 100e9, 0.3, 1e-6
EPS = 1e-3
C_ISO = isotropic_stiffness(E_Pa=E, poisson_ratio=NU)
C_LAYERED = transversely_isotropic_stiffness(C11_Pa=320e9, C12_Pa=90e9, C13_Pa=70e9, C33_Pa=180e9, C44_Pa=60e9)


def free(shape, periodic):
    return np.full((*node_shape(shape, periodic), len(shape)), np.nan)


def uniform(shape, voigt):
    return np.broadcast_to(np.asarray(voigt, dtype=float), (*shape, 6)).copy()


@pytest.mark.parametrize("shape", [(12, 10), (6, 5, 4)])
def test_free_expansion_of_an_unconstrained_body_is_stress_free(shape):
    ndim = len(shape)
    material = np.zeros(shape, dtype=int)
    material[(slice(3, 5),) * ndim] = -1  # a pore inside changes nothing
    prescribed = free(shape, (False,) * ndim)
    origin = (0,) * ndim
    prescribed[origin] = 0.0  # rigid-body motions only: one node held, then rotations about it
    prescribed[(0, shape[1]) + (0,) * (ndim - 2)][[0] + ([2] if ndim == 3 else [])] = 0.0
    if ndim == 3:
        prescribed[0, 0, shape[2], 0] = 0.0
    strain = [EPS, EPS, EPS if ndim == 3 else 0.0, 0, 0, 0]  # plane strain: no out-of-plane eigenstrain
    solution = solve_elasticity(ElasticProblem(material, C_ISO[None], H, (False,) * ndim, prescribed,
                                               eigenstrain=uniform(shape, strain)), rtol=1e-13)
    stress = solution.stress_Pa[material >= 0]
    assert np.max(np.abs(stress)) < 1e-10 * E * EPS
    position = np.stack(np.meshgrid(*[np.arange(n + 1) * H for n in shape], indexing="ij"), axis=-1)
    on = np.isfinite(solution.displacement_m[..., 0])
    np.testing.assert_allclose(solution.displacement_m[on], EPS * position[on], atol=1e-12 * H)


@pytest.mark.parametrize("shape", [(6, 4), (5, 3, 4)])
def test_film_on_a_rigid_substrate_isotropic(shape):
    ndim = len(shape)
    periodic = (False,) + (True,) * (ndim - 1)
    prescribed = free(shape, periodic)
    prescribed[face_nodes(shape, periodic, axis=0, side=0)] = 0.0
    solution = solve_elasticity(ElasticProblem(np.zeros(shape, dtype=int), C_ISO[None], H, periodic, prescribed,
                                               eigenstrain=uniform(shape, [EPS, EPS, EPS, 0, 0, 0])))
    stress = solution.stress_Pa.reshape(-1, 6)
    expected = -E * EPS / (1 - NU)
    np.testing.assert_allclose(stress[:, 1:3], expected, rtol=1e-6)
    assert np.max(np.abs(stress[:, [0, 3, 4, 5]])) < 1e-6 * abs(expected)


@pytest.mark.parametrize("shape", [(8, 6), (5, 4, 3)])
def test_a_traction_on_a_face_gives_uniform_stress(shape):
    """A block on rollers (u_0 = 0 at the bottom, rigid motion otherwise held at one corner), traction t on top."""
    ndim, periodic = len(shape), (False,) * len(shape)
    prescribed = free(shape, periodic)
    prescribed[face_nodes(shape, periodic, axis=0, side=0), 0] = 0.0
    prescribed[(0,) * ndim] = 0.0
    if ndim == 3:
        prescribed[0, shape[1], 0, 2] = 0.0
    traction = np.zeros(ndim)
    traction[0] = 2e6
    forces = face_traction(shape, periodic, axis=0, side=1, traction_Pa=traction, spacing_m=H)
    solution = solve_elasticity(ElasticProblem(np.zeros(shape, dtype=int), C_ISO[None], H, periodic, prescribed,
                                               forces_N=forces), rtol=1e-12)
    stress = solution.stress_Pa.reshape(-1, 6)
    expected = np.zeros(6)
    expected[0] = 2e6
    expected[2] = 0.0 if ndim == 3 else NU * 2e6  # plane strain: sigma_zz = nu sigma_yy
    np.testing.assert_allclose(stress, np.broadcast_to(expected, stress.shape), atol=1e-7 * 2e6)


@pytest.mark.parametrize("tilt_deg", [0.0, 30.0, 75.0])
def test_film_of_a_tilted_layered_crystal_matches_its_closed_form(tilt_deg):
    shape, periodic = (5, 4), (False, True)
    frames = crystal_frames(tilt_deg=np.array([tilt_deg]))
    stiffness = rotate_stiffness(C_LAYERED, frames)
    eigen = 0.5 * chemical_strain(frames=frames, vegard_a_axis=0.005, vegard_c_axis=-0.05)[0]
    prescribed = free(shape, periodic)
    prescribed[face_nodes(shape, periodic, axis=0, side=0)] = 0.0
    solution = solve_elasticity(ElasticProblem(np.zeros(shape, dtype=int), stiffness, H, periodic, prescribed,
                                               eigenstrain=uniform(shape, eigen)))
    # closed form: in-plane and out-of-plane strains held at zero; eps_00 and gamma_01 free, so sigma_00 = sigma_01 = 0
    c = stiffness[0]
    free_strain = np.linalg.solve(c[np.ix_([0, 5], [0, 5])], (c @ eigen)[[0, 5]])
    strain = np.zeros(6)
    strain[[0, 5]] = free_strain
    expected = c @ (strain - eigen)
    np.testing.assert_allclose(solution.stress_Pa.reshape(-1, 6), np.broadcast_to(expected, (20, 6)),
                               atol=1e-6 * np.max(np.abs(expected)))
    assert abs(expected[1]) > 1e6  # a real in-plane stress


def test_rotated_stiffness_maps_rotated_strains_to_rotated_stresses():
    rng = np.random.default_rng(3)
    frames = crystal_frames(tilt_deg=np.array([23.0]), azimuth_deg=np.array([71.0]), ndim=3)[0]
    strain = rng.normal(size=(3, 3))
    strain = strain + strain.T
    crystal_stress = C_LAYERED @ strain_to_voigt(strain)
    pairs = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))
    tensor = np.zeros((3, 3))
    for value, (i, j) in zip(crystal_stress, pairs):
        tensor[i, j] = tensor[j, i] = value
    rotated = frames @ tensor @ frames.T
    image_stress = rotate_stiffness(C_LAYERED, frames) @ strain_to_voigt(frames @ strain @ frames.T)
    np.testing.assert_allclose(image_stress, [rotated[i, j] for i, j in pairs], rtol=1e-12, atol=1e-3)
    layers_flat = rotate_stiffness(C_LAYERED, crystal_frames(tilt_deg=np.array([90.0])))[0]
    assert layers_flat[0, 0] == pytest.approx(180e9)  # tilt 90: the c axis through the thickness


@pytest.mark.parametrize("shape", [(5, 4), (4, 3, 3)])
def test_patch_test_reproduces_a_linear_displacement(shape):
    ndim = len(shape)
    gradient = np.random.default_rng(1).normal(scale=1e-3, size=(ndim, ndim))
    position = np.stack(np.meshgrid(*[np.arange(n + 1) * H for n in shape], indexing="ij"), axis=-1)
    exact = position @ gradient.T
    prescribed = np.full_like(exact, np.nan)
    boundary = np.zeros(exact.shape[:-1], dtype=bool)
    for axis in range(ndim):
        boundary |= face_nodes(shape, (False,) * ndim, axis=axis, side=0)
        boundary |= face_nodes(shape, (False,) * ndim, axis=axis, side=1)
    prescribed[boundary] = exact[boundary]
    solution = solve_elasticity(ElasticProblem(np.zeros(shape, dtype=int), C_ISO[None], H, (False,) * ndim, prescribed))
    np.testing.assert_allclose(solution.displacement_m, exact, atol=1e-10 * np.abs(exact).max())
    full = np.zeros((3, 3))
    full[:ndim, :ndim] = 0.5 * (gradient + gradient.T)
    np.testing.assert_allclose(solution.stress_Pa.reshape(-1, 6), np.broadcast_to(C_ISO @ strain_to_voigt(full), (np.prod(shape), 6)),
                               rtol=1e-8, atol=1e-8 * E * 1e-3)


def quarter_disc(radius_cells: int, size_factor: int = 4):
    """A quarter plate [0, L]^2 (L = size_factor * a) with a quarter disc of radius a at node (0, 0)."""
    n = size_factor * radius_cells
    centres = (np.arange(n) + 0.5) * H
    y, x = np.meshgrid(centres, centres, indexing="ij")  # axis 0 = y, axis 1 = x
    nodes = np.arange(n + 1) * H
    ny, nx = np.meshgrid(nodes, nodes, indexing="ij")
    return n, np.hypot(x, y) < radius_cells * H, nx, ny


def symmetric_quarter(n, exact):
    """Prescribed displacements: symmetry on x = 0 and y = 0, ``exact`` on the outer faces x = L, y = L."""
    prescribed = np.full((n + 1, n + 1, 2), np.nan)
    prescribed[:, 0, 1] = 0.0  # x = 0: u_x = 0
    prescribed[0, :, 0] = 0.0  # y = 0: u_y = 0
    prescribed[-1] = exact[-1]
    prescribed[:, -1] = exact[:, -1]
    return prescribed


def kirsch_hole(radius_cells: int) -> tuple[float, float]:
    """Plane-strain plate with a hole, remote tension along x: stress concentration error and L2 displacement error."""
    n, inside, nx, ny = quarter_disc(radius_cells)
    a, sigma = radius_cells * H, 1e6
    mu, kappa = E / (2 * (1 + NU)), 3 - 4 * NU
    r, theta = np.hypot(nx, ny), np.arctan2(ny, nx)
    with np.errstate(divide="ignore", invalid="ignore"):
        u_r = sigma / (4 * mu) * (r * ((kappa - 1) / 2 + np.cos(2 * theta)) + a**2 / r * (1 + (1 + kappa) * np.cos(2 * theta))
                                  - a**4 / r**3 * np.cos(2 * theta))
        u_t = sigma / (4 * mu) * ((1 - kappa) * a**2 / r - r - a**4 / r**3) * np.sin(2 * theta)
    exact = np.stack([u_r * np.sin(theta) + u_t * np.cos(theta), u_r * np.cos(theta) - u_t * np.sin(theta)], axis=-1)
    material = np.where(inside, -1, 0)
    solution = solve_elasticity(ElasticProblem(material, C_ISO[None], H, (False, False), symmetric_quarter(n, exact)))
    # sigma_xx along x = 0 (first column), fitted in powers (a / y)^2 from 2 cells off the hole out to 2a and
    # evaluated at y = a: the two cell layers on a voxel staircase are ~10 % low at any resolution (README)
    y = (np.arange(n) + 0.5) * H
    away = (y >= a + 2 * H) & (y <= 2 * a)
    fit = np.polyfit((a / y[away]) ** 2, solution.stress_Pa[away, 0, 1], 2)
    at_edge = np.polyval(fit, 1.0)
    on = np.isfinite(solution.displacement_m[..., 0])
    l2 = np.sqrt(np.mean((solution.displacement_m[on] - exact[on]) ** 2)) / np.sqrt(np.mean(exact[on] ** 2))
    return abs(at_edge / sigma - 3.0) / 3.0, l2


def test_hole_in_a_plate_concentrates_stress_three_times_and_converges(record_property):
    radii = (6, 12, 24)
    results = [kirsch_hole(a) for a in radii]
    scf_errors, l2_errors = zip(*results)
    orders = [float(np.log2(l2_errors[i] / l2_errors[i + 1])) for i in range(len(radii) - 1)]
    record_property("kirsch_scf_errors", scf_errors)
    record_property("kirsch_l2_orders", orders)
    print(f"Kirsch hole: radius {radii} cells, SCF errors {scf_errors}, displacement L2 errors {l2_errors}, orders {orders}")
    assert scf_errors[-1] < 0.05
    assert scf_errors[2] < scf_errors[1] < scf_errors[0]
    assert l2_errors[2] < l2_errors[1] < l2_errors[0]
    assert min(orders) > 0.7  # first order: the voxel staircase moves the boundary by O(h)


def test_eshelby_circular_inclusion_has_uniform_interior_stress():
    radius = 16
    n, inside, nx, ny = quarter_disc(radius, size_factor=5)
    a = radius * H
    lam, mu = E * NU / ((1 + NU) * (1 - 2 * NU)), E / (2 * (1 + NU))
    growth = (3 * lam + 2 * mu) * EPS / (2 * (lam + 2 * mu))  # u_r = growth r inside, growth a^2 / r outside
    r = np.hypot(nx, ny)
    with np.errstate(divide="ignore", invalid="ignore"):
        u_r = np.where(r <= a, growth * r, growth * a**2 / r)
    theta = np.arctan2(ny, nx)
    exact = np.stack([u_r * np.sin(theta), u_r * np.cos(theta)], axis=-1)
    eigen = np.where(inside[..., None], np.array([EPS, EPS, EPS, 0, 0, 0]), 0.0)
    solution = solve_elasticity(ElasticProblem(np.zeros(inside.shape, dtype=int), C_ISO[None], H, (False, False),
                                               symmetric_quarter(n, exact), eigenstrain=eigen))
    centres = (np.arange(n) + 0.5) * H
    core = np.hypot(*np.meshgrid(centres, centres, indexing="ij")) < 0.5 * a
    expected = -E * EPS / (2 * (1 - NU))
    np.testing.assert_allclose(solution.stress_Pa[core][:, :2], expected, rtol=0.02)
    assert np.max(np.abs(solution.stress_Pa[core][:, 5])) < 0.02 * abs(expected)
