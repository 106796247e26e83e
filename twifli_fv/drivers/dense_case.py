"""A dense-cathode case (``[model] kind = "dense"``; paper 2, SPEC sect. 6-7), ready for the run driver.

case.toml -> grain map (generated or read) -> contacts and roughness -> per-grain diffusion tensors
(scaled to ``D_eff`` when given) -> :class:`~twifli_fv.model.dense.DenseModel` -> :class:`DenseRun`.
Besides what every run writes (:mod:`twifli_fv.outputs.recorder`), ``output/`` receives ``voltage.csv``
and ``plots/voltage.png``; ``profiles.csv`` holds row averages of ``x = c / c_max`` (in its ``c_norm``
column), the fields ``x``, ``c``, ``grain``, ``tilt_deg`` and ``D_through_m2_s``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from twifli_fv.case import Case
from twifli_fv.drivers.case_run import CaseRun
from twifli_fv.drivers.dense_mechanics import QUANTITIES, MechanicsRecorder, mechanics_settings
from twifli_fv.errors import InputError
from twifli_fv.image.grains import GrainMap, generate_grains, read_grains
from twifli_fv.image.interface import contact_mask, given_contact_mask, surface_area_factor
from twifli_fv.model.anisotropy import check_diffusivities, diffusion_tensor
from twifli_fv.model.butler_volmer import ButlerVolmer
from twifli_fv.model.constants import FARADAY
from twifli_fv.model.dense import DenseModel
from twifli_fv.model.protocol import parse_protocol
from twifli_fv.outputs.plots import plot_voltage_curves
from twifli_fv.outputs.voltage import write_voltage_curve
from twifli_fv.parameters import CM2_S
from twifli_fv.solve.anisotropic_diffusion import effective_diffusivity
from twifli_fv.solve.dense import DenseSolver
from twifli_fv.solve.dense_stepping import DENSE_STEPPING, DenseStepping
from twifli_fv.solve.stepping import Attempt, RunState

LCO_MOLAR_MASS_G_MOL = 97.87
GENERATED_GRAIN_KEYS = ("grain_width_um", "tilt_mean_deg", "tilt_spread_deg", "pore_fraction", "pore_radius_um",
                        "crack_count", "crack_length_um", "crack_angle_deg", "seed")


@dataclass
class DenseRun(CaseRun):
    """A prepared dense case; :meth:`start` makes its solver, fresh or from (consuming) a checkpoint's arrays."""

    model: DenseModel
    c_initial: np.ndarray
    diffusion: dict
    rows: list[dict] = field(default_factory=list)  # the voltage curve, one row per kept time step
    mechanics: MechanicsRecorder | None = None  # stresses per field frame when [mechanics] is enabled
    mechanics_summary: dict = field(default_factory=dict)
    profile_label: str = "x = c / c_max (row average)"
    map_name: str = "x_map.png"

    @property
    def fingerprint_data(self) -> bytes:
        return self.model.grains.grain.tobytes()

    @property
    def grid(self) -> GrainMap:
        return self.model.grains

    @property
    def profile_mask(self) -> np.ndarray:
        return self.model.grains.solid

    def start(self, arrays: dict[str, np.ndarray] | None) -> None:
        case = self.case
        stepping = self.stepping(DENSE_STEPPING, max_change=case.positive("solver", "max_change"))
        stepping = replace(stepping, dt_max_s=min(stepping.dt_max_s, stepping.frame_interval_s))  # never past a frame
        if arrays is None:
            solver = DenseSolver(self.model, self.c_initial)
        else:
            flow, phi, voltage = arrays.pop("flow"), float(arrays.pop("phi")), float(arrays.pop("voltage_V"))
            solver = DenseSolver(self.model, arrays.pop("c"), flow=flow if flow.size else None,
                                 phi=phi if np.isfinite(phi) else None,
                                 voltage=voltage if np.isfinite(voltage) else None)
            columns = arrays.pop("voltage_columns").tolist()
            self.rows = [{k: (int(v) if k == "step" else float(v)) for k, v in zip(columns, row)}
                         for row in arrays.pop("voltage")]
        self.stepper = DenseStepping(solver, stepping)
        settings = mechanics_settings(case, self.model.grains.voxel_size_m)
        if settings is not None:
            self.mechanics = MechanicsRecorder(case, model=self.model, c_initial=self.c_initial, settings=settings)

    def profile_field(self) -> np.ndarray:
        return self.solver.c.reshape(self.model.grains.shape) / self.model.c_max_mol_m3

    def at_step(self, state: RunState, attempt: Attempt) -> None:
        """One row of the voltage curve per kept time step."""
        model, step, protocol = self.model, attempt.detail, self.steps[state.step_index]
        loading_g_m2 = model.am_mass_kg * 1e3 / model.collector_area_m2
        capacity = abs(protocol.current_density_A_m2) * state.step_elapsed_s / 3.6 / loading_g_m2
        self.rows.append({
            "time_s": state.time_s, "step": state.step_index + 1,
            "current_density_mA_cm2": step.current_A_m2 / 10.0, "capacity_mAh_g": capacity,
            "voltage_V": step.voltage_V, "cathode_potential_V_vs_Li": step.voltage_V + model.counter_potential_V,
            "ocp_V": step.ocp_V, "overpotential_V": step.phi_V - step.ocp_V, "ohmic_drop_V": step.ohmic_V,
            "mean_x": self.solver.mean_x(), "surface_x_mean": float(np.mean(step.x_surface)),
        })

    def field_data(self, state: RunState) -> dict[str, np.ndarray]:
        grains, c = self.model.grains, self.solver.c
        return {"x": np.where(grains.solid, c.reshape(grains.shape) / self.model.c_max_mol_m3, np.nan), "c": c,
                "grain": grains.grain, "tilt_deg": grains.cell_tilt_deg(),
                "D_through_m2_s": self.model.tensor[..., 0, 0],
                **(self.mechanics.frame_fields(c, state.time_s) if self.mechanics else {})}

    def checkpoint_arrays(self) -> dict[str, np.ndarray]:
        solver = self.solver
        columns = list(self.rows[0]) if self.rows else []
        return {"c": solver.c, "flow": solver.flow if solver.flow is not None else np.zeros(0),
                "phi": np.nan if solver.phi is None else solver.phi,
                "voltage_V": np.nan if solver.voltage is None else solver.voltage,
                "voltage": np.array([[r[k] for k in columns] for r in self.rows]), "voltage_columns": np.array(columns)}

    def profile_times_s(self, end_s: float) -> list[float]:
        return list(np.linspace(0, end_s, 6))

    def write_outputs(self, out: Path, state: RunState, times_s: np.ndarray) -> None:
        """``voltage.csv``, each step's energy (Wh/kg LiCoO2: voltage integrated over capacity), plots, mechanics."""
        write_voltage_curve(out / "voltage.csv", self.rows)
        for n, step in enumerate(state.steps, 1):
            capacity, voltage = self._curve(n)
            q, v = np.concatenate([[0.0], capacity]), np.concatenate([voltage[:1], voltage])  # mAh/g = Ah/kg
            step["energy_Wh_kg"] = float(np.sum(0.5 * (v[1:] + v[:-1]) * np.diff(q)))
        if self.plots:
            curves = {f"{n}: {s.text}": self._curve(n) for n, s in enumerate(self.steps, 1) if s.kind != "rest"}
            plot_voltage_curves(out / "plots" / "voltage.png", curves, title=self.title)
        if self.mechanics:
            self.mechanics_summary = self.mechanics.finish(out, plots=self.plots)

    def _curve(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Capacity (mAh/g) and voltage of the kept time steps of protocol step ``n`` (from 1)."""
        rows = [r for r in self.rows if r["step"] == n]
        return np.array([r["capacity_mAh_g"] for r in rows]), np.array([r["voltage_V"] for r in rows])

    def summary(self, state: RunState) -> dict:
        case, cell, stats, kinetics = self.case, self.model, self.solver.stats, self.model.kinetics
        grains, roughness = cell.grains, cell.area_factor[cell.reactive_top]
        moving = [s for s in state.steps if s["kind"] == "discharge"] or [s for s in state.steps if s["kind"] != "rest"]
        main = moving[-1] if moving else (state.steps[-1] if state.steps else {})
        mass_g_cm2 = cell.am_mass_kg / cell.collector_area_m2 * 0.1
        mechanics = dict.fromkeys(QUANTITIES) | self.mechanics_summary if self.mechanics else {}  # None: not run yet
        return mechanics | {
            "case": case.directory.name,
            "model": "dense",
            "inputs": case.settings,
            **{key: main.get(key) for key in ("capacity_mAh_g", "energy_Wh_kg", "end_reason")},
            "capacity_note": "of the last discharge step (else the last charge), per g of LiCoO2; energy from the "
                             "cell voltage against the counter electrode",
            "geometry": {
                "source": grains.source, "shape": list(grains.shape), "voxel_size_um": grains.voxel_size_m * 1e6,
                "thickness_um": grains.thickness_m * 1e6, "width_um": grains.shape[1] * grains.voxel_size_m * 1e6,
                "grains": int(grains.tilt_deg.size), "porosity": float(1 - np.mean(grains.solid)),
                "am_loading_mg_cm2": mass_g_cm2 * 1e3,
                "areal_capacity_mAh_cm2": mass_g_cm2 * case.get("material", "specific_capacity_mAh_g"),
            },
            "diffusion": self.diffusion,
            "interface": {"contact_fraction": float(np.mean(cell.reactive_top)),
                          "roughness_area_factor": float(np.mean(roughness)),
                          "active_area_ratio": float(np.sum(roughness * grains.face_area_m2)) / cell.collector_area_m2},
            "kinetics": {"exchange_current_mA_cm2": kinetics.exchange_current_A_m2 / 10.0, "alpha_a": kinetics.alpha_a,
                         "alpha_c": kinetics.alpha_c, "temperature_K": kinetics.temperature_K, "ocp": cell.ocp.name},
            "separator_resistance_ohm_cm2": cell.separator_resistance_ohm_m2 * 1e4,
            "counter_potential_V": cell.counter_potential_V,
            "c_max_mol_m3": cell.c_max_mol_m3,
            "initial_stoichiometry": cell.mean_x(self.c_initial),
            "one_c_current_density_mA_cm2": self.one_c_A_m2 / 10.0,
            "solver": {"time_steps": stats.steps, "rejected_steps": stats.rejected,
                       "newton_iterations": stats.newton_iterations, "max_newton": stats.max_newton,
                       "factorisations": stats.factorisations,
                       "note": "counts cover this invocation only when the run was resumed"},
            "steps": state.steps,
            "end_time_s": state.time_s,
        }


def prepare_dense(case: Case) -> DenseRun:
    """Everything a dense run needs, checked, before any output is touched."""
    toml, grains = case.directory / case.file, _grain_map(case)
    seed = int(case.get("grains", "seed"))
    contact = _contact(case, grains, seed)
    area = surface_area_factor(plane_shape=grains.shape[1:], voxel_size_um=grains.voxel_size_m * 1e6,
                               rms_um=case.get("interface", "roughness_rms_um"),
                               correlation_um=case.positive("interface", "roughness_correlation_um"), seed=seed)
    d_fast = case.positive("material", "D_fast_cm2_s") * CM2_S
    d_slow = case.positive("material", "D_slow_cm2_s") * CM2_S
    check_diffusivities(D_fast_m2_s=d_fast, D_slow_m2_s=d_slow, source=f"{toml}: [material]")
    tensor = diffusion_tensor(D_fast_m2_s=d_fast, D_slow_m2_s=d_slow, tilt_deg=np.nan_to_num(grains.cell_tilt_deg()),
                              azimuth_deg=np.nan_to_num(grains.cell_azimuth_deg()), ndim=grains.ndim)
    tensor[~grains.solid] = 0.0
    d_map = effective_diffusivity(tensor, grains.solid, grains.voxel_size_m)
    if not d_map > 0:
        raise InputError(f"{toml}: the grain map has no through-thickness Li path (pores/cracks cut it)")
    target = case.positive("material", "D_eff_cm2_s")
    scale = 1.0 if target is None else target * CM2_S / d_map
    density = case.positive("material", "am_density_g_cm3") * 1e3  # kg m^-3
    c_max = case.positive("material", "c_max_mol_m3", density * 1e3 / LCO_MOLAR_MASS_G_MOL)
    capacity = case.positive("material", "specific_capacity_mAh_g")
    window = capacity * 3.6 * density * 1e3 / FARADAY  # mol m^-3 cycled between charged and discharged
    if window >= c_max:
        raise InputError(f"{toml}: specific_capacity_mAh_g {capacity:g} needs more Li than c_max_mol_m3 "
                         f"{c_max:g} holds")
    x0 = case.get("material", "initial_stoichiometry", 1.0 - window / c_max)  # its range is the schema's
    separator = case.positive("cell", "separator_thickness_um") * 1e-6 / (
        case.positive("cell", "separator_conductivity_mS_cm") * 0.1)
    kinetics = ButlerVolmer(exchange_current_A_m2=case.positive("kinetics", "exchange_current_mA_cm2") * 10.0,
                            alpha_a=case.positive("kinetics", "alpha_a"), alpha_c=case.positive("kinetics", "alpha_c"),
                            temperature_K=case.positive("cell", "temperature_K"))
    cell = DenseModel(grains=grains, tensor=tensor * scale, contact=contact, area_factor=area, c_max_mol_m3=c_max,
                     kinetics=kinetics, separator_resistance_ohm_m2=separator,
                     counter_potential_V=case.get("cell", "counter_potential_V"), am_density_kg_m3=density)
    one_c = capacity * 3.6 * cell.am_mass_kg * 1e3 / 3600.0 / cell.collector_area_m2
    protocol = parse_protocol(case.get("protocol", "steps"), default_c_rate=case.get("protocol", "c_rate"))
    diffusion = {"D_fast_cm2_s": d_fast * scale / CM2_S, "D_slow_cm2_s": d_slow * scale / CM2_S,
                 "D_eff_cm2_s": d_map * scale / CM2_S,
                 "D_eff_source": "given (tensors scaled to it)" if target else "from D_fast, D_slow and the map",
                 "tensor_scale": scale}
    return DenseRun(case=case, model=cell, steps=[s.resolved(one_c_A_m2=one_c) for s in protocol],
                    c_initial=np.where(grains.solid, x0 * c_max, 0.0).ravel(), one_c_A_m2=one_c, diffusion=diffusion)


def _grain_map(case: Case) -> GrainMap:
    toml = case.directory / case.file
    voxel = case.positive("grains", "voxel_size_um")
    image = case.path("grains", "image_file")
    thickness = case.positive("cell", "thickness_um")
    if image is not None:
        if thickness is not None or case.given("cell", "width_um"):
            raise InputError(f"{toml}: [grains] image_file sets the size; remove [cell] thickness_um / width_um")
        orientations = case.path("grains", "orientation_csv")
        if orientations is None:
            raise InputError(f"{toml}: [grains] image_file needs [grains] orientation_csv (label, tilt_deg)")
        return read_grains(image, voxel_size_um=voxel, orientation_csv=orientations,
                           void_labels=case.get("grains", "void_labels", []),
                           thickness_axis=case.get("grains", "thickness_axis"),
                           collector_at_end=case.get("grains", "collector_at") == "end")
    if thickness is None:
        raise InputError(f"{toml}: missing key 'cell.thickness_um' (or give [grains] image_file)")
    plane = [case.positive("cell", key) for key in ("width_um", "depth_um")]  # depth: 3D only
    shape = (max(2, round(thickness / voxel)),) + tuple(max(1, round(n / voxel)) for n in plane if n is not None)
    return generate_grains(shape=shape, voxel_size_um=voxel, **{k: case.get("grains", k) for k in GENERATED_GRAIN_KEYS})


def _contact(case: Case, grains: GrainMap, seed: int) -> np.ndarray:
    given, voxel_um = case.get("interface", "non_contact_um"), grains.voxel_size_m * 1e6
    if given is None:
        return contact_mask(plane_shape=grains.shape[1:], voxel_size_um=voxel_um,
                            contact_fraction=case.get("interface", "contact_fraction"),
                            gap_width_um=case.positive("interface", "gap_width_um"), seed=seed)
    if case.given("interface", "contact_fraction") or grains.ndim != 2:
        toml = case.directory / case.file
        raise InputError(f"{toml}: [interface] non_contact_um (2D only) replaces contact_fraction; give one")
    return given_contact_mask(width_cells=grains.shape[1], voxel_size_um=voxel_um, non_contact_um=given)
