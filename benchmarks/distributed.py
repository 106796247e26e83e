"""Benchmark a TWIF-Li run distributed over ranks: peak memory per rank and time per sweep (issue 16).

Usage (from the repository root):

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/distributed.py [--size 128^3] [--ranks 1,2,4]
        [--timed 1,2] [--repeats 3] [--code DIR] [--label distributed]

The case is that of ``benchmarks/transient.py`` (a generated composite, seed 1, 0.27 um voxels, the material
of ``cases/c10`` with its tortuosity factors as numbers), run for a short protocol, "Charge at C/10 for 20
minutes", with a profile frame every 600 s and a field frame (and so a checkpoint) at 1200 s. Every run is
``run_case`` under ``mpiexec -n P`` in fresh processes; on each rank it records:

- the peak resident memory (``ru_maxrss`` of the rank's own process; also before the run, after the imports);
- the wall time inside ``TwifliSolver.advance`` (the stepping: assembly, linear solves, bookkeeping; not the
  set-up, the outputs or the recorder), and PETSc's logged ``KSPSolve`` (which includes the ``PCSetUp`` of each new matrix) and ``PCSetUp`` times;
- its AM cells (the unknowns it owns) and CG iterations.

Memory is checked against issue 16's bound ``1.3 * serial / P + 150 MB`` (the largest rank; serial = the peak
of P = 1); the time per sweep is the slowest rank's stepping time over ``solver.sweeps_total`` of summary.json,
median over ``--repeats`` for the ``--timed`` rank counts (others run once, for memory), the counts taking turns
(1, 2, 4, 1, 2, 1, 2: this shared virtual machine runs slower after minutes with both cores busy). Prints a table and
writes ``benchmarks/results/<label>.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from transient import RESULTS, ROOT, parse_size, rss_mb, write_case  # noqa: E402 - the sibling benchmark

STEPS = ("Charge at C/10 for 20 minutes",)
FRAME_S, FIELDS_S = 600.0, 1200.0
BOUND_FACTOR, BOUND_MB = 1.3, 150.0  # issue 16: peak per rank <= 1.3 serial / P + 150 MB
SPEED_UP_TARGET = 1.6


def load() -> float:
    """The machine's 1-minute load average."""
    return os.getloadavg()[0]


def worker(case: Path) -> None:
    """Run ``case`` on this process's ranks; rank 0 prints every rank's measurements as one JSON line."""
    from twifli_fv.drivers.run import run_case
    from twifli_fv.solve.petsc_env import petsc, ranks
    from twifli_fv.solve.twifli import TwifliSolver

    PETSc = petsc()
    PETSc.Log.begin()
    events = [PETSc.Log.Event(name) for name in ("KSPSolve", "PCSetUp")]
    stepping = {"s": 0.0, "cpu_s": 0.0}
    solvers: list[TwifliSolver] = []
    advance = TwifliSolver.advance

    def timed(self: TwifliSolver, dt: float, drive) -> int | None:  # noqa: ANN001 - Drive
        if not solvers:
            solvers.append(self)
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return advance(self, dt, drive)
        finally:
            stepping["s"] += time.perf_counter() - start
            stepping["cpu_s"] += time.process_time() - cpu

    TwifliSolver.advance = timed
    baseline = rss_mb()
    start = time.perf_counter()
    summary = run_case(case, progress=False)
    wall = time.perf_counter() - start
    solver = solvers[0]
    ksp_s, pc_s = (event.getPerfInfo()["time"] for event in events)
    mine = {"peak_mb": rss_mb(), "baseline_mb": baseline, "stepping_s": stepping["s"], "stepping_cpu_s": stepping["cpu_s"],
            "ksp_s": ksp_s, "pc_setup_s": pc_s,
            "am_cells": int(solver._c.size), "cells": int(solver.model.mesh.phase.size),
            "cg_iterations": int(solver._system.iterations)}
    every = ranks().gather(mine)
    if ranks().rank == 0:
        print(json.dumps({"wall_s": wall, "solver": summary["solver"], "ranks": every}))


def spawn(case: Path, *, ranks: int, code: Path) -> dict:
    """One run of ``case`` on ``ranks`` fresh processes; the worker's JSON plus the load before it."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(code)}
    command = [sys.executable, __file__, "--worker", str(case)]
    if ranks > 1:
        command = [shutil.which("mpiexec") or "mpiexec", "-n", str(ranks), *command]
    before = load()
    out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
    if out.returncode != 0:
        sys.exit(f"{case} on {ranks} rank(s) failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    shutil.rmtree(case / "output", ignore_errors=True)
    sweeps = result["solver"]["sweeps_total"]
    slowest = max(r["stepping_s"] for r in result["ranks"])
    run = {**result, "load_before": before, "load_after": load(), "sweeps": sweeps, "sweep_ms": 1e3 * slowest / sweeps,
           "sweep_cpu_ms": 1e3 * max(r["stepping_cpu_s"] for r in result["ranks"]) / sweeps,
           "solve_ms": 1e3 * max(r["ksp_s"] for r in result["ranks"]) / sweeps,  # KSPSolve includes PCSetUp
           "peak_mb": max(r["peak_mb"] for r in result["ranks"])}
    print(f"  P = {ranks}: peak {run['peak_mb']:.0f} MB, {sweeps} sweeps, {run['sweep_ms']:.0f} ms/sweep "
          f"({run['sweep_cpu_ms']:.0f} ms CPU), load {before:.1f} -> {run['load_after']:.1f}", flush=True)
    return run


def summarise(ranks: int, runs: list[dict], cells: int) -> dict:
    """Medians of the times over ``runs``; the largest peak of any rank of any run."""
    first = runs[0]["ranks"]
    return {"ranks": ranks, "repeats": len(runs), "sweeps": [r["sweeps"] for r in runs],
            "sweep_ms": statistics.median(r["sweep_ms"] for r in runs), "all_sweep_ms": [r["sweep_ms"] for r in runs],
            "sweep_cpu_ms": statistics.median(r["sweep_cpu_ms"] for r in runs),
            "solve_ms": statistics.median(r["solve_ms"] for r in runs), "wall_s": statistics.median(r["wall_s"] for r in runs),
            "peak_mb": max(r["peak_mb"] for r in runs),
            "peak_mb_per_rank": [max(run["ranks"][i]["peak_mb"] for run in runs) for i in range(ranks)],
            "baseline_mb_per_rank": [rank["baseline_mb"] for rank in first],
            "am_cells_per_rank": [rank["am_cells"] for rank in first], "cells_per_rank": [rank["cells"] for rank in first],
            "cg_iterations": [run["ranks"][0]["cg_iterations"] for run in runs],
            "loads": [[r["load_before"], r["load_after"]] for r in runs], "bytes_per_cell_per_rank": 1048576 * max(
                r["peak_mb"] for r in runs) / (cells / ranks)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="128^3", help="generated composite (edge^ndim)")
    parser.add_argument("--ranks", default="1,2,4", help="rank counts measured (memory)")
    parser.add_argument("--timed", default="1,2", help="rank counts timed (median of --repeats)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose twifli_fv to measure")
    parser.add_argument("--label", default="distributed", help="name of the results file")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return 0
    shape = parse_size(args.size)
    cells = math.prod(shape)
    counts = [int(t) for t in args.ranks.split(",") if t]
    timed = {int(t) for t in args.timed.split(",") if t}
    print(f"{args.size} composite ({cells} cells), '{STEPS[0]}'; {args.repeats} repeat(s) on {sorted(timed)} rank(s); "
          f"load {load():.2f} at start (2 cores shared with other jobs)\n")
    with tempfile.TemporaryDirectory() as tmp:
        case = write_case(Path(tmp), shape, steps=STEPS, frame_s=FRAME_S, fields_s=FIELDS_S)
        runs: dict[int, list[dict]] = {p: [] for p in counts}
        for repeat in range(args.repeats):  # the rank counts in turn: a slow spell of the machine falls on each
            for p in counts:
                if repeat == 0 or p in timed:
                    runs[p].append(spawn(case, ranks=p, code=args.code))
        rows = [summarise(p, runs[p], cells) for p in counts]
    serial = next(r for r in rows if r["ranks"] == 1)["peak_mb"] if 1 in counts else None
    print(f"{'P':>2} {'peak MB/rank (max)':>18} {'bound MB':>9} {'ok':>3} {'B/cell/rank':>11} {'base MB':>8} {'AM cells/rank':>22} "
          f"{'sweeps':>7} {'sweep ms':>9} {'solve ms':>9} {'CG its (r0)':>11}")
    for r in rows:
        bound = BOUND_FACTOR * serial / r["ranks"] + BOUND_MB if serial else math.nan
        r["bound_mb"], r["memory_ok"] = bound, r["peak_mb"] <= bound
        print(f"{r['ranks']:>2} {r['peak_mb']:>18.0f} {bound:>9.0f} {'yes' if r['memory_ok'] else 'NO':>3} "
              f"{r['bytes_per_cell_per_rank']:>11.0f} {max(r['baseline_mb_per_rank']):>8.0f} "
              f"{','.join(map(str, r['am_cells_per_rank'])):>22} {statistics.median(r['sweeps']):>7} {r['sweep_ms']:>9.0f} "
              f"{r['solve_ms']:>9.0f} {statistics.median(r['cg_iterations']):>11}")
    by = {r["ranks"]: r for r in rows}
    speed_up = by[1]["sweep_ms"] / by[2]["sweep_ms"] if {1, 2} <= timed and {1, 2} <= by.keys() else None
    if speed_up is not None:
        print(f"\nspeed-up per sweep on 2 ranks: {speed_up:.2f} (target {SPEED_UP_TARGET}); of the linear solve alone: "
              f"{by[1]['solve_ms'] / by[2]['solve_ms']:.2f}; of the CPU time per sweep: {by[1]['sweep_cpu_ms'] / by[2]['sweep_cpu_ms']:.2f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{args.label}.json"
    path.write_text(json.dumps({"code": str(args.code), "size": args.size, "cells": cells, "steps": STEPS,
                                "time": "wall time inside TwifliSolver.advance (slowest rank) / solver.sweeps_total",
                                "bound": f"{BOUND_FACTOR} * serial / P + {BOUND_MB} MB", "rows": rows, "speed_up": speed_up,
                                "loads": "1-minute load average before and after each run (2 cores)"},
                               indent=2))
    print(f"\nwritten: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
