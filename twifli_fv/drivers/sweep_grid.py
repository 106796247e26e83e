"""Sweep axes from ``--vary`` specifications, typed by the case schema (``twifli_fv.case.SCHEMA``, read when
called: models add tables), and their grid (README, "Sweeps")."""

from __future__ import annotations

import contextlib
import itertools
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from twifli_fv import case as case_file
from twifli_fv.errors import InputError, did_you_mean

_INT = re.compile(r"[+-]?\d+")
_RANGE = re.compile(r"([^:]+):([^:]+):(\d+)(log|lin)?")


@dataclass(frozen=True)
class SweepAxis:
    """One varied case key (``table.key``, its unit in the key's name) and its values, in order."""

    table: str
    key: str
    values: tuple[Any, ...]

    @property
    def name(self) -> str:
        return f"{self.table}.{self.key}"


def parse_vary(spec: str) -> SweepAxis:
    """``table.key=v1,v2`` / ``key=v1,v2`` / ``key=start:stop:N[log]`` -> a typed ``SweepAxis``."""
    name, sep, text = spec.partition("=")
    name, text = name.strip(), text.strip()
    if not sep or not name or not text:
        raise InputError(f"--vary {spec!r}: write KEY=V1,V2,... or KEY=START:STOP:N[log], e.g. tau_e=2,3,4")
    table, key = resolve_key(name, option="--vary", spec=spec)
    kinds = case_file.SCHEMA[table][key]
    if not {bool, int, float, str} & set(kinds):
        raise InputError(f"--vary {spec!r}: {table}.{key} is a {kinds[0].__name__}; it cannot be varied from here")
    match = _RANGE.fullmatch(text)
    if match and (int in kinds or float in kinds):
        values = _range(match, kinds, spec)
    else:
        values = [_typed(part.strip(), kinds, spec, f"{table}.{key}") for part in text.split(",")]
    if len(set(values)) != len(values):
        raise InputError(f"--vary {spec!r}: a value is repeated")
    return SweepAxis(table=table, key=key, values=tuple(values))


def expand_grid(axes: list[SweepAxis]) -> list[dict[str, Any]]:
    """Every combination, first axis slowest: ``[{"table.key": value, ...}, ...]``."""
    names = [axis.name for axis in axes]
    if len(set(names)) != len(names):
        raise InputError(f"--vary: a key is varied twice ({', '.join(names)})")
    return [dict(zip(names, combination)) for combination in itertools.product(*(axis.values for axis in axes))]


def resolve_key(name: str, *, option: str, spec: str | None = None,
                schema: dict[str, dict] | None = None) -> tuple[str, str]:
    """``table.key`` or a bare key naming exactly one schema key -> ``(table, key)``; else a one-line error
    that starts with ``option`` (``--free KEY``, a data column ...) and ``spec`` (as given; default ``name``)."""
    schema = case_file.SCHEMA if schema is None else schema
    spec = name if spec is None else spec
    if "." in name:
        table, _, key = name.partition(".")
        if table not in schema:
            raise InputError(f"{option} {spec!r}: unknown table '{table}'{did_you_mean(table, list(schema))}")
        if key not in schema[table]:
            shown = {choice: f"{table}.{choice}" for choice in schema[table]}
            raise InputError(f"{option} {spec!r}: unknown key '{name}'{did_you_mean(key, shown)}")
        return table, key
    owners = [table for table, keys in schema.items() if name in keys]
    if len(owners) > 1:
        raise InputError(f"{option} {spec!r}: '{name}' is ambiguous; write one of "
                         + ", ".join(f"{table}.{name}" for table in owners))
    if not owners:
        bare = {key: f"{table}.{key}" for table, keys in schema.items() for key in keys}
        hint = did_you_mean(name, bare, otherwise=f" (write table.key; tables: {', '.join(schema)})")
        raise InputError(f"{option} {spec!r}: unknown case key '{name}'{hint}")
    return owners[0], name


def _typed(text: str, kinds: tuple[type, ...], spec: str, name: str) -> Any:
    if bool in kinds and text in ("true", "false"):
        return text == "true"
    if int in kinds and _INT.fullmatch(text):
        return int(text)
    if float in kinds:
        with contextlib.suppress(ValueError):
            if math.isfinite(value := float(text)):
                return value
    if str in kinds and text:
        return text
    wanted = " or ".join(kind.__name__ for kind in kinds)
    raise InputError(f"--vary {spec!r}: {name} takes {wanted} values; {text!r} is not one")


def _range(match: re.Match, kinds: tuple[type, ...], spec: str) -> list[Any]:
    try:
        start, stop = float(match[1]), float(match[2])
    except ValueError:
        raise InputError(f"--vary {spec!r}: a range is START:STOP:N or START:STOP:Nlog with numbers") from None
    count, log = int(match[3]), match[4] == "log"
    if count < 2 or not (math.isfinite(start) and math.isfinite(stop)) or (log and min(start, stop) <= 0):
        raise InputError(f"--vary {spec!r}: a range needs N >= 2 and finite ends (positive ends for log)")
    points = np.geomspace(start, stop, count) if log else np.linspace(start, stop, count)
    values = [float(f"{x:.12g}") for x in points]
    if float not in kinds:
        if any(not v.is_integer() for v in values):
            raise InputError(f"--vary {spec!r}: the key takes integers; this range gives {values}")
        return [int(v) for v in values]
    return values
