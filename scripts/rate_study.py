"""Summarise the shipped rate study (cases c25, c10, c8_3, c5) against paper 1's findings (SPEC sect. 8).

Run the four cases first (`twifli run cases/c25` ...), then:

    .venv/bin/python scripts/rate_study.py

Prints, per case, the mean depletion at the end of charge and the through-thickness spread of the
AM-averaged profile (max - min over rows of c / c_sat) at the end of charge and along the discharge;
writes docs/rate_study.png (the four c_norm(y, t) maps) and docs/rate_study.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from twifli_fv.outputs.plots import plot_map, pyplot, save_figure
from twifli_fv.outputs.profiles import read_profiles

CASES = {"c25": "C/25", "c10": "C/10", "c8_3": "C/8.3", "c5": "C/5"}


def spread(profile: np.ndarray) -> float:
    """Through-thickness non-uniformity: max - min of the row-averaged c / c_sat."""
    return float(np.nanmax(profile) - np.nanmin(profile))


def main() -> int:
    plt = pyplot()
    figure, axes = plt.subplots(2, 2, figsize=(12, 6.5), constrained_layout=True)
    table = {}
    for ax, (name, rate) in zip(axes.ravel(), CASES.items()):
        out = ROOT / "cases" / name / "output"
        if not (out / "summary.json").is_file():
            print(f"{name}: no complete output; run `twifli run cases/{name}` first")
            return 1
        summary = json.loads((out / "summary.json").read_text())
        times, steps, y_um, c_norm = read_profiles(out / "profiles.csv")
        charge, discharge = summary["steps"][0], summary["steps"][1]
        end_charge = int(np.argmin(np.abs(times - charge["duration_s"])))
        in_discharge = np.flatnonzero(times > charge["duration_s"])
        quarter = in_discharge[len(in_discharge) // 4]
        table[name] = {
            "rate": rate,
            "depletion_end_of_charge": 1.0 - charge["mean_c_norm_end"],
            "charge_end_reason": charge["end_reason"],
            "spread_end_of_charge": spread(c_norm[end_charge]),
            "spread_quarter_into_discharge": spread(c_norm[quarter]),
            "spread_end_of_discharge": spread(c_norm[-1]),
            "mean_c_norm_end_of_discharge": discharge["mean_c_norm_end"],
            "discharge_end_reason": discharge["end_reason"],
        }
        ends = list(np.cumsum([s["duration_s"] for s in summary["steps"]]))
        plot_map(None, times, y_um, c_norm, title=f"{rate} charge / discharge", step_ends_s=ends, ax=ax)
    save_figure(figure, ROOT / "docs" / "rate_study.png")
    (ROOT / "docs" / "rate_study.json").write_text(json.dumps(table, indent=2) + "\n")
    print(f"{'case':<6}{'depletion':>10}{'spread@charge end':>19}{'@1/4 discharge':>16}{'@discharge end':>16}")
    for name, row in table.items():
        print(f"{row['rate']:<6}{row['depletion_end_of_charge']:>10.3f}{row['spread_end_of_charge']:>19.3f}"
              f"{row['spread_quarter_into_discharge']:>16.3f}{row['spread_end_of_discharge']:>16.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
