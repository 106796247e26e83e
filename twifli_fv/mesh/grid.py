"""FiPy mesh of a segmented image with cell-wise phase and active-area variables.

Cell order is the image's C order: FiPy numbers cells with x fastest, so a 2D image (H, W)
becomes ``Grid2D(nx=W, ny=H)`` with the thickness along FiPy's y, and a 3D image (H, A, B)
becomes ``Grid3D(nx=B, ny=A, nz=H)`` with the thickness along FiPy's z. In-plane directions
are periodic unless ``periodic=False`` (SPEC sect. 1). The FiPy mesh itself is built on first
use: it costs 1-3 kB per cell, which the PETSc-assembled solver does without (:meth:`CathodeMesh.face_pairs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from twifli_fv.image.phases import Phase
from twifli_fv.image.segmented import SegmentedImage
from twifli_fv.mesh.faces import face_counts, face_pairs, in_plane_axes


@dataclass(frozen=True)
class CathodeMesh:
    """A FiPy mesh of ``image`` and the per-cell data the models need (flat, in cell order)."""

    image: SegmentedImage
    periodic: bool
    phase: np.ndarray  # Phase code per cell
    active_area_m2: np.ndarray  # s_ij: AM|SE face area per cell (m^2; per m of depth in 2D)

    @cached_property
    def mesh(self):  # noqa: ANN201 - fipy mesh
        """The FiPy grid over the whole image (built on first use)."""
        import fipy

        h = self.image.voxel_size_m
        if self.image.ndim == 2:
            ny, nx = self.image.shape
            grid = fipy.PeriodicGrid2DLeftRight if self.periodic else fipy.Grid2D
            return grid(dx=h, dy=h, nx=nx, ny=ny)
        nz, ny, nx = self.image.shape
        grid = fipy.PeriodicGrid3DLeftRightTopBottom if self.periodic else fipy.Grid3D
        return grid(dx=h, dy=h, dz=h, nx=nx, ny=ny, nz=nz)

    def face_pairs(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cells ``(first, second)`` on either side of every grid face with both sides in ``mask``.

        The same faces as the FiPy mesh's interior faces, periodic ones included (:func:`~twifli_fv.mesh.faces.face_pairs`).
        All faces have area / centre distance ``voxel_size_m ** (ndim - 2)``.
        """
        return face_pairs(np.asarray(mask, dtype=bool).reshape(self.image.shape), wrap_axes=self.wrap_axes)

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
        rows = np.arange(self.image.shape[0]) + 0.5
        return np.repeat(rows, self.image.phases[0].size) * self.image.voxel_size_m


def build_mesh(image: SegmentedImage, *, periodic: bool = True) -> CathodeMesh:
    """FiPy grid over the whole image (SPEC sect. 1); phases and ``s_ij`` as flat cell arrays.

    ``s_ij`` (m^2, or m^2 per m of depth in 2D) is the AM|SE face area of each AM cell (paper 1, eqn 1).
    """
    wrap = in_plane_axes(image.ndim, periodic=periodic)
    return CathodeMesh(
        image=image,
        periodic=periodic,
        phase=image.phases.ravel().copy(),
        active_area_m2=(face_counts(image.phases, Phase.AM, Phase.SE, wrap_axes=wrap) * image.face_area_m2).ravel(),
    )
