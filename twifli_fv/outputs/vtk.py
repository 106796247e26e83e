"""VTK unstructured grids (``.vtu``, through meshio) of voxel data, for ParaView and PyVista.

Coordinates match the FiPy mesh: in 2D x in-plane and y through the thickness; in 3D x, y
in-plane and z through the thickness, all in metres. Cell data arrays are in image C order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twifli_fv.outputs.files import atomic_path


def voxel_grid(shape: tuple[int, ...], voxel_size_m: float) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """Points and meshio cell blocks (quads or hexahedra) of a voxel grid, cells in C order."""
    sizes = [n + 1 for n in shape]
    ids = np.arange(int(np.prod(sizes))).reshape(sizes)
    axes = np.meshgrid(*[np.arange(n) * voxel_size_m for n in sizes], indexing="ij")
    points = np.stack([a.ravel() for a in axes[::-1]], axis=1)  # x is the last (fastest) image axis
    if len(shape) == 2:
        points = np.column_stack([points, np.zeros(len(points))])
        corners = [ids[:-1, :-1], ids[:-1, 1:], ids[1:, 1:], ids[1:, :-1]]
        return points, [("quad", np.stack([c.ravel() for c in corners], axis=1))]
    lower = [ids[:-1, :-1, :-1], ids[:-1, :-1, 1:], ids[:-1, 1:, 1:], ids[:-1, 1:, :-1]]
    upper = [ids[1:, :-1, :-1], ids[1:, :-1, 1:], ids[1:, 1:, 1:], ids[1:, 1:, :-1]]
    return points, [("hexahedron", np.stack([c.ravel() for c in lower + upper], axis=1))]


def write_vtu(path: str | Path, shape: tuple[int, ...], voxel_size_m: float, cell_data: dict[str, np.ndarray]) -> Path:
    """Write the voxel grid with ``cell_data`` (each of ``shape`` or flat) to ``path``."""
    import meshio

    points, cells = voxel_grid(shape, voxel_size_m)
    data = {name: [np.asarray(values).reshape(-1)] for name, values in cell_data.items()}
    with atomic_path(path) as tmp:
        meshio.write(tmp, meshio.Mesh(points, cells, cell_data=data), file_format="vtu")
    return Path(path)
