"""Every ``case.toml`` key: its type, unit, default, allowed range or values and meaning (SPEC, README);
:data:`CASE_KEYS` is the one source of the schema (:mod:`twifli_fv.case`, ``twifli keys``, the README's table)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

NUM = (int, float)
LABELS = (str, dict)


@dataclass(frozen=True)
class Key:
    """One case key. ``low``/``high`` bound a number (or every number of a list); ``above`` makes ``low``
    exclusive; ``choices`` lists allowed strings; ``by_model`` overrides ``default`` per ``[model] kind``."""

    kinds: type | tuple[type, ...]
    unit: str
    meaning: str
    default: Any = None
    low: float | None = None
    high: float | None = None
    above: bool = False
    choices: tuple[str, ...] = ()
    by_model: tuple[tuple[str, Any], ...] = ()

    def default_for(self, kind: str) -> Any:
        return dict(self.by_model).get(kind, self.default)

    @property
    def type_name(self) -> str:
        kinds = self.kinds if isinstance(self.kinds, tuple) else (self.kinds,)
        names = {int: "integer", float: "number", str: "string", dict: "table", list: "list", bool: "true/false"}
        return "number" if set(kinds) == {int, float} else " or ".join(names[k] for k in kinds)

    @property
    def allowed(self) -> str:
        """The range or the choices as written in messages and tables, e.g. ``(0, 1]`` or ``start|end``."""
        if self.choices:
            return "|".join(self.choices)
        if self.low is None and self.high is None:
            return ""
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        return f"{'(' if self.above else '['}{low}, {high}]"

    def problem(self, value: Any) -> str | None:
        """Why ``value`` (already of the right type) is not allowed, or None."""
        if self.choices and isinstance(value, str) and value not in self.choices:
            return f"use one of {', '.join(repr(c) for c in self.choices)}"
        numbers = value if isinstance(value, list) else [value]
        for number in numbers:
            if isinstance(number, bool) or not isinstance(number, NUM):
                if isinstance(value, list) and (self.low is not None or self.high is not None):
                    return f"every entry must be a number, got {number!r}"
                continue
            if not math.isfinite(number):
                return f"must be finite, allowed {self.allowed} {self.unit}".rstrip()
            too_low = self.low is not None and (number <= self.low if self.above else number < self.low)
            if too_low or (self.high is not None and number > self.high):
                return f"{number!r} is outside {self.allowed} {self.unit}".rstrip()
        return None


_STEP_UM = dict(low=1e-3, high=1e3)  # a voxel: 1 nm to 1 mm
_LENGTH_UM = dict(low=0.0, high=1e5, above=True)  # a cell dimension: up to 10 cm
_D = dict(low=1e-20, high=1e-2)  # any solid diffusivity, cm^2/s
_C = dict(low=1.0, high=1e6)  # mol/m^3
ROW = "  {:<25} {:<8} {:<15} {:<22} {:<24} {}"  # a line of `twifli keys`: key, unit, type, default, allowed, meaning

CASE_KEYS: dict[str, dict[str, Key]] = {
    "image": {
        "file": Key(str, "", "segmented image (.png, .tif, .npy, .raw), relative to the case folder"),
        "labels": Key(LABELS, "", "image value -> phase map, e.g. '0=SE,85=AM,170=CBD'"),
        "voxel_size_um": Key(NUM, "um", "voxel edge length", **_STEP_UM),
        "thickness_axis": Key(int, "", "image axis through the cathode thickness", 0, 0, 2),
        "collector_at": Key(str, "", "end of the thickness axis at the current collector", "start",
                            choices=("start", "end")),
        "crop": Key(str, "", "crop before anything else, e.g. '0:128,0:128' (file axes)"),
        "coarsen": Key(int, "", "merge n^d voxels into one (majority label)", 1, 1, 1000),
        "refine": Key(int, "", "split each voxel into n^d", 1, 1, 1000),
        "in_plane": Key(str, "", "in-plane boundaries (SPEC sect. 1)", "periodic", choices=("periodic", "no-flux")),
        "shape": Key(list, "voxels", "shape of a .raw image", None, 1, 1e9),
        "dtype": Key(str, "", "dtype of a .raw image, e.g. 'uint8' or '<u2'"),
    },
    "material": {
        "c_sat_mol_m3": Key(NUM, "mol/m^3", "pristine (fully lithiated) AM concentration", **_C),
        "diffusivity": Key(str, "", "D(c) law (SPEC sect. 2)", "anomalous",
                           choices=("anomalous", "gitt_fit", "constant", "table")),
        "D_cm2_s": Key(NUM, "cm^2/s", "D of the 'constant' law", **_D),
        "D_trace_cm2_s": Key(NUM, "cm^2/s", "D_trace of the 'anomalous' law (paper 1, eqn 5)", **_D),
        "c_max_mol_m3": Key(NUM, "mol/m^3", "c_max of eqn 5 (TWIF-Li); x = c/c_max (dense: from the density)", **_C),
        "D_cap_cm2_s": Key(NUM, "cm^2/s", "cap of eqn 5 (default 100 D_trace)", **_D),
        "table_csv": Key(str, "", "D(c) table with columns c_mol_m3, D_m2_s (or D_cm2_s), for 'table'"),
        "gitt_fit_json": Key(str, "", "gitt_fit.json of `twifli gitt`, for 'gitt_fit'"),
        "specific_capacity_mAh_g": Key(NUM, "mAh/g", "capacity defining 1C (TWIF-Li default: F c_sat V_AM)",
                                       None, 0, 4000, True, by_model=(("dense", 140.0),)),
        "am_density_g_cm3": Key(NUM, "g/cm^3", "AM density (with specific_capacity_mAh_g)", None, 0.1, 25,
                                by_model=(("dense", 5.05),)),
        "D_fast_cm2_s": Key(NUM, "cm^2/s", "in-plane D of a grain (dense)", 1.5e-9, **_D),
        "D_slow_cm2_s": Key(NUM, "cm^2/s", "D across the Li layers (dense)", 1.5e-12, **_D),
        "D_eff_cm2_s": Key(NUM, "cm^2/s", "through-thickness D the tensors are scaled to (dense)", **_D),
        "initial_stoichiometry": Key(NUM, "", "initial x = c/c_max (dense; default: charged end)", None, 0, 1),
    },
    "tortuosity": {
        "tau_e": Key(NUM, "", "electronic (AM+CBD) tortuosity factor; default: computed", None, 1, 1e4),
        "tau_Li": Key(NUM, "", "SE tortuosity factor; default: computed", None, 1, 1e4),
        "image_file": Key(str, "", "image the tortuosity factors are computed on (default: the run's)"),
        "labels": Key(LABELS, "", "label map of image_file (default: image.labels)"),
    },
    "cell": {
        "thickness_um": Key(NUM, "um", "cathode thickness (dense, generated grains)", **_LENGTH_UM),
        "width_um": Key(NUM, "um", "cathode width, periodic (dense, generated grains)", 100.0, **_LENGTH_UM),
        "depth_um": Key(NUM, "um", "cathode depth (3D; dense, generated grains)", **_LENGTH_UM),
        "separator_thickness_um": Key(NUM, "um", "solid-electrolyte separator thickness", 250.0, 0, 1e5),
        "separator_conductivity_mS_cm": Key(NUM, "mS/cm", "separator ionic conductivity", 1.0, 1e-9, 1e4),
        "counter_potential_V": Key(NUM, "V", "counter electrode potential vs Li/Li+ (Li/In: 0.62)", 0.62, -5, 5),
        "temperature_K": Key(NUM, "K", "cell temperature", 298.15, 150, 1000),
    },
    "grains": {
        "voxel_size_um": Key(NUM, "um", "voxel edge of the grain map", 1.0, **_STEP_UM),
        "grain_width_um": Key(NUM, "um", "mean width of generated columnar grains", 5.0, **_LENGTH_UM),
        "tilt_mean_deg": Key(NUM, "deg", "mean tilt of the Li layers from the thickness axis", 0.0, -180, 180),
        "tilt_spread_deg": Key(NUM, "deg", "spread of the tilts", 5.0, 0, 180),
        "pore_fraction": Key(NUM, "", "volume fraction of pores", 0.0, 0, 0.95),
        "pore_radius_um": Key(NUM, "um", "pore radius", 1.0, **_LENGTH_UM),
        "crack_count": Key(int, "", "number of cracks", 0, 0, 10000),
        "crack_length_um": Key(NUM, "um", "crack length", 5.0, 0, 1e5),
        "crack_angle_deg": Key(NUM, "deg", "crack angle from the thickness axis", 0.0, -180, 180),
        "seed": Key(int, "", "random seed of grains, pores, cracks, contacts and roughness", 0, 0, 2**32 - 1),
        "image_file": Key(str, "", "grain label image instead of generated grains"),
        "orientation_csv": Key(str, "", "label, tilt_deg (and azimuth_deg) of each grain of image_file"),
        "void_labels": Key(list, "", "labels of image_file that are pores"),
        "thickness_axis": Key(int, "", "image_file axis through the thickness", 0, 0, 2),
        "collector_at": Key(str, "", "end of the thickness axis at the current collector", "start",
                            choices=("start", "end")),
    },
    "interface": {
        "contact_fraction": Key(NUM, "", "fraction of the cathode|separator interface in contact", 1.0, 0, 1, True),
        "gap_width_um": Key(NUM, "um", "size of the non-contact zones", 20.0, **_LENGTH_UM),
        "non_contact_um": Key(list, "um", "explicit [start, stop] non-contact intervals (2D)"),
        "roughness_rms_um": Key(NUM, "um", "rms interface roughness (area factor)", 0.0, 0, 1e3),
        "roughness_correlation_um": Key(NUM, "um", "roughness correlation length", 0.4, **_LENGTH_UM),
    },
    "kinetics": {
        "exchange_current_mA_cm2": Key(NUM, "mA/cm^2", "Butler-Volmer exchange current per contact area", 0.5,
                                       0, 1e4, True),
        "alpha_a": Key(NUM, "", "anodic transfer coefficient", 0.5, 0, 1, True),
        "alpha_c": Key(NUM, "", "cathodic transfer coefficient", 0.5, 0, 1, True),
    },
    "mechanics": {  # dense cathodes: one-way chemo-mechanics (paper 2, Fig. 5c-f; drivers/dense_mechanics.py)
        "enabled": Key(bool, "", "solve the stresses at every field frame", False),
        "E_GPa": Key(NUM, "GPa", "Young's modulus of LiCoO2 (isotropic stiffness)", 150.0, 0, 1e4, True),
        "poisson_ratio": Key(NUM, "", "Poisson's ratio of LiCoO2", 0.25, -1, 0.5, True),
        "vegard_c_axis": Key(NUM, "", "c-axis strain per unit x on lithiation (Reimers & Dahn 1992)", -0.050, -1, 1),
        "vegard_a_axis": Key(NUM, "", "a-axis strain per unit x on lithiation (Reimers & Dahn 1992)", 0.005, -1, 1),
        "stiffness": Key(str, "", "grain stiffness law", "isotropic", choices=("isotropic", "transversely_isotropic")),
        "C11_GPa": Key(NUM, "GPa", "stiffness C11 in the crystal frame (transversely isotropic)", None, 0, 1e4, True),
        "C12_GPa": Key(NUM, "GPa", "stiffness C12 in the crystal frame", None, 0, 1e4, True),
        "C13_GPa": Key(NUM, "GPa", "stiffness C13 in the crystal frame", None, 0, 1e4, True),
        "C33_GPa": Key(NUM, "GPa", "stiffness C33 (along the c-axis)", None, 0, 1e4, True),
        "C44_GPa": Key(NUM, "GPa", "stiffness C44 (shear)", None, 0, 1e4, True),
        "separator": Key(str, "", "separator side: SE layer bonded at the contacts, or a free surface", "bonded",
                         choices=("bonded", "free")),
        "se_E_GPa": Key(NUM, "GPa", "Young's modulus of the SE layer", 20.0, 0, 1e4, True),
        "se_poisson_ratio": Key(NUM, "", "Poisson's ratio of the SE layer", 0.3, -1, 0.5, True),
        "se_layer_um": Key(NUM, "um", "thickness of the SE layer modelled above the cathode", 5.0, 0, 1e4, True),
        "hotspots": Key(int, "", "how many tensile hotspots the summary lists", 5, 1, 1000),
        "plot_times_h": Key(list, "h", "times of the stress maps (default: spread over the run)", None, 0, 1e8),
        "linear_tol": Key(NUM, "", "relative tolerance of the stress solve (CG + GAMG)", 1e-8, 0, 1, True),
    },
    "model": {
        "kind": Key(str, "", "which model runs the case", "twifli", choices=("twifli", "dense")),
        "normalisation": Key(str, "", "interfacial flux normalisation (SPEC sect. 3)", "conserve",
                             choices=("conserve", "literal")),
    },
    "protocol": {
        "steps": Key(list, "", "protocol lines, e.g. 'Charge at C/10 for 10 hours'"),
        "c_rate": Key(NUM, "C", "rate of steps without 'at RATE'", None, 0, 1000, True),
    },
    "output": {
        "frame_interval_s": Key(NUM, "s", "time between profile frames", 300.0, 0, 1e8, True),
        "fields_interval_s": Key(NUM, "s", "time between field (.vti) frames", 3600.0, 0, 1e8, True),
        "profile_times_h": Key(list, "h", "times of the profile plot (default: 6 evenly spaced)", None, 0, 1e5),
        "plots": Key(bool, "", "write plots/", True),
    },
    "solver": {
        "sweep_tol": Key(NUM, "", "TWIF-Li sweeps stop below this change of c/c_sat", 1e-8, 0, 0.1, True),
        "max_sweeps": Key(int, "", "TWIF-Li sweeps per time step before it is retried shorter", 30, 2, 10000),
        "linear_tol": Key(NUM, "", "relative tolerance of the TWIF-Li linear solves", 1e-12, 0, 1e-2, True),
        "dt_initial_s": Key(NUM, "s", "first time step of each protocol step", 1.0, 0, 1e7, True),
        "dt_max_s": Key(NUM, "s", "longest time step (default: frame_interval_s)", None, 0, 1e8, True),
        "max_change": Key(NUM, "", "dense: largest change of x per time step", 0.02, 0, 1, True),
    },
}


def keys_text(table: str | None = None) -> str:
    """The keys of one table (or all) as aligned text, one key per line: ``twifli keys``."""
    lines = [ROW.format("key", "unit", "type", "default", "allowed", "meaning")]
    for name in CASE_KEYS if table is None else [table]:
        lines.append(f"[{name}]")
        lines += [ROW.format(key, spec.unit or "-", spec.type_name, _defaults(spec) or "-", spec.allowed or "-",
                             spec.meaning) for key, spec in CASE_KEYS[name].items()]
    return "\n".join(lines)


def keys_markdown() -> str:
    """Every key as a Markdown table (the README's reference), generated from :data:`CASE_KEYS`."""
    rows = ["| key | unit | type | default | allowed | meaning |", "|---|---|---|---|---|---|"]
    for name, keys in CASE_KEYS.items():
        for key, spec in keys.items():
            rows.append(f"| `{name}.{key}` | {spec.unit} | {spec.type_name} | {_defaults(spec)} | "
                        f"{spec.allowed.replace('|', ', ')} | {spec.meaning} |")
    return "\n".join(rows)


def _defaults(spec: Key) -> str:
    shown = "" if spec.default is None else f"{spec.default!r}".replace("True", "true")
    for kind, value in spec.by_model:
        shown += f"{'; ' if shown else ''}{kind}: {value!r}"
    return shown
