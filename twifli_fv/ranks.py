"""The processes a run is split over, as the layers below the solver see them: the collectives over the ranks'
slabs (:mod:`twifli_fv.image.slab`). The solve layer makes a :class:`Ranks` from PETSc's communicator
(:func:`twifli_fv.solve.petsc_env.ranks`) and passes it down explicitly; ``Ranks()`` is one process alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Ranks:
    """Collective operations over an mpi4py communicator (``mpi``), or over this process alone (``mpi=None``)."""

    def __init__(self, mpi: Any = None) -> None:  # noqa: ANN401 - mpi4py.MPI.Comm, never imported here
        self.mpi = mpi if mpi is not None and mpi.Get_size() > 1 else None
        self.size: int = 1 if self.mpi is None else self.mpi.Get_size()
        self.rank: int = 0 if self.mpi is None else self.mpi.Get_rank()

    def sum(self, value: Any) -> Any:  # noqa: ANN401 - a number or a numpy array
        """``value`` summed over the ranks (element-wise for arrays), on every rank."""
        return value if self.mpi is None else self.mpi.allreduce(value)

    def max(self, value: float) -> float:
        """The largest ``value`` of any rank, on every rank."""
        return value if self.mpi is None else max(self.mpi.allgather(value))

    def gather(self, value: Any) -> list:  # noqa: ANN401 - any picklable value
        """Every rank's ``value``, in rank order, on every rank."""
        return [value] if self.mpi is None else self.mpi.allgather(value)

    def broadcast(self, value: Any) -> Any:  # noqa: ANN401 - any picklable value
        """Rank 0's ``value`` on every rank."""
        return value if self.mpi is None else self.mpi.bcast(value, root=0)

    def together(self, action: Callable[[], T], *, errors: tuple[type[BaseException], ...] = (OSError,)) -> T | None:
        """``action()`` on this rank; an ``errors`` exception of any rank is raised on every rank (the lowest rank's),
        so none waits in a later collective call for a rank that stopped. Also a barrier."""
        result, failed = None, None
        try:
            result = action()
        except errors as exc:
            failed = exc
        failures = [exc for exc in self.gather(failed) if exc is not None]
        if failures:
            raise failures[0]
        return result

    def barrier(self) -> None:
        if self.mpi is not None:
            self.mpi.Barrier()

    def exchange(self, *, down: Any, up: Any) -> tuple[Any, Any]:  # noqa: ANN401 - any picklable values
        """Send ``down`` to the rank below and ``up`` to the rank above (the slabs' order); return what the rank
        below sent up and what the rank above sent down (None where there is no such rank)."""
        if self.mpi is None:
            return None, None
        rank, size = self.rank, self.size
        sent = [self.mpi.isend(value, dest=to, tag=tag)
                for value, to, tag in ((up, rank + 1, 1), (down, rank - 1, 2)) if 0 <= to < size]
        below = self.mpi.recv(source=rank - 1, tag=1) if rank > 0 else None
        above = self.mpi.recv(source=rank + 1, tag=2) if rank + 1 < size else None
        for request in sent:
            request.wait()
        return below, above


ONE = Ranks()  # this process alone
