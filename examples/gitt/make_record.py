"""Make the synthetic GITT record of this example (``record.csv``) and its ``gitt.toml``.

Synthetic and reproducible: spherical NMC811-like particles (r = 2.5 um) with the anomalous
diffusivity of paper 1, eqn 5 (D_trace and c_max below), a smooth made-up OCV, an ohmic drop,
1 s sampling during the 30 s pulses and 60 s during the rests. Each of 12 pulses removes 1 % of the Li.

The record is simulated by a solver independent of twifli_fv's analysis (model/gitt_diffusion.py):
vertex-centred finite differences on nodes clustered at the surface (r = R sin(pi i / 2N)), the
method of lines, and scipy's adaptive BDF integrator (``solve_ivp``). The tests import
``simulate_record`` to make their own records.

    python examples/gitt/make_record.py      # rewrites record.csv and gitt.toml beside this file
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

FARADAY = 96485.33212
HERE = Path(__file__).resolve().parent
C0 = 4800.0 / 0.0973  # mol m^-3: density / molar mass
EXAMPLE = {"radius_m": 2.5e-6, "D_trace_m2_s": 9e-17, "c_max_mol_m3": 1.3 * C0, "ir_ohm": 0.4, "mass_kg": 30e-6,
           "pulses": 12, "pulse_s": 30.0, "rest_s": 6000.0, "fraction": 0.01, "sample_s": 1.0, "rest_sample_s": 60.0}


def ocv(c: np.ndarray) -> np.ndarray:
    """A smooth made-up OCV (V) against the Li concentration, rising as Li is taken out."""
    x = np.asarray(c) / C0
    return 3.70 + 0.55 * (1.0 - x) + 0.04 * np.tanh(8.0 * (0.93 - x))


def eqn5(D_trace_m2_s: float, c_max_mol_m3: float):
    return lambda c: D_trace_m2_s * (c_max_mol_m3 + c) / (c_max_mol_m3 - c)


def _nodes(length_m: float, nodes: int) -> np.ndarray:
    return length_m * np.sin(0.5 * np.pi * np.arange(nodes + 1) / nodes)


def simulate_record(diffusivity, *, length_m: float, sphere: bool, volume_m3: float, pulses: int, pulse_s: float,
                    rest_s: float, fraction: float, sample_s: float, rest_sample_s: float | None = None,
                    ir_ohm: float = 0.0, noise_V: float = 0.0, seed: int = 0, nodes: int = 160,
                    c0: float = C0, sign: float = 1.0, rtol: float = 1e-9) -> dict[str, np.ndarray]:
    """Columns ``time_s, current_A, voltage_V`` (and the true ``c_mol_m3``) of a charge GITT: a
    rest of 10 samples, then ``pulses`` pulses each taking ``fraction`` of the Li out, each followed
    by a rest. Logged current at a sample flowed since the previous sample; ``sign`` -1 logs the
    charge current as negative."""
    from scipy.integrate import solve_ivp
    from scipy.sparse import diags

    r = _nodes(length_m, nodes)
    half = np.concatenate([[0.0], 0.5 * (r[1:] + r[:-1]), [length_m]])
    k = 2 if sphere else 0
    volumes = np.diff(half ** (k + 1)) / (k + 1)
    areas = half[1:-1] ** k / np.diff(r)
    area = length_m**k
    current = fraction * c0 * FARADAY * volume_m3 / pulse_s
    flux_per_current = length_m / ((k + 1) * volume_m3 * FARADAY)  # mol m^-2 s^-1 per A out of the surface

    def rhs(_t, c, flux):
        g = areas * diffusivity(0.5 * (c[1:] + c[:-1])) * np.diff(c)
        out = np.zeros_like(c)
        out[:-1] += g
        out[1:] -= g
        out[-1] -= area * flux
        return out / volumes

    def jac(_t, c, flux):
        g = areas * diffusivity(0.5 * (c[1:] + c[:-1]))
        main = np.zeros_like(c)
        main[:-1] -= g
        main[1:] -= g
        return diags([g / volumes[1:], main / volumes, g / volumes[:-1]], [-1, 0, 1], format="csc")

    times, amps, volts, conc = [], [], [], []
    c, t = np.full(r.size, c0), 0.0
    segments = [(10 * sample_s, 0.0, sample_s)]
    for _ in range(pulses):
        segments += [(pulse_s, current, sample_s), (rest_s, 0.0, rest_sample_s or sample_s)]
    for length, amps_on, step in segments:
        samples = t + step * np.arange(1, int(round(length / step)) + 1)
        flux = amps_on * flux_per_current
        solution = solve_ivp(rhs, (t, samples[-1]), c, method="BDF", t_eval=samples, jac=jac, args=(flux,),
                             rtol=rtol, atol=rtol * c0, first_step=1e-4 * step)
        c, t = solution.y[:, -1], samples[-1]
        times += list(samples)
        amps += [amps_on] * samples.size
        volts += list(ocv(solution.y[-1]) + ir_ohm * amps_on)
        conc += list(np.sum(solution.y * volumes[:, None], axis=0) / volumes.sum())
    rng = np.random.default_rng(seed)
    return {"time_s": np.array(times), "current_A": sign * np.array(amps),
            "voltage_V": np.array(volts) + noise_V * rng.standard_normal(len(volts)), "c_mol_m3": np.array(conc)}


def write_record(path: Path, record: dict[str, np.ndarray]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["time_s", "current_A", "voltage_V"])
        for row in zip(record["time_s"], record["current_A"], record["voltage_V"]):
            writer.writerow([f"{row[0]:.6g}", f"{row[1]:.8g}", f"{row[2]:.8f}"])
    return path


TOML = """# Synthetic example made by make_record.py: spheres of r = 2.5 um, eqn-5 D(c) with
# D_trace = {D_trace_m2_s:g} m^2/s, c_max = {c_max_mol_m3:.1f} mol/m^3 (the values to recover).
[sample]
active_mass_mg = {mass_mg:g}
molar_mass_g_mol = 97.3
density_g_cm3 = 4.8
particle_radius_um = 2.5
c_max_guess_mol_m3 = 70000
[analysis]
fit_form = "model"
"""


def main() -> None:
    e = EXAMPLE
    volume = e["mass_kg"] / 4800.0
    record = simulate_record(eqn5(e["D_trace_m2_s"], e["c_max_mol_m3"]), length_m=e["radius_m"], sphere=True,
                             volume_m3=volume, pulses=e["pulses"], pulse_s=e["pulse_s"], rest_s=e["rest_s"],
                             fraction=e["fraction"], sample_s=e["sample_s"], rest_sample_s=e["rest_sample_s"],
                             ir_ohm=e["ir_ohm"])
    write_record(HERE / "record.csv", record)
    (HERE / "gitt.toml").write_text(TOML.format(mass_mg=e["mass_kg"] * 1e6, **e))


if __name__ == "__main__":
    main()
