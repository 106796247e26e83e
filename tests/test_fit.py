"""``twifli fit`` (issue 15): known D_eff and i0 recovered from capacities our own model made with other
values, uncertainties that cover the truth on noisy data, resumed without re-running, one-line errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from twifli_fv.case import load_case
from twifli_fv.cli import main
from twifli_fv.drivers.fit import parse_free, run_fit
from twifli_fv.drivers.fit_data import load_fit_data
from twifli_fv.drivers.run import run_case
from twifli_fv.drivers.sweep import write_point_case
from twifli_fv.errors import InputError

from .test_sweep import make_case

# A thin film, one column of 2 um cells: a second per run. The 3.1 V cut-off (3.72 V vs Li) sits on
# the sloping part of U(x), so the kinetic overpotential moves the capacity as well as D_eff does.
CASE = """
[model]
kind = "dense"
[cell]
thickness_um = 8
width_um = 2
[material]
D_eff_cm2_s = 2.8e-10
[grains]
voxel_size_um = 2.0
grain_width_um = 2
tilt_spread_deg = 0
seed = 1
[kinetics]
exchange_current_mA_cm2 = 0.025
[protocol]
c_rate = 1
steps = ["Discharge until 3.1 V"]
[output]
frame_interval_s = 600
plots = false
[solver]
max_change = 0.05
"""
TRUTH = {"material.D_eff_cm2_s": 3.0e-10, "kinetics.exchange_current_mA_cm2": 0.02}
RATES = (0.75, 1.0, 1.5, 2.0)
FREE = "D_eff_cm2_s=1e-10:1e-9,exchange_current_mA_cm2=0.005:0.2"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[float]]:
    """The case (started from other values) and the capacities its model gives at TRUTH (at the cut-off)."""
    root = tmp_path_factory.mktemp("fit")
    (root / "case").mkdir()
    (root / "case" / "case.toml").write_text(CASE)
    base = load_case(root / "case")
    outputs = []
    for rate in RATES:
        point = write_point_case(base, root / f"truth_{rate}", TRUTH | {"protocol.c_rate": rate}, header="truth")
        run_case(point.directory, progress=False)
        outputs.append(point.output)
    data = load_fit_data(write_data(root / "rates.csv", RATES, [0.0] * len(RATES)))
    return root / "case", list(data.model(outputs))


def write_data(path: Path, rates: tuple[float, ...], capacities: list[float]) -> Path:
    path.write_text("c_rate,capacity_mAh_g\n" + "".join(f"{r},{c:.6f}\n" for r, c in zip(rates, capacities)))
    return path


def test_recovers_deff_and_i0_from_noise_free_capacities(synthetic: tuple[Path, list[float]]) -> None:
    case, capacities = synthetic
    data = write_data(case.parent / "exact.csv", RATES, capacities)
    result = run_fit(case, data, parse_free(FREE, case=load_case(case)), name="exact", jobs=2, max_evaluations=5)
    for key, truth in TRUTH.items():
        assert abs(result.values[key] / truth - 1) < 0.02, (key, result.values[key], truth)
    report = json.loads((result.directory / "fit.json").read_text())
    assert [row["c_rate"] for row in report["rows"]] == list(RATES)
    assert report["residual"]["rms"] < 0.3  # mAh/g: the data are the model's own
    assert len(report["runs"]) == len(RATES) and all(Path(run).is_dir() for run in report["runs"])
    with (result.directory / "fit.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == report["evaluations"] and {row["status"] for row in rows} == {"complete"}
    assert (result.directory / "fit.png").is_file()
    fitted = load_case(result.directory / "fitted")
    assert fitted.get("material", "D_eff_cm2_s") == result.values["material.D_eff_cm2_s"]

    # run again: every evaluation is found complete (cached by its values' hash), nothing is re-run
    stamps = {run: (Path(run) / "output" / "summary.json").stat().st_mtime_ns for run in report["runs"]}
    again = run_fit(case, data, parse_free(FREE, case=load_case(case)), name="exact", jobs=1, max_evaluations=5,
                    plots=False)
    assert again.values == result.values
    assert all((Path(run) / "output" / "summary.json").stat().st_mtime_ns == t for run, t in stamps.items())


def test_noisy_capacities_give_intervals_that_cover_the_truth(synthetic: tuple[Path, list[float]]) -> None:
    """1 mAh/g of noise on each capacity: the fit moves off the truth, and its 95 % interval says by how much.
    (Same fit folder as the noise-free fit: the runs at the start point are reused.)"""
    case, capacities = synthetic
    noisy = np.array(capacities) + np.random.default_rng(7).normal(0.0, 1.0, len(capacities))
    data = write_data(case.parent / "noisy.csv", RATES, list(noisy))
    result = run_fit(case, data, parse_free(FREE, case=load_case(case)), name="exact", jobs=2, max_evaluations=5,
                     plots=False)
    for entry in result.report["free"]:
        low, high = entry["interval_95"]
        assert low < TRUTH[entry["key"]] < high, entry
        assert entry["value"] != pytest.approx(TRUTH[entry["key"]], rel=1e-3)  # the noise did move it
    assert 0.1 < result.report["residual"]["rms"] < 3.0


@pytest.mark.parametrize(("text", "message"), [
    ("c_rate,capacity_mAh_g\n0.1,abc\n", "line 2: capacity_mAh_g = 'abc' is not a number"),
    ("c_rate,capacity_mAh_g,tau_x\n0.1,100,2\n", "unknown case key 'tau_x'"),
    ("c_rate,capacity_mAh_g,kind\n0.1,100,2\n", "does not take numbers"),
    ("rate,mAh\n0.1,100\n", "none of the data kinds"),
    ("c_rate,capacity_mAh_g\n", "no data rows"),
    ("c_rate,capacity_mAh_g\n0.1\n", "1 values for 2 columns"),
])
def test_bad_data_files_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "data.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        load_fit_data(path)


def test_data_kinds_and_conditions(tmp_path: Path) -> None:
    path = tmp_path / "contact.csv"
    path.write_text("c_rate,capacity_mAh_g,contact_fraction\n0.1,115,1\n0.1,87,0.6\n1,60,1\n1,19,0.6\n")
    data = load_fit_data(path)
    assert data.kind == "capacity" and len(data.conditions) == 4
    assert data.conditions[1] == {"interface.contact_fraction": 0.6, "protocol.c_rate": 0.1}
    path.write_text("c_rate,capacity_mAh_g,voltage_V\n0.1,0,4.0\n0.1,50,3.9\n0.5,0,3.9\n")
    data = load_fit_data(path)
    assert data.kind == "voltage" and data.row_condition.tolist() == [0, 0, 1]


@pytest.mark.parametrize(("free", "message"), [
    ("tau_x=1:2", "unknown case key 'tau_x'"),
    ("kind", "does not take numbers"),
    ("D_eff_cm2_s=1e-9:1e-10", "LO < HI"),
    ("D_eff_cm2_s=a:b", "must be numbers"),
    ("D_eff_cm2_s", "no positive value"),  # neither given (removed below) nor defaulted by the schema
])
def test_bad_free_keys_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture, free: str,
                                           message: str) -> None:
    (tmp_path / "case").mkdir()
    (tmp_path / "case" / "case.toml").write_text(CASE.replace("D_eff_cm2_s = 2.8e-10", ""))
    write_data(tmp_path / "data.csv", (1.0,), [50.0])
    code = main([ "fit", str(tmp_path / "case"), "--data", str(tmp_path / "data.csv"), "--free", free])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err



def test_recovers_d_trace_from_twifli_profiles(tmp_path: Path) -> None:
    """Profiles (time_s, step, y_um, c_norm) made at D_trace = 1e-10 cm2/s (the sweep tests' tiny case): near
    c_sat, D(c) is 26 D_trace, so L^2 / D ~ 11 min for the 13 um crop, as long as the 6 min charge: the profiles
    depend on D_trace. The fit starts at 2e-10."""
    truth = make_case(tmp_path)
    run_case(truth, progress=False)
    start = write_point_case(load_case(truth), tmp_path / "start", {"material.D_trace_cm2_s": 2e-10}, header="start")
    data = truth / "output" / "profiles.csv"
    result = run_fit(start.directory, data, parse_free("D_trace_cm2_s=1e-12:1e-8", case=start), jobs=1, plots=False)
    assert result.values["material.D_trace_cm2_s"] == pytest.approx(1e-10, rel=0.05)
    assert load_fit_data(data).kind == "profiles"


def test_recovers_deff_from_a_voltage_curve(synthetic: tuple[Path, list[float]], tmp_path: Path) -> None:
    """Voltage data (c_rate, capacity_mAh_g, voltage_V): every 4th point of the truth's 1C curve, D_eff fitted
    with i0 held at the truth."""
    case, _ = synthetic
    curve = list(csv.DictReader((case.parent / "truth_1.0" / "output" / "voltage.csv").open()))[::4]
    data = tmp_path / "curve.csv"
    data.write_text("c_rate,capacity_mAh_g,voltage_V\n"
                    + "".join(f"1.0,{row['capacity_mAh_g']},{row['voltage_V']}\n" for row in curve))
    start = write_point_case(load_case(case), tmp_path / "start", {"kinetics.exchange_current_mA_cm2": 0.02},
                             header="i0 at the truth")
    result = run_fit(start.directory, data, parse_free("D_eff_cm2_s=1e-10:1e-9", case=start), jobs=1, plots=True)
    assert result.values["material.D_eff_cm2_s"] == pytest.approx(3e-10, rel=0.02)
    assert result.report["kind"] == "voltage" and result.report["residual"]["rms"] < 0.005  # V
    assert (result.directory / "fit.png").is_file()
