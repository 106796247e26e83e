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
from twifli_fv.properties.connectivity import in_plane_axes
from twifli_fv.memory import FIPY_BYTES_PER_CELL, RUN_BYTES_PER_CELL, check_memory
from twifli_fv.properties.interfaces import active_area


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

    def face_pairs(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cells ``(first, second)`` on either side of every grid face with both sides in ``mask``.

        The same faces as the FiPy mesh's interior faces, periodic ones included (an in-plane axis of
        length 1 or 2 gives self- or repeated pairs there too), found by shifts of the grid. All faces
        have area / centre distance ``voxel_size_m ** (ndim - 2)``.
        """
        grid = np.asarray(mask, dtype=bool).reshape(self.image.shape)
        ids = np.arange(grid.size, dtype=np.int64).reshape(grid.shape)
        first, second = [], []
        for axis in range(grid.ndim):
            if axis in self.wrap_axes:
                here, there = grid, np.roll(grid, -1, axis=axis)
                ids_here, ids_there = ids, np.roll(ids, -1, axis=axis)
            else:
                lower = tuple(slice(None, -1) if a == axis else slice(None) for a in range(grid.ndim))
                upper = tuple(slice(1, None) if a == axis else slice(None) for a in range(grid.ndim))
                here, there, ids_here, ids_there = grid[lower], grid[upper], ids[lower], ids[upper]
            both = here & there
            first.append(ids_here[both])
            second.append(ids_there[both])
        return np.concatenate(first), np.concatenate(second)

    def cell_variable(self, values: np.ndarray, *, name: str):  # noqa: ANN201 - fipy.CellVariable
        """A FiPy CellVariable on this mesh (e.g. ``cell_variable(mesh.phase, name="phase")``)."""
        import fipy

        return fipy.CellVariable(mesh=self.mesh, value=values, name=name)

    def interface_faces(self, first: Phase, second: Phase) -> tuple[np.ndarray, np.ndarray]:
        """FiPy face ids between cells of ``first`` and ``second`` (either side), and their areas."""
        cells = np.ma.filled(self.mesh.faceCellIDs, -1)
        inside = cells[1] >= 0
        a = self.phase[cells[0]]
        b = np.where(inside, self.phase[np.where(inside, cells[1], 0)], 255)
        pair = inside & (((a == first) & (b == second)) | ((a == second) & (b == first)))
        faces = np.flatnonzero(pair)
        return faces, np.asarray(self.mesh._faceAreas)[faces]

    @property
    def wrap_axes(self) -> tuple[int, ...]:
        return in_plane_axes(self.image.ndim, periodic=self.periodic)

    @property
    def cell_volume_m3(self) -> float:
        """Voxel volume (m^3; m^2 per m of depth in 2D)."""
        return self.image.voxel_size_m**self.image.ndim

    @property
    def y_m(self) -> np.ndarray:
        """Distance of each cell centre from the current collector."""
        rows = np.arange(self.image.shape[0]) + 0.5
        return np.repeat(rows, self.image.phases[0].size) * self.image.voxel_size_m


def build_mesh(image: SegmentedImage, *, periodic: bool = True) -> CathodeMesh:
    """FiPy grid over the whole image (SPEC sect. 1); phases and ``s_ij`` as flat cell arrays."""
    check_memory(image.phases.size * RUN_BYTES_PER_CELL, what=f"{image.source}: a run on {image.shape} cells",
                 change="coarsen or crop the image")
    wrap = in_plane_axes(image.ndim, periodic=periodic)
    return CathodeMesh(
        image=image,
        periodic=periodic,
        phase=image.phases.ravel().copy(),
        active_area_m2=active_area(image.phases, image.voxel_size_m, wrap_axes=wrap).ravel().astype(float),
    )
