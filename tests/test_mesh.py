"""FiPy mesh of an image, interface areas, and the VTK export read back with PyVista."""

from __future__ import annotations

import numpy as np
import pytest

from twifli_fv import Phase, SegmentedImage
from twifli_fv.image.slab import split_planes
from twifli_fv.mesh.faces import face_counts, face_pairs
from twifli_fv.mesh.grid import build_mesh
from twifli_fv.outputs.vtk import write_vti

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


def interface_faces(mesh, first: Phase, second: Phase) -> tuple[np.ndarray, np.ndarray]:
    """FiPy face ids between cells of ``first`` and ``second`` (either side), and their areas."""
    cells = np.ma.filled(mesh.mesh.faceCellIDs, -1)
    inside = cells[1] >= 0
    a = mesh.phase[cells[0]]
    b = np.where(inside, mesh.phase[np.where(inside, cells[1], 0)], 255)
    pair = inside & (((a == first) & (b == second)) | ((a == second) & (b == first)))
    faces = np.flatnonzero(pair)
    return faces, np.asarray(mesh.mesh._faceAreas)[faces]


@pytest.mark.parametrize("periodic", [True, False])
def test_interface_faces_of_the_fipy_mesh(periodic):
    import fipy

    image = small_image()
    mesh = build_mesh(image, periodic=periodic)
    wrap = (1,) if periodic else ()
    for first, second in [(A, S), (A, C), (A, V), (S, C), (S, V), (C, V)]:
        faces, areas = interface_faces(mesh, first, second)
        assert faces.size == face_counts(image.phases, first, second, wrap_axes=wrap).sum()
        np.testing.assert_allclose(areas, 2e-6)
    faces, areas = interface_faces(mesh, A, S)
    assert areas.sum() == pytest.approx(mesh.active_area_m2.sum(), rel=1e-12, abs=0)
    phase = fipy.CellVariable(mesh=mesh.mesh, value=mesh.phase, name="phase")
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
def test_vti_export_reads_back_in_pyvista(tmp_path, shape):
    import pyvista

    voxel = 0.27e-6
    phases = np.random.default_rng(0).integers(0, 4, size=shape).astype(np.uint8)
    phases.flat[0] = A
    mesh = build_mesh(SegmentedImage(phases=phases, voxel_size_m=voxel))
    position = np.arange(phases.size, dtype=float).reshape(shape)  # C-order index: an axis swap shows
    x = np.where(phases == A, position, np.nan)
    path = write_vti(tmp_path / "mesh.vti", shape, voxel,
                     {"phase": mesh.phase, "position": position, "x": x, "s_ij_m2": mesh.active_area_m2})
    grid = pyvista.read(path)
    assert isinstance(grid, pyvista.ImageData) and grid.n_cells == phases.size
    cells_xyz = (*shape[::-1], 0) if len(shape) == 2 else shape[::-1]  # x = last image axis, thickness = axis 0
    assert grid.dimensions == tuple(n + 1 if n else 1 for n in cells_xyz)
    np.testing.assert_allclose(grid.bounds, [b for n in cells_xyz for b in (0.0, n * voxel)], rtol=1e-12, atol=0)
    np.testing.assert_allclose(grid.spacing, [voxel] * 3, rtol=1e-12, atol=0)
    centers = grid.cell_centers().points[:, : len(shape)]
    image_index = tuple(np.floor(centers / voxel).astype(int)[:, ::-1].T)  # (axis 0, ..., last axis) per cell
    np.testing.assert_array_equal(grid.cell_data["position"], position[image_index])
    np.testing.assert_allclose(centers, np.asarray(mesh.mesh.cellCenters).T, rtol=0, atol=1e-18)  # FiPy's cells
    assert grid.cell_data["phase"].dtype == np.uint8
    np.testing.assert_array_equal(grid.cell_data["phase"], phases[image_index])
    np.testing.assert_array_equal(grid.cell_data["x"], x[image_index])  # NaN outside AM, equal where set
    assert np.isnan(grid.cell_data["x"]).sum() == np.count_nonzero(phases != A) > 0
    np.testing.assert_allclose(grid.cell_data["s_ij_m2"], mesh.active_area_m2)
    assert not list(tmp_path.glob(".*partial*"))


def test_vti_export_rejects_a_wrong_size(tmp_path):
    with pytest.raises(ValueError, match="12 cells"):
        write_vti(tmp_path / "bad.vti", (3, 4), 1e-6, {"c": np.zeros(11)})
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("shape", [(3, 4), (3, 2), (4, 3, 2), (2, 1, 3)])
def test_face_pairs_are_the_interior_faces_of_the_fipy_mesh(periodic, shape):
    phases = np.random.default_rng(1).integers(0, 4, size=shape).astype(np.uint8)
    mesh = build_mesh(SegmentedImage(phases=phases, voxel_size_m=1e-6), periodic=periodic)
    cells = np.ma.filled(mesh.mesh.faceCellIDs, -1)
    interior = cells[:, cells[1] >= 0]
    first, second = face_pairs(np.ones(shape, dtype=bool), wrap_axes=mesh.wrap_axes)
    ours = sorted(zip(np.minimum(first, second).tolist(), np.maximum(first, second).tolist()))
    fipy_faces = sorted(zip(interior.min(axis=0).tolist(), interior.max(axis=0).tolist()))
    assert ours == fipy_faces
    am = phases.ravel() == A
    first, second = face_pairs(am.reshape(shape), wrap_axes=mesh.wrap_axes)
    assert np.all(am[first]) and np.all(am[second])


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("shape", [(7, 4), (6, 3, 4)])
def test_slabs_number_the_am_cells_and_their_faces_as_the_whole_grid(periodic, shape):
    """Each rank's slab (own planes plus halo) gives its share of the whole grid's AM unknowns and AM|AM faces, and
    the active areas of its own cells (issue 16)."""
    phases = np.random.default_rng(2).integers(0, 4, size=shape).astype(np.uint8)
    whole = build_mesh(SegmentedImage(phases=phases, voxel_size_m=1e-6), periodic=periodic)
    faces = set(zip(*whole.unknown_faces()))
    for size in (2, 3):
        found, area, unknowns = set(), [], []
        for rank in range(size):
            slab = split_planes(shape, ranks=FakeRanks(rank, size))
            mesh = build_mesh(SegmentedImage(phases=phases[slab.read], voxel_size_m=1e-6, slab=slab),
                              periodic=periodic, ranks=FakeRanks(rank, size, plane_am=whole.plane_am))
            first, second = mesh.unknown_faces()
            own = mesh.unknowns
            assert np.all(((first >= own.start) & (first < own.stop)) | ((second >= own.start) & (second < own.stop)))
            found |= set(zip(first.tolist(), second.tolist()))
            area.append(mesh.active_area_m2)
            unknowns.append(own)
        assert found == faces
        np.testing.assert_array_equal(np.concatenate(area), whole.active_area_m2)
        assert [u.start for u in unknowns[1:]] == [u.stop for u in unknowns[:-1]] and unknowns[-1].stop == whole.am_total


class FakeRanks:
    """One rank of ``size`` seen alone: the sums a slab mesh asks for answered from the whole grid's ``plane_am``."""

    def __init__(self, rank: int, size: int, plane_am: np.ndarray | None = None) -> None:
        self.rank, self.size, self.plane_am = rank, size, plane_am

    def sum(self, value):  # noqa: ANN001, ANN201
        return self.plane_am
