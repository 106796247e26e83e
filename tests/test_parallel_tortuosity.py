"""Tortuosity on a grid cut into slabs over 1-4 ranks (issue 16): the serial answer, percolation joined across slabs.

Run as a script under ``mpiexec`` (``python tests/test_parallel_tortuosity.py DIR``), each rank reads only its slab
of the images in ``DIR`` (memory-mapped) and rank 0 prints the results as JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from twifli_fv.errors import InputError
from twifli_fv.image.segmented import SegmentedImage
from twifli_fv.image.slab import Slab, split_planes
from twifli_fv.properties.connectivity import label_components, percolating, percolating_labels, slab_ends

MPIEXEC = shutil.which("mpiexec")
RANKS = os.environ.get("TWIFLI_TEST_RANKS", "1,2").split(",")  # rank counts to run (the suite: 1 and 2)
RTOL = 1e-12  # CG tolerance of both sides: solver error far below the 1e-8 compared
STRUCTURES = {"2d": ((64, 48), 2, (0.3, 0.45)), "3d": ((24, 20, 20), 3, (0.45, 0.8))}  # shape, seed, SE/CBD quantiles


def structure(shape: tuple[int, ...], seed: int, quantiles: tuple[float, float]) -> np.ndarray:
    """Phase codes of a smoothed random field: SE below the first quantile, CBD up to the second, AM above: clusters
    with islands and dead ends; a few VOID cells in the top planes only (a phase absent from the first slabs)."""
    from scipy import ndimage

    field = ndimage.gaussian_filter(np.random.default_rng(seed).standard_normal(shape), 1.0, mode="wrap")
    low, high = np.quantile(field, quantiles)
    phases = np.where(field < low, 2, np.where(field < high, 3, 1)).astype(np.uint8)
    phases[-1, 1] = phases[-2, 3] = 0
    return phases


def slab_results(directory: Path) -> dict:
    """This rank's slab of every image in ``directory``, solved with the other ranks'."""
    from twifli_fv.solve.petsc_env import ranks
    from twifli_fv.solve.tortuosity import tortuosity_factors

    found = {}
    for path in sorted(directory.glob("*.npy")):
        whole = np.load(path, mmap_mode="r")
        slab = split_planes(whole.shape, ranks=ranks())
        image = SegmentedImage(phases=np.array(whole[slab.read]), voxel_size_m=1e-6, slab=slab)
        for walls in ("periodic", "no-flux"):
            results = tortuosity_factors(image, periodic=walls == "periodic", rtol=RTOL)
            found[f"{path.stem} {walls}"] = {name: r.to_dict() for name, r in results.items()}
    return found


@pytest.fixture(scope="module")
def serial(tmp_path_factory) -> tuple[Path, dict]:
    from twifli_fv.solve.tortuosity import tortuosity_factors

    directory = tmp_path_factory.mktemp("images")
    expected = {}
    for name, spec in STRUCTURES.items():
        phases = structure(*spec)
        np.save(directory / f"{name}.npy", phases)
        image = SegmentedImage(phases=phases, voxel_size_m=1e-6)
        for walls in ("periodic", "no-flux"):
            results = tortuosity_factors(image, periodic=walls == "periodic", rtol=RTOL)
            expected[f"{name} {walls}"] = {name: r.to_dict() for name, r in results.items()}
    return directory, expected


@pytest.mark.skipif(MPIEXEC is None, reason="needs mpiexec (MPICH, as petsc4py is built against)")
@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_slabs_on_any_number_of_ranks_give_the_serial_tortuosity(serial, size):
    if str(size) not in RANKS:
        pytest.skip(f"{size} ranks: not in TWIFLI_TEST_RANKS={','.join(RANKS)} (3 or 4 ranks oversubscribe 2 cores, "
                    "each PETSc message then waits for a time slice: ~2 min each); TWIFLI_TEST_RANKS=1,2,3,4 runs them")
    directory, expected = serial
    run = subprocess.run([MPIEXEC, "-n", str(size), sys.executable, __file__, str(directory)], capture_output=True,
                         text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120 * size**2)
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout)
    assert list(found) == list(expected)
    percolating_somewhere = set()
    for case, results in expected.items():
        assert list(found[case]) == list(results), case  # the same phases, VOID only on the last rank included
        for name, one in results.items():
            got = found[case][name]
            assert got["volume_fraction"] == one["volume_fraction"] and got["axis"] == 0
            assert got["percolating_fraction"] == one["percolating_fraction"], (case, name)
            if one["tau"] is None:
                assert got["tau"] is None and got["D_eff"] == 0.0, (case, name)
                continue
            percolating_somewhere.add((case, name))
            assert got["tau"] == pytest.approx(one["tau"], rel=1e-8), (case, name)
            assert got["D_eff"] == pytest.approx(one["D_eff"], rel=1e-8), (case, name)
            assert got["flux_mismatch"] < 1e-9
    assert ("3d periodic", "AM") in percolating_somewhere and ("3d no-flux", "AM") not in percolating_somewhere


def slab_percolation(mask: np.ndarray, size: int, wrap: tuple[int, ...]) -> np.ndarray:
    """Percolating cells of ``mask`` cut into ``size`` slabs, each labelled alone and joined by the union-find
    over their :func:`slab_ends`, as the ranks of ``mpiexec`` do (their exchange done here by hand)."""
    slabs = [split_planes(mask.shape, ranks=SimpleNamespace(rank=rank, size=size)) for rank in range(size)]
    labelled = [label_components(mask[s.lo : s.hi], wrap_axes=wrap) for s in slabs]
    ends = [slab_ends(labels, count, below=labelled[r - 1][0][-1] if r else None, first=r == 0, last=r == size - 1)
            for r, (labels, count) in enumerate(labelled)]
    return np.concatenate([percolating_labels(ends, r)[labels] for r, (labels, _) in enumerate(labelled)])


def test_a_path_through_two_slab_boundaries_and_the_periodic_side_percolates():
    mask = np.zeros((9, 8), dtype=bool)  # three slabs of three planes
    mask[:5, 0] = mask[4:, 7] = True  # up column 0 past boundary 1, across the side, up column 7 past boundary 2
    mask[2, 3:6] = mask[7, 2:4] = True  # an island in the first slab; another in the last
    mask[6:8, 4] = True  # a stub from the last slab's plane 6 (crosses no boundary, touches no end)
    mask[5:, 1] = True  # a dead end from the top plane down to the second boundary plane: no bottom
    path = np.zeros_like(mask)
    path[:5, 0] = path[4:, 7] = True
    assert not slab_percolation(mask, 3, wrap=()).any()
    np.testing.assert_array_equal(slab_percolation(mask, 3, wrap=(1,)), path)
    np.testing.assert_array_equal(percolating(mask, wrap_axes=(1,)), path)


@pytest.mark.parametrize("shape", [(31, 17), (13, 7, 9)])
def test_slab_percolation_equals_the_serial_one(shape):
    rng = np.random.default_rng(sum(shape))
    for fraction in (0.5, 0.62, 0.7):
        mask = rng.random(shape) < fraction
        for wrap in ((), tuple(range(1, mask.ndim))):
            expected = percolating(mask, wrap_axes=wrap)
            for size in (1, 2, 3, 5, shape[0]):  # one plane per rank at most
                np.testing.assert_array_equal(slab_percolation(mask, size, wrap), expected, err_msg=f"{size} {wrap}")


def test_an_in_plane_axis_on_slabs_is_one_line_refused():
    from twifli_fv.solve.tortuosity import tortuosity_factor

    with pytest.raises(InputError, match="axis 1: an image read in slabs") as error:
        tortuosity_factor(np.ones((5, 5), dtype=bool), axis=1, slab=Slab((8, 5), 0, 4))
    assert "\n" not in str(error.value)


if __name__ == "__main__":
    from twifli_fv.solve.petsc_env import rank

    results = slab_results(Path(sys.argv[1]))
    if rank() == 0:
        print(json.dumps(results))
