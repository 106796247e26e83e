"""VTK image data (``.vti``) of voxel data and time series of them, for ParaView and PyVista (``pyvista.read``).

Coordinates match the FiPy mesh, in metres: x (and y in 3D) in-plane, the thickness along y in 2D and z in 3D;
VTK orders cells with x fastest, the C order of an image indexed [thickness, ..., x]. Cell arrays are inline
zlib-compressed ``binary``, as VTK's own XML writers do; named constants go to ``<FieldData>``. Frames, their
``.pvd`` and the parallel pieces under ``mpiexec``: README, "TWIF-Li: from an image to the lithium map".
"""

from __future__ import annotations

import base64
import zlib
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from twifli_fv.image.slab import Slab
from twifli_fv.image.voxels import VoxelGrid
from twifli_fv.outputs.files import atomic_path
from twifli_fv.ranks import ONE, Ranks

_BLOCK_BYTES = 1 << 15  # uncompressed bytes per compressed block (VTK's default)
_ZLIB_LEVEL = 1  # fastest; zlib's default level 6 takes ~2x the time for files ~2 % smaller


def write_vti(path: str | Path, shape: tuple[int, ...], voxel_size_m: float, cell_data: dict[str, np.ndarray],
              *, field_data: dict[str, int] | None = None, slab: Slab | None = None) -> Path:
    """Write the voxel grid of ``shape`` with ``cell_data`` (each of ``shape`` or flat) to ``path``; with ``slab``
    the file is that piece of the grid (``cell_data`` of ``slab.local_shape``, the extent covering only it)."""
    if len(shape) not in (2, 3):
        raise ValueError(f"a voxel grid is 2D or 3D, not of shape {shape}")
    slab = slab or Slab.whole(shape)
    n_cells = int(np.prod(slab.local_shape))
    extent = vtk_extent(shape, slab)
    spacing = " ".join([repr(float(voxel_size_m))] * 3)
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        f.write(
            '<?xml version="1.0"?>\n'
            '<VTKFile type="ImageData" version="1.0" byte_order="LittleEndian" header_type="UInt64"'
            ' compressor="vtkZLibDataCompressor">\n'
            f'  <ImageData WholeExtent="{extent}" Origin="0 0 0" Spacing="{spacing}">\n'
            f'{_field_data(field_data or {})}'
            f'    <Piece Extent="{extent}">\n      <PointData/>\n      <CellData>\n'.encode()
        )
        for name, values in cell_data.items():
            dtype, vtk_type = _written_as(np.asarray(values).dtype)
            array = np.ascontiguousarray(np.asarray(values).reshape(-1), dtype=dtype)
            if array.size != n_cells:
                raise ValueError(f"cell array {name!r} has {array.size} values for {n_cells} cells")
            tag = f'        <DataArray type="{vtk_type}" Name={quoteattr(name)} format="binary">'
            f.write(tag.encode() + _compressed_base64(array.tobytes()) + b"</DataArray>\n")
        f.write(b"      </CellData>\n    </Piece>\n  </ImageData>\n</VTKFile>\n")
    return Path(path)


def write_pvti(path: str | Path, shape: tuple[int, ...], voxel_size_m: float, arrays: dict[str, np.dtype],
               pieces: list[tuple[Slab, str]], *, field_data: dict[str, int] | None = None) -> Path:
    """The PImageData file of a grid of ``shape`` written in ``pieces`` (each rank's slab and its ``.vti``,
    relative to ``path``); ``arrays`` names the cell arrays of every piece and their types."""
    spacing = " ".join([repr(float(voxel_size_m))] * 3)
    declared = "".join(f'      <PDataArray type="{_written_as(np.dtype(dtype))[1]}" Name={quoteattr(name)}/>\n'
                       for name, dtype in arrays.items())
    listed = "".join(f'    <Piece Extent="{vtk_extent(shape, slab)}" Source={quoteattr(source)}/>\n'
                     for slab, source in pieces)
    with atomic_path(path) as tmp:
        tmp.write_text(
            '<?xml version="1.0"?>\n'
            '<VTKFile type="PImageData" version="1.0" byte_order="LittleEndian" header_type="UInt64">\n'
            f'  <PImageData WholeExtent="{vtk_extent(shape)}" GhostLevel="0" Origin="0 0 0" Spacing="{spacing}">\n'
            f"{_field_data(field_data or {})}"
            f"    <PCellData>\n{declared}    </PCellData>\n{listed}  </PImageData>\n</VTKFile>\n"
        )
    return Path(path)


def frame_name(index: int, *, ranks: Ranks = ONE) -> str:
    """File name of field frame ``index`` (relative to ``fields/``): ``.vti``, or ``.pvti`` on several ranks."""
    return f"frame_{index:04d}.{'vti' if ranks.size == 1 else 'pvti'}"


def write_frame(directory: Path, index: int, *, grid: VoxelGrid, cell_data: dict[str, np.ndarray],
                field_data: dict[str, int], ranks: Ranks = ONE) -> str:
    """Field frame ``index`` of ``cell_data`` (this rank's own cells) in ``directory``; its file name (collective)."""
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


def vtk_extent(shape: tuple[int, ...], slab: Slab | None = None) -> str:
    """Point extent ``x0 x1 y0 y1 z0 z1`` of the grid (or of ``slab``'s planes); VTK's axes are the image's reversed."""
    slab = slab or Slab.whole(shape)
    ranges = [(0, n) for n in shape[:0:-1]] + [(slab.lo, slab.hi)]
    return " ".join(f"{lo} {hi}" for lo, hi in ranges + [(0, 0)] * (3 - len(ranges)))


def _field_data(constants: dict[str, int]) -> str:
    """A ``<FieldData>`` block with one ascii Int64 tuple per constant ('' for none)."""
    if not constants:
        return ""
    arrays = "".join(f'      <DataArray type="Int64" Name={quoteattr(name)} NumberOfTuples="1" format="ascii">'
                     f"{int(value)}</DataArray>\n" for name, value in constants.items())
    return f"    <FieldData>\n{arrays}    </FieldData>\n"


def _written_as(dtype: np.dtype) -> tuple[np.dtype, str]:
    """The little-endian type of a ``dtype`` array in a file and its VTK name."""
    if dtype.kind not in "fbiu":
        raise TypeError(f"cannot write a {dtype} array as VTK cell data")
    written = {"f": np.dtype("<f8"), "b": np.dtype("u1")}.get(dtype.kind, dtype.newbyteorder("<"))
    name = {"f": "Float", "i": "Int", "u": "UInt"}[written.kind]
    return written, f"{name}{8 * written.itemsize}"


def _compressed_base64(data: bytes) -> bytes:
    """Base64 of the UInt64 header (blocks, block size, last block size, compressed sizes), then of the blocks."""
    view = memoryview(data)
    blocks = [zlib.compress(view[i:i + _BLOCK_BYTES], _ZLIB_LEVEL) for i in range(0, len(data), _BLOCK_BYTES)]
    last = len(data) - (len(blocks) - 1) * _BLOCK_BYTES if blocks else 0
    header = np.array([len(blocks), _BLOCK_BYTES, last, *map(len, blocks)], dtype="<u8")
    return base64.b64encode(header.tobytes()) + base64.b64encode(b"".join(blocks))
