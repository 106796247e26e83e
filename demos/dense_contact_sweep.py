"""A dense-cathode study in one call: 1C capacity against the contact fraction (paper 2, Fig 4e).

Copies the shipped ``cases/dense_lco`` case, thinner and coarser so it runs in seconds, and sweeps
``contact_fraction`` over 1 and 0.6 at 1C. Prints the capacities (mAh/g).

    .venv/bin/python demos/dense_contact_sweep.py [WORKDIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from twifli_fv.drivers.sweep import run_sweep
from twifli_fv.drivers.sweep_grid import parse_vary

ROOT = Path(__file__).resolve().parents[1]


def main(workdir: Path) -> list[float]:
    case = workdir / "dense"
    case.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "cases" / "dense_lco" / "case.toml").read_text()
    text = text.replace("thickness_um = 22", "thickness_um = 12").replace("width_um = 100", "width_um = 40")
    (case / "case.toml").write_text(text.replace("c_rate = 0.1", "c_rate = 1").replace("[output]", "[output]\nplots = false"))
    result = run_sweep(case, [parse_vary("contact_fraction=1,0.6")], plots=False)
    capacities = [float(row["capacity_mAh_g"]) for row in result.rows]
    print("contact 1 -> 0.6 at 1C: " + " -> ".join(f"{c:.1f}" for c in capacities) + " mAh/g")
    return capacities


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tmp))
