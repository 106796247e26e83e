"""The dense-cathode model (paper 2, Figs 2-4 and 6b; SPEC sect. 6): oriented LiCoO2 grains with
per-cell diffusion tensors, Butler-Volmer kinetics on the contacts with the separator, separator
resistance and counter electrode. Per backward-Euler step (:mod:`twifli_fv.solve.dense`)::

    V (c_new - c_old) / dt = L c_new + E N          N_f: Li flow into contact cell f (mol s^-1)
    N_f = -A_f i_BV(i0, Phi - U(x_f)) / F           x_f = c_s,f / c_max, A_f its reactive area
    sum_f N_f = +/- i_app A_cc / F                  galvanostatic (+ on discharge)
    V_cell = U + eta - i_cell R_sep - E_counter     (i_cell > 0 on discharge)

``L`` is the two-point anisotropic diffusion operator (:mod:`twifli_fv.solve.anisotropic_diffusion`),
``c_s,f = c_f + N_f (h / 2) / (A_face D_00)`` the surface value (half a cell of diffusion), ``Phi`` the one
cathode potential against the electrolyte (README, "Dense cathodes"), ``R_sep = L_sep / kappa_sep`` and
``E_counter`` the counter electrode's potential vs Li.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twifli_fv.errors import InputError
from twifli_fv.image.grains import GrainMap
from twifli_fv.model.butler_volmer import ButlerVolmer
from twifli_fv.model.ocp import LcoOcpDualfoil


@dataclass(frozen=True)
class DenseModel:
    """The dense cell: grain map with per-cell tensors (m^2 s^-1), contacts, kinetics, separator, counter electrode."""

    grains: GrainMap
    tensor: np.ndarray  # (*shape, d, d)
    contact: np.ndarray  # bool, in-plane shape: the top surface touches the separator
    area_factor: np.ndarray  # true / projected area of each top-surface cell (roughness)
    c_max_mol_m3: float
    kinetics: ButlerVolmer
    ocp: LcoOcpDualfoil = LcoOcpDualfoil()
    separator_resistance_ohm_m2: float = 0.0
    counter_potential_V: float = 0.0
    am_density_kg_m3: float = 5050.0

    def __post_init__(self) -> None:
        if not np.any(self.reactive_top):
            raise InputError("dense cell: no solid cathode cell touches the separator (check contact and pores)")

    @property
    def collector_area_m2(self) -> float:
        return self.grains.collector_area_m2

    @property
    def am_mass_kg(self) -> float:
        return float(np.count_nonzero(self.grains.solid)) * self.grains.cell_volume_m3 * self.am_density_kg_m3

    @property
    def reactive_top(self) -> np.ndarray:
        return self.contact & self.grains.solid[-1]

    def mean_x(self, c: np.ndarray) -> float:
        """Mean x = c / c_max over the solid cells (the dense model's state of lithiation)."""
        return float(c[self.grains.solid.ravel()].mean()) / self.c_max_mol_m3
