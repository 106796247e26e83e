"""Reading segmented images: formats, orientation, and a one-line error for every bad input."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from twifli_fv import InputError, Phase, load_image, parse_label_map
from twifli_fv.image.reading import coarsen_labels
from twifli_fv.outputs.images import write_labels

LABELS = "0=SE,85=AM,170=CBD"


@pytest.fixture
def labels3d(rng: np.random.Generator) -> np.ndarray:
    return rng.choice(np.array([0, 85, 170], dtype=np.uint8), size=(6, 5, 4))


@pytest.mark.parametrize("suffix", [".npy", ".tif", ".raw"])
def test_3d_formats_round_trip(tmp_path, labels3d, suffix):
    path = tmp_path / f"img{suffix}"
    if suffix == ".raw":
        labels3d.tofile(path)
        image = load_image(path, labels=LABELS, voxel_size_um=0.5, shape=(6, 5, 4), dtype="uint8")
    else:
        write_labels(path, labels3d)
        image = load_image(path, labels=LABELS, voxel_size_um=0.5)
    expected = np.select([labels3d == 0, labels3d == 85], [Phase.SE, Phase.AM], Phase.CBD)
    assert image.shape == (6, 5, 4)
    np.testing.assert_array_equal(image.phases, expected)
    assert image.voxel_size_m == pytest.approx(0.5e-6, rel=1e-12, abs=0)


def test_png_and_orientation(tmp_path, labels3d):
    path = tmp_path / "slice.png"
    Image.fromarray(labels3d[:, :, 0]).save(path)
    plain = load_image(path, labels=LABELS, voxel_size_um=1)
    flipped = load_image(path, labels=LABELS, voxel_size_um=1, collector_at_end=True)
    turned = load_image(path, labels=LABELS, voxel_size_um=1, thickness_axis=1)
    np.testing.assert_array_equal(flipped.phases, plain.phases[::-1])
    np.testing.assert_array_equal(turned.phases, plain.phases.T)


def test_crop_coarsen_refine(tmp_path):
    labels = np.zeros((8, 8), dtype=np.uint8)
    labels[:4, :4] = 85
    labels[0, 0] = 0  # a minority voxel in a block vanishes on coarsening
    path = tmp_path / "a.npy"
    np.save(path, labels)
    cropped = load_image(path, labels="0=SE,85=AM", voxel_size_um=1, crop="0:4,0:8")
    assert cropped.shape == (4, 8)
    coarse = load_image(path, labels="0=SE,85=AM", voxel_size_um=1, coarsen=2)
    assert coarse.shape == (4, 4) and coarse.voxel_size_m == pytest.approx(2e-6, rel=1e-12, abs=0)
    assert np.all(coarse.phases[:2, :2] == Phase.AM) and np.all(coarse.phases[2:] == Phase.SE)
    fine = load_image(path, labels="0=SE,85=AM", voxel_size_um=1, refine=2)
    assert fine.shape == (16, 16) and fine.voxel_size_m == pytest.approx(0.5e-6, rel=1e-12, abs=0)
    np.testing.assert_array_equal(coarsen_labels(np.repeat(np.repeat(labels, 3, 0), 3, 1), 3), labels)


def test_label_map_parsing():
    assert parse_label_map("0=SE, 85=am,170=CBD") == {0: Phase.SE, 85: Phase.AM, 170: Phase.CBD}
    assert parse_label_map({1: "AM", 2: "VOID"}) == {1: Phase.AM, 2: Phase.VOID}


def _write(tmp_path, name, data):
    path = tmp_path / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        np.save(path, data)
    return path


BAD_INPUTS = {
    "missing file": (lambda p: p / "nope.tif", {}, "not found"),
    "truncated tiff": (lambda p: _truncated_tiff(p), {}, "cannot read image"),
    "unknown suffix": (lambda p: _write(p, "a.bmpx", b"xx"), {}, "unsupported image type"),
    "garbage npy": (lambda p: _write(p, "g.npy", b"\x93NUMPY garbage"), {}, "cannot read image"),
    "label not in map": (lambda p: _write(p, "u.npy", np.array([[0, 85], [7, 85]])), {}, "labels [7]"),
    "mapped phase absent": (lambda p: _write(p, "m.npy", np.array([[0, 85], [0, 85]])), {}, "170=CBD"),
    "no AM": (lambda p: _write(p, "n.npy", np.array([[0, 170], [0, 170]])), {"labels": "0=SE,170=CBD"}, "no active material"),
    "zero voxel": (lambda p: _write(p, "z.npy", np.array([[0, 85], [170, 85]])), {"voxel_size_um": 0}, "positive finite"),
    "nan voxel": (lambda p: _write(p, "v.npy", np.array([[0, 85], [170, 85]])), {"voxel_size_um": float("nan")}, "positive finite"),
    "1D image": (lambda p: _write(p, "d.npy", np.array([0, 85, 170])), {}, "1 dimensions"),
    "4D image": (lambda p: _write(p, "e.npy", np.zeros((2, 2, 2, 2), int)), {}, "4 dimensions"),
    "float labels": (lambda p: _write(p, "f.npy", np.array([[0.5, 85]])), {}, "not integer labels"),
    "raw wrong size": (lambda p: _write(p, "r.raw", bytes(10)), {"shape": (3, 3), "dtype": "uint8"}, "needs 9"),
    "raw without shape": (lambda p: _write(p, "s.raw", bytes(9)), {}, "needs its shape"),
}


def _truncated_tiff(tmp_path):
    path = tmp_path / "t.tif"
    write_labels(path, np.zeros((4, 64, 64), dtype=np.uint8) + 85)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return path


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_line_naming_the_file(tmp_path, case):
    make, overrides, fragment = BAD_INPUTS[case]
    path = make(tmp_path)
    kwargs = {"labels": LABELS, "voxel_size_um": 0.27, **overrides}
    with pytest.raises(InputError) as info:
        load_image(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and fragment in message, message


def test_generate_composite_hits_its_fractions_and_is_seeded():
    from twifli_fv.image.generate import LABELS as GENERATED
    from twifli_fv.image.generate import generate_composite

    for shape in ((60, 50), (24, 20, 20)):
        labels = generate_composite(shape=shape, voxel_size_um=0.27, am_fraction=0.6, cbd_fraction=0.05,
                                    radius_um=0.8, seed=4)
        assert labels.shape == shape and set(np.unique(labels).tolist()) == set(GENERATED.values())
        am, cbd = np.mean(labels == GENERATED["AM"]), np.mean(labels == GENERATED["CBD"])
        assert 0.6 <= am < 0.7  # balls are painted until the AM target is reached; CBD takes SE voxels only
        assert cbd == pytest.approx(0.05, abs=2 / labels.size)  # the CBD share is a quantile of the SE voxels
        np.testing.assert_array_equal(labels, generate_composite(shape=shape, voxel_size_um=0.27, radius_um=0.8,
                                                                 seed=4))
        assert not np.array_equal(labels, generate_composite(shape=shape, voxel_size_um=0.27, radius_um=0.8, seed=5))
