"""The one exception type for user mistakes: the CLI prints its message on one line and exits 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping


class InputError(ValueError):
    """Bad input (file, key or value); the message names it and says what to do."""


def did_you_mean(name: str, known: Iterable[str] | Mapping[str, str], *, listing: str = "known",
                 otherwise: str | None = None) -> str:
    """`` (did you mean 'X'?)`` for the choice closest to ``name``, else `` (known: a, b, ...)`` or ``otherwise``;
    ``known`` may map each choice to how it is shown (e.g. a bare key to ``table.key``)."""
    shown = dict(known) if isinstance(known, Mapping) else {choice: choice for choice in known}
    match = difflib.get_close_matches(name, list(shown), n=1)
    if match:
        return f" (did you mean '{shown[match[0]]}'?)"
    return otherwise if otherwise is not None else f" ({listing}: {', '.join(shown.values()) or 'none'})"


class NumericalError(RuntimeError):
    """A solve that failed on accepted input (a collapsed time step, an unconverged linear solve); the CLI exits 3."""
