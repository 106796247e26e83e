"""Benchmark the cathode stress solve (issue 14) and report the elasticity solver's mesh convergence.

Usage (from the repository root):

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/elasticity.py [--repeats 3] [--size 512]

1. One stress solve on a generated ``size x size`` grain map (1 um voxels, 5 um grains, tilts N(0, 10 deg),
   2 % pores, size/16 cracks, a bonded SE layer at 80 % contact), concentration rising to the separator:
   build (materials, numbering, assembly, GAMG set-up) and solve (eigenstrain, CG at the run default
   ``rtol = 1e-8``, stresses), median of ``--repeats`` runs in this process, wall and CPU time
   (the machine's load average is printed: on a shared machine the CPU time is the one-core figure); target
   < 10 s.
2. Kirsch's plate with a hole (tests/test_elasticity.py) at hole radii 6-48 voxels: stress concentration
   error and displacement L2 error, with the observed orders.
Prints a table and writes ``benchmarks/results/elasticity.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results" / "elasticity.json"
TARGET_S = 10.0


def stress_solve(size: int) -> dict:
    from twifli_fv.image.grains import generate_grains
    from twifli_fv.solve.cathode_stress import CathodeMechanics, CathodeStressSolver

    grains = generate_grains(shape=(size, size), voxel_size_um=1.0, grain_width_um=5.0, tilt_spread_deg=10.0,
                             pore_fraction=0.02, crack_count=size // 16, seed=1)
    contact = (np.arange(size) * 5 // size) != 2
    start, cpu = time.perf_counter(), time.process_time()
    solver = CathodeStressSolver(grains=grains, contact=contact, settings=CathodeMechanics(), c_ref_mol_m3=25000.0,
                                 c_max_mol_m3=51000.0)
    built = time.perf_counter()
    y = (np.arange(size) + 0.5) / size
    result = solver.solve(25000.0 + 20000.0 * np.broadcast_to(y[:, None] ** 4, grains.shape))
    done = time.perf_counter()
    return {"build_s": built - start, "solve_s": done - built, "total_s": done - start,
            "cpu_s": time.process_time() - cpu,
            "cg_iterations": result.iterations, "unknowns": int(2 * np.count_nonzero(np.isfinite(result.stress_Pa[..., 0])))}


def convergence(radii: tuple[int, ...]) -> list[dict]:
    from tests.test_elasticity import kirsch_hole

    rows = []
    for radius in radii:
        scf, l2 = kirsch_hole(radius)
        rows.append({"radius_cells": radius, "scf_error": scf, "displacement_l2_error": l2})
    for coarse, fine in zip(rows, rows[1:]):
        fine["l2_order"] = float(np.log2(coarse["displacement_l2_error"] / fine["displacement_l2_error"]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    stress_solve(64)  # PETSc initialised, imports done
    runs = [stress_solve(args.size) for _ in range(args.repeats)]
    median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    print(f"stress solve on {args.size} x {args.size}: median of {args.repeats}: total {median['total_s']:.2f} s "
          f"(build {median['build_s']:.2f} s, solve {median['solve_s']:.2f} s), CPU {median['cpu_s']:.2f} s, "
          f"{median['cg_iterations']:.0f} CG iterations, {median['unknowns']:.0f} unknowns; target < {TARGET_S:g} s "
          f"(wall): {'met' if median['total_s'] < TARGET_S else 'NOT met'}; load average {os.getloadavg()[0]:.1f}")
    table = convergence((6, 12, 24, 48))
    print("Kirsch hole: radius (cells) | SCF error | displacement L2 error | order")
    for row in table:
        print(f"  {row['radius_cells']:4d} | {row['scf_error']:.4f} | {row['displacement_l2_error']:.2e} | "
              f"{row.get('l2_order', float('nan')):.2f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"size": args.size, "runs": runs, "median": median, "kirsch": table}, indent=2) + "\n")


if __name__ == "__main__":
    main()
