"""Benchmark ``twifli gitt`` on the record of issue 13: spherical particles (r = 2.5 um), eqn-5
D(c) with c_max = 1.3 c0, 30 pulses of 30 s each taking 0.8 % of the Li out, t_p D/L^2 from
0.04 to 0.02, rests of half the slowest relaxation time, every record sampled at 1 s, an ohmic drop.

Usage (from the repository root; one core):

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/gitt.py [--repeats 3] [--forms model,record]

The record is made once by the example's independent generator (examples/gitt/make_record.py);
each run is the whole ``run_gitt`` (CSV read, pulses, fits, gitt.csv/gitt_fit.json/gitt.png).
Prints the median wall time per form and the errors against the truth.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--forms", default="model,record")
    parser.add_argument("--figure", help="also draw per-pulse D against c (e.g. docs/gitt_sphere.png)")
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("make_record", ROOT / "examples" / "gitt" / "make_record.py")
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    from twifli_fv.drivers.gitt import run_gitt

    radius, c0, c_max, pulse_s = 2.5e-6, make.C0, 1.3 * make.C0, 30.0
    d_start = 0.04 * (radius / 3) ** 2 / pulse_s
    trace = d_start * (c_max - c0) / (c_max + c0)
    law = make.eqn5(trace, c_max)
    rest = round(0.5 * radius**2 / float(law(np.array([0.76 * c0]))[0]), -2)
    started = time.perf_counter()
    record = make.simulate_record(law, length_m=radius, sphere=True, volume_m3=30e-6 / 4800.0, pulses=30,
                                  pulse_s=pulse_s, rest_s=rest, fraction=0.008, sample_s=1.0, ir_ohm=0.4)
    print(f"record: {record['time_s'].size} samples, rests {rest:.0f} s, made in {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make.write_record(folder / "record.csv", record)
        for form in args.forms.split(","):
            (folder / "gitt.toml").write_text(
                "[sample]\nactive_mass_mg = 30\nmolar_mass_g_mol = 97.3\ndensity_g_cm3 = 4.8\n"
                f'particle_radius_um = 2.5\nc_max_guess_mol_m3 = 70000\n[analysis]\nfit_form = "{form}"\n')
            times = []
            for _ in range(args.repeats):
                started = time.perf_counter()
                fit = run_gitt(folder / "record.csv", folder / "gitt.toml", folder / "out")
                times.append(time.perf_counter() - started)
            if form == "model":
                per_pulse(folder / "out" / "gitt.csv", law, ir_ohm=0.4, figure=args.figure)
            print(f"{form:>6}: median {statistics.median(times):6.1f} s over {args.repeats} runs "
                  f"(min {min(times):.1f}, max {max(times):.1f}); D_trace {fit['D_trace_m2_s'] / trace - 1:+.2%}, "
                  f"c_max {fit['c_max_mol_m3'] / c_max - 1:+.2%}")


def per_pulse(path: Path, law, *, ir_ohm: float, figure: str | None) -> None:
    """Per-pulse errors against D at each pulse's average concentration (model, both Weppner-Huggins forms)."""
    import csv

    rows = list(csv.DictReader(path.open()))
    c = np.array([float(r["c_mol_m3"]) for r in rows])
    truth = law(c)
    columns = {"model": "D_m2_s", "WH dE_s/dE_t": "D_transient_m2_s", "WH dE/dsqrt(t)": "D_sqrt_t_m2_s"}
    values = {name: np.array([float(r[key]) for r in rows]) for name, key in columns.items()}
    for name, d in values.items():
        error = d / truth - 1
        print(f"  per-pulse {name:>15}: {error.min():+.1%} to {error.max():+.1%}")
    amps = np.array([float(r["current_A"]) for r in rows])
    for name, key in (("first-sample ir_drop_V", "ir_drop_V"), ("model ir_drop_fit_V", "ir_drop_fit_V")):
        ratio = np.array([float(r[key]) for r in rows]) / (ir_ohm * amps)
        print(f"  {name:>22} / (R I): {np.nanmin(ratio):.2f} to {np.nanmax(ratio):.2f}")
    if figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5.5, 3.8))
        for (name, d), marker in zip(values.items(), "oS^"):
            ax.semilogy(c, d * 1e4, marker.lower() if marker != "S" else "s", ls="none", ms=4, label=name)
        line = np.linspace(c.min(), c.max(), 200)
        ax.semilogy(line, law(line) * 1e4, "k-", label="truth (eqn 5)")
        ax.set_xlabel("average Li concentration of the pulse (mol m$^{-3}$)")
        ax.set_ylabel("D (cm$^2$ s$^{-1}$)")
        ax.set_title("GITT on spheres (r = 2.5 um), 30 pulses of 0.8 %, 1 s sampling", fontsize=9)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(ROOT / figure, dpi=120)
        print(f"  wrote {figure}")


if __name__ == "__main__":
    main()
