"""The one place that initialises petsc4py; everything else asks it for PETSc and the communicator."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from types import ModuleType

from twifli_fv.errors import InputError
from twifli_fv.ranks import Ranks


@cache
def petsc() -> ModuleType:
    """The ``petsc4py.PETSc`` module, initialised once (command-line ``-options`` are not consumed)."""
    import petsc4py

    petsc4py.init(["twifli"])  # never sys.argv: `python -c` would become an unused PETSc option
    from petsc4py import PETSc

    return PETSc


def world():  # noqa: ANN201 - PETSc.Comm
    """PETSc's world communicator (all ranks of ``mpiexec``)."""
    return petsc().COMM_WORLD


def rank(comm=None) -> int:  # noqa: ANN001 - PETSc.Comm
    """This process's rank in ``comm`` (default: all ranks); rank 0 writes the outputs and shows progress."""
    return (comm or world()).getRank()


def ranks(comm=None) -> Ranks:  # noqa: ANN001 - PETSc.Comm
    """``comm`` (default: all ranks) as the :class:`~twifli_fv.ranks.Ranks` the layers below the solver take."""
    comm = comm or world()
    return Ranks(comm.tompi4py() if comm.getSize() > 1 else None)


def krylov(operator, *, comm, prefix: str, method: str, preconditioner: str):  # noqa: ANN001, ANN201 - PETSc
    """A KSP of ``method`` with a ``preconditioner`` PC on ``operator``, reading PETSc options under ``prefix``."""
    ksp = petsc().KSP().create(comm=comm)
    ksp.setOptionsPrefix(prefix)
    ksp.setOperators(operator)
    ksp.setType(method)
    ksp.getPC().setType(preconditioner)
    return ksp


@contextmanager
def user_options(what: str) -> Iterator[None]:
    """Where PETSc reads ``PETSC_OPTIONS`` for ``what``: its refusal becomes a one-line :class:`InputError`."""
    PETSc = petsc()
    try:
        yield
    except PETSc.Error as exc:
        detail = str(exc).strip().splitlines()[-1].split("] ", 1)[-1]  # PETSc's own last line, without "[rank]"
        given = os.environ.get("PETSC_OPTIONS", "")
        raise InputError(f"PETSC_OPTIONS={given!r}: {detail} (setting up {what})") from None
