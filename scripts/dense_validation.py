"""Paper 2's validation numbers for the dense-cathode model (issue 6 item 6), from cases/dense_lco.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/dense_validation.py [--jobs 2]

Runs variants of ``cases/dense_lco`` (each in ``cases/dense_lco/output/validation/NAME``, about
2-6 s each): capacity at 0.1C, 0.5C and 1C; contact fraction 1 and 0.6 at 0.1C and 1C; capacity vs
D_eff at 0.1C, 0.5C and 1C (paper 2, Fig 6b); active area vs roughness RMS. Prints the table for
the README and writes docs/dense_validation.json and docs/dense_validation.png.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from twifli_fv.image.interface import surface_area_factor
from twifli_fv.outputs.plots import pyplot, save_figure

BASE = ROOT / "cases" / "dense_lco"
PAPER = {"0.1C": 119, "0.5C": 97, "0.1C contact 1": 115, "0.1C contact 0.6": 87, "1C contact 1": 60,
         "1C contact 0.6": 19}
D_EFF = [1e-10, 4e-10, 1.5e-9, 4e-9, 1e-8, 1e-7]
RATES = [0.1, 0.5, 1.0]


def variant(name: str, **keys: float) -> Path:
    """A copy of the base case with ``keys`` (bare key names of its case.toml) replaced."""
    text = (BASE / "case.toml").read_text()
    for key, value in keys.items():
        text, count = re.subn(rf"^{key} = \S+", f"{key} = {value!r}", text, flags=re.M)
        assert count == 1, key
    directory = BASE / "output" / "validation" / name
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    (directory / "case.toml").write_text(text.replace("[output]", "[output]\nplots = false", 1))
    return directory


def run(directory: Path) -> dict:
    from twifli_fv.drivers.run import run_case

    summary = run_case(directory, progress=False)
    voltage = np.genfromtxt(directory / "output" / "voltage.csv", delimiter=",", names=True)
    return {"capacity_mAh_g": summary["capacity_mAh_g"], "end_reason": summary["end_reason"],
            "capacity": voltage["capacity_mAh_g"].tolist(), "voltage": voltage["voltage_V"].tolist()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    points = {f"{r:g}C": variant(f"rate_{r:g}", c_rate=r) for r in RATES}
    for rate in (0.1, 1.0):
        points[f"{rate:g}C contact 0.6"] = variant(f"rate_{rate:g}_contact_0.6", c_rate=rate, contact_fraction=0.6)
    for d in D_EFF:
        for rate in RATES:
            points[f"D_eff {d:g} at {rate:g}C"] = variant(f"deff_{d:g}_rate_{rate:g}", c_rate=rate, D_eff_cm2_s=d)
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = dict(zip(points, pool.map(run, points.values())))
    areas = {rms: float(surface_area_factor(plane_shape=(100,), voxel_size_um=1.0, rms_um=rms, correlation_um=0.4,
                                            seed=1).mean()) for rms in (0.0, 0.1, 0.29, 0.5, 0.84)}
    table = {name: round(result["capacity_mAh_g"], 1) for name, result in results.items()}
    print(json.dumps({"capacity_mAh_g": table, "active_area_vs_rms_um": areas}, indent=1))
    (ROOT / "docs").mkdir(exist_ok=True)
    (ROOT / "docs" / "dense_validation.json").write_text(json.dumps(
        {"capacity_mAh_g": table, "paper_mAh_g": PAPER, "active_area_vs_rms_um": areas,
         "end_reasons": {k: v["end_reason"] for k, v in results.items()}}, indent=1) + "\n")
    plt = pyplot()
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for name in ("0.1C", "0.5C", "1C", "0.1C contact 0.6", "1C contact 0.6"):
        left.plot(results[name]["capacity"], results[name]["voltage"], label=name, ls="--" if "contact" in name else "-")
    left.axhline(2.38, color="grey", lw=0.8, ls=":")
    left.set_xlabel("capacity (mAh g$^{-1}$ LiCoO$_2$)")
    left.set_ylabel("cell voltage vs Li/In (V)")
    left.set_title("paper 2's cell, D_eff = 1.5e-9 cm$^2$/s: discharge to 2.38 V", fontsize=10)
    left.legend(fontsize=8)
    for rate in RATES:
        right.semilogx(D_EFF, [results[f"D_eff {d:g} at {rate:g}C"]["capacity_mAh_g"] for d in D_EFF], "o-",
                       label=f"{rate:g}C")
    for d, label in ((1e-10, "non-oriented"), (1.5e-9, "fabricated"), (4e-9, "model cathode")):
        right.axvline(d, color="grey", lw=0.7, ls=":")
        right.text(d, 5, label, rotation=90, fontsize=7, va="bottom", ha="right")
    right.set_xlabel("D_eff (cm$^2$ s$^{-1}$)")
    right.set_ylabel("capacity (mAh g$^{-1}$)")
    right.set_ylim(0, 140)
    right.set_title("capacity vs D_eff (paper 2, Fig 6b)", fontsize=10)
    right.legend(fontsize=8)
    save_figure(figure, ROOT / "docs" / "dense_validation.png")


if __name__ == "__main__":
    main()
