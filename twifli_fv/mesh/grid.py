"""FiPy mesh of a segmented image with cell-wise phase and active-area variables.

Cell order is the image's C order: FiPy numbers cells with x fastest, so a 2D image (H, W)
becomes ``Grid2D(nx=W, ny=H)`` with the thickness along FiPy's y, and a 3D image (H, A, B)
becomes ``Grid3D(nx=B, ny=A, nz=H)`` with the thickness along FiPy's z. In-plane directions
are periodic unless ``periodic=False`` (SPEC sect. 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twifli_fv.image.phases import Phase
from twifli_fv.image.segmented import SegmentedImage
from twifli_fv.properties.connectivity import in_plane_axes
from twifli_fv.properties.interfaces import active_area


@dataclass(frozen=True)
class CathodeMesh:
    """A FiPy mesh of ``image`` and the per-cell data the models need (flat, in cell order)."""

    mesh: object  # fipy mesh
    image: SegmentedImage
    periodic: bool
    phase: np.ndarray  # Phase code per cell
    active_area_m2: np.ndarray  # s_ij: AM|SE face area per cell (m^2; per m of depth in 2D)

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
    import fipy

    h = image.voxel_size_m
    if image.ndim == 2:
        ny, nx = image.shape
        grid = fipy.PeriodicGrid2DLeftRight if periodic else fipy.Grid2D
        mesh = grid(dx=h, dy=h, nx=nx, ny=ny)
    else:
        nz, ny, nx = image.shape
        grid = fipy.PeriodicGrid3DLeftRightTopBottom if periodic else fipy.Grid3D
        mesh = grid(dx=h, dy=h, dz=h, nx=nx, ny=ny, nz=nz)
    wrap = in_plane_axes(image.ndim, periodic=periodic)
    return CathodeMesh(
        mesh=mesh,
        image=image,
        periodic=periodic,
        phase=image.phases.ravel().copy(),
        active_area_m2=active_area(image.phases, h, wrap_axes=wrap).ravel().astype(float),
    )
