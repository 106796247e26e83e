"""Per-grain diffusion tensors of layered LiCoO2 from D_fast, D_slow and an orientation (paper 2, Fig 2a-c, 4a).

Li moves fast within the CoO2 layers and slowly across them (the unit c axis ``n``, normal to the Li-blocking
(003) facets; SPEC sect. 6): ``D = D_fast (I - n n) + D_slow n n`` in image axes. ``tilt`` is the angle of the Li
layers from the thickness direction: 0 puts them (fast) through the thickness (paper 2, Fig 3a-b), 90 parallel to
the current collector (Li-blocking, Fig S6); in 3D ``azimuth`` turns the c axis about the thickness axis.
"""

from __future__ import annotations

import logging

import numpy as np

from twifli_fv.errors import InputError

log = logging.getLogger(__name__)


def c_axis(*, tilt_deg: np.ndarray, azimuth_deg: np.ndarray | float = 0.0, ndim: int = 2) -> np.ndarray:
    """Unit c axes (..., ndim) in image axes for layer tilts (and azimuths in 3D), in degrees."""
    tilt = np.radians(np.asarray(tilt_deg, dtype=float))
    if ndim == 2:
        return np.stack([np.sin(tilt), np.cos(tilt)], axis=-1)
    azimuth = np.radians(np.broadcast_to(np.asarray(azimuth_deg, dtype=float), tilt.shape))
    return np.stack([np.sin(tilt), np.cos(tilt) * np.cos(azimuth), np.cos(tilt) * np.sin(azimuth)], axis=-1)


def diffusion_tensor(*, D_fast_m2_s: float, D_slow_m2_s: float, tilt_deg: np.ndarray,
                     azimuth_deg: np.ndarray | float = 0.0, ndim: int = 2) -> np.ndarray:
    """``D_fast (I - n n) + D_slow n n`` for each orientation: shape (..., ndim, ndim), m^2 s^-1."""
    check_diffusivities(D_fast_m2_s=D_fast_m2_s, D_slow_m2_s=D_slow_m2_s)
    n = c_axis(tilt_deg=tilt_deg, azimuth_deg=azimuth_deg, ndim=ndim)
    outer = n[..., :, None] * n[..., None, :]
    return D_fast_m2_s * (np.eye(ndim) - outer) + D_slow_m2_s * outer


def check_diffusivities(*, D_fast_m2_s: float, D_slow_m2_s: float, source: str = "material") -> None:
    """Both positive and finite (else a one-line error); ``D_slow > D_fast`` is allowed but logged as a warning."""
    for name, value in (("D_fast", D_fast_m2_s), ("D_slow", D_slow_m2_s)):
        if not (np.isfinite(value) and value > 0):
            raise InputError(f"{source}: {name} must be a positive diffusivity, got {value!r}")
    if D_slow_m2_s > D_fast_m2_s:
        log.warning("%s: D_slow (%.3g m2/s) exceeds D_fast (%.3g m2/s): the 'slow' direction is the fast one; "
                    "check the inputs", source, D_slow_m2_s, D_fast_m2_s)
