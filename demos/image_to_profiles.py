"""Image -> tortuosity -> TWIF-Li run -> comparison, in a few lines of Python (paper 1).

A crop of the shipped FIB-SEM slice is described, its tortuosity factors computed, a short charge at 1C run
from a case file written here, and the run compared with a "measurement" that is the run's own profiles
lowered by 0.02 (so the RMSE must come out as 0.02). Prints the RMSE.

    .venv/bin/python demos/image_to_profiles.py [WORKDIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from twifli_fv import load_image, tortuosity
from twifli_fv.drivers.compare import run_compare
from twifli_fv.drivers.run import run_case
from twifli_fv.outputs.profiles import read_profiles, write_profiles

ROOT = Path(__file__).resolve().parents[1]
IMAGE = ROOT / "meshes" / "electrode_nmc_slice256.png"


def main(workdir: Path) -> float:
    image = load_image(IMAGE, labels="0=SE,85=AM,170=CBD", voxel_size_um=0.27, crop="0:64,0:48")
    taus = tortuosity(image, periodic=True)
    print(f"tau_e = {taus['electronic'].tau}, tau_Li = {taus['SE'].tau}")  # None: no percolation in this 2D crop
    case = workdir / "demo_case"
    case.mkdir(parents=True, exist_ok=True)
    (case / "case.toml").write_text(f"""
[image]
file = "{IMAGE}"
labels = "0=SE,85=AM,170=CBD"
voxel_size_um = 0.27
crop = "0:64,0:48"
[material]
c_sat_mol_m3 = 48000
D_trace_cm2_s = 1e-10
c_max_mol_m3 = 51765
[tortuosity]            # a 2D crop of a 3D composite rarely percolates: give the factors (SPEC sect. 3)
tau_e = 2.0
tau_Li = 3.5
[protocol]
steps = ["Charge at 1C for 10 minutes"]
[output]
frame_interval_s = 120
plots = false
""")
    summary = run_case(case, progress=False)
    print(f"mean c/c_sat after the charge: {summary['steps'][0]['mean_c_norm_end']:.4f}")
    times, steps, y_um, c_norm = read_profiles(case / "output" / "profiles.csv")
    measured = workdir / "measured.csv"
    write_profiles(measured, times, steps, y_um, c_norm - 0.02)
    result = run_compare(case, measured)
    print(f"RMSE {result.rmse:.4f}")
    return result.rmse


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tmp))
