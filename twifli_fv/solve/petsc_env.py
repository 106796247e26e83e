"""The one place that initialises petsc4py; everything else asks it for PETSc and the communicator."""

from __future__ import annotations

import sys
from functools import cache
from types import ModuleType


@cache
def petsc() -> ModuleType:
    """The ``petsc4py.PETSc`` module, initialised once (command-line ``-options`` are not consumed)."""
    import petsc4py

    petsc4py.init([sys.argv[0]])
    from petsc4py import PETSc

    return PETSc


def world():  # noqa: ANN201 - PETSc.Comm
    """PETSc's world communicator (all ranks of ``mpiexec``)."""
    return petsc().COMM_WORLD
