"""A sweep point's case directory: the base case's settings with the point's values, as ``case.toml``.

Input files named by a relative path are re-rooted to the point's directory. The file is only rewritten
when its text changes, so its modification time tells whether an output next to it is older than the settings.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
from pathlib import Path
from typing import Any

from twifli_fv.case import Case, load_case
from twifli_fv.outputs.files import atomic_path

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def point_name(values: dict[str, Any]) -> str:
    """A directory name from the point's values: ``tau_e=2__D_trace_cm2_s=1e-10`` (``table.key`` if a key repeats;
    floats as repr: distinct values, distinct names)."""
    keys = [name.partition(".")[2] for name in values]
    labels = [key if keys.count(key) == 1 else name for name, key in zip(values, keys)]
    texts = [value if isinstance(value, str) else _value(value) for value in values.values()]
    return "__".join(f"{label}={re.sub(r'[^A-Za-z0-9._+-]', '-', text)}" for label, text in zip(labels, texts))


def write_point_case(base: Case, directory: Path, values: dict[str, Any], *, header: str) -> Case:
    """Write ``directory/case.toml`` (base settings, ``values`` as ``{"table.key": value}``); return it loaded."""
    directory = Path(directory).resolve()
    settings = copy.deepcopy(base.settings)
    for name, value in values.items():
        table, _, key = name.partition(".")
        settings.setdefault(table, {})[key] = value
    for table in settings.values():
        for key, value in table.items():
            if isinstance(value, str) and not os.path.isabs(value) and (base.directory / value).is_file():
                table[key] = os.path.relpath(base.directory / value, directory)
    text = "".join(f"# {line}\n" for line in header.splitlines()) + _dump(settings)
    path = directory / "case.toml"
    if not path.is_file() or path.read_text() != text:
        with atomic_path(path) as tmp:
            tmp.write_text(text)
    return load_case(directory)


def _dump(settings: dict[str, dict[str, Any]]) -> str:
    return "".join(f"\n[{table}]\n" + "".join(f"{_key(k)} = {_value(v)}\n" for k, v in values.items())
                   for table, values in settings.items())


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("nan" if math.isnan(value) else "inf" if value > 0 else "-inf")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid TOML basic-string escapes
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} to case.toml")
