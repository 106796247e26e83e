"""Interfacial kinetics laws on the active (AM|SE) interfaces, one small class each, and the TWIF-Li
weighting factors (paper 1, eqns 2-4; SPEC sect. 3).

A law gives the dimensionless weight ``W(c)`` of SPEC sect. 3 and its slope ``dW/dc`` for :func:`linearise`,
finite (that at ``FLOOR``) near the bound (c = 0 on charge, c = c_sat on discharge).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FLOOR = 1e-12  # smallest c/c_sat (charge) or 1 - c/c_sat (discharge) used in the slope


def w1(y_m: np.ndarray, *, thickness_m: float, tau_e: float, tau_li: float) -> np.ndarray:
    """Eqn 3: ``2 [1 - (tau_e d_cc - tau_Li d_SE)^2 / (tau_max H)^2]`` with ``d_cc = y``, ``d_SE = H - y``."""
    d_cc = np.asarray(y_m, dtype=float)
    d_se = thickness_m - d_cc
    tau_max = max(tau_e, tau_li)
    return 2.0 * (1.0 - (tau_e * d_cc - tau_li * d_se) ** 2 / (tau_max * thickness_m) ** 2)


@dataclass(frozen=True)
class TwifliCharge:
    """Delithiation: ``W = w1(y) w2(c)`` (paper 1, eqns 2-4). Li leaves the AM."""

    w1: np.ndarray
    c_sat: float
    sign: int = -1

    def weight(self, c: np.ndarray) -> np.ndarray:
        """``w1 w2`` with eqn 4: ``w2 = sqrt(c / c_sat)``, the Li available for delithiation."""
        return self.w1 * np.sqrt(np.clip(c / self.c_sat, 0.0, None))

    def slope(self, c: np.ndarray) -> np.ndarray:
        """dW/dc (floored near the bound)."""
        u = np.maximum(c / self.c_sat, FLOOR)
        return 0.5 * self.w1 / (np.sqrt(u) * self.c_sat)


@dataclass(frozen=True)
class TwifliDischarge:
    """Lithiation: ``W = sqrt(1 - c / c_sat)``, the complement of w2, no w1 (paper 1; SPEC sect. 3)."""

    c_sat: float
    sign: int = 1

    def weight(self, c: np.ndarray) -> np.ndarray:
        """``sqrt(1 - c / c_sat)``: room left for lithiation."""
        return np.sqrt(np.clip(1.0 - c / self.c_sat, 0.0, None))

    def slope(self, c: np.ndarray) -> np.ndarray:
        """dW/dc (floored near the bound)."""
        room = np.maximum(1.0 - c / self.c_sat, FLOOR)
        return -0.5 / (np.sqrt(room) * self.c_sat)


def linearise(law: TwifliCharge | TwifliDischarge, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Newton's tangent ``W ~ p + q c`` at ``c``: ``(p, q)``; ``law.sign * q <= 0``, so the implicit part of the
    flux always damps (an M-matrix system)."""
    q = law.slope(c)
    return law.weight(c) - q * c, q
