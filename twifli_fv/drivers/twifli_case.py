"""A TWIF-Li case: case.toml -> image -> mesh -> tortuosity -> model -> solver, ready for the run driver.

:func:`prepare_twifli` makes the :class:`TwifliRun` that :mod:`twifli_fv.drivers.run` steps and records:
``profiles.csv`` holds AM row averages of c / c_sat, the fields ``c``, ``c_norm``, ``D``, ``W`` and ``phase``,
``plots/`` the profile map, profiles and the mean state of lithiation.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from twifli_fv.case import Case
from twifli_fv.drivers.case_run import CaseRun
from twifli_fv.errors import InputError
from twifli_fv.image.phases import Phase
from twifli_fv.image.segmented import SegmentedImage, load_image
from twifli_fv.mesh.grid import build_mesh
from twifli_fv.model.constants import FARADAY
from twifli_fv.model.diffusivity import AnomalousDiffusivity, ConstantDiffusivity, TabulatedDiffusivity
from twifli_fv.model.protocol import parse_protocol
from twifli_fv.model.twifli import Drive, TwifliModel
from twifli_fv.outputs.plots import plot_series
from twifli_fv.parameters import CM2_S
from twifli_fv.ranks import Ranks
from twifli_fv.solve.petsc_env import ranks as all_ranks
from twifli_fv.solve.stepping import RunState
from twifli_fv.solve.tortuosity import tortuosity_factors
from twifli_fv.solve.twifli import MEAN_C_NORM, TwifliSolver
from twifli_fv.solve.twifli_stepping import TwifliStepping


@dataclass
class TwifliRun(CaseRun):
    """A prepared TWIF-Li case; :meth:`start` makes its solver, fresh or from (consuming) a checkpoint's arrays."""

    grid: SegmentedImage  # the run's image
    model: TwifliModel
    tortuosity: dict
    means: list[float] = field(default_factory=list)
    profile_label: str = "c / c_sat (AM row average)"
    map_name: str = "c_norm_map.png"

    @property
    def fingerprint_data(self) -> bytes:
        """This rank's own planes (:func:`~twifli_fv.drivers.fingerprint.fingerprint` combines the ranks')."""
        return self.grid.owned_phases.tobytes()

    @property
    def ranks(self) -> Ranks:
        return self.model.mesh.ranks

    @property
    def profile_mask(self) -> np.ndarray:
        """This rank's AM cells."""
        return self.grid.owned_phases == Phase.AM

    def start(self, arrays: dict[str, np.ndarray] | None) -> None:
        settings = {key: self.case.get("solver", key) for key in ("sweep_tol", "max_sweeps", "linear_tol")}
        solver = TwifliSolver(self.model, None if arrays is None else arrays.pop("c"), **settings)
        if arrays is not None:
            solver.restore_history({key: arrays.pop(key) for key in list(arrays) if key.startswith("trend_")})
            self.means = arrays.pop("means").tolist()
        self.stepper = TwifliStepping(solver, self.stepping())

    # -- what the recorder asks ------------------------------------------------------------------
    def profile_field(self) -> np.ndarray:
        return self.solver.values.reshape(self.profile_mask.shape) / self.model.c_sat_mol_m3

    def at_frame(self, time_s: float) -> None:
        self.means.append(self.solver.mean_c_norm())

    def field_data(self, state: RunState) -> dict[str, np.ndarray]:
        step = self.steps[min(state.step_index, len(self.steps) - 1)]
        c, am = self.solver.values, self.profile_mask.ravel()
        return {
            "c": c,
            "c_norm": np.where(am, c / self.model.c_sat_mol_m3, np.nan),
            "D": self.solver.diffusivity_cells(),
            "W": self.solver.cell_weight(Drive(step.kind, step.current_density_A_m2)),
            "phase": self.model.mesh.phase,
        }

    @property
    def field_constants(self) -> dict[str, int]:
        """The codes of the ``phase`` array (``phase_AM = 1`` ...), so a .vti names its own phases."""
        return {f"phase_{phase.name}": int(phase) for phase in Phase}

    def checkpoint_arrays(self) -> dict[str, np.ndarray]:
        return {"c": self.solver.values, **self.solver.history(), "means": np.array(self.means)}

    def profile_times_s(self, end_s: float) -> list[float]:
        at_h = self.case.get("output", "profile_times_h") or list(np.linspace(0, end_s / 3600, 6))
        return [3600 * h for h in at_h]

    def write_outputs(self, out: Path, state: RunState, times_s: np.ndarray) -> None:
        if self.plots:
            plot_series(out / "plots" / "mean_soc.png", times_s, np.array(self.means),
                        ylabel="mean c / c_sat (AM)", title=self.title)

    def summary(self, state: RunState) -> dict:
        model, case, solver = self.model, self.case, self.solver
        extent = "per metre of depth (2D image)" if model.mesh.image.ndim == 2 else "for the 3D domain"
        return {
            "case": case.directory.name,
            "inputs": case.settings,
            "image": {"source": model.mesh.image.source, "shape": list(model.mesh.image.shape),
                      "voxel_size_um": model.mesh.image.voxel_size_m * 1e6,
                      "in_plane": "periodic" if model.mesh.periodic else "no-flux"},
            "extent": f"charge_C and li_change_mol are {extent}; *_m2 values are per m^2 of current collector",
            "flux_normalisation": model.normalisation,
            "tortuosity": self.tortuosity,
            "diffusivity": model.diffusivity.describe(),
            "c_sat_mol_m3": model.c_sat_mol_m3,
            "one_c_current_density_A_m2": self.one_c_A_m2,
            "one_c_current_density_mA_cm2": self.one_c_A_m2 / 10.0,
            "collector_area_m2": model.collector_area_m2,
            "am_volume_m3": model.am_volume_m3,
            "am_volume_fraction": model.mesh.am_total / float(np.prod(model.mesh.image.shape)),
            "active_area_m2": solver.total_area_m2,
            "solver": {
                "time_steps": solver.stats.steps, "rejected_steps": solver.stats.rejected,
                "sweeps_total": solver.stats.sweeps,
                "max_sweeps_in_a_step": max(solver.stats.sweeps_per_step, default=0),
                "sweeps_per_step_histogram": dict(sorted(Counter(solver.stats.sweeps_per_step).items())),
                "sweep_tol": solver.sweep_tol,
                "sweep_criterion": "max |c_k - c_(k-1)| / c_sat between successive sweeps",
                "linear_solver": solver.linear_solver,
                "note": "counts cover this invocation only when the run was resumed",
            },
            "steps": state.steps,
            "mean_c_norm_definition": MEAN_C_NORM,
            "end_time_s": state.time_s,
        }


def prepare_twifli(case: Case) -> TwifliRun:
    """Everything a TWIF-Li run needs, checked, before any output is touched."""
    toml = case.directory / case.file
    image_file = case.path("image", "file")
    in_plane, shape = case.get("image", "in_plane"), case.get("image", "shape")
    ranks = all_ranks()
    passed = ("labels", "voxel_size_um", "thickness_axis", "crop", "coarsen", "refine", "dtype")  # as named in both
    image = load_image(image_file, **{key: case.get("image", key) for key in passed}, ranks=ranks,
                       collector_at_end=case.get("image", "collector_at") == "end",
                       shape=tuple(shape) if shape else None, balance=Phase.AM)  # balance the unknowns
    mesh = build_mesh(image, periodic=in_plane == "periodic", ranks=ranks)
    if not ranks.sum(int(np.any(mesh.active_area_m2 > 0))):
        raise InputError(f"{image_file}: no AM|SE interface in the image: nothing can react")
    c_sat = case.positive("material", "c_sat_mol_m3")
    tau = _tortuosity(case, image, periodic=in_plane == "periodic", ranks=ranks)
    model = TwifliModel(
        mesh=mesh,
        diffusivity=_diffusivity(case, c_sat),
        c_sat_mol_m3=c_sat,
        tau_e=tau["tau_e"],
        tau_li=tau["tau_Li"],
        normalisation=case.get("model", "normalisation"),
    )
    one_c = _one_c_current(case, model)
    parsed = parse_protocol(case.get("protocol", "steps"), default_c_rate=case.get("protocol", "c_rate"))
    if any(s.until_voltage_V is not None for s in parsed):
        raise InputError(f"{toml}: voltage cut-offs ('until 3.0 V') need [model] kind = 'dense'; TWIF-Li has no voltage")
    steps = [s.resolved(one_c_A_m2=one_c) for s in parsed]
    return TwifliRun(case=case, grid=image, model=model, steps=steps, tortuosity=tau, one_c_A_m2=one_c)


def _diffusivity(case: Case, c_sat: float):  # noqa: ANN202
    toml = case.directory / "case.toml"
    law = case.get("material", "diffusivity")
    if law == "constant":
        return ConstantDiffusivity(_need(case, "D_cm2_s") * CM2_S)
    if law == "table":
        table = case.path("material", "table_csv")
        if table is None:
            raise InputError(f"{toml}: material.diffusivity = 'table' needs material.table_csv")
        return read_diffusivity_table(table)
    cap = case.positive("material", "D_cap_cm2_s")
    if law == "gitt_fit":
        fit = case.path("material", "gitt_fit_json")
        if fit is None:
            raise InputError(f"{toml}: material.diffusivity = 'gitt_fit' needs material.gitt_fit_json (from `twifli gitt`)")
        anomalous = read_gitt_fit(fit, D_cap_m2_s=None if cap is None else cap * CM2_S)
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


def _tortuosity(case: Case, image: SegmentedImage, *, periodic: bool, ranks: Ranks) -> dict:
    """tau_e (AM + CBD) and tau_Li (SE): given, from another image, or from the run's image (SPEC sect. 3)."""
    toml = case.directory / "case.toml"
    given = {k: case.positive("tortuosity", k) for k in ("tau_e", "tau_Li")}
    if all(v is not None for v in given.values()):
        return {**given, "source": "given in case.toml"}
    other = case.path("tortuosity", "image_file")
    if other is not None:
        source_image = load_image(other, labels=case.get("tortuosity", "labels", case.get("image", "labels")),
                                  voxel_size_um=1.0, ranks=ranks)
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


def read_gitt_fit(path: str | Path, *, D_cap_m2_s: float | None = None) -> AnomalousDiffusivity:
    """The law fitted by ``twifli gitt`` (its ``gitt_fit.json``); cap 100 D_trace unless given."""
    path = Path(path)
    try:
        fit = json.loads(path.read_text())
        d_trace, c_max = float(fit["D_trace_m2_s"]), float(fit["c_max_mol_m3"])
    except OSError as exc:
        raise InputError(f"{path}: cannot read the GITT fit ({exc.strerror})") from None
    except (ValueError, KeyError, TypeError):
        raise InputError(f"{path}: not a gitt_fit.json (needs numbers D_trace_m2_s and c_max_mol_m3)") from None
    return AnomalousDiffusivity(d_trace, c_max, 100 * d_trace if D_cap_m2_s is None else D_cap_m2_s)


def read_diffusivity_table(path: str | Path) -> TabulatedDiffusivity:
    """Read columns ``c_mol_m3`` and ``D_m2_s`` (or ``D_cm2_s``) from a CSV file."""
    path = Path(path)
    try:
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise InputError(f"{path}: cannot read D(c) table ({exc.strerror})") from None
    if not rows or "c_mol_m3" not in rows[0] or not ({"D_m2_s", "D_cm2_s"} & set(rows[0])):
        raise InputError(f"{path}: a D(c) table needs columns c_mol_m3 and D_m2_s (or D_cm2_s)")
    scale, column = (1.0, "D_m2_s") if "D_m2_s" in rows[0] else (1e-4, "D_cm2_s")
    try:
        c = tuple(float(r["c_mol_m3"]) for r in rows)
        d = tuple(float(r[column]) * scale for r in rows)
    except (TypeError, ValueError):
        raise InputError(f"{path}: non-numeric value in the D(c) table") from None
    return TabulatedDiffusivity(c, d, source=str(path))
