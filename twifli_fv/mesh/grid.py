"""FiPy mesh of a segmented image with cell-wise phase and active-area variables.

Under ``mpiexec`` the mesh holds one rank's slab of planes (:mod:`twifli_fv.image.slab`); the active-material
(AM) unknowns are numbered over the whole grid in cell order (:attr:`CathodeMesh.unknowns`).

Cell order is the image's C order, FiPy's axes reversed (README, "Conventions and choices"); in-plane directions
are periodic unless ``periodic=False`` (SPEC sect. 1). The FiPy mesh (1-3 kB per cell) is built on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from twifli_fv.image.phases import Phase
from twifli_fv.image.segmented import SegmentedImage
from twifli_fv.image.slab import Slab
from twifli_fv.memory import FIPY_BYTES_PER_CELL, RUN_BYTES_PER_CELL, check_memory
from twifli_fv.mesh.faces import face_counts, face_pairs, in_plane_axes
from twifli_fv.ranks import ONE, Ranks


@dataclass(frozen=True)
class CathodeMesh:
    """A FiPy mesh of ``image`` and the per-cell data the models need (flat, in cell order; this rank's cells)."""

    image: SegmentedImage
    periodic: bool
    phase: np.ndarray  # Phase code per cell
    active_area_m2: np.ndarray  # s_ij: AM|SE face area per cell (m^2; per m of depth in 2D)
    plane_am: np.ndarray  # AM cells in each plane of the whole grid (axis 0)
    ranks: Ranks = ONE

    @property
    def slab(self) -> Slab:
        return self.image.slab or Slab.whole(self.image.shape)

    @property
    def unknowns(self) -> slice:
        """This rank's AM cells in the global numbering of the AM cells (cell order over the whole grid)."""
        start = int(self.plane_am[: self.slab.lo].sum())
        return slice(start, start + int(self.plane_am[self.slab.lo : self.slab.hi].sum()))

    @property
    def am_total(self) -> int:
        """AM cells of the whole grid."""
        return int(self.plane_am.sum())

    def unknown_faces(self) -> tuple[np.ndarray, np.ndarray]:
        """Global AM numbers ``(first, second)`` of the AM|AM faces with a side among this rank's AM cells
        (the other side may be in a halo plane, owned by a neighbouring rank)."""
        slab = self.slab
        am = self.image.phases == Phase.AM  # the planes read: own and halo
        number = np.cumsum(am, dtype=np.int64).reshape(am.shape) - 1 + int(self.plane_am[: slab.read.start].sum())
        first, second = (number.reshape(-1)[cells] for cells in face_pairs(am, wrap_axes=self.wrap_axes))
        own = self.unknowns
        mine = ((first >= own.start) & (first < own.stop)) | ((second >= own.start) & (second < own.stop))
        return first[mine], second[mine]

    @cached_property
    def mesh(self):  # noqa: ANN201 - fipy mesh
        """The FiPy grid over the whole image (built on first use; one process only)."""
        import fipy

        if not self.slab.is_whole:
            raise ValueError("a FiPy mesh is the serial reference: it needs the whole image on one process")

        check_memory(self.phase.size * FIPY_BYTES_PER_CELL, what=f"a FiPy mesh of {self.image.shape} cells",
                     change="coarsen or crop the image")
        h = self.image.voxel_size_m
        if self.image.ndim == 2:
            ny, nx = self.image.shape
            grid = fipy.PeriodicGrid2DLeftRight if self.periodic else fipy.Grid2D
            return grid(dx=h, dy=h, nx=nx, ny=ny)
        nz, ny, nx = self.image.shape
        grid = fipy.PeriodicGrid3DLeftRightTopBottom if self.periodic else fipy.Grid3D
        return grid(dx=h, dy=h, dz=h, nx=nx, ny=ny, nz=nz)

    @property
    def wrap_axes(self) -> tuple[int, ...]:
        return in_plane_axes(self.image.ndim, periodic=self.periodic)

    @property
    def cell_volume_m3(self) -> float:
        """Voxel volume (m^3; m^2 per m of depth in 2D)."""
        return self.image.cell_volume_m3

    @property
    def y_m(self) -> np.ndarray:
        """Distance of each cell centre from the current collector."""
        slab = self.slab
        return np.repeat(self.image.row_centres_m[slab.lo : slab.hi], self.image.phases[0].size)


def build_mesh(image: SegmentedImage, *, periodic: bool = True, ranks: Ranks = ONE) -> CathodeMesh:
    """FiPy grid over the image (SPEC sect. 1); phases and ``s_ij`` (the AM|SE face area of each AM cell, paper 1,
    eqn 1) as flat arrays of this rank's cells; ``ranks``: the processes the image's slabs are spread over."""
    owned = image.owned_phases
    check_memory(owned.size * RUN_BYTES_PER_CELL, what=f"{image.source}: a run on {owned.shape} cells",
                 change="coarsen or crop the image, or run on more ranks (mpiexec)")
    wrap = in_plane_axes(image.ndim, periodic=periodic)
    slab = image.slab or Slab.whole(image.shape)
    counts = face_counts(image.phases, Phase.AM, Phase.SE, wrap_axes=wrap)[slab.owned]
    plane_am = np.zeros(image.shape[0], dtype=np.int64)
    plane_am[slab.lo : slab.hi] = np.count_nonzero((owned == Phase.AM).reshape(owned.shape[0], -1), axis=1)
    return CathodeMesh(
        image=image,
        periodic=periodic,
        phase=owned.ravel().copy(),
        active_area_m2=(counts * image.face_area_m2).ravel(),
        plane_am=ranks.sum(plane_am),
        ranks=ranks,
    )
