"""The geometry every per-voxel map shares: a regular grid of cubic voxels (SPEC sect. 1).

Axis 0 runs through the thickness, row 0 on the current collector (``y = 0``) and the last row on the separator
(``y = H``); the other axes span the collector plane. Every loader orients its map so. In 2D, areas and volumes are
per metre of depth.
"""

from __future__ import annotations

import numpy as np


class VoxelGrid:
    """Base of the per-voxel maps (``SegmentedImage``, ``GrainMap``); a subclass gives ``shape``, ``voxel_size_m``."""

    voxel_size_m: float

    @property
    def shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def thickness_m(self) -> float:
        return self.shape[0] * self.voxel_size_m

    @property
    def cell_volume_m3(self) -> float:
        """Voxel volume (m^3; m^2 per m of depth in 2D)."""
        return self.voxel_size_m**self.ndim

    @property
    def face_area_m2(self) -> float:
        """Area of one voxel face (m^2; m per m of depth in 2D)."""
        return self.voxel_size_m ** (self.ndim - 1)

    @property
    def row_centres_m(self) -> np.ndarray:
        """Distance of each row's centre from the current collector (m)."""
        return (np.arange(self.shape[0]) + 0.5) * self.voxel_size_m

    @property
    def collector_area_m2(self) -> float:
        """Projected area of the collector plane (m^2; m per m of depth in 2D)."""
        return float(np.prod(self.shape[1:])) * self.face_area_m2
