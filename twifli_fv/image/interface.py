"""The cathode|separator interface (paper 2, Fig 4): which surface cells touch the separator, and the true area
of each, per cell of the map's top surface (README, "Dense cathodes", Interface).

Contact: the fraction ``A / A_t`` in (0, 1]; non-contact zones generated (seeded) or given as intervals in um (2D).
Roughness: the surface height ``h`` is a periodic Gaussian random field with RMS ``rms_um`` and Gaussian
correlation ``<h(0) h(r)> = rms^2 exp(-r^2 / l^2)`` (``l`` = ``correlation_um``). The true area over a
projected patch is the mean of ``sqrt(1 + |grad h|^2)``; each surface cell of the map gets the factor of its own
patch (in 2D the patch spans 20 l out of the plane, so a 2D run sees the area of a 3D surface).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from twifli_fv.errors import InputError

SAMPLES_PER_CORRELATION = 8


def contact_mask(*, plane_shape: tuple[int, ...], voxel_size_um: float, contact_fraction: float,
                 gap_width_um: float = 10.0, seed: int = 0) -> np.ndarray:
    """Boolean surface mask, True where the cathode touches the separator; ``round((1 - f) N)`` cells are not."""
    if not (isinstance(contact_fraction, (int, float)) and 0 < contact_fraction <= 1):  # NaN and inf fail too
        raise InputError(f"interface: contact_fraction must lie in (0, 1], got {contact_fraction!r}")
    if not (math.isfinite(gap_width_um) and gap_width_um > 0):
        raise InputError(f"interface: gap_width_um must be positive, got {gap_width_um!r}")
    cells = int(np.prod(plane_shape))
    off = round((1.0 - contact_fraction) * cells)
    if off >= cells:
        raise InputError(f"interface: contact_fraction {contact_fraction} leaves no contact on a surface of "
                         f"{cells} cells")
    mask = np.ones(plane_shape, dtype=bool)
    if off == 0:
        return mask
    rng = np.random.default_rng([seed, 4])
    field = ndimage.gaussian_filter(rng.standard_normal(plane_shape), sigma=gap_width_um / voxel_size_um / 2.5,
                                    mode="wrap")
    mask.reshape(-1)[np.argsort(field, axis=None, kind="stable")[:off]] = False
    return mask


def given_contact_mask(*, width_cells: int, voxel_size_um: float, non_contact_um: list) -> np.ndarray:
    """2D surface mask from non-contact intervals ``[[start_um, stop_um], ...]`` (cell centres inside are off)."""
    centres = (np.arange(width_cells) + 0.5) * voxel_size_um
    mask = np.ones(width_cells, dtype=bool)
    for interval in non_contact_um:
        if not (isinstance(interval, (list, tuple)) and len(interval) == 2 and interval[0] < interval[1]):
            raise InputError(f"interface: non_contact_um entry {interval!r} must be [start_um, stop_um] "
                             "with start < stop")
        mask &= ~((centres >= interval[0]) & (centres < interval[1]))
    if not mask.any():
        raise InputError("interface: non_contact_um leaves no contact with the separator")
    return mask


def surface_area_factor(*, plane_shape: tuple[int, ...], voxel_size_um: float, rms_um: float,
                        correlation_um: float, seed: int = 0) -> np.ndarray:
    """True area / projected area of each surface cell (ones for a smooth surface)."""
    if not (math.isfinite(rms_um) and rms_um >= 0):
        raise InputError(f"interface: roughness_rms_um must not be negative, got {rms_um!r}")
    if rms_um == 0:
        return np.ones(plane_shape)
    if not (math.isfinite(correlation_um) and correlation_um > 0):
        raise InputError(f"interface: roughness_correlation_um must be positive, got {correlation_um!r}")
    per_cell = max(1, math.ceil(SAMPLES_PER_CORRELATION * voxel_size_um / correlation_um))
    spacing = voxel_size_um / per_cell
    fine = [n * per_cell for n in plane_shape]
    if len(plane_shape) == 1:
        fine.append(max(16, math.ceil(20 * correlation_um / spacing)))
    slopes = _slopes(tuple(fine), spacing, rms_um, correlation_um, np.random.default_rng([seed, 5]))
    local = np.sqrt(1.0 + slopes)
    if len(plane_shape) == 1:
        local = local.mean(axis=1)
    blocks = local.reshape([s for n in plane_shape for s in (n, per_cell)])
    return blocks.mean(axis=tuple(range(1, 2 * len(plane_shape), 2)))


def _slopes(shape: tuple[int, ...], spacing: float, rms: float, correlation: float,
            rng: np.random.Generator) -> np.ndarray:
    """``|grad h|^2`` of a periodic Gaussian field with the Gaussian spectrum of correlation length ``correlation``."""
    k = np.meshgrid(*[2 * np.pi * np.fft.fftfreq(n, d=spacing) for n in shape], indexing="ij")
    k2 = sum(component**2 for component in k)
    amplitude = np.exp(-k2 * correlation**2 / 8.0)  # sqrt of the spectrum of exp(-r^2/l^2)
    spectrum = np.fft.fftn(rng.standard_normal(shape)) * amplitude
    height = np.real(np.fft.ifftn(spectrum))
    scale = rms / height.std()
    return sum((scale * np.real(np.fft.ifftn(1j * component * spectrum))) ** 2 for component in k)
