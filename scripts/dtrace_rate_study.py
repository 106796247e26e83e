"""Where does paper 1's rate ordering of the charge appear? (issue 15, item 3; SPEC sect. 8)

The shipped rate cases (cases/c25, c10, c8_3, c5) charge the same amount at C/25, C/10, C/8.3, C/5.
With D_trace = 1e-11 cm2/s the flux weights, not diffusion, shape the profiles and the end-of-charge
spread hardly depends on the rate. This script charges each case (its first protocol step only) at
D_trace = 1e-12 .. 1e-8 cm2/s (the cap D_cap = 100 D_trace, the default), two runs at a time:

    OMP_NUM_THREADS=1 .venv/bin/python scripts/dtrace_rate_study.py [--jobs 2] [--work DIR]

and writes docs/dtrace_rate_study.json (spread = max - min over the thickness of the row-averaged
c / c_sat at the end of charge, per rate and D_trace) and docs/dtrace_rate_study.png (spread against
D_trace, one line per rate). Paper 1: C/25 most synchronous (smallest spread), C/8.3 between C/10 and C/5.

With ``--fit``, it then makes a synthetic radiography record from the C/10 charge at D_trace = 1e-10 (every
5th row, Gaussian noise of 0.01 in c/c_sat, seed 0) and fits D_trace to it with ``twifli fit``'s driver from
3e-11 (the cap held at the record's 1e-8), printing the result (``WORK/fit_c10/fits/record/fit.json``).
"""

from __future__ import annotations

import argparse
import csv
import json
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from twifli_fv.case import load_case
from twifli_fv.drivers.fit import parse_free, run_fit
from twifli_fv.drivers.sweep import point_complete, point_quantities, run_point, write_point_case
from twifli_fv.outputs.plots import pyplot, save_figure

ROOT = Path(__file__).resolve().parents[1]
RATES = {"c25": "C/25", "c10": "C/10", "c8_3": "C/8.3", "c5": "C/5"}
D_TRACE_CM2_S = (1e-12, 1e-11, 1e-10, 1e-9, 1e-8)


def charge_points(work: Path) -> dict[tuple[str, float], Path]:
    """One charge-only case per (rate case, D_trace), D_cap = 100 D_trace, no plots or field frames."""
    points = {}
    for name in RATES:
        base = load_case(ROOT / "cases" / name)
        for d in D_TRACE_CM2_S:
            values = {"material.D_trace_cm2_s": d, "material.D_cap_cm2_s": 100 * d,
                      "protocol.steps": base.get("protocol", "steps")[:1], "output.plots": False,
                      "output.fields_interval_s": 1e8}
            header = f"{name} charge at D_trace = {d:g} cm2/s (scripts/dtrace_rate_study.py)"
            points[name, d] = write_point_case(base, work / name / f"D_trace_cm2_s={d:g}", values,
                                               header=header).directory
    return points


def fit_record(work: Path, truth: Path, *, jobs: int) -> None:
    """Fit D_trace to a noisy, row-subsampled record of the C/10 charge made at D_trace = 1e-10 cm2/s."""
    with (truth / "output" / "profiles.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    ys = sorted({float(row["y_um"]) for row in rows})[::5]
    kept = [row for row in rows if float(row["y_um"]) in set(ys)]
    noise = np.random.default_rng(0).normal(0.0, 0.01, len(kept))
    record = work / "record_c10_1e-10.csv"
    with record.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["time_s", "step", "y_um", "c_norm"])
        for row, e in zip(kept, noise):
            writer.writerow([row["time_s"], row["step"], row["y_um"], f"{float(row['c_norm']) + e:.6f}"])
    start = write_point_case(load_case(truth), work / "fit_c10", {"material.D_trace_cm2_s": 3e-11},
                             header="C/10 charge, D_trace to be fitted (scripts/dtrace_rate_study.py --fit)")
    result = run_fit(start.directory, record, parse_free("D_trace_cm2_s=1e-12:1e-8", case=start), name="record",
                     jobs=jobs)
    (entry,) = result.report["free"]
    print(f"D_trace fitted {entry['value']:.4g} cm2/s (truth 1e-10; 95 % {entry['interval_95']}), "
          f"residual rms {result.report['residual']['rms']:.4f}, {result.report['evaluations']} runs")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "dtrace_rate_study")
    parser.add_argument("--fit", action="store_true", help="then fit D_trace to a synthetic C/10 record")
    args = parser.parse_args()
    points = charge_points(args.work)
    todo = [str(p) for p in points.values() if not point_complete(p)]
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=get_context("spawn")) as pool:
        for point, (error, seconds) in zip(todo, pool.map(run_point, todo, [False] * len(todo))):
            print(f"{Path(point).parent.name}/{Path(point).name}: {error or 'complete'} ({seconds:.0f} s)", flush=True)
    spread = {name: [point_quantities(points[name, d] / "output")["end_spread_c_norm"] for d in D_TRACE_CM2_S]
              for name in RATES}
    table = {RATES[name]: dict(zip(map(str, D_TRACE_CM2_S), values)) for name, values in spread.items()}
    (ROOT / "docs" / "dtrace_rate_study.json").write_text(json.dumps(
        {"quantity": "spread of the row-averaged c/c_sat at the end of charge", "spread": table}, indent=2) + "\n")
    plt = pyplot()
    figure, ax = plt.subplots(figsize=(5.5, 3.8))
    for name, values in spread.items():
        ax.semilogx(D_TRACE_CM2_S, values, "o-", label=RATES[name])
    ax.set_xlabel("D_trace (cm$^2$ s$^{-1}$), D_cap = 100 D_trace")
    ax.set_ylabel("spread of c/c$_{sat}$ at end of charge")
    ax.set_title("TWIF-Li charge: rate ordering against D_trace", fontsize=10)
    ax.legend(fontsize=8)
    save_figure(figure, ROOT / "docs" / "dtrace_rate_study.png")
    for name, values in spread.items():
        print(f"{RATES[name]:>6}: " + "  ".join(f"{v:.3f}" for v in values))
    for i, d in enumerate(D_TRACE_CM2_S):
        print(f"D_trace {d:g}: smallest spread first", [RATES[n] for n in sorted(RATES, key=lambda n: spread[n][i])])
    if args.fit:
        fit_record(args.work, points["c10", 1e-10], jobs=args.jobs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
