"""Field frames exported through meshio (XDMF, Gmsh, Abaqus, VTU): every cell value lands in its own cell."""

from __future__ import annotations

import meshio
import numpy as np
import pytest

from twifli_fv.cli import main
from twifli_fv.errors import InputError
from twifli_fv.outputs.export import FORMATS, export_frame
from twifli_fv.outputs.vtk import write_vti

VOXEL = 0.5e-6


@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 4)])
@pytest.mark.parametrize("suffix", sorted(FORMATS))
def test_export_keeps_cells_and_values(tmp_path, shape, suffix):
    data = np.random.default_rng(1).random(shape)
    write_vti(tmp_path / "f.vti", shape, VOXEL, {"c": data, "phase": np.arange(data.size) % 3})
    mesh = meshio.read(export_frame(tmp_path / "f.vti", tmp_path / f"out{suffix}"))
    cells = mesh.cells[0]
    assert cells.type == ("quad" if len(shape) == 2 else "hexahedron") and len(cells.data) == data.size
    centres = mesh.points[cells.data].mean(axis=1)[:, : len(shape)]  # x, y(, z) in metres
    index = tuple(np.floor(centres / VOXEL).astype(int)[:, ::-1].T)  # image order: thickness first
    np.testing.assert_allclose(np.ptp(mesh.points[cells.data], axis=1)[:, : len(shape)], VOXEL)  # unit voxels
    if suffix != ".inp":  # Abaqus input files carry the mesh only
        np.testing.assert_array_equal(np.asarray(mesh.cell_data["c"][0]), data[index])


def test_export_command_and_its_errors(tmp_path, capsys):
    out = tmp_path / "case" / "output"
    write_vti(out / "fields" / "frame_0000.vti", (2, 2), VOXEL, {"c": np.arange(4.0)})
    write_vti(out / "fields" / "frame_0001.vti", (2, 2), VOXEL, {"c": np.arange(4.0) + 10})
    assert main(["export", str(tmp_path / "case"), "-o", str(tmp_path / "last.xdmf")]) == 0
    assert meshio.read(tmp_path / "last.xdmf").cell_data["c"][0].min() == 10  # the last frame by default
    assert main(["export", str(tmp_path / "case"), "--frame", "0", "-o", str(tmp_path / "first.vtu")]) == 0
    assert meshio.read(tmp_path / "first.vtu").cell_data["c"][0].max() == 3
    assert main(["export", str(tmp_path / "case"), "--frame", "5", "-o", str(tmp_path / "x.vtu")]) == 2
    assert "frames 0..1" in capsys.readouterr().err
    with pytest.raises(InputError, match="unknown format '.doc'"):
        export_frame(out / "fields" / "frame_0000.vti", tmp_path / "x.doc")
