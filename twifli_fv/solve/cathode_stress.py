"""Stresses in a dense cathode from its Li concentration (paper 2, Fig. 5c-f; SPEC sect. 6), one-way coupled.

The elastic body is the grain map with each grain's stiffness and chemical strain (:mod:`twifli_fv.model.mechanics`),
held at the current collector; ``"bonded"`` adds an SE layer joined at the contacts (README, "Chemo-mechanics",
"Boundaries").
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from twifli_fv.image.grains import GrainMap
from twifli_fv.mesh.q1 import node_shape
from twifli_fv.model.mechanics import (
    VEGARD_A_AXIS,
    VEGARD_C_AXIS,
    chemical_strain,
    crystal_frames,
    isotropic_stiffness,
    rotate_stiffness,
    transversely_isotropic_stiffness,
)
from twifli_fv.solve.elasticity import ElasticProblem, ElasticSolution, ElasticSystem


@dataclass(frozen=True)
class CathodeMechanics:
    """Elastic constants (Pa), Vegard coefficients (strain per unit ``c / c_max``) and the separator condition."""

    E_Pa: float = 150e9
    poisson_ratio: float = 0.25
    vegard_a_axis: float = VEGARD_A_AXIS
    vegard_c_axis: float = VEGARD_C_AXIS
    layered_stiffness_Pa: tuple[float, float, float, float, float] | None = None  # C11, C12, C13, C33, C44
    separator: str = "bonded"
    se_E_Pa: float = 20e9
    se_poisson_ratio: float = 0.3
    se_layer_cells: int = 5
    rtol: float = 1e-8


class CathodeStressSolver:
    """The cathode's elastic body, assembled and preconditioned once per grain map; :meth:`solve` per field."""

    def __init__(self, *, grains: GrainMap, contact: np.ndarray, settings: CathodeMechanics, c_ref_mol_m3: float,
                 c_max_mol_m3: float, comm=None) -> None:  # noqa: ANN001 - PETSc.Comm; default all ranks
        self.grains, self.settings = grains, settings
        self.c_ref, self.c_max = c_ref_mol_m3, c_max_mol_m3
        frames = crystal_frames(tilt_deg=grains.tilt_deg, azimuth_deg=grains.azimuth_deg, ndim=grains.ndim)
        if settings.layered_stiffness_Pa is None:
            grain_stiffness = isotropic_stiffness(E_Pa=settings.E_Pa, poisson_ratio=settings.poisson_ratio)[None]
        else:  # one stiffness per grain, its crystal frame's
            c11, c12, c13, c33, c44 = settings.layered_stiffness_Pa
            grain_stiffness = rotate_stiffness(transversely_isotropic_stiffness(
                C11_Pa=c11, C12_Pa=c12, C13_Pa=c13, C33_Pa=c33, C44_Pa=c44), frames)
        se = isotropic_stiffness(E_Pa=settings.se_E_Pa, poisson_ratio=settings.se_poisson_ratio)
        self.stiffness = np.concatenate([grain_stiffness, se[None]])
        se_id = len(grain_stiffness)
        material = np.where(grains.solid, 0 if settings.layered_stiffness_Pa is None else grains.grain, -1)
        if settings.separator == "bonded":
            plane = grains.shape[1:]
            gap = np.where(np.asarray(contact, dtype=bool).reshape(plane), se_id, -1)[None]
            layer = np.full((settings.se_layer_cells, *plane), se_id)
            material = np.concatenate([material, gap, layer])
        self.material = material
        self.per_unit_x = chemical_strain(frames=frames, vegard_a_axis=settings.vegard_a_axis,
                                          vegard_c_axis=settings.vegard_c_axis)
        periodic = (False,) + (True,) * (grains.ndim - 1)
        prescribed = np.full((*node_shape(material.shape, periodic), grains.ndim), np.nan)
        prescribed[0] = 0.0  # the current collector
        self.system = ElasticSystem(ElasticProblem(material, self.stiffness, grains.voxel_size_m, periodic, prescribed),
                                    rtol=settings.rtol, comm=comm)

    def solve(self, c_mol_m3: np.ndarray) -> ElasticSolution:
        """Stresses for the concentration ``c_mol_m3`` (one value per cathode voxel); ``stress_Pa`` of the cathode."""
        grains = self.grains
        x = (np.asarray(c_mol_m3, dtype=float).reshape(grains.shape) - self.c_ref) / self.c_max
        eigen = np.zeros((*self.material.shape, 6))
        eigen[: grains.shape[0]][grains.solid] = self.per_unit_x[grains.grain[grains.solid]] * x[grains.solid, None]
        solution = self.system.solve(eigen)
        return replace(solution, stress_Pa=solution.stress_Pa[: grains.shape[0]])
