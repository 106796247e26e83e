"""VTK time series of the fields: one frame per field time and a ``.pvd`` collection that lists them.

On one process a frame is one ``.vti``. Under ``mpiexec`` (the grid cut into slabs of planes, one per rank) it
is parallel VTK as ParaView writes it: each rank writes its piece ``frame_XXXX/frame_XXXX_R.vti`` (its own
planes), then rank 0 ``frame_XXXX.pvti`` naming the pieces, so no rank ever holds the whole field and the frame
still opens as one grid; the ``.pvd`` lists the ``.pvti`` files.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from twifli_fv.image.slab import Slab
from twifli_fv.image.voxels import VoxelGrid
from twifli_fv.outputs.files import atomic_path
from twifli_fv.outputs.vtk import write_pvti, write_vti
from twifli_fv.ranks import ONE, Ranks


def frame_name(index: int, *, ranks: Ranks = ONE) -> str:
    """File name of field frame ``index`` (relative to ``fields/``): ``.vti``, or ``.pvti`` on several ranks."""
    return f"frame_{index:04d}.{'vti' if ranks.size == 1 else 'pvti'}"


def write_frame(directory: Path, index: int, *, grid: VoxelGrid, cell_data: dict[str, np.ndarray],
                field_data: dict[str, int], ranks: Ranks = ONE) -> str:
    """Field frame ``index`` of ``cell_data`` (this rank's own cells) in ``directory``; its file name.

    Collective on several ranks: a piece that fails to be written on any rank fails the frame on every rank, and
    the ``.pvti`` is written only once every piece is complete.
    """
    name = frame_name(index, ranks=ranks)
    if ranks.size == 1:
        write_vti(directory / name, grid.shape, grid.voxel_size_m, cell_data, field_data=field_data)
        return name
    slab = getattr(grid, "slab", None) or Slab.whole(grid.shape)
    piece = f"{Path(name).stem}/{Path(name).stem}_{ranks.rank}.vti"
    ranks.together(lambda: write_vti(directory / piece, grid.shape, grid.voxel_size_m, cell_data,
                                     field_data=field_data, slab=slab))
    pieces = ranks.gather((slab, piece))
    arrays = {key: np.asarray(values).dtype for key, values in cell_data.items()}
    ranks.together(lambda: ranks.rank == 0 and write_pvti(directory / name, grid.shape, grid.voxel_size_m, arrays,
                                                          pieces, field_data=field_data))
    return name


def write_pvd(path: str | Path, frames: list[tuple[float, str]]) -> Path:
    """ParaView collection of ``(time_s, .vti or .pvti file name relative to the pvd)``."""
    entries = "\n".join(
        f'    <DataSet timestep="{time:.6g}" group="" part="0" file={quoteattr(name)}/>' for time, name in frames
    )
    text = (
        '<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1" byte_order="LittleEndian">\n'
        f"  <Collection>\n{entries}\n  </Collection>\n</VTKFile>\n"
    )
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)
