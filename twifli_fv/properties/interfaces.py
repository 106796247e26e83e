"""Interface faces between phases: the number of faces of each phase pair, row by row.

On a voxel grid every interface is a set of whole voxel faces, each of area ``dx**(d-1)``
(per metre of depth in 2D). A face between cells of phases P and Q is counted once, from
the P side, so :func:`~twifli_fv.mesh.faces.face_counts` ``(phases, P, Q)`` summed over the grid is
the number of P|Q faces.
"""

from __future__ import annotations

import itertools

import numpy as np

from twifli_fv.image.phases import Phase
from twifli_fv.mesh.faces import face_counts

PAIRS: tuple[tuple[Phase, Phase], ...] = tuple(itertools.combinations(Phase, 2))


def pair_name(first: Phase, second: Phase) -> str:
    """``"AM|SE"`` with AM first, then SE, CBD, VOID (the order battery people read them)."""
    order = (Phase.AM, Phase.SE, Phase.CBD, Phase.VOID)
    a, b = sorted((first, second), key=order.index)
    return f"{a.name}|{b.name}"


def interface_areas(phases: np.ndarray, *, wrap_axes: tuple[int, ...] = ()) -> dict[str, np.ndarray]:
    """Per thickness row, the number of faces of each phase pair present (keys as :func:`pair_name`)."""
    present = set(np.unique(phases).tolist())
    rows: dict[str, np.ndarray] = {}
    for first, second in PAIRS:
        if first in present and second in present:
            counts = face_counts(phases, first, second, wrap_axes=wrap_axes)
            rows[pair_name(first, second)] = counts.reshape(phases.shape[0], -1).sum(axis=1)
    return rows
