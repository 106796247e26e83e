"""Run a dense-cathode case directory (``[model] kind = "dense"``; paper 2, SPEC sect. 6-7).

case.toml -> grain map (generated or read) -> contacts and roughness -> per-grain diffusion tensors
(scaled to ``D_eff`` when given) -> :class:`~twifli_fv.solve.dense.DenseCell` -> protocol -> outputs.
``output/`` receives ``summary.json`` (last), ``voltage.csv``, ``profiles.csv`` (row-averaged
``x = c / c_max`` in the ``c_norm`` column), ``fields/`` (``.pvd`` + ``.vti``), ``plots/`` and
``checkpoint.npz`` (for ``--resume``).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twifli_fv.case import Case, load_case
from twifli_fv.dense_mechanics import mechanics_for
from twifli_fv.errors import InputError
from twifli_fv.image.contact import contact_mask, given_contact_mask
from twifli_fv.image.grains import GrainMap, generate_grains, read_grains
from twifli_fv.image.roughness import surface_area_factor
from twifli_fv.model.anisotropy import check_diffusivities, diffusion_tensor
from twifli_fv.model.butler_volmer import ButlerVolmer
from twifli_fv.model.constants import FARADAY
from twifli_fv.model.protocol import parse_protocol
from twifli_fv.outputs.checkpoint import load_checkpoint, save_checkpoint
from twifli_fv.outputs.fields import write_pvd
from twifli_fv.outputs.files import write_json
from twifli_fv.outputs.plots import plot_map, plot_profiles
from twifli_fv.outputs.profiles import row_average, write_profiles
from twifli_fv.outputs.progress import ProgressBar
from twifli_fv.outputs.voltage import plot_voltage_curves, write_voltage_curve
from twifli_fv.outputs.vtk import write_vti
from twifli_fv.solve.anisotropic_diffusion import effective_diffusivity
from twifli_fv.solve.dense import DenseCell, DenseSolver, DenseStep
from twifli_fv.solve.dense_stepping import DenseStepping, run_dense_protocol
from twifli_fv.solve.stepping import ProtocolStep, RunState

log = logging.getLogger(__name__)
CM2_S = 1e-4  # m^2 s^-1 per cm^2 s^-1
LCO_MOLAR_MASS_G_MOL = 97.87
DEFAULTS = {  # paper 2's cell where it gives numbers (SPEC sect. 6); the rest are choices written in the README
    "cell": {"width_um": 100.0, "separator_thickness_um": 250.0, "separator_conductivity_mS_cm": 1.0,
             "counter_potential_V": 0.62, "temperature_K": 298.15},
    "material": {"D_fast_cm2_s": 1.5e-9, "D_slow_cm2_s": 1.5e-12, "specific_capacity_mAh_g": 140.0,
                 "am_density_g_cm3": 5.05},
    "grains": {"voxel_size_um": 1.0, "grain_width_um": 5.0, "tilt_mean_deg": 0.0, "tilt_spread_deg": 5.0,
               "pore_fraction": 0.0, "pore_radius_um": 1.0, "crack_count": 0, "crack_length_um": 5.0,
               "crack_angle_deg": 0.0, "seed": 0},
    "interface": {"contact_fraction": 1.0, "gap_width_um": 20.0, "roughness_rms_um": 0.0,
                  "roughness_correlation_um": 0.4},
    "kinetics": {"exchange_current_mA_cm2": 0.5, "alpha_a": 0.5, "alpha_c": 0.5},
}


@dataclass(frozen=True)
class PreparedDense:
    case: Case
    cell: DenseCell
    steps: list[ProtocolStep]
    c_initial: np.ndarray
    one_c_A_m2: float
    diffusion: dict
    fingerprint: str


def prepare_dense(case: Case) -> PreparedDense:
    """Everything a dense run needs, checked, before any output is touched."""
    toml = case.directory / case.file
    grains = _grain_map(case)
    plane = grains.shape[1:]
    voxel_um = grains.voxel_size_m * 1e6
    seed = int(_get(case, "grains", "seed"))
    contact = _contact(case, grains, seed)
    rms = _get(case, "interface", "roughness_rms_um")
    if rms < 0:
        raise InputError(f"{toml}: [interface] roughness_rms_um must not be negative, got {rms!r}")
    area = surface_area_factor(plane_shape=plane, voxel_size_um=voxel_um, rms_um=rms,
                               correlation_um=_positive(case, "interface", "roughness_correlation_um"), seed=seed)
    d_fast = _positive(case, "material", "D_fast_cm2_s") * CM2_S
    d_slow = _positive(case, "material", "D_slow_cm2_s") * CM2_S
    check_diffusivities(D_fast_m2_s=d_fast, D_slow_m2_s=d_slow, source=f"{toml}: [material]")
    tensor = diffusion_tensor(D_fast_m2_s=d_fast, D_slow_m2_s=d_slow, tilt_deg=np.nan_to_num(grains.cell_tilt_deg()),
                              azimuth_deg=np.nan_to_num(grains.cell_azimuth_deg()), ndim=grains.ndim)
    tensor[~grains.solid] = 0.0
    d_map = effective_diffusivity(tensor, grains.solid, grains.voxel_size_m)
    if not d_map > 0:
        raise InputError(f"{toml}: the grain map has no through-thickness Li path (pores/cracks cut it)")
    target = case.positive("material", "D_eff_cm2_s")
    scale = 1.0 if target is None else target * CM2_S / d_map
    density = _positive(case, "material", "am_density_g_cm3") * 1e3  # kg m^-3
    c_max = case.positive("material", "c_max_mol_m3", density * 1e3 / LCO_MOLAR_MASS_G_MOL)
    capacity = _positive(case, "material", "specific_capacity_mAh_g")
    window = capacity * 3.6 * density * 1e3 / FARADAY  # mol m^-3 cycled between charged and discharged
    if window >= c_max:
        raise InputError(f"{toml}: specific_capacity_mAh_g {capacity:g} needs more Li than c_max_mol_m3 {c_max:g} holds")
    x0 = case.get("material", "initial_stoichiometry", 1.0 - window / c_max)
    if not 0 <= x0 <= 1:
        raise InputError(f"{toml}: [material] initial_stoichiometry must lie in [0, 1], got {x0!r}")
    separator = _positive(case, "cell", "separator_thickness_um") * 1e-6 / (
        _positive(case, "cell", "separator_conductivity_mS_cm") * 0.1)
    kinetics = ButlerVolmer(exchange_current_A_m2=_positive(case, "kinetics", "exchange_current_mA_cm2") * 10.0,
                            alpha_a=_positive(case, "kinetics", "alpha_a"), alpha_c=_positive(case, "kinetics", "alpha_c"),
                            temperature_K=_positive(case, "cell", "temperature_K"))
    cell = DenseCell(grains=grains, tensor=tensor * scale, contact=contact, area_factor=area, c_max_mol_m3=c_max,
                     kinetics=kinetics, separator_resistance_ohm_m2=separator,
                     counter_potential_V=_get(case, "cell", "counter_potential_V"), am_density_kg_m3=density)
    one_c = capacity * 3.6 * cell.am_mass_kg * 1e3 / 3600.0 / cell.collector_area_m2
    c_rate = case.get("protocol", "c_rate")
    if c_rate is not None and not (isinstance(c_rate, (int, float)) and c_rate > 0):
        raise InputError(f"{toml}: [protocol] c_rate must be positive, got {c_rate!r}")
    steps = [
        ProtocolStep(text=s.text, kind=s.kind, duration_s=s.duration_s, until_mean_c_norm=s.until_mean_c_norm,
                     until_voltage_V=s.until_voltage_V,
                     current_density_A_m2=s.c_rate * one_c if s.c_rate is not None else s.current_density_A_m2 or 0.0)
        for s in parse_protocol(case.get("protocol", "steps"), default_c_rate=c_rate)
    ]
    diffusion = {
        "D_fast_cm2_s": d_fast * scale / CM2_S, "D_slow_cm2_s": d_slow * scale / CM2_S,
        "D_eff_cm2_s": d_map * scale / CM2_S,
        "D_eff_source": "given (tensors scaled to it)" if target is not None else "from D_fast, D_slow and the map",
        "tensor_scale": scale,
    }
    digest = hashlib.sha256(toml.read_bytes() + grains.grain.tobytes()).hexdigest()
    return PreparedDense(case, cell, steps, np.where(grains.solid, x0 * c_max, 0.0).ravel(), one_c, diffusion, digest)


def run_dense_case(directory: str | Path, *, resume: bool = False, progress: bool = True) -> dict:
    """Run (or resume) a dense case; returns the summary written to ``output/summary.json``."""
    prepared = prepare_dense(load_case(directory))
    case, cell = prepared.case, prepared.cell
    out = case.output
    frame = case.positive("output", "frame_interval_s", 300.0)
    stepping = DenseStepping(frame_interval_s=frame, dt_initial_s=case.positive("solver", "dt_initial_s", 1.0),
                             dt_max_s=min(case.positive("solver", "dt_max_s", frame), frame),
                             max_change=case.positive("solver", "max_change", 0.02))
    recorder = DenseRecorder(out, prepared, fields_every_s=case.positive("output", "fields_interval_s", 3600.0))
    solver, state = DenseSolver(cell, prepared.c_initial), RunState()
    if resume:
        saved, arrays = load_checkpoint(out / "checkpoint.npz", fingerprint=prepared.fingerprint)
        state = RunState(**saved)
        flow, phi, voltage = arrays.pop("flow"), float(arrays.pop("phi")), float(arrays.pop("voltage_V"))
        solver = DenseSolver(cell, arrays.pop("c"), flow=flow if flow.size else None,
                             phi=phi if np.isfinite(phi) else None, voltage=voltage if np.isfinite(voltage) else None)
        recorder.restore(arrays)
    elif out.exists():
        shutil.rmtree(out)
    total = sum(s.duration_s or (3600.0 * prepared.one_c_A_m2 / max(s.current_density_A_m2, 1e-300)) for s in prepared.steps)
    bar = ProgressBar(total, enabled=progress)

    def on_step(current: RunState, step: DenseStep) -> None:
        recorder.voltage(solver, current, step)
        bar.update(current.time_s, prepared.steps[current.step_index].text)

    state = run_dense_protocol(solver, prepared.steps, state, stepping=stepping,
                               on_frame=lambda current: recorder.frame(solver, current),
                               on_step=on_step)
    bar.close()
    return recorder.finish(solver, state)


class DenseRecorder:
    """Collects the voltage curve and frames, writes fields and checkpoints, then the outputs."""

    def __init__(self, out: Path, prepared: PreparedDense, *, fields_every_s: float) -> None:
        self.out, self.prepared, self.fields_every_s = out, prepared, fields_every_s
        self.rows: list[dict] = []
        self.times: list[float] = []
        self.step_numbers: list[int] = []
        self.profiles: list[np.ndarray] = []
        self.fields: list[tuple[float, str]] = []
        grains = prepared.cell.grains
        self.y_um = (np.arange(grains.shape[0]) + 0.5) * grains.voxel_size_m * 1e6
        self.mechanics = mechanics_for(prepared)  # None unless [mechanics] enabled (issue 14)

    def voltage(self, solver: DenseSolver, state: RunState, step: DenseStep) -> None:
        cell = solver.cell
        protocol = self.prepared.steps[state.step_index]
        capacity = abs(protocol.current_density_A_m2) * state.step_elapsed_s / 3.6 / (cell.am_mass_kg * 1e3 / cell.collector_area_m2)
        self.rows.append({
            "time_s": state.time_s, "step": state.step_index + 1,
            "current_density_mA_cm2": step.current_A_m2 / 10.0, "capacity_mAh_g": capacity,
            "voltage_V": step.voltage_V, "cathode_potential_V_vs_Li": step.voltage_V + cell.counter_potential_V,
            "ocp_V": step.ocp_V, "overpotential_V": step.overpotential_V, "ohmic_drop_V": step.ohmic_V,
            "mean_x": solver.mean_x(), "surface_x_mean": float(np.mean(step.x_surface)),
        })

    def frame(self, solver: DenseSolver, state: RunState) -> None:
        if self.times and abs(self.times[-1] - state.time_s) < 1e-9:
            return
        cell = solver.cell
        grains = cell.grains
        x = solver.c.reshape(grains.shape) / cell.c_max_mol_m3
        self.times.append(state.time_s)
        self.step_numbers.append(min(state.step_index + 1, len(self.prepared.steps)))
        self.profiles.append(row_average(x, grains.solid))
        if not self.fields or state.time_s >= self.fields[-1][0] + self.fields_every_s - 1e-9:
            name = f"frame_{len(self.fields):04d}.vti"
            write_vti(self.out / "fields" / name, grains.shape, grains.voxel_size_m, {
                "x": np.where(grains.solid, x, np.nan), "c": solver.c, "grain": grains.grain,
                "tilt_deg": grains.cell_tilt_deg(), "D_through_m2_s": cell.tensor[..., 0, 0],
                **(self.mechanics.frame_fields(solver.c, state.time_s) if self.mechanics else {}),
            })
            self.fields.append((state.time_s, name))
        save_checkpoint(self.out / "checkpoint.npz", fingerprint=self.prepared.fingerprint, state=state.to_dict(),
                        arrays={"c": solver.c, "flow": solver.flow if solver.flow is not None else np.zeros(0),
                                "phi": np.nan if solver.phi is None else solver.phi,
                                "voltage_V": np.nan if solver.voltage is None else solver.voltage, **self._arrays()})

    def _arrays(self) -> dict[str, np.ndarray]:
        columns = list(self.rows[0]) if self.rows else []
        return {
            "times": np.array(self.times), "steps": np.array(self.step_numbers), "profiles": np.array(self.profiles),
            "field_times": np.array([t for t, _ in self.fields]),
            "voltage": np.array([[r[k] for k in columns] for r in self.rows]), "voltage_columns": np.array(columns),
        }

    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        self.times, self.step_numbers = arrays["times"].tolist(), arrays["steps"].tolist()
        self.profiles = list(arrays["profiles"])
        self.fields = [(t, f"frame_{i:04d}.vti") for i, t in enumerate(arrays["field_times"].tolist())]
        columns = arrays["voltage_columns"].tolist()
        self.rows = [{k: (int(v) if k == "step" else float(v)) for k, v in zip(columns, row)} for row in arrays["voltage"]]

    def finish(self, solver: DenseSolver, state: RunState) -> dict:
        case, cell = self.prepared.case, self.prepared.cell
        times, profiles = np.array(self.times), np.array(self.profiles)
        write_voltage_curve(self.out / "voltage.csv", self.rows)
        write_profiles(self.out / "profiles.csv", times, np.array(self.step_numbers), self.y_um, profiles)
        write_pvd(self.out / "fields" / "fields.pvd", self.fields)
        energies = self._energies(len(state.steps))
        for step, energy in zip(state.steps, energies):
            step["energy_Wh_kg"] = energy
        if case.get("output", "plots", True):
            title = f"{case.directory.name}: " + " / ".join(s.text for s in self.prepared.steps)
            curves = {f"{n}: {s.text}": (np.array([r["capacity_mAh_g"] for r in self.rows if r["step"] == n]),
                                         np.array([r["voltage_V"] for r in self.rows if r["step"] == n]))
                      for n, s in enumerate(self.prepared.steps, 1) if s.kind != "rest"}
            plot_voltage_curves(self.out / "plots" / "voltage.png", curves, title=title)
            plot_map(self.out / "plots" / "x_map.png", times, self.y_um, profiles, title=title,
                     label="x = c / c_max (row average)", step_ends_s=list(np.cumsum([s["duration_s"] for s in state.steps])))
            plot_profiles(self.out / "plots" / "profiles.png", times, self.y_um, profiles,
                          at_s=list(np.linspace(0, times[-1], 6)), title=title + " (c / c_max)")
        summary = self._summary(solver, state)
        if self.mechanics:
            summary |= self.mechanics.finish(self.out, plots=case.get("output", "plots", True))
        write_json(self.out / "summary.json", summary)
        return summary

    def _energies(self, count: int) -> list[float]:
        """Energy delivered (discharge) or stored (charge) per kg of LiCoO2 in each step, from the voltage curve."""
        result = []
        for n in range(1, count + 1):
            rows = [r for r in self.rows if r["step"] == n]
            q = np.array([0.0] + [r["capacity_mAh_g"] for r in rows])  # mAh/g = Ah/kg
            v = np.array([rows[0]["voltage_V"]] + [r["voltage_V"] for r in rows]) if rows else np.zeros(1)
            result.append(float(np.sum(0.5 * (v[1:] + v[:-1]) * np.diff(q))) if rows else 0.0)
        return result

    def _summary(self, solver: DenseSolver, state: RunState) -> dict:
        prepared, case, cell = self.prepared, self.prepared.case, self.prepared.cell
        grains = cell.grains
        moving = [s for s in state.steps if s["kind"] == "discharge"] or [s for s in state.steps if s["kind"] != "rest"]
        main = moving[-1] if moving else (state.steps[-1] if state.steps else {})
        mass_g_cm2 = cell.am_mass_kg / cell.collector_area_m2 * 0.1
        return {
            "case": case.directory.name,
            "model": "dense",
            "inputs": case.settings,
            "capacity_mAh_g": main.get("capacity_mAh_g"),
            "energy_Wh_kg": main.get("energy_Wh_kg"),
            "end_reason": main.get("end_reason"),
            "capacity_note": "of the last discharge step (else the last charge), per g of LiCoO2; energy from the "
                             "cell voltage against the counter electrode",
            "geometry": {
                "source": grains.source, "shape": list(grains.shape), "voxel_size_um": grains.voxel_size_m * 1e6,
                "thickness_um": grains.thickness_m * 1e6, "width_um": grains.shape[1] * grains.voxel_size_m * 1e6,
                "grains": int(grains.tilt_deg.size), "porosity": float(1 - np.mean(grains.solid)),
                "am_loading_mg_cm2": mass_g_cm2 * 1e3,
                "areal_capacity_mAh_cm2": mass_g_cm2 * _get(case, "material", "specific_capacity_mAh_g"),
            },
            "diffusion": prepared.diffusion,
            "interface": {"contact_fraction": cell.contact_fraction,
                          "roughness_area_factor": float(np.mean(cell.area_factor[cell.reactive_top])),
                          "active_area_ratio": cell.active_area_ratio},
            "kinetics": {"exchange_current_mA_cm2": cell.kinetics.exchange_current_A_m2 / 10.0,
                         "alpha_a": cell.kinetics.alpha_a, "alpha_c": cell.kinetics.alpha_c,
                         "temperature_K": cell.kinetics.temperature_K, "ocp": cell.ocp.name},
            "separator_resistance_ohm_cm2": cell.separator_resistance_ohm_m2 * 1e4,
            "counter_potential_V": cell.counter_potential_V,
            "c_max_mol_m3": cell.c_max_mol_m3,
            "initial_stoichiometry": float(prepared.c_initial[grains.solid.ravel()].mean() / cell.c_max_mol_m3),
            "one_c_current_density_mA_cm2": prepared.one_c_A_m2 / 10.0,
            "solver": {"time_steps": solver.stats.steps, "rejected_steps": solver.stats.rejected,
                       "newton_iterations": solver.stats.newton_iterations, "max_newton": solver.stats.max_newton,
                       "factorisations": solver.stats.factorisations,
                       "note": "counts cover this invocation only when the run was resumed"},
            "steps": state.steps,
            "end_time_s": state.time_s,
        }


def _get(case: Case, table: str, key: str):  # noqa: ANN202
    return case.get(table, key, DEFAULTS[table][key])


def _positive(case: Case, table: str, key: str) -> float:
    return case.positive(table, key, DEFAULTS[table][key])


def _grain_map(case: Case) -> GrainMap:
    toml = case.directory / case.file
    voxel = _positive(case, "grains", "voxel_size_um")
    image = case.path("grains", "image_file")
    thickness = case.positive("cell", "thickness_um")
    if image is not None:
        if thickness is not None or case.get("cell", "width_um") is not None:
            raise InputError(f"{toml}: [grains] image_file sets the size; remove [cell] thickness_um / width_um")
        orientations = case.path("grains", "orientation_csv")
        if orientations is None:
            raise InputError(f"{toml}: [grains] image_file needs [grains] orientation_csv (label, tilt_deg)")
        collector = case.get("grains", "collector_at", "start")
        if collector not in ("start", "end"):
            raise InputError(f"{toml}: [grains] collector_at must be 'start' or 'end', got {collector!r}")
        return read_grains(image, voxel_size_um=voxel, orientation_csv=orientations,
                           void_labels=case.get("grains", "void_labels", []),
                           thickness_axis=case.get("grains", "thickness_axis", 0), collector_at_end=collector == "end")
    if thickness is None:
        raise InputError(f"{toml}: missing key 'cell.thickness_um' (or give [grains] image_file)")
    width = _positive(case, "cell", "width_um")
    depth = case.positive("cell", "depth_um")
    rows, columns = max(2, round(thickness / voxel)), max(1, round(width / voxel))
    shape = (rows, columns) if depth is None else (rows, columns, max(1, round(depth / voxel)))
    return generate_grains(
        shape=shape, voxel_size_um=voxel,
        **{key: _get(case, "grains", key) for key in ("grain_width_um", "tilt_mean_deg", "tilt_spread_deg",
                                                      "pore_fraction", "pore_radius_um", "crack_count",
                                                      "crack_length_um", "crack_angle_deg", "seed")},
    )


def _contact(case: Case, grains: GrainMap, seed: int) -> np.ndarray:
    toml = case.directory / case.file
    given = case.get("interface", "non_contact_um")
    fraction = _get(case, "interface", "contact_fraction")
    if given is not None:
        if "contact_fraction" in case.settings.get("interface", {}) or grains.ndim != 2:
            raise InputError(f"{toml}: [interface] non_contact_um (2D only) replaces contact_fraction; give one")
        return given_contact_mask(width_cells=grains.shape[1], voxel_size_um=grains.voxel_size_m * 1e6,
                                  non_contact_um=given)
    if not (isinstance(fraction, (int, float)) and 0 < fraction <= 1):
        raise InputError(f"{toml}: [interface] contact_fraction must lie in (0, 1], got {fraction!r}")
    return contact_mask(plane_shape=grains.shape[1:], voxel_size_um=grains.voxel_size_m * 1e6,
                        contact_fraction=fraction, gap_width_um=_positive(case, "interface", "gap_width_um"), seed=seed)
