"""Interfacial kinetics laws on the active (AM|SE) interfaces, one small class each.

A law gives the dimensionless weight ``W(c)`` of SPEC sect. 3 and a linearisation
``W ~ p + q c`` about the latest iterate that keeps the implicit step positive and bounded:
on charge ``W = w1 sqrt(c / c_sat) ~ (w1 / sqrt(c* c_sat)) c`` (Li leaves, rate -> 0 as c -> 0);
on discharge ``W = sqrt(1 - c / c_sat) ~ (1 - c / c_sat) / sqrt(1 - c*/c_sat)`` (Li enters, rate
-> 0 as c -> c_sat). Both are exact once the nonlinear sweeps have converged (c = c*).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twifli_fv.model.weights import w2, w2_complement

FLOOR = 1e-12  # smallest c/c_sat (charge) or 1 - c/c_sat (discharge) used in the linearisation


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
        return np.zeros_like(u), self.w1 / (np.sqrt(u) * self.c_sat)


@dataclass(frozen=True)
class TwifliDischarge:
    """Lithiation: ``W = sqrt(1 - c / c_sat)``, the complement of w2, no w1 (paper 1; SPEC sect. 3)."""

    c_sat: float
    sign: int = 1
    kind: str = "discharge"

    def weight(self, c: np.ndarray) -> np.ndarray:
        return w2_complement(c, c_sat=self.c_sat)

    def linearised(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        root = np.sqrt(np.maximum(1.0 - c / self.c_sat, FLOOR))
        return 1.0 / root, -1.0 / (root * self.c_sat)
