"""Microstructure report: volume and percolating fractions, specific interface areas, particles.

Everything is through-thickness (axis 0); per-row profiles run from the current collector.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from twifli_fv.image.phases import Phase
from twifli_fv.image.segmented import SegmentedImage
from twifli_fv.mesh.faces import face_counts, in_plane_axes
from twifli_fv.properties.connectivity import label_components, percolating

ELECTRONIC = "electronic"  # the electron-conducting network: AM together with CBD
READ_ORDER = (Phase.AM, Phase.SE, Phase.CBD, Phase.VOID)  # "AM|SE": the order battery people read phase pairs in


@dataclass(frozen=True)
class PhaseStats:
    volume_fraction: float
    percolating_fraction: float  # share of the phase's voxels connected to both end planes
    components: int


@dataclass(frozen=True)
class MicrostructureReport:
    """Numbers that describe a segmented cathode; ``profiles`` hold one value per thickness row."""

    shape: tuple[int, ...]
    voxel_size_um: float
    periodic: bool
    phases: dict[str, PhaseStats]
    specific_area_per_um: dict[str, float]  # interface area per total volume, um^-1
    am_particles: int
    y_um: np.ndarray
    volume_fraction_rows: dict[str, np.ndarray]
    specific_area_rows_per_um: dict[str, np.ndarray]

    def to_dict(self) -> dict:
        """JSON-ready dictionary (arrays as lists)."""
        return {
            "shape": list(self.shape),
            "voxel_size_um": self.voxel_size_um,
            "in_plane": "periodic" if self.periodic else "no-flux",
            "phases": {k: vars(v) for k, v in self.phases.items()},
            "specific_area_per_um": self.specific_area_per_um,
            "am_particles": self.am_particles,
            "profiles": {
                "y_um": self.y_um.tolist(),
                "volume_fraction": {k: v.tolist() for k, v in self.volume_fraction_rows.items()},
                "specific_area_per_um": {k: v.tolist() for k, v in self.specific_area_rows_per_um.items()},
            },
        }


def describe(image: SegmentedImage, *, periodic: bool = True) -> MicrostructureReport:
    """Measure ``image`` (SPEC sect. 1 orientation; in-plane periodic unless ``periodic=False``)."""
    wrap = in_plane_axes(image.ndim, periodic=periodic)
    dx_um = image.voxel_size_m * 1e6
    rows = image.shape[0]
    row_cells = image.phases[0].size
    groups = {p.name: (p,) for p in image.present()}
    groups[ELECTRONIC] = (Phase.AM, Phase.CBD)
    stats, fractions = {}, {}
    for name, members in groups.items():
        mask = image.mask(*members)
        _, count = label_components(mask, wrap_axes=wrap)
        through = percolating(mask, wrap_axes=wrap)
        total = int(mask.sum())
        stats[name] = PhaseStats(
            volume_fraction=total / mask.size,
            percolating_fraction=float(through.sum()) / total if total else 0.0,
            components=count,
        )
        fractions[name] = mask.reshape(rows, -1).mean(axis=1)
    faces = interface_areas(image.phases, wrap_axes=wrap)
    return MicrostructureReport(
        shape=image.shape,
        voxel_size_um=dx_um,
        periodic=periodic,
        phases=stats,
        specific_area_per_um={k: float(v.sum()) / (image.phases.size * dx_um) for k, v in faces.items()},
        am_particles=stats[Phase.AM.name].components,
        y_um=(np.arange(rows) + 0.5) * dx_um,
        volume_fraction_rows=fractions,
        specific_area_rows_per_um={k: v / (row_cells * dx_um) for k, v in faces.items()},
    )


def interface_areas(phases: np.ndarray, *, wrap_axes: tuple[int, ...] = ()) -> dict[str, np.ndarray]:
    """Per thickness row, the number of faces of each phase pair present (keys ``"AM|SE"``, in :data:`READ_ORDER`).

    Every interface is a set of whole voxel faces, each of area ``dx**(d-1)`` (per metre of depth in 2D); a face
    between phases P and Q (P's code the lower) is counted once, in P's row.
    """
    present = set(np.unique(phases).tolist())
    rows: dict[str, np.ndarray] = {}
    for first, second in itertools.combinations(Phase, 2):
        if first in present and second in present:
            name = "|".join(phase.name for phase in sorted((first, second), key=READ_ORDER.index))
            counts = face_counts(phases, first, second, wrap_axes=wrap_axes)
            rows[name] = counts.reshape(phases.shape[0], -1).sum(axis=1)
    return rows
