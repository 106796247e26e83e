"""Chemo-mechanics of dense runs (issue 14): cathode stresses, hotspots, the [mechanics] table, MPI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from twifli_fv.case import load_case
from twifli_fv.drivers.dense_mechanics import mechanics_settings
from twifli_fv.drivers.run import run_case
from twifli_fv.errors import InputError
from twifli_fv.image.grains import VOID, GrainMap, generate_grains
from twifli_fv.outputs.stress import feature_map, hotspots
from twifli_fv.solve.cathode_stress import CathodeMechanics, CathodeStressSolver

from .conftest import ROOT
from .test_dense import DENSE_CASE, write_case

C_MAX = 50000.0
MECHANICS = """
[mechanics]
enabled = true
E_GPa = 150
poisson_ratio = 0.25
"""


def cracked_grain() -> GrainMap:
    """One grain (c axis in-plane), 16 x 24 voxels, a crack through rows 4-11 of column 12."""
    grain = np.zeros((16, 24), dtype=np.int64)
    grain[4:12, 12] = VOID
    return GrainMap(grain=grain, tilt_deg=np.zeros(1), azimuth_deg=np.zeros(1), voxel_size_m=1e-6)


def test_uniform_lithiation_of_a_free_topped_film_and_the_crack_tips_it_loads():
    """Uniform lithiation with the c axis in-plane: a film held in-plane by the periodic sides and the collector."""
    settings = CathodeMechanics(separator="free", rtol=1e-12)
    plain = GrainMap(grain=np.zeros((16, 24), dtype=np.int64), tilt_deg=np.zeros(1), azimuth_deg=np.zeros(1),
                     voxel_size_m=1e-6)
    contact = np.ones(24, dtype=bool)
    solver = CathodeStressSolver(grains=plain, contact=contact, settings=settings, c_ref_mol_m3=0.5 * C_MAX,
                                 c_max_mol_m3=C_MAX)
    stress = solver.solve(np.full(plain.shape, 0.9 * C_MAX)).stress_Pa
    e, nu, dx = settings.E_Pa, settings.poisson_ratio, 0.4
    eps_x, eps_z = settings.vegard_c_axis * dx, settings.vegard_a_axis * dx  # in-plane c axis, a axis out of plane
    # eps_xx = eps_zz = 0 held, sigma_yy = 0: sigma_xx = -E (eps_x + nu eps_z) / (1 - nu^2)
    np.testing.assert_allclose(stress[..., 1], -e * (eps_x + nu * eps_z) / (1 - nu**2), rtol=1e-8)
    film = stress[0, 0, 1]
    assert film > 1e9  # tension: lithiation shrinks the c axis
    cracked = cracked_grain()
    solver = CathodeStressSolver(grains=cracked, contact=contact, settings=settings, c_ref_mol_m3=0.5 * C_MAX,
                                 c_max_mol_m3=C_MAX)
    result = solver.solve(np.full(cracked.shape, 0.9 * C_MAX))
    spots = hotspots(result.stress_Pa, feature_map(cracked, contact), voxel_size_m=1e-6, count=2)
    assert [s["feature"] for s in spots] == ["crack tip", "crack tip"]
    assert {round(s["y_um"]) for s in spots} <= {3, 4, 12, 13}  # rows 3 and 12 (centres 3.5, 12.5 um)
    assert spots[0]["max_principal_MPa"] > 1.3 * film * 1e-6


def test_bonded_separator_holds_the_cathode_at_contacts_only():
    grains = GrainMap(grain=np.zeros((10, 20), dtype=np.int64), tilt_deg=np.zeros(1), azimuth_deg=np.zeros(1),
                      voxel_size_m=1e-6)
    contact = np.ones(20, dtype=bool)
    contact[5:12] = False
    solver = CathodeStressSolver(grains=grains, contact=contact, settings=CathodeMechanics(), c_ref_mol_m3=0.5 * C_MAX,
                                 c_max_mol_m3=C_MAX)
    assert solver.material.shape == (10 + 1 + 5, 20)
    np.testing.assert_array_equal(solver.material[10] >= 0, contact)  # the gap row: SE at contacts, void elsewhere
    features = feature_map(grains, contact)
    assert features[-1, 5] == "contact edge" and features[-1, 8] == "interfacial void" and features[0, 8] == "grain interior"


def discharge_only(text: str) -> str:
    return text.replace('steps = ["Discharge until 2.38 V", "Rest for 10 minutes", "Charge at 1C until 3.6 V"]',
                        'steps = ["Discharge until 2.38 V"]')


def test_dense_case_with_mechanics_writes_stress_frames_and_hotspots(tmp_path):
    text = discharge_only(DENSE_CASE).replace("seed = 2", "seed = 2\ncrack_count = 2\ncrack_length_um = 3\npore_fraction = 0.03")
    text = text.replace("plots = false", "plots = true") + MECHANICS
    case = write_case(tmp_path, text)
    summary = run_case(case, progress=False)
    mechanics = summary["mechanics"]
    frames = sorted((case / "output" / "fields").glob("frame_*.vti"))
    assert len(mechanics["frames"]) == len(frames) > 2
    assert "sigma_xx_MPa" in frames[-1].read_text(errors="ignore")
    assert summary["peak_tensile_stress_MPa"] == max(f["peak_tensile_stress_MPa"] for f in mechanics["frames"])
    assert len(mechanics["hotspots"]) == 5 and mechanics["hotspots"][0]["max_principal_MPa"] == pytest.approx(
        max(mechanics["peak_by_feature_MPa"].values()))
    assert (case / "output" / "plots" / "stress_maps.png").stat().st_size > 10_000
    assert json.loads((case / "output" / "summary.json").read_text())["peak_uneven_tensile_stress_MPa"] > 0


def test_uneven_lithiation_stress_grows_with_c_rate(tmp_path):
    peaks = {}
    for rate in (0.2, 2):
        text = discharge_only(DENSE_CASE).replace("c_rate = 2", f"c_rate = {rate}").replace(
            "fields_interval_s = 600", f"fields_interval_s = {240 / rate}")
        peaks[rate] = run_case(write_case(tmp_path / str(rate), text + MECHANICS), progress=False)[
            "peak_uneven_tensile_stress_MPa"]
    assert peaks[2] > 1.5 * peaks[0.2]


@pytest.mark.parametrize(("line", "fragment"), [
    ('separator = "glued"', "separator = 'glued': use one of 'bonded', 'free'"),
    ('stiffness = "transversely_isotropic"', "needs C11_GPa"),
    ("poisson_ratio = 0.6", "poisson_ratio"),
    ("E_GPa = -1", "E_GPa"),
    ('plot_times_h = ["late"]', "plot_times_h"),
])
def test_bad_mechanics_input_is_one_line(tmp_path, line, fragment):
    key = line.split(" = ")[0]
    text = DENSE_CASE + "\n".join(l for l in MECHANICS.splitlines() if not l.startswith(key)) + "\n" + line + "\n"
    with pytest.raises(InputError) as info:
        mechanics_settings(load_case(write_case(tmp_path, text)), 1e-6)
    assert fragment in str(info.value) and "[mechanics]" in str(info.value) and "\n" not in str(info.value)


MPI_SCRIPT = """
import sys, numpy as np
from twifli_fv.image.grains import generate_grains
from twifli_fv.solve.cathode_stress import CathodeMechanics, CathodeStressSolver
from twifli_fv.solve.petsc_env import rank
grains = generate_grains(shape=(30, 40), voxel_size_um=1.0, grain_width_um=6, tilt_spread_deg=30, pore_fraction=0.03,
                         crack_count=2, seed=4)
contact = np.arange(40) % 13 > 3
layered = (320e9, 90e9, 70e9, 180e9, 60e9) if sys.argv[2] == "layered" else None
solver = CathodeStressSolver(grains=grains, contact=contact, settings=CathodeMechanics(rtol=1e-12, layered_stiffness_Pa=layered),
                             c_ref_mol_m3=25000.0, c_max_mol_m3=50000.0)
y = (np.arange(30) + 0.5) / 30
result = solver.solve(25000.0 + 20000.0 * np.broadcast_to(y[:, None] ** 3, (30, 40)))
if rank() == 0:
    np.save(sys.argv[1], result.stress_Pa)
"""


@pytest.mark.skipif(shutil.which("mpiexec") is None, reason="needs mpiexec (MPICH, as petsc4py is built against)")
@pytest.mark.parametrize("stiffness", ["isotropic", "layered"])
def test_stress_on_two_ranks_equals_one(tmp_path, stiffness):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    paths = {n: tmp_path / f"{n}.npy" for n in (1, 2)}
    for n, path in paths.items():
        command = [shutil.which("mpiexec"), "-n", str(n), sys.executable, "-c", MPI_SCRIPT, str(path), stiffness]
        run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
        assert run.returncode == 0, run.stderr
    one, two = np.load(paths[1]), np.load(paths[2])
    assert np.isnan(one).sum() == np.isnan(two).sum() > 0
    np.testing.assert_allclose(two, one, rtol=0, atol=1e-8 * np.nanmax(np.abs(one)))


def test_generated_map_mechanics_runs_in_3d():
    grains = generate_grains(shape=(6, 8, 8), voxel_size_um=1.0, grain_width_um=4, tilt_spread_deg=20, seed=1)
    solver = CathodeStressSolver(grains=grains, contact=np.ones((8, 8), dtype=bool), settings=CathodeMechanics(),
                                 c_ref_mol_m3=25000.0, c_max_mol_m3=50000.0)
    stress = solver.solve(np.full(grains.shape, 30000.0)).stress_Pa
    assert stress.shape == (6, 8, 8, 6) and np.isfinite(stress).all()
