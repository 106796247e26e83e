"""Model pieces: D(c) laws with their cap, kinetics linearisations, protocol strings."""

from __future__ import annotations

import numpy as np
import pytest

from twifli_fv import InputError
from twifli_fv.drivers.twifli_case import read_diffusivity_table
from twifli_fv.model.diffusivity import AnomalousDiffusivity
from twifli_fv.model.kinetics import TwifliCharge, TwifliDischarge, linearise
from twifli_fv.model.protocol import parse_protocol, parse_step


def test_anomalous_diffusivity_is_eqn_5_up_to_its_cap():
    law = AnomalousDiffusivity(D_trace_m2_s=1e-15, c_max_mol_m3=50000.0, D_cap_m2_s=1e-13)
    c = np.array([0.0, 25000.0, law.c_cap_mol_m3, 49999.999, 50000.0, 1e9, -5.0])
    d = law(c)
    assert d[0] == pytest.approx(1e-15, rel=1e-12, abs=0) and d[1] == pytest.approx(3e-15, rel=1e-12, abs=0)
    np.testing.assert_allclose(d[2:6], 1e-13, rtol=1e-12)  # capped: finite at and beyond c_max
    assert d[6] == pytest.approx(1e-15, rel=1e-12, abs=0) and np.all(np.isfinite(d))
    with pytest.raises(InputError, match="D_cap"):
        AnomalousDiffusivity(1e-15, 5e4, 1e-16)


def test_tabulated_diffusivity_from_csv(tmp_path):
    table = tmp_path / "d.csv"
    table.write_text("c_mol_m3,D_cm2_s\n0,1e-12\n10000,1e-10\n")
    law = read_diffusivity_table(table)
    np.testing.assert_allclose(law(np.array([-1.0, 5000.0, 2e4])), [1e-16, 1e-15, 1e-14], rtol=1e-12)
    table.write_text("c,D\n1,2\n")
    with pytest.raises(InputError, match="columns c_mol_m3"):
        read_diffusivity_table(table)


@pytest.mark.parametrize("law", [TwifliCharge(w1=np.full(7, 1.5), c_sat=100.0), TwifliDischarge(c_sat=100.0)])
def test_linearisation_is_newtons_tangent(law):
    c = np.array([-1e-9, 0.0, 1.0, 30.0, 95.0, 100.0, 100.0 + 1e-9])  # at and past the bounds by round-off
    p, q = linearise(law, c)
    np.testing.assert_allclose(p + q * c, law.weight(c), rtol=1e-12, atol=1e-15)  # exact at the iterate
    assert np.all(np.isfinite(q)) and np.all(law.sign * q < 0)  # the implicit part always damps (M-matrix)
    inside = (c > 0) & (c < 100)
    h = 1e-6
    secant = (law.weight(c + h) - law.weight(c - h)) / (2 * h)
    np.testing.assert_allclose(q[inside], secant[inside], rtol=1e-7)  # the tangent: quadratic convergence


def test_protocol_steps_like_a_lab_notebook():
    charge, rest, discharge = parse_protocol(
        ["Charge at C/10 for 10 hours", "Rest for 30 minutes", "Discharge at 0.5 mA/cm2 until mean SOC 0.95"]
    )
    assert (charge.kind, charge.c_rate, charge.duration_s) == ("charge", 0.1, 36000.0)
    assert (rest.kind, rest.duration_s) == ("rest", 1800.0)
    assert (discharge.current_density_A_m2, discharge.until_lithiation, discharge.duration_s) == (5.0, 0.95, None)
    both = parse_step("charge at 2C for 90 s or until mean SOC 0.2")
    assert (both.c_rate, both.duration_s, both.until_lithiation) == (2.0, 90.0, 0.2)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Charge at C/10", "never ends"),
        ("Charge at -0.5 mA/cm2 for 1 h", "negative current"),
        ("Charge at fast for 1 h", "cannot read the rate"),
        ("Discharge at C/5 for 3 fortnights", "needs a unit"),
        ("Sleep for 3 h", "malformed"),
        ("Discharge at C/5 until mean SOC 1.5", "[0, 1]"),
    ],
)
def test_malformed_steps_are_quoted(text, fragment):
    with pytest.raises(InputError) as info:
        parse_step(text)
    assert text in str(info.value) and fragment in str(info.value)
