"""Axis labels from key names, which carry their unit (SPEC units rule): a name and its unit (``D_trace (cm^2/s)``)."""

from __future__ import annotations

import re

# unit suffixes of case keys and summary numbers, longest first, as written on an axis
UNITS = (
    ("_mol_m3", "mol/m^3"), ("_cm2_s", "cm^2/s"), ("_m2_s", "m^2/s"), ("_mA_cm2", "mA/cm^2"), ("_mAh_cm2", "mAh/cm^2"),
    ("_mAh_g", "mAh/g"), ("_mS_cm", "mS/cm"), ("_g_cm3", "g/cm^3"), ("_mg_cm2", "mg/cm^2"), ("_Wh_kg", "Wh/kg"),
    ("_Wh_L", "Wh/L"), ("_A_m2", "A/m^2"), ("_C_m2", "C/m^2"), ("_mol_m2", "mol/m^2"), ("_ohm_cm2", "ohm cm^2"),
    ("_mol", "mol"), ("_m3", "m^3"), ("_m2", "m^2"), ("_um", "um"), ("_deg", "deg"), ("_K", "K"), ("_V", "V"),
    ("_C", "C"), ("_h", "h"), ("_s", "s"),
)
NAMES = {  # keys without a unit in their name: what they are
    "c_rate": "C-rate (1/h)",
    "tau_e": "tau_e (electronic tortuosity factor)",
    "tau_Li": "tau_Li (ionic tortuosity factor)",
    "end_mean_depletion": "mean depletion at the end, 1 - c/c_sat (AM-weighted)",
    "end_spread_c_norm": "spread of c/c_sat at the end (max - min over rows)",
    "mean_c_norm_end": "mean c/c_sat at the step end (AM-weighted)",
    "contact_fraction": "contact fraction",
    "pore_fraction": "pore fraction",
    "initial_stoichiometry": "initial stoichiometry x",
    "am_volume_fraction": "AM volume fraction",
    "crack_count": "number of cracks",
    "max_change": "largest change of c/c_sat per step",
}


def axis_label(key: str) -> str:
    """``material.D_trace_cm2_s`` -> ``D_trace (cm^2/s)``; ``step2_duration_s`` -> ``step 2: duration (s)``."""
    name = key.rpartition(".")[2]
    step = re.fullmatch(r"step(\d+)_(.+)", name)
    if step:
        return f"step {step.group(1)}: {axis_label(step.group(2))}"
    if name in NAMES:
        return NAMES[name]
    for suffix, unit in UNITS:
        if name.endswith(suffix) and len(name) > len(suffix):
            return f"{_words(name[: -len(suffix)])} ({unit})"
    return _words(name)


def _words(stem: str) -> str:
    """A symbol with a subscript (``D_trace``, ``tau_e``) stays as it is; a phrase gets its spaces."""
    if re.fullmatch(r"[A-Za-z]_[A-Za-z]+", stem) or stem.startswith("tau_"):
        return stem
    return stem.replace("_", " ")
