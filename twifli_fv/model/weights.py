"""TWIF-Li weighting factors (paper 1, eqns 2-4; SPEC sect. 3)."""

from __future__ import annotations

import numpy as np


def w1(y_m: np.ndarray, *, thickness_m: float, tau_e: float, tau_li: float) -> np.ndarray:
    """Eqn 3: ``2 [1 - (tau_e d_cc - tau_Li d_SE)^2 / (tau_max H)^2]`` with ``d_cc = y``, ``d_SE = H - y``."""
    d_cc = np.asarray(y_m, dtype=float)
    d_se = thickness_m - d_cc
    tau_max = max(tau_e, tau_li)
    return 2.0 * (1.0 - (tau_e * d_cc - tau_li * d_se) ** 2 / (tau_max * thickness_m) ** 2)


def w2(c: np.ndarray, *, c_sat: float) -> np.ndarray:
    """Eqn 4: ``sqrt(c / c_sat)``, the Li available for delithiation (charge)."""
    return np.sqrt(np.clip(c / c_sat, 0.0, None))


def w2_complement(c: np.ndarray, *, c_sat: float) -> np.ndarray:
    """Discharge weight ``sqrt(1 - c / c_sat)``: room left for lithiation (SPEC sect. 3)."""
    return np.sqrt(np.clip(1.0 - c / c_sat, 0.0, None))
