"""Interface faces between phases: counts per cell, areas per pair, the active area ``s_ij``.

On a voxel grid every interface is a set of whole voxel faces, each of area ``dx**(d-1)``
(per metre of depth in 2D). A face between cells of phases P and Q is counted once, from
the P side, so ``face_counts(phases, P, Q)`` summed over the grid is the number of P|Q faces.
"""

from __future__ import annotations

import itertools

import numpy as np

from twifli_fv.image.phases import Phase

PAIRS: tuple[tuple[Phase, Phase], ...] = tuple(itertools.combinations(Phase, 2))


def pair_name(first: Phase, second: Phase) -> str:
    """``"AM|SE"`` with AM first, then SE, CBD, VOID (the order battery people read them)."""
    order = (Phase.AM, Phase.SE, Phase.CBD, Phase.VOID)
    a, b = sorted((first, second), key=order.index)
    return f"{a.name}|{b.name}"


def face_counts(phases: np.ndarray, of: Phase, to: Phase, *, wrap_axes: tuple[int, ...] = ()) -> np.ndarray:
    """Per cell of phase ``of``: how many of its faces touch a cell of phase ``to`` (0 elsewhere)."""
    target = phases == to
    counts = np.zeros(phases.shape, dtype=np.int8)
    for axis in range(phases.ndim):
        for step in (1, -1):
            if axis in wrap_axes:
                counts += np.roll(target, step, axis=axis)
            else:
                shifted = np.zeros_like(target)
                src = [slice(None)] * phases.ndim
                dst = [slice(None)] * phases.ndim
                src[axis], dst[axis] = (slice(None, -1), slice(1, None)) if step == 1 else (slice(1, None), slice(None, -1))
                shifted[tuple(dst)] = target[tuple(src)]
                counts += shifted
    counts[phases != of] = 0
    return counts


def active_area(phases: np.ndarray, voxel_size_m: float, *, wrap_axes: tuple[int, ...] = ()) -> np.ndarray:
    """``s_ij`` [m^2, or m^2 per m of depth in 2D]: AM|SE face area of each AM cell (paper 1, eqn 1)."""
    return face_counts(phases, Phase.AM, Phase.SE, wrap_axes=wrap_axes) * voxel_size_m ** (phases.ndim - 1)


def interface_areas(phases: np.ndarray, *, wrap_axes: tuple[int, ...] = ()) -> dict[str, np.ndarray]:
    """Per thickness row, the number of faces of each phase pair present (keys as :func:`pair_name`)."""
    present = set(np.unique(phases).tolist())
    rows: dict[str, np.ndarray] = {}
    for first, second in PAIRS:
        if first in present and second in present:
            counts = face_counts(phases, first, second, wrap_axes=wrap_axes)
            rows[pair_name(first, second)] = counts.reshape(phases.shape[0], -1).sum(axis=1)
    return rows
