"""Run a TWIF-Li case directory: case.toml -> image -> mesh -> tortuosity -> model -> solve -> outputs.

``output/`` receives ``summary.json`` (written last), ``profiles.csv``, ``fields/`` (``.pvd`` and
one ``.vti`` per field frame), ``plots/`` and ``checkpoint.npz`` (for ``--resume``).
"""

from __future__ import annotations

import hashlib
from collections import Counter
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twifli_fv.case import Case, load_case
from twifli_fv.dense_run import run_dense_case
from twifli_fv.errors import InputError
from twifli_fv.image.phases import Phase
from twifli_fv.image.segmented import SegmentedImage, load_image
from twifli_fv.mesh.grid import CathodeMesh, build_mesh
from twifli_fv.model.constants import FARADAY
from twifli_fv.model.diffusivity import AnomalousDiffusivity, ConstantDiffusivity, TabulatedDiffusivity
from twifli_fv.model.protocol import parse_protocol
from twifli_fv.outputs.checkpoint import load_checkpoint, save_checkpoint
from twifli_fv.outputs.fields import write_pvd
from twifli_fv.outputs.files import write_json
from twifli_fv.outputs.plots import plot_map, plot_profiles, plot_series
from twifli_fv.outputs.profiles import row_average, write_profiles
from twifli_fv.outputs.progress import ProgressBar
from twifli_fv.outputs.vtk import write_vti
from twifli_fv.solve.petsc_env import rank, world
from twifli_fv.solve.stepping import ProtocolStep, RunState, Stepping, run_protocol
from twifli_fv.solve.tortuosity import tortuosity_factors
from twifli_fv.solve.twifli import Drive, TwifliModel, TwifliSolver

log = logging.getLogger(__name__)
CHECKPOINT_EVERY_S = 30.0  # wall time between checkpoints (also one with every field frame)
CM2_S = 1e-4  # m^2 s^-1 per cm^2 s^-1


@dataclass(frozen=True)
class PreparedCase:
    case: Case
    image: SegmentedImage
    model: TwifliModel
    steps: list[ProtocolStep]
    tortuosity: dict
    one_c_A_m2: float
    fingerprint: str


def prepare_case(case: Case) -> PreparedCase:
    """Everything a run needs, checked, before any output is touched."""
    toml = case.directory / "case.toml"
    image_file = case.path("image", "file")
    in_plane = case.get("image", "in_plane", "periodic")
    if in_plane not in ("periodic", "no-flux"):
        raise InputError(f"{toml}: image.in_plane must be 'periodic' or 'no-flux', got {in_plane!r}")
    shape = case.get("image", "shape")
    image = load_image(
        image_file,
        labels=case.get("image", "labels"),
        voxel_size_um=case.get("image", "voxel_size_um"),
        thickness_axis=case.get("image", "thickness_axis", 0),
        collector_at_end=_collector_at_end(case),
        crop=case.get("image", "crop"),
        coarsen=case.get("image", "coarsen", 1),
        refine=case.get("image", "refine", 1),
        shape=tuple(shape) if shape else None,
        dtype=case.get("image", "dtype"),
    )
    mesh = build_mesh(image, periodic=in_plane == "periodic")
    if not np.any(mesh.active_area_m2 > 0):
        raise InputError(f"{image_file}: no AM|SE interface in the image: nothing can react")
    c_sat = case.positive("material", "c_sat_mol_m3")
    tau = _tortuosity(case, image, periodic=in_plane == "periodic")
    model = TwifliModel(
        mesh=mesh,
        diffusivity=_diffusivity(case, c_sat),
        c_sat_mol_m3=c_sat,
        tau_e=tau["tau_e"],
        tau_li=tau["tau_Li"],
        normalisation=case.get("model", "normalisation", "conserve"),
    )
    one_c = _one_c_current(case, model)
    parsed = parse_protocol(case.get("protocol", "steps"), default_c_rate=case.get("protocol", "c_rate"))
    if any(s.until_voltage_V is not None for s in parsed):
        raise InputError(f"{toml}: voltage cut-offs ('until 3.0 V') need [model] kind = 'dense'; TWIF-Li has no voltage")
    steps = [
        ProtocolStep(
            text=s.text, kind=s.kind,
            current_density_A_m2=(s.c_rate * one_c if s.c_rate is not None else s.current_density_A_m2 or 0.0),
            duration_s=s.duration_s, until_mean_c_norm=s.until_mean_c_norm,
        )
        for s in parsed
    ]
    digest = hashlib.sha256(toml.read_bytes() + image.phases.tobytes()).hexdigest()
    return PreparedCase(case, image, model, steps, tau, one_c, digest)


def run_case(directory: str | Path, *, resume: bool = False, progress: bool = True) -> dict:
    """Run (or resume) the case in ``directory``; returns the summary written to ``output/summary.json``.

    A case with ``[model] kind = "dense"`` runs the dense-cathode model (:mod:`twifli_fv.dense_run`).
    """
    case = load_case(directory)
    if case.get("model", "kind", "twifli") == "dense":
        if world().getSize() > 1:
            raise InputError(f"{case.directory / case.file}: the dense-cathode model runs on one process; run it "
                             "without mpiexec (`twifli sweep --jobs N` runs several cases side by side)")
        return run_dense_case(directory, resume=resume, progress=progress)
    prepared = prepare_case(case)
    case, model = prepared.case, prepared.model
    out = case.output
    stepping = Stepping(
        frame_interval_s=case.positive("output", "frame_interval_s", 300.0),
        dt_initial_s=case.positive("solver", "dt_initial_s", 1.0),
        dt_max_s=case.positive("solver", "dt_max_s", case.positive("output", "frame_interval_s", 300.0)),
    )
    fields_every = case.positive("output", "fields_interval_s", 3600.0)
    writes = rank() == 0  # under mpiexec every rank runs the case; rank 0 writes and shows progress
    recorder = Recorder(out, model, n_steps=len(prepared.steps), fields_every_s=fields_every,
                        fingerprint=prepared.fingerprint, writes=writes)
    c_initial, state = None, RunState()
    if resume:
        saved, arrays = load_checkpoint(out / "checkpoint.npz", fingerprint=prepared.fingerprint)
        state = RunState(**saved)
        c_initial = arrays.pop("c")
        history = {key: arrays.pop(key) for key in list(arrays) if key.startswith("trend_")}
        recorder.restore(arrays)
        log.info("resuming %s at t = %.0f s (step %d)", case.directory.name, state.time_s, state.step_index + 1)
    elif out.exists() and writes:
        shutil.rmtree(out)  # a fresh run never leaves an older, complete-looking output beside it
    solver = TwifliSolver(
        model, c_initial,
        sweep_tol=case.positive("solver", "sweep_tol", 1e-8),
        max_sweeps=int(case.positive("solver", "max_sweeps", 30)),
        linear_tol=case.positive("solver", "linear_tol", 1e-12),
    )
    if resume:
        solver.restore_history(history)
    bar = ProgressBar(_total_time(prepared), enabled=progress and writes)

    def on_frame(current: RunState) -> None:
        step = prepared.steps[min(current.step_index, len(prepared.steps) - 1)]
        recorder.frame(solver, current, Drive(step.kind, step.current_density_A_m2))

    def on_step(current: RunState) -> None:
        bar.update(current.time_s, prepared.steps[current.step_index].text)

    state = run_protocol(solver, prepared.steps, state, stepping=stepping, on_frame=on_frame, on_step=on_step)
    bar.close()
    return recorder.finish(prepared, state, solver)


class Recorder:
    """Collects frames (profiles, mean SOC), writes field frames and checkpoints, then the outputs."""

    def __init__(self, out: Path, model: TwifliModel, *, n_steps: int, fields_every_s: float, fingerprint: str,
                 writes: bool = True) -> None:
        self.out, self.model, self.n_steps, self.writes = out, model, n_steps, writes
        self.fields_every_s, self.fingerprint = fields_every_s, fingerprint
        self.times: list[float] = []
        self.steps: list[int] = []
        self.profiles: list[np.ndarray] = []
        self.means: list[float] = []
        self.fields: list[tuple[float, str]] = []
        self._saved_at = -np.inf  # wall time (monotonic) of the last checkpoint
        image = model.mesh.image
        self.am = image.phases == Phase.AM
        self.y_um = (np.arange(image.shape[0]) + 0.5) * image.voxel_size_m * 1e6

    def frame(self, solver: TwifliSolver, state: RunState, drive: Drive) -> None:
        c = solver.values
        c_norm = c.reshape(self.am.shape) / self.model.c_sat_mol_m3
        self.times.append(state.time_s)
        self.steps.append(min(state.step_index + 1, self.n_steps))
        self.profiles.append(row_average(c_norm, self.am))
        self.means.append(solver.mean_c_norm())
        if not self.writes:
            return
        field = not self.fields or state.time_s >= self.fields[-1][0] + self.fields_every_s - 1e-9
        if field:
            name = f"frame_{len(self.fields):04d}.vti"
            write_vti(self.out / "fields" / name, self.am.shape, self.model.mesh.image.voxel_size_m, {
                "c": c,
                "c_norm": np.where(self.am.ravel(), c / self.model.c_sat_mol_m3, np.nan),
                "D": solver.diffusivity_cells(),
                "W": solver.cell_weight(drive),
                "phase": self.model.mesh.phase,
            })
            self.fields.append((state.time_s, name))
        if field or time.monotonic() - self._saved_at >= CHECKPOINT_EVERY_S:
            save_checkpoint(self.out / "checkpoint.npz", fingerprint=self.fingerprint, state=state.to_dict(),
                            arrays={"c": c, **solver.history(), **self._arrays()})
            self._saved_at = time.monotonic()

    def _arrays(self) -> dict[str, np.ndarray]:
        return {
            "times": np.array(self.times), "steps": np.array(self.steps), "profiles": np.array(self.profiles),
            "means": np.array(self.means), "field_times": np.array([t for t, _ in self.fields]),
        }

    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        self.times, self.steps = arrays["times"].tolist(), arrays["steps"].tolist()
        self.profiles, self.means = list(arrays["profiles"]), arrays["means"].tolist()
        self.fields = [(t, f"frame_{i:04d}.vti") for i, t in enumerate(arrays["field_times"].tolist())]

    def finish(self, prepared: PreparedCase, state: RunState, solver: TwifliSolver) -> dict:
        if not self.writes:
            return _summary(prepared, state, solver)
        case, model = prepared.case, prepared.model
        times, profiles = np.array(self.times), np.array(self.profiles)
        write_profiles(self.out / "profiles.csv", times, np.array(self.steps), self.y_um, profiles)
        write_pvd(self.out / "fields" / "fields.pvd", [(t, n) for t, n in self.fields])
        step_ends = list(np.cumsum([s["duration_s"] for s in state.steps]))
        if case.get("output", "plots", True):
            title = f"{case.directory.name}: " + " / ".join(s.text for s in prepared.steps)
            plot_map(self.out / "plots" / "c_norm_map.png", times, self.y_um, profiles, title=title, step_ends_s=step_ends)
            at_h = case.get("output", "profile_times_h") or list(np.linspace(0, times[-1] / 3600, 6))
            plot_profiles(self.out / "plots" / "profiles.png", times, self.y_um, profiles,
                          at_s=[3600 * h for h in at_h], title=title)
            plot_series(self.out / "plots" / "mean_soc.png", times, np.array(self.means),
                        ylabel="mean c / c_sat (AM)", title=title)
        summary = _summary(prepared, state, solver)
        write_json(self.out / "summary.json", summary)
        return summary


def _summary(prepared: PreparedCase, state: RunState, solver: TwifliSolver) -> dict:
    model, case = prepared.model, prepared.case
    extent = "per metre of depth (2D image)" if model.mesh.image.ndim == 2 else "for the 3D domain"
    return {
        "case": case.directory.name,
        "inputs": case.settings,
        "image": {"source": model.mesh.image.source, "shape": list(model.mesh.image.shape),
                  "voxel_size_um": model.mesh.image.voxel_size_m * 1e6,
                  "in_plane": "periodic" if model.mesh.periodic else "no-flux"},
        "extent": f"charge_C and li_change_mol are {extent}; *_m2 values are per m^2 of current collector",
        "flux_normalisation": model.normalisation,
        "tortuosity": prepared.tortuosity,
        "diffusivity": model.diffusivity.describe(),
        "c_sat_mol_m3": model.c_sat_mol_m3,
        "one_c_current_density_A_m2": prepared.one_c_A_m2,
        "one_c_current_density_mA_cm2": prepared.one_c_A_m2 / 10.0,
        "collector_area_m2": model.collector_area_m2,
        "am_volume_m3": model.am_volume_m3,
        "am_volume_fraction": float(np.mean(model.am)),
        "active_area_m2": float(np.sum(model.mesh.active_area_m2)),
        "solver": {
            "time_steps": solver.stats.steps, "rejected_steps": solver.stats.rejected,
            "sweeps_total": solver.stats.sweeps, "max_sweeps_in_a_step": solver.stats.max_sweeps_in_step,
            "sweeps_per_step_histogram": dict(sorted(Counter(solver.stats.sweeps_per_step).items())),
            "sweep_tol": solver.sweep_tol,
            "sweep_criterion": "max |c_k - c_(k-1)| / c_sat between successive sweeps",
            "linear_solver": solver.linear_solver,
            "note": "counts cover this invocation only when the run was resumed",
        },
        "steps": state.steps,
        "end_time_s": state.time_s,
    }


def _collector_at_end(case: Case) -> bool:
    where = case.get("image", "collector_at", "start")
    if where not in ("start", "end"):
        raise InputError(f"{case.directory / 'case.toml'}: image.collector_at must be 'start' or 'end', got {where!r}")
    return where == "end"


def _diffusivity(case: Case, c_sat: float):  # noqa: ANN202
    toml = case.directory / "case.toml"
    law = case.get("material", "diffusivity", "anomalous")
    if law == "constant":
        return ConstantDiffusivity(_need(case, "D_cm2_s") * CM2_S)
    if law == "table":
        table = case.path("material", "table_csv")
        if table is None:
            raise InputError(f"{toml}: material.diffusivity = 'table' needs material.table_csv")
        return TabulatedDiffusivity.from_csv(table)
    if law not in ("anomalous", "gitt_fit"):
        raise InputError(f"{toml}: material.diffusivity {law!r}: use 'anomalous', 'gitt_fit', 'constant' or 'table'")
    cap = case.positive("material", "D_cap_cm2_s")
    if law == "gitt_fit":
        fit = case.path("material", "gitt_fit_json")
        if fit is None:
            raise InputError(f"{toml}: material.diffusivity = 'gitt_fit' needs material.gitt_fit_json (from `twifli gitt`)")
        anomalous = AnomalousDiffusivity.from_gitt_fit(fit, D_cap_m2_s=None if cap is None else cap * CM2_S)
    else:
        d_trace = _need(case, "D_trace_cm2_s") * CM2_S
        anomalous = AnomalousDiffusivity(d_trace, _need(case, "c_max_mol_m3"), (cap or 100 * d_trace / CM2_S) * CM2_S)
    if c_sat > anomalous.c_max_mol_m3:
        raise InputError(f"{toml}: c_sat_mol_m3 ({c_sat:g}) exceeds c_max_mol_m3 ({anomalous.c_max_mol_m3:g}); "
                         "D(c) would diverge")
    return anomalous


def _need(case: Case, key: str) -> float:
    value = case.positive("material", key)
    if value is None:
        raise InputError(f"{case.directory / 'case.toml'}: missing key 'material.{key}'")
    return value


def _tortuosity(case: Case, image: SegmentedImage, *, periodic: bool) -> dict:
    """tau_e (AM + CBD) and tau_Li (SE): given, from another image, or from the run's image (SPEC sect. 3)."""
    toml = case.directory / "case.toml"
    given = {k: case.positive("tortuosity", k) for k in ("tau_e", "tau_Li")}
    if all(v is not None for v in given.values()):
        return {**given, "source": "given in case.toml"}
    other = case.path("tortuosity", "image_file")
    if other is not None:
        source_image = load_image(other, labels=case.get("tortuosity", "labels", case.get("image", "labels")),
                                  voxel_size_um=1.0)
        source = str(other)
    else:
        source_image, source = image, "the run's own image"
    results = tortuosity_factors(source_image, periodic=periodic)
    found = {"tau_e": results["electronic"].tau, "tau_Li": results[Phase.SE.name].tau if Phase.SE.name in results else None}
    for key, value in found.items():
        if given[key] is None and value is None:
            network = "electronic (AM+CBD)" if key == "tau_e" else "SE"
            raise InputError(f"{toml}: the {network} network of {source} does not percolate through the thickness "
                             f"(a 2D slice of a 3D composite?); set tortuosity.{key} or tortuosity.image_file (a 3D image)")
    return {key: given[key] if given[key] is not None else found[key] for key in found} | {"source": source}


def _one_c_current(case: Case, model: TwifliModel) -> float:
    """1C current density (SPEC sect. 7): theoretical F c_sat V_AM unless a specific capacity and AM density are given."""
    capacity = case.positive("material", "specific_capacity_mAh_g")
    density = case.positive("material", "am_density_g_cm3")
    if (capacity is None) != (density is None):
        raise InputError(f"{case.directory / 'case.toml'}: give both material.specific_capacity_mAh_g and "
                         "material.am_density_g_cm3, or neither (theoretical capacity F c_sat V_AM)")
    if capacity is not None:
        charge_C = capacity * 3.6 * density * 1e6 * model.am_volume_m3  # mAh/g * C/mAh * g/m^3 * m^3
    else:
        charge_C = FARADAY * model.c_sat_mol_m3 * model.am_volume_m3
    return charge_C / 3600.0 / model.collector_area_m2


def _total_time(prepared: PreparedCase) -> float:
    total = 0.0
    for step in prepared.steps:
        if step.duration_s is not None:
            total += step.duration_s
        elif step.current_density_A_m2 > 0:
            total += 3600.0 * prepared.one_c_A_m2 / step.current_density_A_m2  # at most about one capacity
    return total
