"""FiPy mesh of an image, interface areas, and the VTK export read back with PyVista."""

from __future__ import annotations

import numpy as np
import pytest

from twifli_fv import Phase, SegmentedImage
from twifli_fv.mesh.grid import build_mesh
from twifli_fv.outputs.vtk import write_vtu
from twifli_fv.properties.interfaces import face_counts

A, S, C, V = Phase.AM, Phase.SE, Phase.CBD, Phase.VOID


def small_image() -> SegmentedImage:
    phases = np.array(
        [
            [A, A, S, V],
            [A, S, S, C],
            [S, A, C, A],
        ],
        dtype=np.uint8,
    )
    return SegmentedImage(phases=phases, voxel_size_m=2e-6)


def test_face_counts_by_hand():
    phases = small_image().phases
    no_wrap = face_counts(phases, A, S)
    assert no_wrap.tolist() == [[0, 2, 0, 0], [2, 0, 0, 0], [0, 2, 0, 0]]
    wrapped = face_counts(phases, A, S, wrap_axes=(1,))
    assert wrapped[2, 3] == 1 and wrapped[0, 0] == 0  # (2,3) touches (2,0)=SE across the side


@pytest.mark.parametrize("periodic", [True, False])
def test_mesh_cells_follow_image_order(periodic):
    image = small_image()
    mesh = build_mesh(image, periodic=periodic)
    centers = np.asarray(mesh.mesh.cellCenters)
    assert mesh.mesh.numberOfCells == image.phases.size
    rows, cols = np.unravel_index(np.arange(image.phases.size), image.shape)
    np.testing.assert_allclose(centers[1], (rows + 0.5) * 2e-6)  # FiPy y = thickness
    np.testing.assert_allclose(centers[0], (cols + 0.5) * 2e-6)
    np.testing.assert_allclose(mesh.y_m, centers[1])
    expected = face_counts(image.phases, A, S, wrap_axes=(1,) if periodic else ()).ravel() * 2e-6
    np.testing.assert_allclose(mesh.active_area_m2, expected)


@pytest.mark.parametrize("periodic", [True, False])
def test_interface_faces_of_the_fipy_mesh(periodic):
    image = small_image()
    mesh = build_mesh(image, periodic=periodic)
    wrap = (1,) if periodic else ()
    for first, second in [(A, S), (A, C), (A, V), (S, C), (S, V), (C, V)]:
        faces, areas = mesh.interface_faces(first, second)
        assert faces.size == face_counts(image.phases, first, second, wrap_axes=wrap).sum()
        np.testing.assert_allclose(areas, 2e-6)
    faces, areas = mesh.interface_faces(A, S)
    assert areas.sum() == pytest.approx(mesh.active_area_m2.sum(), rel=1e-12, abs=0)
    phase = mesh.cell_variable(mesh.phase, name="phase")
    assert phase.name == "phase" and np.array_equal(np.asarray(phase.value), image.phases.ravel())


def test_3d_mesh_thickness_is_fipy_z():
    phases = np.full((4, 3, 2), int(S), dtype=np.uint8)
    phases[1, 2, 1] = A
    mesh = build_mesh(SegmentedImage(phases=phases, voxel_size_m=1e-6))
    centers = np.asarray(mesh.mesh.cellCenters)
    index = np.ravel_multi_index((1, 2, 1), phases.shape)
    np.testing.assert_allclose(centers[:, index], [1.5e-6, 2.5e-6, 1.5e-6])
    assert mesh.active_area_m2[index] == pytest.approx(6e-12, rel=1e-12, abs=0)


@pytest.mark.parametrize("shape", [(3, 4), (4, 3, 2)])
def test_vtk_export_opens_in_pyvista(tmp_path, shape):
    import pyvista

    rng = np.random.default_rng(0)
    phases = rng.integers(0, 4, size=shape).astype(np.uint8)
    phases.flat[0] = A
    image = SegmentedImage(phases=phases, voxel_size_m=1e-6)
    mesh = build_mesh(image)
    path = write_vtu(tmp_path / "mesh.vtu", image.shape, image.voxel_size_m,
                     {"phase": mesh.phase, "s_ij_m2": mesh.active_area_m2})
    grid = pyvista.read(path)
    assert grid.n_cells == phases.size
    np.testing.assert_array_equal(grid.cell_data["phase"], phases.ravel())
    np.testing.assert_allclose(grid.cell_data["s_ij_m2"], mesh.active_area_m2)
    fipy_centers = np.asarray(mesh.mesh.cellCenters).T
    vtk_centers = grid.cell_centers().points[:, : len(shape)]
    np.testing.assert_allclose(vtk_centers, fipy_centers, atol=1e-12)
    assert not list(tmp_path.glob(".*partial*"))
