"""A segmented cathode image: phase codes on a voxel grid oriented as SPEC sect. 1 says (see VoxelGrid)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from twifli_fv.errors import InputError
from twifli_fv.image.io import open_labels
from twifli_fv.image.phases import Phase, parse_label_map
from twifli_fv.image.reading import Orientation
from twifli_fv.image.slab import Slab, plane_cuts, split_planes
from twifli_fv.image.voxels import VoxelGrid
from twifli_fv.ranks import ONE, Ranks


@dataclass(frozen=True)
class SegmentedImage(VoxelGrid):
    """Phase codes (:class:`Phase`) on a regular grid with cubic voxels of edge ``voxel_size_m``."""

    phases: np.ndarray
    voxel_size_m: float
    source: str = "<array>"
    label_map: dict[int, Phase] = field(default_factory=dict)
    slab: Slab | None = None  # set when ``phases`` holds only one rank's planes (and halo) of the grid ``slab.shape``

    @property
    def shape(self) -> tuple[int, ...]:
        """The whole grid's shape (also under ``mpiexec``, where ``phases`` holds one slab)."""
        return self.phases.shape if self.slab is None else self.slab.shape

    @property
    def owned_phases(self) -> np.ndarray:
        """The phases of this rank's own planes (all of them on one process)."""
        return self.phases if self.slab is None else self.phases[self.slab.owned]

    def mask(self, *phases: Phase) -> np.ndarray:
        """Boolean array, True where the voxel belongs to any of ``phases``."""
        return np.isin(self.phases, [int(p) for p in phases])

    def present(self) -> list[Phase]:
        return [Phase(code) for code in np.unique(self.phases)]

    @classmethod
    def from_labels(
        cls,
        labels: np.ndarray,
        label_map: dict[int, Phase] | str,
        *,
        voxel_size_um: float,
        source: str = "<array>",
        ranks: Ranks = ONE,
    ) -> "SegmentedImage":
        """Map integer ``labels`` to phases and check them (unknown labels, absent phases, no AM); under ``mpiexec``
        ``labels`` is one rank's part of the image, checked over all ``ranks`` so that every rank fails alike."""
        mapping = parse_label_map(label_map, source=source)
        size = check_voxel_size(voxel_size_um, source=source)
        labels = np.asarray(labels)
        if labels.ndim not in (2, 3):
            raise InputError(f"{source}: image has {labels.ndim} dimensions (shape {labels.shape}); need 2D or 3D")
        if min(labels.shape) < 1:
            raise InputError(f"{source}: image is empty (shape {labels.shape})")
        found = np.unique(labels)
        everywhere = set().union(*ranks.gather(found.tolist()))
        unknown = sorted(everywhere - set(mapping))
        if unknown:
            raise InputError(f"{source}: labels {unknown} are not in the label map {_describe(mapping)}; map every label")
        absent = sorted(set(mapping) - everywhere)
        if absent:
            names = ", ".join(f"{k}={mapping[k].name}" for k in absent)
            raise InputError(f"{source}: mapped label(s) {names} do not occur in the image; remove them from the map")
        if Phase.AM not in {mapping[label] for label in everywhere}:
            raise InputError(f"{source}: no active material (AM) in the image; check the label map {_describe(mapping)}")
        codes = np.array([int(mapping[label]) for label in found.tolist()], dtype=np.uint8)
        phases = codes[np.searchsorted(found, labels)]  # no table over the label range: labels may be huge
        return cls(phases=phases, voxel_size_m=size * 1e-6, source=source, label_map=dict(mapping))


def load_image(
    path: str | Path,
    *,
    labels: dict[int, Phase] | str,
    voxel_size_um: float,
    thickness_axis: int = 0,
    collector_at_end: bool = False,
    crop: str | tuple[slice, ...] | None = None,
    coarsen: int = 1,
    refine: int = 1,
    shape: tuple[int, ...] | None = None,
    dtype: str | None = None,
    ranks: Ranks = ONE,
    balance: Phase | None = None,
) -> SegmentedImage:
    """Read a segmented image file and orient it (SPEC sect. 1; the options: :mod:`twifli_fv.image.reading`). On
    several ``ranks`` each decodes only its slab (and halo); with ``balance`` each slab holds about as many voxels of
    that phase rather than as many planes."""
    source = str(path)
    image = open_labels(path, shape=shape, dtype=dtype)
    grid = Orientation.of(image.shape, crop=crop, thickness_axis=thickness_axis, collector_at_end=collector_at_end,
                          coarsen=coarsen, refine=refine, source=source)
    voxel = check_voxel_size(voxel_size_um, source=source) * grid.coarsen / grid.refine
    slab = split_planes(grid.shape, ranks=ranks, source=source)  # all planes on one process

    def read(slab: Slab) -> SegmentedImage:
        planes = ranks.together(lambda: grid.read(image, slab.read), errors=(InputError,))  # each decodes its own part
        loaded = SegmentedImage.from_labels(planes, labels, voxel_size_um=voxel, source=source, ranks=ranks)
        return loaded if ranks.size == 1 else replace(loaded, slab=slab)

    loaded = read(slab)
    if balance is None or ranks.size == 1:
        return loaded
    in_plane = tuple(range(1, len(grid.shape)))
    weights = np.concatenate(ranks.gather(np.count_nonzero(loaded.owned_phases == balance, axis=in_plane)))
    if plane_cuts(grid.shape[0], ranks.size, weights) == plane_cuts(grid.shape[0], ranks.size):
        return loaded  # every rank knows every cut: the same decision on all (the label checks are collective)
    return read(split_planes(grid.shape, ranks=ranks, source=source, weights=weights))


def check_voxel_size(value: object, *, source: str) -> float:
    """The voxel edge in um as a float; a one-line error unless positive and finite."""
    try:
        size = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{source}: voxel size {value!r} is not a number of um") from None
    if not math.isfinite(size) or size <= 0:
        raise InputError(f"{source}: voxel size must be a positive finite number of um, got {value!r}")
    return size


def _describe(mapping: dict[int, Phase]) -> str:
    return ",".join(f"{k}={v.name}" for k, v in sorted(mapping.items()))
