"""Open-circuit potential of LiCoO2 against Li/Li+ (paper 2's cathode; SPEC sect. 6).

The fit of Newman's Dualfoil 5.1 (measured by O. Garcia for 0.5 < x < 0.99, refitted by K. Thomas to
Doyle's data below 0.4) with the stoichiometry stretched by 1.062, as PyBaMM ships it
(``lico2_ocp_Dualfoil1998``, Marquis et al. 2019 parameter set). Its knee at x ~ 0.97 ends a discharge.
``x`` is the lithium fraction of Li_x CoO2, ``c / c_max``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# (amplitude, slope, offset): U = 2.16216 + sum a tanh(b + c x), for x already stretched
_TERMS = ((0.07645, 30.834, -54.4806), (2.1581, 52.294, -50.294), (-0.14169, 11.0923, -19.8543),
          (0.2051, 1.4684, -5.4888), (0.2531, 0.56478 / 0.1316, -1 / 0.1316), (-0.02167, -0.525 / 0.006, 1 / 0.006))


@dataclass(frozen=True)
class LcoOcpDualfoil:
    """``U(x)`` in V vs Li/Li+ and ``dU/dx``; vectorised."""

    stretch: float = 1.062
    name: str = "LiCoO2, Dualfoil 5.1 fit (PyBaMM lico2_ocp_Dualfoil1998)"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        s = self.stretch * np.asarray(x, dtype=float)
        return 2.16216 + sum(a * np.tanh(b + c * s) for a, b, c in _TERMS)

    def derivative(self, x: np.ndarray) -> np.ndarray:
        s = self.stretch * np.asarray(x, dtype=float)
        return self.stretch * sum(a * c * (1.0 - np.tanh(b + c * s) ** 2) for a, b, c in _TERMS)
