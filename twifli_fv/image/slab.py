"""Which planes of a voxel grid a rank owns (SPEC sect. 1: axis 0 runs through the thickness).

Under ``mpiexec`` the grid is cut into slabs of whole planes along axis 0, one per rank, in rank order, each with
one halo plane on either side where one exists (:func:`with_halo`): all a two-point face stencil needs, periodic
in-plane wrapping stays inside a rank, and a rank's cells (in C order) are one contiguous block of the numbering.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from twifli_fv.errors import InputError
from twifli_fv.ranks import ONE, Ranks


@dataclass(frozen=True)
class Slab:
    """Planes ``lo`` to ``hi`` (exclusive) along axis 0 of a grid of ``shape``."""

    shape: tuple[int, ...]
    lo: int
    hi: int

    @classmethod
    def whole(cls, shape: tuple[int, ...]) -> Slab:
        return cls(tuple(int(n) for n in shape), 0, int(shape[0]))

    @property
    def is_whole(self) -> bool:
        return self.lo == 0 and self.hi == self.shape[0]

    @property
    def below(self) -> int:
        """Halo planes read below the slab (0 at the current collector)."""
        return 1 if self.lo > 0 else 0

    @property
    def above(self) -> int:
        """Halo planes read above the slab (0 at the separator)."""
        return 1 if self.hi < self.shape[0] else 0

    @property
    def read(self) -> slice:
        """The planes a rank reads: its own and the halo."""
        return slice(self.lo - self.below, self.hi + self.above)

    @property
    def owned(self) -> slice:
        """The slab's own planes within the planes read."""
        return slice(self.below, self.below + self.hi - self.lo)

    @property
    def local_shape(self) -> tuple[int, ...]:
        """Shape of the owned planes."""
        return (self.hi - self.lo, *self.shape[1:])

    @property
    def read_shape(self) -> tuple[int, ...]:
        return (self.hi - self.lo + self.below + self.above, *self.shape[1:])


def split_planes(shape: tuple[int, ...], *, ranks: Ranks = ONE, source: str = "<grid>",
                 weights: Sequence[float] | None = None) -> Slab:
    """This rank's slab: the planes dealt out as evenly as possible (the first ``n % size`` ranks get one more), or
    with ``weights`` (one per plane, e.g. its unknowns) cut where their running sum is nearest each rank's equal
    share, at least one plane each."""
    planes, size = int(shape[0]), ranks.size
    if planes < size:
        raise InputError(f"{source}: {planes} planes through the thickness cannot be shared by {size} ranks; "
                         f"run on at most {planes} ranks")
    cuts = plane_cuts(planes, size, weights)
    return Slab(tuple(int(n) for n in shape), cuts[ranks.rank], cuts[ranks.rank + 1])


def plane_cuts(planes: int, size: int, weights: Sequence[float] | None = None) -> list[int]:
    """The first plane of each of ``size`` slabs, then ``planes`` (see :func:`split_planes`)."""
    share, extra = divmod(planes, size)
    cuts = [rank * share + min(rank, extra) for rank in range(size + 1)]
    running = np.concatenate([[0.0], np.cumsum(weights, dtype=float)]) if weights is not None else None
    if running is None or running[-1] <= 0:
        return cuts
    for rank in range(1, size):  # nearest the share, leaving a plane for every rank on either side
        nearest = int(np.argmin(np.abs(running - running[-1] * rank / size)))
        cuts[rank] = min(max(nearest, cuts[rank - 1] + 1), planes - (size - rank))
    return cuts


def with_halo(owned: np.ndarray, *, slab: Slab, ranks: Ranks) -> np.ndarray:
    """``owned`` (one value per cell of the slab's own planes) over the planes the slab reads: the neighbouring
    ranks' boundary planes added below and above where they exist. Every rank calls it (a collective)."""
    below, above = ranks.exchange(down=owned[0], up=owned[-1])
    if not slab.below and not slab.above:
        return owned
    return np.concatenate(([below[None]] if slab.below else []) + [owned] + ([above[None]] if slab.above else []))
