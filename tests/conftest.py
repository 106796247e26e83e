"""Shared fixtures. FiPy and PETSc run single-threaded (FiPy's own advice)."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("FIPY_SOLVERS", "petsc")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MESHES = ROOT / "meshes"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def assert_plot(path: Path, *, min_colours: int = 8) -> None:
    """A real figure, not a blank or truncated file: a PNG of sensible size, with drawn content in colour."""
    from PIL import Image

    with Image.open(path) as image:
        assert image.format == "PNG" and image.width >= 300 and image.height >= 200, (path, image.size)
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    drawn = np.any(pixels < 250, axis=1).mean()  # not white
    assert 0.02 < drawn < 0.95, (path, drawn)
    assert len(np.unique(pixels, axis=0)) >= min_colours, path


class SameOnEveryRank:
    """An mpi4py communicator as rank ``rank`` of ``size`` sees it, run alone: every collective answers as if all
    ranks held this rank's value (enough where they do, e.g. every rank's labels include every label)."""

    def __init__(self, rank: int, size: int) -> None:
        self.rank, self.size = rank, size

    def Get_size(self) -> int:  # noqa: N802 - mpi4py's names
        return self.size

    def Get_rank(self) -> int:  # noqa: N802
        return self.rank

    def allgather(self, value):  # noqa: ANN001, ANN201
        return [value] * self.size

    def allreduce(self, value):  # noqa: ANN001, ANN201
        return value * self.size

    def bcast(self, value, root=0):  # noqa: ANN001, ANN201
        return value

    def Barrier(self) -> None:  # noqa: N802
        pass
