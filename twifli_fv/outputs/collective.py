"""A step every rank takes together: if it fails on any rank, it fails on every rank, with the same error.

Under ``mpiexec`` each rank writes its own piece of the output (:mod:`twifli_fv.outputs.pieces`,
:mod:`twifli_fv.outputs.checkpoint`); a rank whose write fails must not leave the others waiting in the next
collective operation (a solve, a reduction). :func:`collectively` gathers every rank's failure and raises the
lowest rank's on all of them, so the CLI says it once (rank 0) and every rank stops. It is also a barrier.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from twifli_fv.ranks import Ranks

T = TypeVar("T")


def collectively(action: Callable[[], T], *, ranks: Ranks,
                 errors: tuple[type[BaseException], ...] = (OSError,)) -> T | None:
    """``action()`` on this rank; an ``errors`` exception of any rank is raised on every rank (the lowest rank's)."""
    result, failed = None, None
    try:
        result = action()
    except errors as exc:
        failed = exc
    failures = [exc for exc in ranks.gather(failed) if exc is not None]
    if failures:
        raise failures[0]
    return result
