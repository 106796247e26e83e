"""Summarise the chemo-mechanics C-rate sweep of cases/dense_lco_mechanics (paper 2, Figs. 5d-f, S9-S10).

Run the sweep first:

    .venv/bin/python -m twifli_fv.cli sweep cases/dense_lco_mechanics --vary protocol.c_rate=0.1,0.25,0.5,1 \
        --quantity peak_uneven_tensile_stress_MPa --name c_rate
    .venv/bin/python scripts/mechanics_rate_study.py

Plots, per C-rate, the largest tensile maximum principal stress of each field frame against the mean
lithiation x of the cathode (total, and the part due to uneven lithiation alone), so rates compare at equal
capacity; writes docs/dense_fig5_stress_rate.png, docs/dense_fig5_stress_rate.json and copies the 1C point's
x / sigma_x / sigma_y maps to docs/dense_fig5_stress_maps.png.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from twifli_fv.outputs.plots import pyplot, save_figure

SWEEP = ROOT / "cases" / "dense_lco_mechanics" / "sweeps" / "c_rate"


def main() -> int:
    summaries = {}
    for point in sorted(SWEEP.glob("*/output/summary.json")):
        summary = json.loads(point.read_text())
        summaries[summary["inputs"]["protocol"]["c_rate"]] = (point.parents[1], summary)
    if not summaries:
        print(f"no complete points in {SWEEP}; run the sweep first (see the docstring)")
        return 1
    plt = pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    table = {}
    for rate in sorted(summaries):
        _, summary = summaries[rate]
        frames = summary["mechanics"]["frames"]
        x = np.array([f["mean_x"] for f in frames])
        for axis, key in zip(axes, ("peak_tensile_stress_MPa", "peak_uneven_tensile_stress_MPa")):
            axis.plot(x, [f[key] for f in frames], "o-", ms=3, label=f"{rate:g}C")
        at_083 = {key: float(np.interp(0.83, x, [f[key] for f in frames]))
                  for key in ("peak_tensile_stress_MPa", "peak_uneven_tensile_stress_MPa")}
        table[f"{rate:g}C"] = {
            "capacity_mAh_g": summary["capacity_mAh_g"], "peak_tensile_stress_MPa": summary["peak_tensile_stress_MPa"],
            "peak_uneven_tensile_stress_MPa": summary["peak_uneven_tensile_stress_MPa"],
            "at_mean_x_0.83_MPa": at_083, "hotspots": summary["mechanics"]["hotspots"],
            "peak_by_feature_MPa": summary["mechanics"]["peak_by_feature_MPa"],
        }
    for axis, title in zip(axes, ("largest tensile max. principal stress", "... of uneven lithiation alone")):
        axis.set_xlabel("mean x = c / c_max of the cathode")
        axis.set_ylabel("MPa")
        axis.set_title(title, fontsize=10)
        axis.legend()
    save_figure(figure, ROOT / "docs" / "dense_fig5_stress_rate.png")
    (ROOT / "docs" / "dense_fig5_stress_rate.json").write_text(json.dumps(table, indent=2) + "\n")
    fastest = summaries[max(summaries)][0] / "output" / "plots" / "stress_maps.png"
    if fastest.is_file():
        shutil.copyfile(fastest, ROOT / "docs" / "dense_fig5_stress_maps.png")
    print(f"{'rate':<6}{'mAh/g':>8}{'peak MPa':>10}{'uneven MPa':>12}{'@x=0.83':>9}{'uneven@0.83':>13}  hotspot features")
    for rate, row in table.items():
        features = ", ".join(h["feature"] for h in row["hotspots"])
        print(f"{rate:<6}{row['capacity_mAh_g']:>8.1f}{row['peak_tensile_stress_MPa']:>10.0f}"
              f"{row['peak_uneven_tensile_stress_MPa']:>12.0f}{row['at_mean_x_0.83_MPa']['peak_tensile_stress_MPa']:>9.0f}"
              f"{row['at_mean_x_0.83_MPa']['peak_uneven_tensile_stress_MPa']:>13.0f}  {features}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
