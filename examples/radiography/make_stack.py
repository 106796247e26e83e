"""Make the synthetic radiography stack of this example (documented as synthetic; nothing here is measured).

The Li field is a TWIF-Li run of ``examples/c10_gitt`` (cases/c10's 100 um cathode) with the D(c) that the
GITT example's record was made with (paper 1, eqn 5: D_trace = 9e-17 m^2/s, c_max = 64131.6 mol/m^3; see
examples/gitt/), so the fitted run of the README's workflow is compared with a known truth. Each frame is
Beer-Lambert through a cylindrical cell seen side-on (path length 2 sqrt(R^2 - x^2) across the columns):
the cathode rows attenuate ``mu_host + mu_Li c/c_sat``, where c/c_sat is the run's Li averaged over the AM
of the pixel's rows (Li-weighted, as a detector pixel integrates it); the plungers above and below attenuate
without Li. A non-uniform open beam, a dark current, Poisson counting noise and 16-bit quantisation are
added (seed 17). Writes, beside this file: ``pristine.tif``, ``open_beam.tif``, ``dark.tif``,
``frames/frame_NNN.tif``, ``frames/times.csv`` (time_s, step) and leaves ``radiography.toml`` as it is.

    .venv/bin/python examples/radiography/make_stack.py [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from twifli_fv.case import load_case
from twifli_fv.drivers.run import prepare, run_case
from twifli_fv.drivers.sweep import write_point_case
from twifli_fv.outputs.profiles import read_profiles

HERE = Path(__file__).resolve().parent
CASE = HERE.parent / "c10_gitt"
TRUTH = {"material.diffusivity": "anomalous", "material.D_trace_cm2_s": 9e-13, "material.c_max_mol_m3": 64131.6}
SHAPE = (96, 64)  # rows (through the thickness) x columns
CATHODE_ROWS = (28, 68)  # 40 rows of 2.5 um: the run's 100 um, collector at the first row
PIXEL_UM = 2.5
RADIUS_PX, CENTRE_PX = 30.0, 31.5  # the cell's cylinder, seen side-on
MU_HOST, MU_LI, MU_PLUNGER = 0.005, 0.015, 0.012  # per pixel of path; li_fraction = 0.015 / 0.020 = 0.75
TIMES_S = np.arange(10) * 600.0  # 0 ... 5400 s: charge (1 h) then the discharge
SEED = 17


def truth_profiles(work: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The run of the example case with the true D(c): frame times and steps, then y_um, c/c_sat (frames x rows)
    and AM cells of every row of its image (rows without AM, absent from profiles.csv, have c = 0 and no AM)."""
    case = write_point_case(load_case(CASE), work / "truth", TRUTH, header="examples/c10_gitt with the true D(c)")
    run_case(case.directory, progress=False)
    run = prepare(case)
    am = run.profile_mask.reshape(run.grid.shape[0], -1).sum(axis=1)
    y_all = run.grid.row_centres_m * 1e6
    times, steps, y_um, c_norm = read_profiles(case.directory / "output" / "profiles.csv")
    rows = np.zeros((times.size, y_all.size))
    rows[:, np.searchsorted(y_all, y_um - 1e-6)] = np.nan_to_num(c_norm)
    return times, steps, y_all, rows, am


def pixel_rows(y_um: np.ndarray, c_norm: np.ndarray, am: np.ndarray) -> np.ndarray:
    """c/c_sat per detector row: the run's rows weighted by their AM and their overlap with the pixel."""
    half = 0.5 * (y_um[1] - y_um[0])
    edges = np.arange(CATHODE_ROWS[1] - CATHODE_ROWS[0] + 1) * PIXEL_UM
    overlap = np.clip(np.minimum(edges[1:, None], y_um + half) - np.maximum(edges[:-1, None], y_um - half), 0, None)
    weight = overlap * am[None, :]
    return (weight * c_norm).sum(axis=1) / weight.sum(axis=1)


def attenuation(li_rows: np.ndarray) -> np.ndarray:
    """mu per pixel of path over the image: plungers outside the cathode rows, host + Li inside."""
    mu = np.full(SHAPE, MU_PLUNGER)
    mu[CATHODE_ROWS[0]:CATHODE_ROWS[1]] = (MU_HOST + MU_LI * li_rows)[:, None]
    return mu


def counts(mu: np.ndarray, open_beam: np.ndarray, dark: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = np.arange(SHAPE[1]) - CENTRE_PX
    path = 2.0 * np.sqrt(np.clip(RADIUS_PX**2 - x**2, 0.0, None))
    return dark + rng.poisson((open_beam - dark) * np.exp(-mu * path[None, :]))


def save(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(np.rint(image), 0, 65535).astype(np.uint16)).save(path)


def make_stack(out: Path) -> None:
    with tempfile.TemporaryDirectory() as work:
        times, steps, y_um, c_norm, am = truth_profiles(Path(work))
    rng = np.random.default_rng(SEED)
    y, x = np.mgrid[0:SHAPE[0], 0:SHAPE[1]]
    beam = 40000.0 * (1.0 + 0.05 * np.sin(x / 11.0) + 0.03 * np.cos(y / 9.0))
    dark = 300.0 + 20.0 * np.cos(x / 5.0)
    save(out / "open_beam.tif", dark + rng.poisson(beam - dark))
    save(out / "dark.tif", dark + rng.normal(0.0, 2.0, SHAPE))
    save(out / "pristine.tif", counts(attenuation(np.ones(CATHODE_ROWS[1] - CATHODE_ROWS[0])), beam, dark, rng))
    (out / "frames").mkdir(parents=True, exist_ok=True)
    rows = [("time_s", "step")]
    for k, t in enumerate(TIMES_S):
        j = min(int(np.searchsorted(times, t, side="right")) - 1, times.size - 2)
        w = (t - times[j]) / (times[j + 1] - times[j])
        field = (1 - w) * c_norm[j] + w * c_norm[j + 1]
        save(out / "frames" / f"frame_{k:03d}.tif", counts(attenuation(pixel_rows(y_um, field, am)), beam, dark, rng))
        rows.append((f"{t:g}", int(steps[j + int(w > 0.5)])))
    with (out / "frames" / "times.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="where to write the stack (default: beside this file)")
    make_stack(parser.parse_args().out)
