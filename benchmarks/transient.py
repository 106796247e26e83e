"""Benchmark the TWIF-Li transient solve: cost per sweep, whole C/10 runs, memory, scaling, MPI speed-up.

Usage (from the repository root):

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/transient.py [--sizes 256^2,512^2,1024^2,64^3,128^3]
        [--runs 256^2,512^2] [--repeats 3] [--run-repeats N] [--mpi 512^2] [--code DIR] [--label after]

Images are generated composites (``twifli generate`` recipe, seed 1, 0.27 um voxels) of each size;
the material, protocol (C/10 charge then discharge) and output settings are those of ``cases/c10``,
with its tortuosity factors given as numbers. Every measurement runs in a fresh process (its own
peak RSS); figures are medians over ``--repeats``.

- *profile* (every size): a fixed ladder of charge steps (dt = 1, 4, 16, 64, 256, 300 s); per sweep,
  the wall time split into PETSc's linear solve (``KSPSolve`` and the preconditioner's set-up ``PCSetUp``,
  which PETSc logs outside ``KSPSolve``: the numeric ICC factorisation of each new matrix) and the rest
  (assembly and bookkeeping);
- *run* (the ``--runs`` sizes): ``twifli run`` of the C/10 case, whole wall time (all outputs written);
- *mpi*: the run of the ``--mpi`` size on 1 and 2 ranks (``mpiexec -n 2``).

``--code DIR`` runs another checkout's ``twifli_fv`` (e.g. the code before a change) with the same
driver. Prints a table and writes ``benchmarks/results/transient_<label>.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
LADDER_S = (1.0, 4.0, 16.0, 64.0, 256.0, 300.0)
TAU_E, TAU_LI = 2.727, 2.359  # cases/c10: from meshes/composite_3d.tif
CASE = """
[image]
file = "{image}"
labels = "0=SE,85=AM,170=CBD"
voxel_size_um = 0.27
in_plane = "periodic"

[material]
c_sat_mol_m3 = 48000
diffusivity = "anomalous"
D_trace_cm2_s = 1e-11
c_max_mol_m3 = 51765
D_cap_cm2_s = 1e-9
specific_capacity_mAh_g = 166.7
am_density_g_cm3 = 4.8

[tortuosity]
tau_e = {tau_e}
tau_Li = {tau_li}

[protocol]
steps = {steps}

[output]
frame_interval_s = {frame_s}
fields_interval_s = {fields_s}
"""
C10_STEPS = ("Charge at C/10 for 10 hours", "Discharge at C/10 for 10 hours")


def parse_size(token: str) -> tuple[int, ...]:
    edge, _, ndim = token.partition("^")
    return (int(edge),) * int(ndim or 2)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def write_case(directory: Path, shape: tuple[int, ...], *, steps: tuple[str, ...] = C10_STEPS, frame_s: float = 300,
               fields_s: float = 3600) -> Path:
    """A C/10 case directory on a generated composite of ``shape`` (protocol ``steps``, output intervals in s)."""
    from twifli_fv.image.generate import generate_composite
    from twifli_fv.outputs.images import write_labels

    directory.mkdir(parents=True, exist_ok=True)
    image = write_labels(directory / ("image.png" if len(shape) == 2 else "image.tif"), generate_composite(shape=shape, seed=1))
    (directory / "case.toml").write_text(CASE.format(image=image.name, tau_e=TAU_E, tau_li=TAU_LI, steps=json.dumps(list(steps)),
                                                    frame_s=frame_s, fields_s=fields_s))
    return directory


def profile(shape: tuple[int, ...]) -> dict:
    """Per-sweep cost on a ladder of C/10 charge steps (fresh solver; set-up timed apart)."""
    from petsc4py import PETSc

    from twifli_fv.case import load_case
    from twifli_fv.drivers.run import prepare
    from twifli_fv.model.twifli import Drive
    from twifli_fv.solve.twifli import TwifliSolver

    with tempfile.TemporaryDirectory() as tmp:
        prepared = prepare(load_case(write_case(Path(tmp), shape)))
    baseline = rss_mb()
    PETSc.Log.begin()
    events = [PETSc.Log.Event(name) for name in ("KSPSolve", "PCSetUp")]
    start = time.perf_counter()
    solver = TwifliSolver(prepared.model)
    setup = time.perf_counter() - start
    drive = Drive("charge", prepared.steps[0].current_density_A_m2)
    before = [event.getPerfInfo()["time"] for event in events]
    start = time.perf_counter()
    sweeps = sum(solver.advance(dt, drive) or 0 for dt in LADDER_S)
    total = time.perf_counter() - start
    ksp_s, pc_s = (event.getPerfInfo()["time"] - t for event, t in zip(events, before))
    cells = math.prod(shape)
    return {"cells": cells, "unknowns": int(prepared.model.am.sum()), "setup_s": setup, "sweeps": sweeps,
            "sweep_ms": 1e3 * total / sweeps, "solve_ms": 1e3 * (ksp_s + pc_s) / sweeps, "pc_setup_ms": 1e3 * pc_s / sweeps,
            "assembly_ms": 1e3 * (total - ksp_s - pc_s) / sweeps, "peak_mb": rss_mb(), "baseline_mb": baseline}


def whole_run(shape: tuple[int, ...]) -> dict:
    """``twifli run`` of the C/10 case (outputs written), timed from case to summary."""
    from twifli_fv.drivers.run import run_case

    with tempfile.TemporaryDirectory() as tmp:
        case = write_case(Path(tmp), shape)
        baseline = rss_mb()
        start = time.perf_counter()
        summary = run_case(case, progress=False)
        seconds = time.perf_counter() - start
    solver = summary["solver"]
    return {"cells": math.prod(shape), "seconds": seconds, "steps": solver["time_steps"], "sweeps": solver["sweeps_total"],
            "mean_c_norm_end": [s["mean_c_norm_end"] for s in summary["steps"]], "peak_mb": rss_mb(), "baseline_mb": baseline}


def spawn(kind: str, token: str, *, code: Path, ranks: int = 1) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(code)}
    command = [sys.executable, __file__, "--worker", kind, token]
    if ranks > 1:
        command = [shutil.which("mpiexec") or "mpiexec", "-n", str(ranks), *command]
    out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
    if out.returncode != 0:
        sys.exit(f"{kind} {token} ({ranks} rank(s)) failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_of(runs: list[dict]) -> dict:
    """Medians of the timings; the largest peak memory; the rest from the first run."""
    merged = dict(runs[0])
    for key in ("setup_s", "sweep_ms", "solve_ms", "pc_setup_ms", "assembly_ms", "seconds"):
        if key in merged:
            merged[key] = statistics.median(r[key] for r in runs)
            merged[f"all_{key}"] = [r[key] for r in runs]
    merged["peak_mb"] = max(r["peak_mb"] for r in runs)
    merged["repeats"] = len(runs)
    return merged


def exponent(rows: list[dict], key: str) -> float | None:
    """Least-squares slope of log(key) against log(cells)."""
    points = [(math.log(r["cells"]), math.log(r[key])) for r in rows]
    if len(points) < 2:
        return None
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    return sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256^2,512^2,1024^2,64^3,128^3", help="profiled sizes (edge^ndim)")
    parser.add_argument("--runs", default="256^2,512^2", help="sizes with a whole C/10 run ('' for none)")
    parser.add_argument("--mpi", default="512^2", help="size of the 1 -> 2 rank comparison ('' for none)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per profile (median)")
    parser.add_argument("--run-repeats", type=int, help="runs per whole C/10 run (median; default --repeats)")
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose twifli_fv to measure")
    parser.add_argument("--label", default="after", help="name of the results file")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, token = args.worker
        result = (profile if kind == "profile" else whole_run)(parse_size(token))
        from twifli_fv.solve.petsc_env import petsc

        if petsc().COMM_WORLD.getRank() == 0:
            print(json.dumps(result))
        return 0
    run_repeats = args.run_repeats or args.repeats
    tokens = [t for t in args.sizes.split(",") if t]
    print(f"code: {args.code}; {args.repeats} repeat(s) per profile, {run_repeats} per run; machine shared with other jobs\n")
    print(f"{'size':>7} {'cells':>9} {'sweeps':>6} {'sweep ms':>9} {'solve ms':>9} {'(PC set-up)':>11} {'asm+bk ms':>9} "
          f"{'ratio':>6} {'setup s':>8} {'peak MB':>8} {'B/cell':>7}")
    profiles = []
    for token in tokens:
        r = median_of([spawn("profile", token, code=args.code) for _ in range(args.repeats)])
        r["size"] = token
        profiles.append(r)
        print(f"{token:>7} {r['cells']:>9} {r['sweeps']:>6} {r['sweep_ms']:>9.1f} {r['solve_ms']:>9.1f} "
              f"{r['pc_setup_ms']:>11.1f} {r['assembly_ms']:>9.1f} {r['assembly_ms'] / r['solve_ms']:>6.2f} {r['setup_s']:>8.2f} "
              f"{r['peak_mb']:>8.0f} {1048576 * r['peak_mb'] / r['cells']:>7.0f}")
    runs = []
    run_tokens = [t for t in args.runs.split(",") if t]
    if run_tokens:
        print(f"\n{'size':>7} {'cells':>9} {'C/10 run s':>10} {'steps':>6} {'sweeps':>7} {'peak MB':>8} {'B/cell':>7} "
              f"{'B/cell > base':>13}")
    for token in run_tokens:
        r = median_of([spawn("run", token, code=args.code) for _ in range(run_repeats)])
        r["size"] = token
        runs.append(r)
        print(f"{token:>7} {r['cells']:>9} {r['seconds']:>10.1f} {r['steps']:>6} {r['sweeps']:>7} {r['peak_mb']:>8.0f} "
              f"{1048576 * r['peak_mb'] / r['cells']:>7.0f} {1048576 * (r['peak_mb'] - r['baseline_mb']) / r['cells']:>13.0f}")
    mpi = None
    if args.mpi:
        one = median_of([spawn("run", args.mpi, code=args.code) for _ in range(run_repeats)])
        two = median_of([spawn("run", args.mpi, code=args.code, ranks=2) for _ in range(run_repeats)])
        mpi = {"size": args.mpi, "one_rank_s": one["seconds"], "two_ranks_s": two["seconds"],
               "speed_up": one["seconds"] / two["seconds"], "mean_c_norm_end": [one["mean_c_norm_end"], two["mean_c_norm_end"]]}
        print(f"\nMPI {args.mpi}: 1 rank {one['seconds']:.1f} s, 2 ranks {two['seconds']:.1f} s, speed-up {mpi['speed_up']:.2f}")
    slopes = {}
    for ndim in (2, 3):
        mine = [r for r in profiles if parse_size(r["size"]).__len__() == ndim]
        slopes[f"sweep_ms_{ndim}d"] = exponent(mine, "sweep_ms")
        slopes[f"run_s_{ndim}d"] = exponent([r for r in runs if len(parse_size(r["size"])) == ndim], "seconds")
    print("\ncost ~ cells^p: " + ", ".join(f"{k} p = {v:.2f}" for k, v in slopes.items() if v is not None))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"transient_{args.label}.json"
    path.write_text(json.dumps({"code": str(args.code), "repeats": args.repeats, "run_repeats": run_repeats, "ladder_s": LADDER_S,
                                "profiles": profiles, "runs": runs, "mpi": mpi, "exponents": slopes}, indent=2))
    print(f"\nwritten: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
