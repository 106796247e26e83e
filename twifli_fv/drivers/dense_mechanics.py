"""One-way chemo-mechanics of a dense run (``[mechanics]`` in a dense case; paper 2, Fig. 5c-f, S9-S10).

At every field frame of the dense run the Li concentration gives the stresses
(:class:`~twifli_fv.solve.cathode_stress.CathodeStressSolver`; the reference state is the run's initial
concentration, SPEC sect. 6), written into the frame's ``.vti`` (MPa); at the end ``summary.json`` gains the
:data:`QUANTITIES` and a ``mechanics`` block and ``plots/stress_maps.png`` shows x, sigma_x and sigma_y (Fig. 5d-f).
Outputs: README, "Chemo-mechanics"; keys, ranges and defaults (the SE's those of a sulfide): :mod:`twifli_fv.case_keys`.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from twifli_fv.case import Case
from twifli_fv.errors import InputError
from twifli_fv.model.dense import DenseModel
from twifli_fv.outputs.stress import feature_map, hotspots, peak_by_feature, plot_stress_maps, stress_fields
from twifli_fv.solve.cathode_stress import CathodeMechanics, CathodeStressSolver

GPA = 1e9
LAYERED_KEYS = ("C11_GPa", "C12_GPa", "C13_GPa", "C33_GPa", "C44_GPa")
QUANTITIES = ("peak_tensile_stress_MPa", "peak_uneven_tensile_stress_MPa")  # summary numbers a sweep can map


def mechanics_settings(case: Case, voxel_size_m: float) -> CathodeMechanics | None:
    """The case's ``[mechanics]`` table (checked with the case) as settings; None when absent or not enabled."""
    get = partial(case.get, "mechanics")
    if not get("enabled"):
        return None
    layered = None
    if get("stiffness") == "transversely_isotropic":
        missing = [k for k in LAYERED_KEYS if get(k) is None]
        if missing:
            raise InputError(f"{case.directory / case.file}: [mechanics] stiffness = 'transversely_isotropic' needs "
                             f"{', '.join(missing)}")
        layered = tuple(get(k) * GPA for k in LAYERED_KEYS)
    return CathodeMechanics(
        E_Pa=get("E_GPa") * GPA, poisson_ratio=get("poisson_ratio"), vegard_a_axis=get("vegard_a_axis"),
        vegard_c_axis=get("vegard_c_axis"), layered_stiffness_Pa=layered, separator=get("separator"),
        se_E_Pa=get("se_E_GPa") * GPA, se_poisson_ratio=get("se_poisson_ratio"),
        se_layer_cells=max(1, round(get("se_layer_um") * 1e-6 / voxel_size_m)), rtol=get("linear_tol"))


class MechanicsRecorder:
    """Stresses at each field frame of a dense run; :meth:`frame_fields` per frame, :meth:`finish` once.

    Each frame is solved twice: with the concentration itself (the stress of the run) and with it less its mean
    over the cathode (the part due to uneven lithiation alone; stresses are linear in ``c``, so the rest is the
    stress of a uniform lithiation to the frame's mean, the same at every C-rate for the same capacity).
    """

    def __init__(self, case: Case, *, model: DenseModel, c_initial: np.ndarray, settings: CathodeMechanics) -> None:
        self.case, self.grains, self.settings, self.c_max = case, model.grains, settings, model.c_max_mol_m3
        self.c_ref = float(np.mean(c_initial[self.grains.solid.ravel()]))
        self.solver = CathodeStressSolver(grains=self.grains, contact=model.contact, settings=settings,
                                          c_ref_mol_m3=self.c_ref, c_max_mol_m3=self.c_max)
        self.features = feature_map(self.grains, model.contact)
        self.frames: list[dict] = []
        self.maps: list[tuple[float, np.ndarray, np.ndarray, np.ndarray]] = []
        self.peaks: dict[str, tuple[float, float, np.ndarray]] = {}  # part -> (MPa, time_s, stress)
        self.iterations = 0
        self.solver_name = ""

    def frame_fields(self, c_mol_m3: np.ndarray, time_s: float) -> dict[str, np.ndarray]:
        """Stress cell data (MPa) for the ``.vti`` of the frame at ``time_s``; records its tensile peaks."""
        solid = self.grains.solid
        c = np.asarray(c_mol_m3, dtype=float).reshape(self.grains.shape)
        frame: dict = {"time_s": time_s, "mean_x": float(np.mean(c[solid]) / self.c_max)}
        fields: dict[str, np.ndarray] = {}
        for part, field in (("", c), ("uneven_", c - np.mean(c[solid]) + self.c_ref)):
            result = self.solver.solve(field)
            self.iterations += result.iterations
            self.solver_name = result.solver
            stress = stress_fields(result.stress_Pa)
            where = int(np.nanargmax(stress["max_principal_MPa"]))
            peak = float(stress["max_principal_MPa"].flat[where])
            frame |= {f"peak_{part}tensile_stress_MPa": peak, f"{part}feature": str(self.features.flat[where])}
            if part not in self.peaks or peak > self.peaks[part][0]:
                self.peaks[part] = (peak, time_s, result.stress_Pa)
            fields |= {"max_principal_uneven_MPa": stress["max_principal_MPa"]} if part else stress
        self.frames.append(frame)
        x = np.where(solid, c / self.c_max, np.nan)
        middle = (slice(None), slice(None)) + ((self.grains.shape[-1] // 2,) if self.grains.ndim == 3 else ())
        self.maps.append((time_s, x[middle], fields["sigma_xx_MPa"][middle], fields["sigma_yy_MPa"][middle]))
        return fields

    def finish(self, out: Path, *, plots: bool) -> dict:
        """Plots (when ``plots``) and the summary entries: the :data:`QUANTITIES` and ``mechanics``."""
        if not self.peaks:
            return {}
        settings, voxel_size_m = self.settings, self.grains.voxel_size_m
        if plots:
            wanted = self.case.get("mechanics", "plot_times_h")
            times = np.array([m[0] for m in self.maps])
            chosen = (sorted({int(np.argmin(np.abs(times - 3600 * t))) for t in wanted}) if wanted
                      else sorted(set(np.linspace(0, len(times) - 1, min(4, len(times))).round().astype(int))))
            title = f"{self.case.directory.name}: x, sigma_x, sigma_y (tension positive)"
            plot_stress_maps(out / "plots" / "stress_maps.png", [self.maps[i] for i in chosen],
                             voxel_size_m=voxel_size_m, title=title)
        count = self.case.get("mechanics", "hotspots")
        report = {}
        for part, (peak, when, stress) in self.peaks.items():
            report[f"{part}peak_time_s"] = when
            report[f"{part}hotspots"] = hotspots(stress, self.features, voxel_size_m=voxel_size_m, count=count)
            report[f"{part}peak_by_feature_MPa"] = peak_by_feature(stress, self.features)
        return {
            QUANTITIES[0]: self.peaks[""][0],
            QUANTITIES[1]: self.peaks["uneven_"][0],
            "mechanics": report | {
                "frames": self.frames,
                "settings": {"E_GPa": settings.E_Pa / GPA, "poisson_ratio": settings.poisson_ratio,
                             "layered_stiffness_GPa": None if settings.layered_stiffness_Pa is None
                             else [v / GPA for v in settings.layered_stiffness_Pa],
                             "vegard_a_axis": settings.vegard_a_axis, "vegard_c_axis": settings.vegard_c_axis,
                             "separator": settings.separator, "se_E_GPa": settings.se_E_Pa / GPA,
                             "se_layer_cells": settings.se_layer_cells},
                "solver": {"linear_solver": self.solver_name, "cg_iterations": self.iterations},
                "note": "one-way coupled, plane strain in 2D, tension positive; reference state the initial "
                        "concentration; 'uneven_': the stress of c less its mean over the cathode (uneven lithiation "
                        "alone); hotspots at the frame of each peak; frames of this invocation only when resumed",
            },
        }
