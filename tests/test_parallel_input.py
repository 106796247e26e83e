"""Input in parallel (issue 16, item 2): each rank decodes only its slab of the file, equal to the serial load's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest

from twifli_fv import load_image
from twifli_fv.image.io import ImageFile
from twifli_fv.image.slab import plane_cuts, split_planes
from twifli_fv.outputs.images import write_labels
from twifli_fv.ranks import Ranks

from .conftest import ROOT, SameOnEveryRank

LABELS = "0=SE,85=AM,170=CBD"
SHAPE = (23, 19, 17)
MPIEXEC = shutil.which("mpiexec")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, tuple]:
    """The same random 3D labels as .npy, .raw and multi-page TIFF (one page per index of axis 0)."""
    folder = tmp_path_factory.mktemp("parallel_input")
    labels = np.random.default_rng(16).choice(np.array([0, 85, 170], dtype=np.uint8), size=SHAPE)
    np.save(folder / "a.npy", labels)
    labels.tofile(folder / "a.raw")
    write_labels(folder / "a.tif", labels)
    return {".npy": (folder / "a.npy", {}), ".raw": (folder / "a.raw", {"shape": SHAPE, "dtype": "uint8"}),
            ".tif": (folder / "a.tif", {})}


ORIENTATIONS = {
    "plain": {},
    "crop": {"crop": "2:21,1:18,3:15"},
    "axis 1": {"thickness_axis": 1},
    "axis 2, collector at end": {"thickness_axis": 2, "collector_at_end": True},
    "collector at end, crop": {"collector_at_end": True, "crop": "1:20,:,2:"},
    "coarsen 2": {"coarsen": 2},  # 23 planes: the last one dropped
    "coarsen 3, axis 1, collector at end": {"coarsen": 3, "thickness_axis": 1, "collector_at_end": True},
    "refine 2": {"refine": 2},
    "refine 2, axis 2, crop": {"refine": 2, "thickness_axis": 2, "crop": "0:9,4:15,5:16"},
    "coarsen 2, refine 3, collector at end": {"coarsen": 2, "refine": 3, "collector_at_end": True},
}


@pytest.mark.parametrize("suffix", [".npy", ".raw", ".tif"])
@pytest.mark.parametrize("orientation", sorted(ORIENTATIONS))
def test_each_rank_holds_its_planes_of_the_serial_image(files, suffix, orientation, monkeypatch):
    path, options = files[suffix]
    kwargs = {"labels": LABELS, "voxel_size_um": 0.4, **options, **ORIENTATIONS[orientation]}
    whole = load_image(path, **kwargs)
    assert whole.slab is None
    decoded = []
    labels = ImageFile.labels
    monkeypatch.setattr(ImageFile, "labels", lambda self, region=None: decoded.append(labels(self, region)) or decoded[-1])
    for size in (2, 3):
        owned = []
        for rank in range(size):
            ranks = Ranks(SameOnEveryRank(rank, size))
            image = load_image(path, **kwargs, ranks=ranks)
            assert image.slab == split_planes(whole.shape, ranks=ranks)
            assert image.shape == whole.shape and image.voxel_size_m == whole.voxel_size_m
            assert image.phases.dtype == whole.phases.dtype and image.phases.flags.c_contiguous
            np.testing.assert_array_equal(image.phases, whole.phases[image.slab.read])
            owned.append(image.owned_phases)
            # decoded along the thickness: the planes read (less one refined voxel at most each side), not the file
            planes = decoded[-1].shape[kwargs.get("thickness_axis", 0)]
            assert planes <= (image.slab.read_shape[0] / kwargs.get("refine", 1) + 2) * kwargs.get("coarsen", 1)
        np.testing.assert_array_equal(np.concatenate(owned), whole.phases)


@pytest.mark.parametrize("size", [2, 3, 4])
def test_slabs_cut_by_weight_share_them_within_a_plane(size):
    """With weights per plane (a run's unknowns), each slab holds its equal share to within the heaviest plane."""
    rng = np.random.default_rng(size)
    for _ in range(20):
        weights = rng.uniform(1.0, 2.0, size=29) * np.where(rng.random(29) < 0.3, 8.0, 1.0)
        cuts = plane_cuts(29, size, weights)
        assert cuts[0] == 0 and cuts[-1] == 29 and all(a < b for a, b in zip(cuts, cuts[1:]))
        held = [weights[a:b].sum() for a, b in zip(cuts, cuts[1:])]
        assert max(abs(h - weights.sum() / size) for h in held) <= weights.max()
    assert plane_cuts(10, 3) == plane_cuts(10, 3, np.zeros(10)) == [0, 4, 7, 10]  # no weight: even
    assert plane_cuts(5, 3, [0, 0, 0, 0, 9]) == [0, 1, 4, 5]  # one plane each at least


def test_a_rank_allocates_about_its_share(tmp_path):
    """Reading rank 1's slab of 3 allocates about a third of what the serial load does: no whole image in memory."""
    labels = np.random.default_rng(3).choice(np.array([0, 85, 170], dtype=np.uint8), size=(200, 256, 256))
    path = tmp_path / "big.npy"
    np.save(path, labels)
    del labels
    peaks = {}
    for size in (1, 3):
        tracemalloc.start()
        image = load_image(path, labels=LABELS, voxel_size_um=1, ranks=Ranks(SameOnEveryRank(1 % size, size)))
        peaks[size] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert image.phases.nbytes == image.slab.read_shape[0] * 256 * 256 == 69 * 256 * 256  # planes 67..133 and a halo plane each side
    assert peaks[3] < 0.4 * peaks[1], peaks  # 69 of 200 planes: 0.345; 0.44 if the whole 13 MB image were read too


SCRIPT = """
import sys
from pathlib import Path

import numpy as np
from mpi4py import MPI

from twifli_fv import InputError, load_image
from twifli_fv.image.phases import Phase
from twifli_fv.ranks import Ranks

ranks, folder = Ranks(MPI.COMM_WORLD), Path(sys.argv[1])
said = open(folder / f"said{ranks.rank}.txt", "w", buffering=1)  # mpiexec may interleave the ranks' stdout
loads = {"npy": ("a.npy", {}), "tif axis 1": ("a.tif", {"thickness_axis": 1}),
         "tif coarsen": ("a.tif", {"coarsen": 2, "collector_at_end": True}), "cbd on rank 0 only": ("c.npy", {})}
for name, (file, options) in loads.items():
    whole = load_image(folder / file, labels="0=SE,85=AM,170=CBD", voxel_size_um=1, **options)
    image = load_image(folder / file, labels="0=SE,85=AM,170=CBD", voxel_size_um=1, ranks=ranks, **options)
    same = image.shape == whole.shape and np.array_equal(image.phases, whole.phases[image.slab.read])
    print(f"{name}|{ranks.rank}|{'same' if same else 'DIFFERENT'}|{image.slab.lo}:{image.slab.hi}", file=said)
image = load_image(folder / "b.npy", labels="0=SE,85=AM", voxel_size_um=1, ranks=ranks, balance=Phase.AM)
whole = np.load(folder / "b.npy")
same = np.array_equal(image.phases, load_image(folder / "b.npy", labels="0=SE,85=AM", voxel_size_um=1).phases[image.slab.read])
am = int(np.count_nonzero(image.owned_phases == Phase.AM))
print(f"balanced|{ranks.rank}|{'same' if same else 'DIFFERENT'}|{image.slab.lo}:{image.slab.hi}|{am}", file=said)
bad = {"label 7 on the last rank only": ("u.npy", "0=SE,85=AM,170=CBD"), "fractions on the last rank only": ("f.npy", "0=SE,85=AM,170=CBD"),
       "no AM anywhere": ("n.npy", "0=SE,170=CBD")}
for name, (file, labels) in bad.items():
    try:
        load_image(folder / file, labels=labels, voxel_size_um=1, ranks=ranks)
        print(f"{name}|{ranks.rank}|loaded", file=said)
    except InputError as exc:
        print(f"{name}|{ranks.rank}|{exc}", file=said)
try:  # a mapped label absent everywhere: the CLI's way out (one line, exit 2)
    load_image(folder / "a.npy", labels="0=SE,85=AM,170=CBD,200=VOID", voxel_size_um=1, ranks=ranks)
except InputError as exc:
    print(f"exit|{ranks.rank}|{exc}", file=said)
    print(f"twifli: {exc}", file=sys.stderr)
    sys.exit(2)
"""


@pytest.mark.skipif(MPIEXEC is None, reason="needs mpiexec (MPICH, as petsc4py is built against)")
def test_three_ranks_read_their_slabs_and_fail_alike(tmp_path):
    rng = np.random.default_rng(7)
    labels = rng.choice(np.array([0, 85, 170], dtype=np.uint8), size=(10, 12, 9))
    np.save(tmp_path / "a.npy", labels)
    write_labels(tmp_path / "a.tif", labels)
    only_first = np.where(labels == 170, 0, labels)
    only_first[0, 0, 0] = 170  # CBD in plane 0 only: present in the image though absent from ranks 1 and 2
    np.save(tmp_path / "c.npy", only_first)
    unknown = labels.copy()
    unknown[-1, 3, 3] = 7  # in the last rank's planes only
    np.save(tmp_path / "u.npy", unknown)
    fractions = labels.astype(np.float32)
    fractions[-1, 0, 0] = 0.5
    np.save(tmp_path / "f.npy", fractions)
    np.save(tmp_path / "n.npy", np.where(labels == 85, 0, labels))
    halves = np.zeros((12, 6, 5), dtype=np.uint8)
    halves[6:, :3] = 85  # AM in the upper half only, 15 voxels a plane: even slabs would hold 0, 30 and 60
    np.save(tmp_path / "b.npy", halves)
    (tmp_path / "script.py").write_text(textwrap.dedent(SCRIPT))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    run = subprocess.run([MPIEXEC, "-n", "3", sys.executable, str(tmp_path / "script.py"), str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)  # a rank left waiting = a hang
    assert run.returncode == 2, (run.stdout, run.stderr)
    lines = [line.split("|") for rank in range(3) for line in (tmp_path / f"said{rank}.txt").read_text().splitlines()]
    said = {}
    for name, rank, message, *rest in lines:
        said.setdefault(name, {})[int(rank)] = (message, *rest)
    for name in ("npy", "tif axis 1", "tif coarsen", "cbd on rank 0 only"):
        assert {rank: message for rank, (message, _) in said[name].items()} == dict.fromkeys(range(3), "same"), name
    assert [said["npy"][rank][1] for rank in range(3)] == ["0:4", "4:7", "7:10"]
    assert [said["balanced"][rank] for rank in range(3)] == [("same", "0:8", "30"), ("same", "8:10", "30"),
                                                             ("same", "10:12", "30")]
    expected = {"label 7 on the last rank only": "labels [7] are not in the label map",
                "fractions on the last rank only": "float32 values, not integer labels",
                "no AM anywhere": "no active material (AM)"}
    for name, fragment in expected.items():
        messages = {message for (message,) in said[name].values()}
        assert len(said[name]) == 3 and len(messages) == 1 and fragment in messages.pop(), (name, said[name])
    errors = {message for (message,) in said["exit"].values()}
    assert len(said["exit"]) == 3 and len(errors) == 1  # one line each (a line of the rank's file), all the same
    assert f"{tmp_path / 'a.npy'}: mapped label(s) 200=VOID do not occur in the image" in errors.pop()
    assert "200=VOID" in run.stderr and "Traceback" not in run.stderr
