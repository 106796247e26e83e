"""Dense-cathode model (issue 6; paper 2, SPEC sect. 6): analytic limits, conservation, cut-offs, bad input."""

from __future__ import annotations

import json
import logging
import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import sparse
from scipy.optimize import brentq

import twifli_fv.drivers.dense_case as dense_case
import twifli_fv.outputs.recorder as recorder
from twifli_fv.case import load_case
from twifli_fv.drivers.run import run_case
from twifli_fv.errors import InputError
from twifli_fv.image.grains import VOID, GrainMap, generate_grains
from twifli_fv.model.anisotropy import check_diffusivities, diffusion_tensor
from twifli_fv.model.butler_volmer import ButlerVolmer
from twifli_fv.model.dense import DenseModel
from twifli_fv.model.protocol import Step
from twifli_fv.solve.anisotropic_diffusion import (
    diffusion_matrix,
    effective_diffusivity,
)
from twifli_fv.solve.dense import DenseSolver
from twifli_fv.solve.dense_stepping import DenseStepping
from twifli_fv.solve.sparse_lu import SparseLU
from twifli_fv.solve.stepping import RunState, run_protocol

from .conftest import ROOT

C_MAX = 51600.0


def single_grain(shape: tuple[int, int], *, tilt: float = 0.0) -> GrainMap:
    return GrainMap(grain=np.zeros(shape, dtype=np.int64), tilt_deg=np.array([tilt]), azimuth_deg=np.zeros(1),
                    voxel_size_m=1e-6)


def make_cell(grains: GrainMap, *, d_fast: float, d_slow: float, contact=None, i0: float = 5.0,
              resistance: float = 0.0) -> DenseModel:
    tensor = diffusion_tensor(D_fast_m2_s=d_fast, D_slow_m2_s=d_slow, tilt_deg=np.nan_to_num(grains.cell_tilt_deg()))
    tensor[~grains.solid] = 0.0
    plane = grains.shape[1:]
    return DenseModel(grains=grains, tensor=tensor, contact=np.ones(plane, bool) if contact is None else contact,
                     area_factor=np.ones(plane), c_max_mol_m3=C_MAX, kinetics=ButlerVolmer(exchange_current_A_m2=i0),
                     separator_resistance_ohm_m2=resistance, counter_potential_V=0.62)


def slab_solution(y: np.ndarray, t: float, *, length: float, d: float, flux: float, c0: float) -> np.ndarray:
    """Constant flux ``flux`` (mol m^-2 s^-1) into y = L, none at y = 0 (Crank, eqn 2.71 form)."""
    n = np.arange(1, 200)[:, None]
    series = np.sum((-1.0) ** n / n**2 * np.exp(-d * (n * np.pi) ** 2 * t / length**2) * np.cos(n * np.pi * y / length), axis=0)
    return c0 + flux * t / length + flux * length / d * ((3 * y**2 - length**2) / (6 * length**2) - 2 / np.pi**2 * series)


def test_isotropic_single_grain_reduces_to_the_1d_slab_solution():
    grains = single_grain((20, 3), tilt=37.0)
    d = 1e-13
    cell = make_cell(grains, d_fast=d, d_slow=d)
    solver = DenseSolver(cell, np.full(grains.shape, 0.5 * C_MAX))
    current = 5.0  # A m^-2 of collector
    dt, steps = 5.0, 400
    for _ in range(steps):
        solver.commit(solver.solve_step(dt, current))
    field = solver.c.reshape(grains.shape)
    assert np.ptp(field, axis=1).max() < 1e-9 * C_MAX  # one-dimensional
    exact = [np.mean(slab_solution(np.linspace(k, k + 1, 41) * 1e-6, dt * steps, length=20e-6, d=d,
                                   flux=current / 96485.33212, c0=0.5 * C_MAX)) for k in range(20)]  # cell averages
    averages = np.array(exact)
    spread = np.ptp(averages)
    assert spread > 0.05 * C_MAX  # a real gradient, not a flat field
    assert np.max(np.abs(field[:, 0] - averages)) < 0.01 * spread


def test_rotating_the_grain_by_90_degrees_swaps_fast_and_slow():
    tilt = np.array([0.0, 20.0, 65.0])
    kw = {"D_fast_m2_s": 1e-13, "D_slow_m2_s": 1e-16}
    rotated = diffusion_tensor(tilt_deg=tilt + 90, **kw)
    swapped = (1e-13 + 1e-16) * np.eye(2) - diffusion_tensor(tilt_deg=tilt, **kw)  # same axes, eigenvalues swapped
    assert np.allclose(rotated, swapped, rtol=0, atol=1e-28)
    solid = np.ones((12, 8), bool)
    for angle, expected in ((0, 1e-13), (90, 1e-16), (30, 1e-13 * 0.75 + 1e-16 * 0.25)):
        tensor = diffusion_tensor(tilt_deg=np.full(solid.shape, float(angle)), **kw)
        assert effective_diffusivity(tensor, solid, 1e-6) == pytest.approx(expected, rel=1e-6)


def test_pores_block_flux_and_the_operator_conserves():
    grains = generate_grains(shape=(16, 24), voxel_size_um=1.0, grain_width_um=4, tilt_spread_deg=30,
                             pore_fraction=0.1, crack_count=2, crack_length_um=8, seed=3)
    tensor = diffusion_tensor(D_fast_m2_s=1e-13, D_slow_m2_s=1e-15, tilt_deg=np.nan_to_num(grains.cell_tilt_deg()))
    tensor[~grains.solid] = 0
    matrix = diffusion_matrix(tensor, grains.solid, 1e-6)
    assert np.abs(np.asarray(matrix.sum(axis=0))).max() < 1e-12 * np.abs(matrix).max()  # columns sum to 0
    voids = np.flatnonzero(grains.grain.ravel() == VOID)
    assert voids.size and abs(matrix[:, voids]).max() == 0 and abs(matrix[voids]).max() == 0
    # a crack parallel to the collector across the whole width cuts the through-thickness path
    cut = single_grain((10, 6)).grain.copy()
    cut[5] = VOID
    tensor = diffusion_tensor(D_fast_m2_s=1e-13, D_slow_m2_s=1e-13, tilt_deg=np.zeros(cut.shape))
    assert effective_diffusivity(tensor, cut != VOID, 1e-6) < 1e-20


def test_petsc_sparse_lu_matches_a_dense_solve():
    """PETSc's LU of the backward-Euler matrix against numpy: one vector, a block of columns, SI-sized pivots."""
    grains = generate_grains(shape=(8, 12), voxel_size_um=1.0, grain_width_um=4, tilt_spread_deg=30,
                             pore_fraction=0.1, seed=2)
    tensor = diffusion_tensor(D_fast_m2_s=1e-13, D_slow_m2_s=1e-16, tilt_deg=np.nan_to_num(grains.cell_tilt_deg()))
    tensor[~grains.solid] = 0
    n = grains.solid.size
    matrix = sparse.identity(n, format="csr") / 7.0 - diffusion_matrix(tensor, grains.solid, 1e-6) / 1e-18
    rng = np.random.default_rng(0)
    vector, block = rng.standard_normal(n), rng.standard_normal((n, 5))
    for scaled in (matrix, matrix * 1e-18):  # pivots near 1e-19: below PETSc's default zero-pivot tolerance
        lu = SparseLU(scaled.tocsc())
        dense = scaled.toarray()
        for b in (vector, block):
            x = lu.solve(b)
            expected = np.linalg.solve(dense, b)
            assert x.shape == b.shape
            assert np.abs(x - expected).max() <= 1e-9 * np.abs(expected).max()  # condition number ~1e6
            assert np.abs(scaled @ x - b).max() <= 1e-14 * np.abs(dense).max() * np.abs(x).max()  # backward stable
        first = lu.solve(vector)
        lu.solve(2 * vector)
        assert np.array_equal(first, lu.solve(vector))  # results are copies, not views of PETSc's vector
        lu.destroy()
    # unsorted column indices and duplicate entries (summed), as SciPy may hand them over
    messy = sparse.csr_matrix((np.array([1.0, 2.0, 3.0, 4.0, 1.0]), np.array([1, 0, 0, 1, 1]), np.array([0, 2, 5])),
                              shape=(2, 2))
    expected = np.linalg.solve([[2.0, 1.0], [3.0, 5.0]], [1.0, 2.0])
    assert np.allclose(SparseLU(messy).solve(np.array([1.0, 2.0])), expected, rtol=1e-14, atol=0)
    with pytest.raises(RuntimeError, match="ZEROPIVOT"):
        SparseLU(sparse.csr_matrix(np.ones((2, 2))))


def test_li_is_conserved_through_discharge_rest_and_charge():
    grains = generate_grains(shape=(10, 16), voxel_size_um=1.0, grain_width_um=4, tilt_spread_deg=20,
                             pore_fraction=0.05, seed=2)
    contact = np.ones(16, bool)
    contact[3:8] = False
    cell = make_cell(grains, d_fast=2e-13, d_slow=2e-15, contact=contact)
    solver = DenseSolver(cell, np.where(grains.solid, 0.6 * C_MAX, 0.0))
    li0 = solver.li_mol()
    passed = 0.0
    for current, dt in ((4.0, 60.0), (0.0, 30.0), (-3.0, 90.0)):
        for _ in range(5):
            step = solver.solve_step(dt, current)
            solver.commit(step)
            passed += current * cell.collector_area_m2 * dt / 96485.33212
            assert np.sum(step.flow_mol_s) == pytest.approx(current * cell.collector_area_m2 / 96485.33212, abs=1e-18)
    assert solver.li_mol() - li0 == pytest.approx(passed, rel=1e-9)


def test_butler_volmer_reduces_to_its_linear_and_tafel_limits():
    kinetics = ButlerVolmer(exchange_current_A_m2=3.0, alpha_a=0.4, alpha_c=0.6)
    f = kinetics.f
    small = 1e-5
    assert kinetics.current(3.0, small) == pytest.approx(3.0 * f * small, rel=1e-3)
    assert kinetics.current(3.0, 0.4) == pytest.approx(3.0 * math.exp(0.4 * f * 0.4), rel=1e-5)
    assert kinetics.current(3.0, -0.4) == pytest.approx(-3.0 * math.exp(0.6 * f * 0.4), rel=1e-5)
    eta = np.linspace(-0.2, 0.2, 9)
    numeric = (kinetics.current(3.0, eta + 1e-7) - kinetics.current(3.0, eta - 1e-7)) / 2e-7
    assert np.allclose(kinetics.d_current_d_eta(3.0, eta), numeric, rtol=1e-6)


def test_a_voltage_cut_off_stops_the_step_at_the_right_time():
    grains = single_grain((8, 2))
    cell = make_cell(grains, d_fast=1e-10, d_slow=1e-10, i0=2.0, resistance=2e-3)  # fast diffusion: x uniform
    x0, current, cut = 0.5, 15.0, 3.2
    solver = DenseSolver(cell, np.full(grains.shape, x0 * C_MAX))
    state = run_protocol(DenseStepping(solver), [Step(text="d", kind="discharge", current_density_A_m2=current,
                                                     until_voltage_V=cut)], RunState())
    ending = state.steps[0]
    assert ending["end_reason"].startswith("cut-off 3.2 V") and abs(ending["end_voltage_V"] - cut) <= 1e-3
    kin, f = cell.kinetics, cell.kinetics.f

    def voltage(x: float) -> float:  # uniform x; symmetric BV: eta = -(2/f) asinh(i / (2 i0))
        return float(cell.ocp(x) - 2 / f * np.arcsinh(current / (2 * kin.exchange_current_A_m2)) - current * 2e-3 - 0.62)

    x_end = brentq(lambda x: voltage(x) - cut, 0.6, 0.999)
    expected = (x_end - x0) * C_MAX * 8e-6 * 96485.33212 / current  # s, per unit collector area
    assert ending["duration_s"] == pytest.approx(expected, rel=2e-3)


def test_d_slow_above_d_fast_is_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        check_diffusivities(D_fast_m2_s=1e-15, D_slow_m2_s=1e-13)
    assert "exceeds D_fast" in caplog.text


DENSE_CASE = """
[model]
kind = "dense"
[cell]
thickness_um = 8
width_um = 12
[material]
D_eff_cm2_s = 1e-9
[grains]
grain_width_um = 4
seed = 2
[interface]
contact_fraction = 0.75
gap_width_um = 3
roughness_rms_um = 0.3
[protocol]
c_rate = 2
steps = ["Discharge until 2.38 V", "Rest for 10 minutes", "Charge at 1C until 3.6 V"]
[output]
frame_interval_s = 120
fields_interval_s = 600
plots = false
"""


def write_case(tmp_path, text=DENSE_CASE):
    case = tmp_path / "dense"
    case.mkdir(parents=True, exist_ok=True)
    (case / "case.toml").write_text(text)
    return case


def test_dense_case_runs_through_run_case_and_resumes_exactly(tmp_path, monkeypatch):
    reference = run_case(write_case(tmp_path / "a"), progress=False)
    out = tmp_path / "a" / "dense" / "output"
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(reference))
    assert [s["kind"] for s in reference["steps"]] == ["discharge", "rest", "charge"]
    assert reference["steps"][0]["end_reason"] == "cut-off 2.38 V reached"
    assert reference["steps"][2]["end_reason"] == "cut-off 3.6 V reached"
    assert 0 < reference["capacity_mAh_g"] < 140 and reference["energy_Wh_kg"] > 2 * reference["capacity_mAh_g"]
    assert reference["diffusion"]["D_eff_cm2_s"] == pytest.approx(1e-9)
    assert reference["interface"]["contact_fraction"] == pytest.approx(0.75)
    assert (out / "voltage.csv").read_text().startswith("time_s,step,current_density_mA_cm2,capacity_mAh_g,voltage_V")
    case = write_case(tmp_path / "b")
    frame, calls = recorder.Recorder.frame, []

    def interrupted(self, *args, **kwargs):
        frame(self, *args, **kwargs)
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt

    monkeypatch.setattr(recorder, "CHECKPOINT_EVERY_S", 0.0)  # a checkpoint at every frame
    monkeypatch.setattr(recorder.Recorder, "frame", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_case(case, progress=False)
    monkeypatch.setattr(recorder.Recorder, "frame", frame)
    resumed = run_case(case, resume=True, progress=False)
    assert resumed["steps"] == reference["steps"]
    assert (case / "output" / "voltage.csv").read_text() == (out / "voltage.csv").read_text()


BAD_DENSE = {
    "no contact": (("contact_fraction = 0.75", "contact_fraction = 0"), "contact_fraction must lie in (0, 1]"),
    "too much contact": (("contact_fraction = 0.75", "contact_fraction = 1.2"), "contact_fraction must lie in (0, 1]"),
    "negative thickness": (("thickness_um = 8", "thickness_um = -8"), "thickness_um must be positive"),
    "twifli key": (("D_eff_cm2_s = 1e-9", "c_sat_mol_m3 = 1e4"), "'material.c_sat_mol_m3' is not used by model.kind"),
    "no rate": (("c_rate = 2\n", ""), "gives no rate"),
}


@pytest.mark.parametrize("name", sorted(BAD_DENSE))
def test_bad_dense_input_is_one_line(tmp_path, name):
    (old, new), fragment = BAD_DENSE[name]
    case = write_case(tmp_path, DENSE_CASE.replace(old, new))
    with pytest.raises(InputError) as info:
        dense_case.prepare_dense(load_case(case))
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_cli_reports_a_bad_dense_case_in_one_line(tmp_path):
    case = write_case(tmp_path, DENSE_CASE.replace("thickness_um = 8", "thickness_um = -8"))
    run = subprocess.run([sys.executable, "-m", "twifli_fv.cli", "run", str(case), "--no-progress"],
                         capture_output=True, text=True, cwd=ROOT)
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2 and len(lines) == 1 and "thickness_um" in lines[0], run.stderr
