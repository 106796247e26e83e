"""GITT: Weppner-Huggins on synthetic records made by solving the diffusion problem, the eqn-5
fit, the CLI outputs, a case that takes the fit as its D(c), and one-line errors for bad data."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from twifli_fv.drivers.twifli_case import read_gitt_fit
from twifli_fv.errors import InputError
from twifli_fv.model.constants import FARADAY
from twifli_fv.model.diffusivity import AnomalousDiffusivity, fit_anomalous
from twifli_fv.model.gitt import GittData, GittSample, analyse_pulses, find_pulses, read_gitt_csv

L_M = 10e-6  # film thickness
AREA_M2 = 1e-4
DENSITY = 4800.0  # kg m^-3
MOLAR_MASS = 0.0973  # kg mol^-1
C0 = DENSITY / MOLAR_MASS
SAMPLE = GittSample(active_mass_kg=DENSITY * L_M * AREA_M2, molar_mass_kg_mol=MOLAR_MASS, density_kg_m3=DENSITY,
                    diffusion_length_m=L_M, c_initial_mol_m3=C0)


def synthetic_gitt(diffusivity, *, pulse_s: list[float], rest_s: float, step_fraction: float = 0.02,
                   cells: int = 200, ir_ohm: float = 2e4) -> GittData:
    """Charge pulses of ``step_fraction`` of the Li each (Li out through x = L, no flux at x = 0) on a film, solved by finite volumes
    (backward Euler, D(c) at faces lagged one step); E = U(c at the surface) + R I with a linear U."""
    dx = L_M / cells
    c = np.full(cells, C0)

    def voltage(c: np.ndarray, flux: float, amps: float) -> float:
        d_surface = float(diffusivity(c[-1:])[0])
        c_surface = c[-1] - flux * dx / (2 * d_surface)
        return 4.2 - 0.8 * c_surface / C0 + ir_ohm * amps

    times, amps, volts = [0.0], [0.0], [voltage(c, 0.0, 0.0)]
    t = 0.0
    for duration in pulse_s:
        current = step_fraction * C0 * FARADAY * L_M * AREA_M2 / duration  # A: each pulse removes this fraction
        for length, on in ((duration, True), (rest_s, False)):
            flux = current / (FARADAY * AREA_M2) if on else 0.0  # mol m^-2 s^-1 out of x = L
            edges = length * np.geomspace(1e-4, 1.0, 160)
            edges = np.concatenate([[0.0], edges])
            for dt in np.diff(edges):
                d_face = diffusivity(0.5 * (c[1:] + c[:-1]))
                k = d_face / dx**2
                main = np.zeros(cells)
                main[:-1] += k
                main[1:] += k
                matrix = sp.diags([-k, main + 1 / dt, -k], [-1, 0, 1], format="csc")
                rhs = c / dt
                rhs[-1] -= flux / dx
                c = spla.spsolve(matrix, rhs)
                t += dt
                times.append(t)
                amps.append(current if on else 0.0)
                volts.append(voltage(c, flux, current if on else 0.0))
    return GittData(np.array(times), np.array(amps), np.array(volts))


def constant(value: float):
    return lambda c: np.full(np.shape(c), value)


def test_constant_D_is_recovered_on_short_pulses_and_long_pulses_are_flagged() -> None:
    d = 1e-15
    tau = L_M**2 / d
    data = synthetic_gitt(constant(d), pulse_s=[0.01 * tau, 0.02 * tau, 0.05 * tau, 2 * tau], rest_s=tau)
    pulses = analyse_pulses(data, SAMPLE, short_time_ratio_max=0.1)
    assert [p.valid for p in pulses] == [True, True, True, False]
    for pulse in pulses[:3]:  # ratios: D ~ 1e-15 m^2/s is below approx's default absolute tolerance
        assert pulse.D_transient_m2_s / d == pytest.approx(1, abs=0.10)
        assert pulse.D_sqrt_t_m2_s / d == pytest.approx(1, abs=0.10)
        assert pulse.ir_drop_V / (2e4 * pulse.current_A) == pytest.approx(1, abs=0.05)
    assert abs(pulses[3].D_transient_m2_s / d - 1) > 0.2 and abs(pulses[3].D_sqrt_t_m2_s / d - 1) > 0.2  # indeed wrong
    # the average concentration comes from the charge passed (Faraday), pulse by pulse
    removed = sum(p.current_A * p.duration_s for p in pulses) / (FARADAY * SAMPLE.volume_m3)
    assert pulses[-1].c_end_mol_m3 == pytest.approx(C0 - removed, rel=1e-9)


def test_eqn5_D_is_recovered_at_each_pulse_average_concentration() -> None:
    law = AnomalousDiffusivity(D_trace_m2_s=2e-16, c_max_mol_m3=1.3 * C0, D_cap_m2_s=1e-12)
    tau = L_M**2 / float(law(np.array([C0]))[0])
    data = synthetic_gitt(law, pulse_s=[0.05 * tau] * 40, rest_s=2 * tau, step_fraction=0.005)
    pulses = analyse_pulses(data, SAMPLE)
    assert all(p.valid for p in pulses) and pulses[-1].c_end_mol_m3 / C0 == pytest.approx(0.8, abs=1e-6)
    for pulse in pulses:
        expected = float(law(np.array([pulse.c_mol_m3]))[0])
        assert pulse.D_transient_m2_s / expected == pytest.approx(1, abs=0.10)
        assert pulse.D_sqrt_t_m2_s / expected == pytest.approx(1, abs=0.10)
    for form in ("D_transient_m2_s", "D_sqrt_t_m2_s"):  # measured: both within 1.5 %
        fit = fit_anomalous(np.array([p.c_mol_m3 for p in pulses]), np.array([getattr(p, form) for p in pulses]),
                            c_max_guess_mol_m3=1.5 * C0)
        assert fit.D_trace_m2_s / 2e-16 == pytest.approx(1, abs=0.05)
        assert fit.c_max_mol_m3 / (1.3 * C0) == pytest.approx(1, abs=0.02)


def test_fit_recovers_D_trace_and_c_max_from_exact_points() -> None:
    c = np.linspace(10_000, 45_000, 12)
    truth = AnomalousDiffusivity(D_trace_m2_s=3e-15, c_max_mol_m3=51_765.0, D_cap_m2_s=1.0)
    fit = fit_anomalous(c, truth(c), c_max_guess_mol_m3=70_000)
    assert fit.D_trace_m2_s / 3e-15 == pytest.approx(1, abs=1e-8)
    assert fit.c_max_mol_m3 == pytest.approx(51_765.0, rel=1e-8, abs=0)
    assert fit.residual_rms_log10 < 1e-9
    noisy = truth(c) * np.exp(0.1 * np.sin(np.arange(c.size)))
    assert fit_anomalous(c, noisy, c_max_guess_mol_m3=70_000).residual_rms_log10 > 0.01


def write_csv(path: Path, data: GittData) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["time_s", "current_A", "voltage_V"])
        writer.writerows(zip(data.time_s, data.current_A, data.voltage_V))
    return path


GITT_TOML = """
[sample]
active_mass_mg = {mass_mg}
molar_mass_g_mol = 97.3
density_g_cm3 = 4.8
electrode_area_cm2 = 1.0
c_max_guess_mol_m3 = 80000
"""


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "twifli_fv.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_gitt_command_writes_fit_that_a_case_reads(tmp_path: Path) -> None:
    law = AnomalousDiffusivity(D_trace_m2_s=2e-16, c_max_mol_m3=1.3 * C0, D_cap_m2_s=1e-12)
    tau = L_M**2 / float(law(np.array([C0]))[0])
    data = synthetic_gitt(law, pulse_s=[0.05 * tau] * 12 + [0.6 * tau], rest_s=2 * tau, step_fraction=0.01)
    write_csv(tmp_path / "data.csv", data)
    (tmp_path / "gitt.toml").write_text(GITT_TOML.format(mass_mg=SAMPLE.active_mass_kg * 1e6))
    done = cli("gitt", str(tmp_path / "data.csv"), "--config", str(tmp_path / "gitt.toml"), "-o", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    fit = json.loads((tmp_path / "out" / "gitt_fit.json").read_text())
    assert fit["form"] == "model" and fit["geometry"] == "film"
    assert fit["pulses_used"] == list(range(1, 14))  # the model fit has no short-time limit
    assert fit["c_max_mol_m3"] / (1.3 * C0) == pytest.approx(1, abs=0.05)
    rows = list(csv.DictReader((tmp_path / "out" / "gitt.csv").open()))
    assert len(rows) == 13 and "too long for Weppner-Huggins" in rows[12]["weppner_huggins_note"]
    (tmp_path / "gitt.toml").write_text(GITT_TOML.format(mass_mg=SAMPLE.active_mass_kg * 1e6)
                                        + '[analysis]\nfit_form = "transient"\n')
    done = cli("gitt", str(tmp_path / "data.csv"), "--config", str(tmp_path / "gitt.toml"), "-o", str(tmp_path / "wh"))
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "wh" / "gitt_fit.json").read_text())["pulses_used"] == list(range(1, 13))
    rows = list(csv.DictReader((tmp_path / "wh" / "gitt.csv").open()))
    assert rows[12]["valid"] == "False" and "too long" in rows[12]["note"]  # left out of the transient-form fit
    assert (tmp_path / "out" / "gitt.png").stat().st_size > 0
    diffusivity = read_gitt_fit(tmp_path / "out" / "gitt_fit.json")
    assert diffusivity.D_trace_m2_s == fit["D_trace_m2_s"] and diffusivity.c_max_mol_m3 == fit["c_max_mol_m3"]


@pytest.mark.parametrize(
    "content, message",
    [
        ("time_s,current_A\n0,0\n1,0\n2,0\n", "missing column(s) voltage_V"),
        ("time_s,current_A,voltage_V\n0,0,4\n2,1,4\n1,0,4\n3,0,4\n", "line 4: time_s does not increase"),
        ("time_s,current_A,voltage_V\n0,0,4\n1,0,4.1\n2,0,4\n3,0,4\n", "no pulses found"),
        ("time_s,current_A,voltage_V\n0,0,4\n1,abc,4\n2,0,4\n", "line 3: non-numeric"),
    ],
)
def test_bad_gitt_data_gives_one_line_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        find_pulses(read_gitt_csv(path))
    (tmp_path / "gitt.toml").write_text(GITT_TOML.format(mass_mg=4.8))
    done = cli("gitt", str(path), "--config", str(tmp_path / "gitt.toml"))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and str(path) in done.stderr


def test_bad_gitt_config_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "gitt.toml").write_text(GITT_TOML.format(mass_mg=4.8) + "particle_radius_um = 3\n")
    data = synthetic_gitt(constant(1e-15), pulse_s=[1000.0, 1000.0], rest_s=1e5)
    write_csv(tmp_path / "data.csv", data)
    done = cli("gitt", str(tmp_path / "data.csv"), "--config", str(tmp_path / "gitt.toml"))
    assert done.returncode == 2 and "exactly one of sample.electrode_area_cm2" in done.stderr


def test_case_takes_the_gitt_fit_as_its_diffusivity(tmp_path: Path) -> None:
    from twifli_fv.case import load_case
    from twifli_fv.drivers.run import prepare

    from .test_run import CASE, make_case

    (tmp_path / "gitt_fit.json").write_text(json.dumps({"D_trace_m2_s": 2e-15, "c_max_mol_m3": 52000.0}))
    text = CASE.replace('diffusivity = "anomalous"\nD_trace_cm2_s = 1e-10\nc_max_mol_m3 = 51765',
                        'diffusivity = "gitt_fit"\ngitt_fit_json = "../gitt_fit.json"')
    law = prepare(load_case(make_case(tmp_path, text))).model.diffusivity
    assert (law.D_trace_m2_s, law.c_max_mol_m3, law.D_cap_m2_s) == (2e-15, 52000.0, 2e-13)
    (tmp_path / "gitt_fit.json").write_text(json.dumps({"D_trace_m2_s": 2e-15, "c_max_mol_m3": 40000.0}))
    with pytest.raises(InputError, match="c_sat_mol_m3 \\(48000\\) exceeds c_max_mol_m3 \\(40000\\)"):
        prepare(load_case(make_case(tmp_path, text)))
    (tmp_path / "gitt_fit.json").write_text("{}")
    with pytest.raises(InputError, match="not a gitt_fit.json"):
        prepare(load_case(make_case(tmp_path, text)))
