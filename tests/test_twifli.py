"""TWIF-Li model: analytic slab, conservation, bounds, eqn 3 by hand, round trip (issue 3 item 5)."""

from __future__ import annotations

import numpy as np
import pytest

from twifli_fv import Phase, SegmentedImage
from twifli_fv.image.io import read_labels
from twifli_fv.mesh.grid import build_mesh
from twifli_fv.model.constants import FARADAY
from twifli_fv.model.diffusivity import AnomalousDiffusivity, ConstantDiffusivity, TabulatedDiffusivity
from twifli_fv.model.kinetics import w1
from twifli_fv.model.protocol import Step
from twifli_fv.model.twifli import Drive, TwifliModel
from twifli_fv.solve.stepping import RunState, Stepping, run_protocol
from twifli_fv.solve.twifli import TwifliSolver
from twifli_fv.solve.twifli_stepping import TwifliStepping

from .conftest import MESHES

L, D, C0 = 10e-6, 1e-14, 40000.0


def slab_series(x: np.ndarray, t: float, q: float, terms: int = 400) -> np.ndarray:
    """Slab 0 < x < L, no flux at 0, flux q into it at L, c = C0 at t = 0 (Carslaw & Jaeger sect. 3.3)."""
    n = np.arange(1, terms + 1)[:, None]
    series = ((-1.0) ** n / n**2 * np.exp(-D * n**2 * np.pi**2 * t / L**2) * np.cos(n * np.pi * x / L)).sum(0)
    return C0 + q * t / L + q * L / D * ((3 * x**2 - L**2) / (6 * L**2) - 2 / np.pi**2 * series)


def slab_error(cells: int, dt: float, end: float, current: float) -> float:
    """Max error of a 1D AM slab (one AM|SE face on top) against the series, relative to the depletion."""
    phases = np.full((cells + 1, 1), int(Phase.AM), np.uint8)
    phases[-1] = Phase.SE
    mesh = build_mesh(SegmentedImage(phases, L / cells), periodic=False)
    model = TwifliModel(mesh=mesh, diffusivity=ConstantDiffusivity(D), c_sat_mol_m3=C0, tau_e=1.0, tau_li=1.0)
    solver = TwifliSolver(model, sweep_tol=1e-9)
    for _ in range(round(end / dt)):
        assert solver.advance(dt, Drive("charge", current)) is not None
    x = (np.arange(cells) + 0.5) * L / cells
    exact = slab_series(x, end, -current / FARADAY)  # one active face: conserve mode gives exactly J0
    return float(np.max(np.abs(solver.values[:cells] - exact)) / np.max(np.abs(exact - C0)))


def test_slab_matches_the_series_solution():
    assert slab_error(80, 10.0, 2000.0, 5.0) < 1e-3


def test_slab_error_falls_first_order_in_dt():
    errors = [slab_error(100, dt, 400.0, 5.0) for dt in (50.0, 25.0, 12.5)]
    orders = np.log2(np.array(errors[:-1]) / errors[1:])
    assert np.all(np.abs(orders - 1.0) < 0.1), (errors, orders)


def test_slab_error_falls_second_order_in_dx():
    # late times: backward Euler is exact for the linear-in-time quasi-steady part, so only dx is left
    errors = [slab_error(cells, 1000.0, 3e4, 0.2) for cells in (10, 20, 40)]
    orders = np.log2(np.array(errors[:-1]) / errors[1:])
    assert np.all(np.abs(orders - 2.0) < 0.1), (errors, orders)


def test_w1_by_hand():
    y = np.array([0.0, 2.5e-6, 10e-6, 10e-6 * 4 / 6])
    # H = 10 um, tau_e = 2, tau_Li = 4: (2 * 2.5 - 4 * 7.5)^2 / 40^2 = 625 / 1600
    expected = [0.0, 2 * (1 - 625 / 1600), 2 * (1 - 400 / 1600), 2.0]
    np.testing.assert_allclose(w1(y, thickness_m=10e-6, tau_e=2.0, tau_li=4.0), expected, rtol=1e-12)


def real_slice_model(**kwargs) -> TwifliModel:
    labels = read_labels(MESHES / "electrode_nmc_slice256.png")[:64, :64]
    image = SegmentedImage.from_labels(labels, "0=SE,85=AM,170=CBD", voxel_size_um=0.27)
    diffusivity = kwargs.pop("diffusivity", AnomalousDiffusivity(1e-15, 51765.0, 1e-13))
    return TwifliModel(mesh=build_mesh(image), diffusivity=diffusivity, c_sat_mol_m3=48000.0,
                       tau_e=2.0, tau_li=3.5, **kwargs)


def run(model: TwifliModel, steps: list[Step], c_initial=None, **stepping) -> tuple[TwifliSolver, RunState]:
    solver = TwifliSolver(model, c_initial)
    frames: list[float] = []
    state = run_protocol(TwifliStepping(solver, Stepping(**stepping)), steps, RunState(),
                         on_frame=lambda s: frames.append(s.time_s))
    return solver, state


def one_c(model: TwifliModel) -> float:
    return FARADAY * model.c_sat_mol_m3 * model.am_volume_m3 / 3600 / model.collector_area_m2


def test_conserve_mode_li_removed_equals_charge_passed():
    model = real_slice_model()
    solver, state = run(model, [Step("charge 1C", "charge", one_c(model), duration_s=600.0)],
                        frame_interval_s=300.0)
    step = state.steps[0]
    assert step["charge_C"] == pytest.approx(one_c(model) * model.collector_area_m2 * 600.0, rel=1e-12, abs=0)
    assert -step["li_change_mol"] * FARADAY == pytest.approx(step["charge_C"], rel=1e-8, abs=0)


def test_charge_discharge_round_trip_conserves_li():
    model = real_slice_model()
    current = one_c(model)
    c_initial = np.where(model.am, 0.7 * model.c_sat_mol_m3, 0.0)  # half-way: a full cell cannot be refilled exactly
    solver, state = run(model, [Step("c", "charge", current, duration_s=300.0),
                                Step("r", "rest", duration_s=100.0),
                                Step("d", "discharge", current, duration_s=200.0),
                                Step("d", "discharge", current / 2, duration_s=200.0)], c_initial)
    start = 0.7 * model.c_sat_mol_m3 * model.am_volume_m3
    assert [s["end_reason"] for s in state.steps] == ["duration reached"] * 4
    net_charge = sum(s["charge_C"] for s in state.steps)
    assert net_charge == pytest.approx(0.0, abs=1e-12)  # discharged exactly what was charged
    assert abs(solver.li_mol() - start) * FARADAY < 1e-8 * state.steps[0]["charge_C"]


@pytest.mark.parametrize("normalisation", ["conserve", "literal"])
def test_extreme_rates_keep_c_in_bounds_and_d_finite(normalisation):
    model = real_slice_model(normalisation=normalisation, diffusivity=AnomalousDiffusivity(1e-16, 48000.0, 1e-13))
    current = 50 * one_c(model)
    solver, state = run(model, [Step("c", "charge", current, until_lithiation=0.0, duration_s=60.0),
                                Step("d", "discharge", current, until_lithiation=1.0, duration_s=60.0)],
                        frame_interval_s=600.0)
    c = solver.values[model.am]
    assert np.all(c >= 0) and np.all(c <= model.c_sat_mol_m3 * (1 + 1e-12))
    d = solver.diffusivity_cells()
    assert np.all(np.isfinite(d)) and d.max() <= 1e-13 * (1 + 1e-9)
    if normalisation == "conserve":  # 50C for 60 s asks for more Li than the interfaces can give
        assert "no active interface can react" in state.steps[0]["end_reason"], state.steps


def test_literal_mode_flux_is_the_printed_equation():
    model = real_slice_model(normalisation="literal")
    solver = TwifliSolver(model)
    drive = Drive("charge", one_c(model))
    active = model.mesh.active_area_m2 > 0  # pristine: W = w1 w2 with w2 = sqrt(c_sat / c_sat) = 1 (eqns 3-4)
    weights = np.where(active, w1(model.mesh.y_m, thickness_m=model.mesh.image.thickness_m, tau_e=2.0, tau_li=3.5), 0)
    np.testing.assert_allclose(solver.cell_weight(drive), weights, rtol=1e-12, atol=0)
    expected = drive.current_density_A_m2 * model.collector_area_m2 / FARADAY * np.sum(
        weights * model.mesh.active_area_m2) / np.sum(model.mesh.active_area_m2)
    before = solver.li_mol()
    solver.advance(1e-3, drive)  # short step: the flux is the initial one
    assert (before - solver.li_mol()) / 1e-3 == pytest.approx(expected, rel=1e-4)


def test_a_step_that_lands_on_a_mean_soc_target_ends_at_it():
    model = real_slice_model()
    solver, state = run(model, [Step("charge to 0.9", "charge", one_c(model), until_lithiation=0.9)],
                        frame_interval_s=600.0)
    assert state.steps[0]["end_reason"] == "mean SOC 0.9 reached"
    assert solver.mean_c_norm() == pytest.approx(0.9, abs=2e-9)  # the stepping's target_tol (1e-9), and rounding
    assert state.steps[0]["duration_s"] == pytest.approx(0.1 * 3600, rel=1e-6)  # conserve: 10 % of 1C capacity


def test_a_tabulated_d_sweeps_to_convergence_in_a_rest():
    """D(c) from a table is not constant: a rest is nonlinear and takes more than one sweep (D not lagged)."""
    table = TabulatedDiffusivity((0.0, 30000.0, 60000.0), (1e-16, 1e-15, 1e-14))
    model = real_slice_model(diffusivity=table)
    solver = TwifliSolver(model)
    assert solver.advance(60.0, Drive("charge", 5 * one_c(model))) is not None
    before = solver.li_mol()
    sweeps = solver.advance(60.0, Drive("rest", 0.0))
    assert sweeps is not None and sweeps > 1
    assert solver.li_mol() == pytest.approx(before, rel=1e-10)  # a rest moves Li, never makes or removes it
    frozen = TwifliSolver(real_slice_model(diffusivity=ConstantDiffusivity(1e-15)))
    assert frozen.advance(60.0, Drive("charge", 5 * one_c(model))) is not None
    assert frozen.advance(60.0, Drive("rest", 0.0)) == 1  # a constant D: one exact solve
