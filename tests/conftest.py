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
