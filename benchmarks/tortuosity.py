"""Benchmark the steady tortuosity solve against TauFactor 1.2.1 on the shared NMC electrode.

Usage (from the repository root):

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/tortuosity.py [--repeats N] [--sizes 64,128,256] [--ranks 1,2]

Each solve (one phase of one crop ``img[:n, :n, :n]``, transport along axis 0, no-flux side walls)
runs in a fresh subprocess, so its peak RSS is its own. Prints a table and writes
``benchmarks/results/tortuosity.json``. With ``--ranks``, each solve also runs under ``mpiexec -n P``
(issue 16: every rank holds only its slab of planes); the table adds the speed-up over one rank and the
peak RSS is that of the largest rank.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGE = ROOT.parent / "shared" / "data" / "electrode-nmc-256.tiff"
RESULTS = ROOT / "benchmarks" / "results" / "tortuosity.json"
PHASES = {0: "pore/SE", 85: "NMC/AM", 170: "CBD"}
TAUFACTOR_SECONDS = {128: {0: 3.0, 85: 12.0, 170: 4.0}, 256: {0: 170.0, 85: 650.0, 170: 300.0}}
TAUFACTOR_PEAK_MB = 1700
PEAK_LIMIT_MB = 2600  # on a 256^3 phase
TOTAL_FRACTION_256 = 0.2  # our 256^3 total at most this fraction of TauFactor's


def worker(size: int, label: int) -> None:
    """One solve (this rank's slab under ``mpiexec``); rank 0 prints a JSON line with tau, wall time and the
    largest peak RSS of any rank.

    The time covers the mask, percolation, assembly and solve; not reading the image nor starting
    PETSc (a one-off per process).
    """
    from twifli_fv.image.io import read_labels
    from twifli_fv.image.slab import split_planes
    from twifli_fv.solve.petsc_env import ranks
    from twifli_fv.solve.tortuosity import tortuosity_factor

    here = ranks()
    slab = split_planes((size,) * 3, ranks=here)
    img = read_labels(IMAGE)[slab.read][:, :size, :size].copy()  # the planes this rank reads
    here.barrier()
    start = time.perf_counter()
    result = tortuosity_factor(img == label, axis=0, periodic=False, slab=slab)
    seconds = here.max(time.perf_counter() - start)
    peak_mb = here.max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # kB on Linux
    if here.rank == 0:
        print(json.dumps({"tau": result.tau, "seconds": seconds, "peak_mb": peak_mb, "iterations": result.iterations,
                          "flux_mismatch": result.flux_mismatch}))


def run_once(size: int, label: int, ranks: int = 1) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    launcher = ["mpiexec", "-n", str(ranks)] if ranks > 1 else []
    out = subprocess.run([*launcher, sys.executable, __file__, "--worker", str(size), str(label)],
                         capture_output=True, text=True, cwd=ROOT, env=env)
    if out.returncode != 0:
        sys.exit(f"solve of label {label} on {size}^3 failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(size: int, label: int, repeats: int, ranks: int = 1) -> dict:
    runs = [run_once(size, label, ranks) for _ in range(repeats)]
    reference = TAUFACTOR_SECONDS.get(size, {}).get(label)
    seconds = statistics.median(r["seconds"] for r in runs)
    return {"size": size, "label": label, "ranks": ranks, "phase": PHASES[label], "tau": runs[0]["tau"],
            "iterations": runs[0]["iterations"], "flux_mismatch": runs[0]["flux_mismatch"],
            "seconds": seconds, "all_seconds": [r["seconds"] for r in runs],
            "peak_mb": max(r["peak_mb"] for r in runs), "taufactor_seconds": reference,
            "ratio": seconds / reference if reference else None}


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


WIDTHS = (5, 8, 8, 9, 9, 8, 7)  # size, phase, tau, time, peak RSS, TauFactor time, ratio


def print_row(*cells: object) -> None:
    print(" ".join(f"{cell!s:>{width}}" for cell, width in zip(cells, WIDTHS)))


def targets(rows: list[dict]) -> list[tuple[str, bool]]:
    """The issue's acceptance targets that the measured sizes allow checking."""
    checks = []
    for r in (r for r in rows if r["size"] == 128):
        checks.append((f"128^3 {r['phase']}: {r['seconds']:.2f} s <= TauFactor {r['taufactor_seconds']:.1f} s",
                       r["seconds"] <= r["taufactor_seconds"]))
    big = [r for r in rows if r["size"] == 256]
    if len(big) == len(PHASES):
        ours, theirs = sum(r["seconds"] for r in big), sum(r["taufactor_seconds"] for r in big)
        limit = TOTAL_FRACTION_256 * theirs
        checks.append((f"256^3 total: {ours:.1f} s <= {limit:.0f} s (1/5 of TauFactor {theirs:.0f} s)", ours <= limit))
    for r in big:
        checks.append((f"256^3 {r['phase']} peak RSS: {r['peak_mb']:.0f} MB <= {PEAK_LIMIT_MB} MB "
                       f"(TauFactor {TAUFACTOR_PEAK_MB} MB)", r["peak_mb"] <= PEAK_LIMIT_MB))
    return checks


def scaling(sizes: list[int], counts: list[int], repeats: int) -> int:
    """Each phase of each size on ``counts`` ranks (slabs of planes, issue 16): median time, speed-up, tau."""
    print(f"image: {IMAGE}, median of {repeats}\n")
    print(" ".join(f"{h:>9}" for h in ("size", "phase", "ranks", "tau", "time [s]", "speed-up", "peak MB")))
    rows = []
    for size in sizes:
        for label in PHASES:
            for count in counts:
                r = measure(size, label, repeats, count)
                one = next((o for o in rows if (o["size"], o["label"], o["ranks"]) == (size, label, 1)), None)
                r["speed_up"] = one["seconds"] / r["seconds"] if one else None
                rows.append(r)
                print(" ".join(f"{c:>9}" for c in (size, r["phase"], count, fmt(r["tau"], ".6f"), f"{r['seconds']:.2f}",
                                                    fmt(r["speed_up"], ".2f"), f"{r['peak_mb']:.0f}")))
    path = RESULTS.with_name("tortuosity_ranks.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"image": str(IMAGE), "rows": rows}, indent=2))
    print(f"\nwritten: {path.relative_to(ROOT)}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="64,128,256", help="comma-separated crop edges (default 64,128,256)")
    parser.add_argument("--repeats", type=int, help="runs per solve (default: 3 up to 128^3, 1 for 256^3)")
    parser.add_argument("--ranks", help="comma-separated rank counts: time each solve under mpiexec -n P instead")
    parser.add_argument("--worker", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return 0
    if not IMAGE.is_file():
        print(f"MISSING: the shared electrode {IMAGE} is not there; nothing to benchmark.")
        return 1
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.ranks:
        return scaling(sizes, [int(p) for p in args.ranks.split(",")], args.repeats or 3)
    print(f"image: {IMAGE}\n")
    print_row("size", "phase", "tau", "time [s]", "peak MB", "TF [s]", "ratio")
    rows, totals = [], {}
    for size in sizes:
        repeats = args.repeats or (3 if size <= 128 else 1)
        for label in PHASES:
            r = measure(size, label, repeats)
            rows.append(r)
            print_row(size, r["phase"], fmt(r["tau"], ".4f"), f"{r['seconds']:.2f}", f"{r['peak_mb']:.0f}",
                      fmt(r["taufactor_seconds"], ".1f"), fmt(r["ratio"], ".3f"))
        mine = [r for r in rows if r["size"] == size]
        ours = sum(r["seconds"] for r in mine)
        reference = sum(TAUFACTOR_SECONDS[size].values()) if size in TAUFACTOR_SECONDS else None
        totals[size] = {"seconds": ours, "taufactor_seconds": reference, "repeats": repeats}
        print_row(size, "total", "", f"{ours:.2f}", f"{max(r['peak_mb'] for r in mine):.0f}", fmt(reference, ".1f"),
                  fmt(ours / reference if reference else None, ".3f"))
    checks = targets(rows)
    print()
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"image": str(IMAGE), "rows": rows, "totals": totals,
                                   "targets": [{"target": t, "pass": ok} for t, ok in checks]}, indent=2))
    print(f"\nwritten: {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
