"""Interfacial kinetics laws on the active (AM|SE) interfaces, one small class each.

A law gives the dimensionless weight ``W(c)`` of SPEC sect. 3 and a linearisation
``W ~ p + q c`` about the latest iterate ``c*``: ``q = theta W* / (c* - c_b)``, ``p = W* - q c*``, the
line through ``(c*, W*)`` whose slope runs from Newton's tangent (``theta = 1/2``: quadratic
convergence of the sweeps) to the chord through the bound ``c_b`` (``theta = 1``: c -> 0 on charge,
c -> c_sat on discharge). ``budget`` (per cell, in units of W) is what the constant part ``(1 - theta) W*``
may take out of a cell's room ``c_old - c_b`` in one step: the smallest theta >= 1/2 within it keeps the
right-hand side of the M-matrix system inside the bounds, hence every implicit sweep inside [0, c_sat].
Every choice is exact once the sweeps converge (c = c*).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twifli_fv.model.weights import w2, w2_complement

FLOOR = 1e-12  # smallest c/c_sat (charge) or 1 - c/c_sat (discharge) used in the linearisation


def _theta(weight: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """Slope fraction: 1/2 (tangent) where the budget allows it, up to 1 (chord through the bound)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = 1.0 - budget / weight
    return np.clip(np.nan_to_num(theta, nan=1.0, posinf=1.0, neginf=0.5), 0.5, 1.0)


@dataclass(frozen=True)
class TwifliCharge:
    """Delithiation: ``W = w1(y) w2(c)`` (paper 1, eqns 2-4). Li leaves the AM."""

    w1: np.ndarray
    c_sat: float
    sign: int = -1
    kind: str = "charge"

    def weight(self, c: np.ndarray) -> np.ndarray:
        return self.w1 * w2(c, c_sat=self.c_sat)

    def room(self, c: np.ndarray) -> np.ndarray:
        """Distance to the bound the flux drives c towards (mol m^-3)."""
        return c

    def slope(self, c: np.ndarray) -> np.ndarray:
        """dW/dc (floored near the bound)."""
        u = np.maximum(c / self.c_sat, FLOOR)
        return 0.5 * self.w1 / (np.sqrt(u) * self.c_sat)

    def linearised(self, c: np.ndarray, budget: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = np.maximum(c / self.c_sat, FLOOR)
        root = np.sqrt(u)
        theta = _theta(self.w1 * root, budget)
        q = theta * self.w1 / (root * self.c_sat)
        return self.weight(c) - q * c, q  # exact at c even where c/c_sat < FLOOR (or c < 0 by round-off)


@dataclass(frozen=True)
class TwifliDischarge:
    """Lithiation: ``W = sqrt(1 - c / c_sat)``, the complement of w2, no w1 (paper 1; SPEC sect. 3)."""

    c_sat: float
    sign: int = 1
    kind: str = "discharge"

    def weight(self, c: np.ndarray) -> np.ndarray:
        return w2_complement(c, c_sat=self.c_sat)

    def room(self, c: np.ndarray) -> np.ndarray:
        return self.c_sat - c

    def slope(self, c: np.ndarray) -> np.ndarray:
        room = np.maximum(1.0 - c / self.c_sat, FLOOR)
        return -0.5 / (np.sqrt(room) * self.c_sat)

    def linearised(self, c: np.ndarray, budget: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        room = np.maximum(1.0 - c / self.c_sat, FLOOR)
        root = np.sqrt(room)
        theta = _theta(root, budget)
        q = -theta / (root * self.c_sat)
        return self.weight(c) - q * c, q  # exact at c even where 1 - c/c_sat < FLOOR (or c > c_sat by round-off)
