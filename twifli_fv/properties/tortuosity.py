"""Tortuosity factor: the steady-diffusion problem and its result (SPEC sect. 4, TauFactor's convention).

Steady diffusion with unit bulk diffusivity in one phase, ``c = 1`` on the phase's faces of ``y = 0`` and ``c = 0``
on those of ``y = H``, no flux elsewhere; with the steady flux ``Q`` through a cross-section ``A`` (voxel units):

    D_eff = Q H / (A (c_top - c_bottom)),   tau = eps / D_eff,

``eps`` the phase's volume fraction of the whole image (README, "Conventions and choices").
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

C_IN, C_OUT = 1.0, 0.0  # c on the phase's faces of y = 0 and of y = H
G_BOUNDARY = 2.0  # conductance from a boundary cell's centre to its Dirichlet face (half a voxel)

@dataclass(frozen=True)
class TortuosityResult:
    """Through-thickness (or along ``axis``) transport factors of one phase; ``tau`` None: no percolation (infinite)."""

    volume_fraction: float
    percolating_fraction: float
    D_eff: float
    tau: float | None
    axis: int = 0
    iterations: int = 0
    flux_mismatch: float = 0.0  # |Q_in - Q_out| / Q_in, a check on the linear solve

    @property
    def percolates(self) -> bool:
        return self.tau is not None

    def to_dict(self) -> dict:
        return asdict(self)


def tortuosity_from_flux(*, flux: float, volume_fraction: float, length: int, area: int) -> tuple[float, float | None]:
    """``(D_eff, tau)`` from the steady flux in voxel units (unit concentration drop)."""
    d_eff = flux * length / (area * (C_IN - C_OUT))
    if not d_eff > 0 or not math.isfinite(d_eff):
        return 0.0, None
    return d_eff, volume_fraction / d_eff
