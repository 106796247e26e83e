"""Butler-Volmer kinetics of the cathode|separator contacts (paper 2, ESI S3; SPEC sect. 6).

Current density positive when anodic (delithiation, charge)::

    i = i0(x) [exp(alpha_a f eta) - exp(-alpha_c f eta)],   f = F / (R T),   eta = phi_s - phi_e - U(x)

with a constant exchange current density ``i0`` per true contact area (not Doyle-Newman's
``i0 ~ sqrt(x (1 - x))``, README "Kinetics and voltage").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twifli_fv.model.constants import FARADAY, GAS_CONSTANT


@dataclass(frozen=True)
class ButlerVolmer:
    """The rate law and its derivative in ``eta``; SI (A m^-2, V, K)."""

    exchange_current_A_m2: float  # i0
    alpha_a: float = 0.5
    alpha_c: float = 0.5
    temperature_K: float = 298.15

    @property
    def f(self) -> float:
        return FARADAY / (GAS_CONSTANT * self.temperature_K)

    def current(self, i0: np.ndarray, eta: np.ndarray) -> np.ndarray:
        """Anodic-positive current density for exchange current ``i0`` and overpotential ``eta``."""
        eta = np.asarray(eta, dtype=float)
        return i0 * (np.exp(self.alpha_a * self.f * eta) - np.exp(-self.alpha_c * self.f * eta))

    def d_current_d_eta(self, i0: np.ndarray, eta: np.ndarray) -> np.ndarray:
        eta = np.asarray(eta, dtype=float)
        f = self.f
        return i0 * f * (self.alpha_a * np.exp(self.alpha_a * f * eta) + self.alpha_c * np.exp(-self.alpha_c * f * eta))
