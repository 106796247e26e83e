"""Electrode-level energy density (paper 2, Fig 7c-d): hand-computed numbers, the paper's dense cathode,
the command's outputs and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from twifli_fv.cli import main
from twifli_fv.model.energy_density import Cathode, energy_density

from .conftest import ROOT

PAPER = ROOT / "docs" / "energy_density_paper2.toml"

# 70 wt% AM (5.0 g/cm3) + 30 wt% SE (2.0 g/cm3), 10 % pores, 150 of 200 mAh/g at 4.0 V:
# solids 0.7/5 + 0.3/2 = 0.29 cm3/g -> electrode 0.9/0.29 = 3.1034 g/cm3; AM 0.9 x 0.14/0.29 = 43.45 vol%;
# 0.7 x 150 x 4 = 420 Wh/kg; x 3.1034 = 1303.4 Wh/L; 10 mg/cm2 of AM = 0.01 / (0.7 x 3.1034) cm = 46.03 um.
COMPOSITE = Cathode(name="c", mass_fractions={"AM": 0.7, "SE": 0.3}, densities_g_cm3={"AM": 5.0, "SE": 2.0},
                    theoretical_capacity_mAh_g=200.0, delivered_capacity_mAh_g=150.0, average_voltage_V=4.0,
                    porosity=0.1)


def test_hand_computed_composite():
    result = energy_density(COMPOSITE, am_loading_mg_cm2=10.0)
    assert result.gravimetric_Wh_kg == pytest.approx(420.0)
    assert result.electrode_density_g_cm3 == pytest.approx(0.9 / 0.29)
    assert result.volumetric_Wh_L == pytest.approx(420.0 * 0.9 / 0.29)
    assert result.am_volume_fraction == pytest.approx(0.9 * 0.14 / 0.29)
    assert result.utilisation == pytest.approx(0.75)
    assert result.thickness_um == pytest.approx(0.01 / (0.7 * 0.9 / 0.29) * 1e4)
    assert (result.areal_capacity_mAh_cm2, result.delivered_areal_capacity_mAh_cm2) == pytest.approx((2.0, 1.5))
    assert result.areal_energy_mWh_cm2 == pytest.approx(6.0)


def test_geometry_inputs_agree_and_do_not_change_the_densities():
    by_loading = energy_density(COMPOSITE, am_loading_mg_cm2=10.0)
    assert energy_density(COMPOSITE, thickness_um=by_loading.thickness_um).am_loading_mg_cm2 == pytest.approx(10.0)
    assert energy_density(COMPOSITE, areal_capacity_mAh_cm2=2.0).thickness_um == pytest.approx(by_loading.thickness_um)
    bare = energy_density(COMPOSITE)
    assert bare.thickness_um is None and bare.volumetric_Wh_L == pytest.approx(by_loading.volumetric_Wh_L)


def test_paper_dense_cathode(tmp_path, capsys):
    """Paper 2: dense LCO at 0.1C, 119 mAh/g -> 447 Wh/kg and 2143 Wh/L (Fig 7c); composites at 90 wt% and
    ~120 mAh/g -> 408.5 Wh/kg and 1678 Wh/L; dense +9.42 % and +27.7 % over it."""
    assert main(["energy-density", "--config", str(PAPER), "-o", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "energy_density.json").read_text())
    dense, *composites = data["cathodes"]
    assert (dense["gravimetric_Wh_kg"], dense["volumetric_Wh_L"]) == pytest.approx((447, 2143), rel=2e-3)
    assert [c["am_mass_fraction"] for c in composites] == [0.6, 0.7, 0.8, 0.9]
    best = composites[-1]
    assert (best["gravimetric_Wh_kg"], best["volumetric_Wh_L"]) == pytest.approx((408.5, 1678), rel=0.01)
    gain = data["dense_gain_over_best_composite_percent"]
    assert (gain["gravimetric"], gain["volumetric"]) == pytest.approx((9.42, 27.7), abs=1.0)
    assert [c["am_loading_mg_cm2"] for c in data["cathodes"]] == pytest.approx([1.55 / 140 * 1e3] * 5)  # the same CAM
    assert "dense over the best composite" in capsys.readouterr().out
    assert (tmp_path / "energy_density.png").stat().st_size > 1000
    assert len((tmp_path / "energy_density.csv").read_text().splitlines()) == 1 + 5


def test_idealised_dense_cathode_is_the_papers_benchmark(tmp_path):
    """Full theoretical capacity (140 mAh/g): 526 Wh/kg and 2521 Wh/L (Fig 7c, black marker)."""
    text = PAPER.read_text().replace("delivered_capacity_mAh_g = 119", "delivered_capacity_mAh_g = 140")
    (tmp_path / "ideal.toml").write_text(text)
    assert main(["energy-density", "--config", str(tmp_path / "ideal.toml")]) == 0
    dense = json.loads((tmp_path / "ideal" / "energy_density.json").read_text())["cathodes"][0]
    assert (dense["gravimetric_Wh_kg"], dense["volumetric_Wh_L"]) == pytest.approx((526, 2521), rel=1e-3)


BAD = {
    "fractions": (("se_mass_fraction = [0.4, 0.3, 0.2, 0.1]", "se_mass_fraction = [0.4, 0.3, 0.2, 0.2]"),
                  "must include AM and sum to 1"),
    "lengths": (("se_mass_fraction = [0.4, 0.3, 0.2, 0.1]", "se_mass_fraction = [0.4, 0.3, 0.2]"), "differ in length"),
    "over capacity": (("delivered_capacity_mAh_g = 119", "delivered_capacity_mAh_g = 150"),
                      "dense.delivered_capacity_mAh_g must be in (0, 140]"),
    "no SE density": (("se_density_g_cm3 = 1.89", ""), "missing key 'composite.se_density_g_cm3'"),
    "two geometries": (("[electrode]\n", "[electrode]\nthickness_um = 50\n"), "give one of electrode."),
    "porosity": (("porosity = 0.051                # as", "porosity = 1.2 # as"),
                 "composite.porosity must be in [0, 1)"),
    "typo": (("[dense]\n", "[dense]\nporosty = 0.1\n"), "unknown key 'dense.porosty' (did you mean 'porosity'?)"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_config_is_one_line(tmp_path, name):
    (old, new), fragment = BAD[name]
    text = PAPER.read_text()
    assert old in text
    (tmp_path / "cell.toml").write_text(text.replace(old, new))
    command = [sys.executable, "-m", "twifli_fv.cli", "energy-density", "--config", str(tmp_path / "cell.toml")]
    run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2 and len(lines) == 1 and fragment in lines[0], run.stderr
    assert not (tmp_path / "cell" / "energy_density.json").exists()
