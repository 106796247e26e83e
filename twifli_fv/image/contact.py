"""Contact between the cathode and the separator: which surface cells touch it (paper 2, Fig 4a-b, e).

The contact fraction ``A / A_t`` is in (0, 1]. Non-contact zones are either generated (the lowest
``1 - A/A_t`` share of a smoothed, periodic random field over the surface, so patches are about
``gap_width_um`` across and the fraction is exact to one cell; seeded) or given as intervals in um
(2D). The mask has the in-plane shape of the map (its top surface).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from twifli_fv.errors import InputError


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
        raise InputError(f"interface: contact_fraction {contact_fraction} leaves no contact on a surface of {cells} cells")
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
            raise InputError(f"interface: non_contact_um entry {interval!r} must be [start_um, stop_um] with start < stop")
        mask &= ~((centres >= interval[0]) & (centres < interval[1]))
    if not mask.any():
        raise InputError("interface: non_contact_um leaves no contact with the separator")
    return mask
