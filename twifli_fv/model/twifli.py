"""The TWIF-Li model (paper 1, eqns 1-5; SPEC sect. 2-3): what the transient solve needs, and its equation.

In the active material (AM), with the interfacial flux on the AM|SE faces as the source of each AM cell ij
(:func:`interfacial_source`; ``sign`` -1 on charge, Li leaving the AM, and +1 on discharge)::

    dc/dt = div(D(c) grad c) + q                                       (eqn 1, D(c) of eqn 5)
    q_ij = sign * J0 * W_ij * s_ij / V * f            J0 = i_app A_cc / (F S)          (eqns 1-2)
    W = w1(y) w2(c) on charge (eqns 3-4), sqrt(1 - c / c_sat) on discharge
    f = S / sum(W s) ("conserve", SPEC sect. 3) or 1 ("literal")

:mod:`twifli_fv.solve.twifli` solves it implicitly; :mod:`twifli_fv.solve.fipy_reference` states it as FiPy terms.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from twifli_fv.errors import InputError
from twifli_fv.image.phases import Phase
from twifli_fv.mesh.grid import CathodeMesh
from twifli_fv.model.constants import FARADAY
from twifli_fv.model.kinetics import TwifliCharge, TwifliDischarge, w1
from twifli_fv.ranks import ONE, Ranks

EXHAUSTED = 1e-2  # a step ends when sum(W s) / S falls below this: no interface can react
NORMALISATIONS = ("conserve", "literal")


@dataclass(frozen=True)
class Drive:
    """What the interface does during a step: a kinetics law at an applied current density (or rest)."""

    kind: str  # "charge", "discharge", "rest"
    current_density_A_m2: float = 0.0


@dataclass(frozen=True)
class TwifliModel:
    """Mesh, D(c), c_sat, tortuosity factors and flux normalisation; concentrations in mol m^-3, SI throughout."""

    mesh: CathodeMesh
    diffusivity: Callable[[np.ndarray], np.ndarray]
    c_sat_mol_m3: float
    tau_e: float
    tau_li: float
    normalisation: str = "conserve"  # or "literal" (SPEC sect. 3)

    def __post_init__(self) -> None:
        if self.normalisation not in NORMALISATIONS:
            raise InputError(f"normalisation {self.normalisation!r}: use 'conserve' or 'literal'")
        lowest = 1 - 1e-9  # a straight path computes to 1 within rounding
        if not (self.tau_e >= lowest and self.tau_li >= lowest and math.isfinite(self.tau_e) and math.isfinite(self.tau_li)):
            raise InputError(f"tortuosity factors must be finite and >= 1 (tau_e={self.tau_e}, tau_Li={self.tau_li})")

    @property
    def am(self) -> np.ndarray:
        return self.mesh.phase == Phase.AM

    @property
    def collector_area_m2(self) -> float:
        """Projected current-collector area A_cc of the domain (m^2; m per m of depth in 2D)."""
        return self.mesh.image.collector_area_m2

    @property
    def am_volume_m3(self) -> float:
        """AM volume of the whole grid (all ranks)."""
        return self.mesh.am_total * self.mesh.cell_volume_m3

    def w1(self) -> np.ndarray:
        """Eqn 3 per cell."""
        return w1(self.mesh.y_m, thickness_m=self.mesh.image.thickness_m, tau_e=self.tau_e, tau_li=self.tau_li)

    def law(self, drive: Drive, *, w1_active: np.ndarray) -> TwifliCharge | TwifliDischarge | None:
        """The kinetics law of ``drive`` on the active cells (``w1_active``: eqn 3 there); None at rest."""
        if drive.kind == "charge":
            return TwifliCharge(w1=w1_active, c_sat=self.c_sat_mol_m3)
        if drive.kind == "discharge":
            return TwifliDischarge(c_sat=self.c_sat_mol_m3)
        return None

    def base_flux(self, drive: Drive, *, total_area_m2: float) -> float:
        """J0 = i_app A_cc / (z F S), mol m^-2 s^-1 (eqn 2, z = 1); 0 at rest."""
        if drive.kind == "rest":
            return 0.0
        return drive.current_density_A_m2 * self.collector_area_m2 / (FARADAY * total_area_m2)


@dataclass(frozen=True)
class InterfacialFlux:
    """The interfacial source at one iterate, on the active cells (see :func:`interfacial_source`)."""

    sign: int  # -1 charge (Li leaves the AM), +1 discharge
    weight: np.ndarray  # W
    total: float  # sum(W s), m^2
    amplitude: np.ndarray  # f J0 s / V, mol m^-3 s^-1; q = sign * amplitude * W


def interfacial_source(law: TwifliCharge | TwifliDischarge, c: np.ndarray, *, j0: float, area_m2: np.ndarray,
                       volume_m3: float, normalisation: str, ranks: Ranks = ONE) -> InterfacialFlux:
    """Eqns 1-2 with the SPEC's normalisation: ``q = sign * f * J0 * W(c) * s / V`` on the active cells
    (this rank's; the sums of ``f`` run over the active cells of all ``ranks``)."""
    weight = law.weight(c)  # W = w1 w2 on charge, sqrt(1 - c / c_sat) on discharge
    conserve = normalisation == "conserve" and j0 != 0.0
    sums = ranks.sum(np.array([np.sum(weight * area_m2), np.sum(area_m2)])) if conserve else (1.0, 1.0)
    total = float(sums[0])
    factor = float(sums[1]) / total if conserve else 1.0  # f = S / sum(W s)
    return InterfacialFlux(sign=law.sign, weight=weight, total=total, amplitude=factor * j0 * area_m2 / volume_m3)
