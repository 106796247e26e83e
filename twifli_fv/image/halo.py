"""The halo planes of a slab (:mod:`twifli_fv.image.slab`): filled from the ranks that own them."""

from __future__ import annotations

import numpy as np

from twifli_fv.image.slab import Slab
from twifli_fv.ranks import Ranks


def with_halo(owned: np.ndarray, *, slab: Slab, ranks: Ranks) -> np.ndarray:
    """``owned`` (one value per cell of the slab's own planes) over the planes the slab reads: the neighbouring
    ranks' boundary planes added below and above where they exist. Every rank calls it (a collective)."""
    below, above = ranks.exchange(down=owned[0], up=owned[-1])
    if not slab.below and not slab.above:
        return owned
    return np.concatenate(([below[None]] if slab.below else []) + [owned] + ([above[None]] if slab.above else []))
