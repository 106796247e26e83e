"""Fields to other tools' formats through meshio: XDMF (ParaView, FEniCS), Gmsh, Abaqus, VTU.

A field frame (``.vti``: cubic voxels, cell data in image C order, :mod:`twifli_fv.outputs.vtk`) becomes an
unstructured mesh of quadrilaterals (2D) or hexahedra (3D) with the same cell data and coordinates in
metres. Abaqus input files carry the mesh only (meshio writes no cell data there); XDMF is written with
its data inline (XML), so no HDF5 library is needed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twifli_fv.errors import InputError
from twifli_fv.outputs.files import atomic_path

FORMATS = {".xdmf": "xdmf", ".msh": "gmsh", ".inp": "abaqus", ".vtu": "vtu"}


def voxel_cells(dimensions: tuple[int, ...]) -> tuple[np.ndarray, str]:
    """Point-index connectivity of the cells of a point grid with ``dimensions`` points per axis (x fastest,
    as VTK numbers points and cells), and meshio's cell type."""
    ids = np.arange(int(np.prod(dimensions))).reshape(dimensions[::-1])
    lower = (..., slice(None, -1), slice(None, -1)), (..., slice(None, -1), slice(1, None))
    upper = (..., slice(1, None), slice(1, None)), (..., slice(1, None), slice(None, -1))
    ring = [ids[index] for index in lower + upper]  # counter-clockwise in the x-y plane
    if len(dimensions) == 2:
        return np.stack([c.ravel() for c in ring], axis=1), "quad"
    bottom, top = [c[:-1] for c in ring], [c[1:] for c in ring]
    return np.stack([c.ravel() for c in bottom + top], axis=1), "hexahedron"


def frame_file(case_output: str | Path, frame: int | None = None) -> Path:
    """The ``.vti`` (``.pvti`` of a run on several ranks) of field frame ``frame`` (default: the last)."""
    fields = Path(case_output) / "fields"
    frames = sorted([*fields.glob("frame_*.vti"), *fields.glob("frame_*.pvti")])
    if not frames:
        raise InputError(f"{Path(case_output) / 'fields'}: no field frames; run the case first")
    if frame is not None and not 0 <= frame < len(frames):
        raise InputError(f"--frame {frame}: the run has frames 0..{len(frames) - 1}")
    return frames[-1 if frame is None else frame]


def export_frame(vti: str | Path, target: str | Path) -> Path:
    """Write the field frame ``vti`` as ``target``, in the format its suffix names (:data:`FORMATS`)."""
    import meshio
    import pyvista

    vti, target = Path(vti), Path(target)
    file_format = FORMATS.get(target.suffix.lower())
    if file_format is None:
        raise InputError(f"{target}: unknown format {target.suffix!r}; use one of {', '.join(FORMATS)}")
    if not vti.is_file():
        raise InputError(f"{vti}: no such field frame; run the case first")
    grid = pyvista.read(vti)
    dims = tuple(int(d) for d in grid.dimensions if d > 1)
    cells, kind = voxel_cells(dims)
    points = np.asarray(grid.points)
    data = {name: [np.asarray(grid.cell_data[name], dtype=float)] for name in grid.cell_data.keys()}
    mesh = meshio.Mesh(points, [(kind, cells)], cell_data={} if file_format == "abaqus" else data)
    options = {"data_format": "XML"} if file_format == "xdmf" else {}
    with atomic_path(target) as tmp:
        meshio.write(tmp, mesh, file_format=file_format, **options)
    return target
