"""Interfacial kinetics laws on the active (AM|SE) interfaces, one small class each.

A law gives the dimensionless weight ``W(c)`` of SPEC sect. 3 and a linearisation
``W ~ p + q c`` about the latest iterate ``c*``. Far from the bound it is Newton's tangent
(quadratic convergence of the sweeps); within ``NEWTON_ZONE`` of the bound (c -> 0 on charge,
c -> c_sat on discharge) it is the chord through the bound, which keeps every implicit step
inside [0, c_sat]: on charge ``W ~ (w1 / sqrt(c* c_sat)) c``, on discharge
``W ~ (1 - c / c_sat) / sqrt(1 - c*/c_sat)``. Both are exact once the sweeps converge (c = c*).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twifli_fv.model.weights import w2, w2_complement

FLOOR = 1e-12  # smallest c/c_sat (charge) or 1 - c/c_sat (discharge) used in the linearisation
NEWTON_ZONE = 0.1  # distance from the bound (in c/c_sat) beyond which the tangent is used


@dataclass(frozen=True)
class TwifliCharge:
    """Delithiation: ``W = w1(y) w2(c)`` (paper 1, eqns 2-4). Li leaves the AM."""

    w1: np.ndarray
    c_sat: float
    sign: int = -1
    kind: str = "charge"

    def weight(self, c: np.ndarray) -> np.ndarray:
        return self.w1 * w2(c, c_sat=self.c_sat)

    def linearised(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = np.maximum(c / self.c_sat, FLOOR)
        root = np.sqrt(u)
        tangent = u > NEWTON_ZONE
        p = np.where(tangent, 0.5 * self.w1 * root, 0.0)
        q = np.where(tangent, 0.5, 1.0) * self.w1 / (root * self.c_sat)
        return p, q


@dataclass(frozen=True)
class TwifliDischarge:
    """Lithiation: ``W = sqrt(1 - c / c_sat)``, the complement of w2, no w1 (paper 1; SPEC sect. 3)."""

    c_sat: float
    sign: int = 1
    kind: str = "discharge"

    def weight(self, c: np.ndarray) -> np.ndarray:
        return w2_complement(c, c_sat=self.c_sat)

    def linearised(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        room = np.maximum(1.0 - c / self.c_sat, FLOOR)
        root = np.sqrt(room)
        tangent = room > NEWTON_ZONE
        p = np.where(tangent, (1.0 + room) / (2.0 * root), 1.0 / root)
        q = -np.where(tangent, 0.5, 1.0) / (root * self.c_sat)
        return p, q
