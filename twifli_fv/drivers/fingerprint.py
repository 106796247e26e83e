"""What a checkpoint must match to be resumed: the checkpoint format, the case, the grid and every input file.

A changed input (the image, the tortuosity image, the D(c) table, the GITT fit, the grain image or its
orientations) or a changed case table refuses ``--resume`` in one line naming it. ``[solver]`` settings may
change between a run and its resumption (a smaller ``dt_max_s`` after a numerical failure, say).
"""

from __future__ import annotations

import hashlib
import json

from twifli_fv.case import Case
from twifli_fv.ranks import Ranks

CHECKPOINT_FORMAT = 2  # bump when the checkpoint's contents change
INPUT_FILES = (("image", "file"), ("tortuosity", "image_file"), ("material", "table_csv"),
               ("material", "gitt_fit_json"), ("grains", "image_file"), ("grains", "orientation_csv"))
RESUMABLE_TABLES = ("solver",)


def fingerprint(case: Case, grid: bytes, *, ranks: Ranks) -> dict:
    """Digests of the case (without ``[solver]``), of the grid the run was built on and of each input file.

    Each rank holds its own slab of the grid: their digests are combined in rank order, so every rank of a
    distributed run compares the same fingerprint."""
    settings = {table: values for table, values in case.settings.items() if table not in RESUMABLE_TABLES}
    inputs = {}
    for table, key in INPUT_FILES:
        path = case.path(table, key)
        if path is not None and path.is_file():
            with path.open("rb") as handle:  # in chunks: an image may be larger than a rank's memory share
                inputs[str(path)] = hashlib.file_digest(handle, "sha256").hexdigest()
    grids = ranks.gather(_sha(grid))
    grid_digest = grids[0] if ranks.size == 1 else _sha(json.dumps(grids).encode())
    return {"format": CHECKPOINT_FORMAT, "case": _sha(json.dumps(settings, sort_keys=True).encode()),
            "grid": grid_digest, "inputs": inputs}


def difference(saved: object, now: dict) -> str | None:
    """What differs between a checkpoint's fingerprint and the case's now, in words; None if they match."""
    if not isinstance(saved, dict) or saved.get("format") != now["format"]:
        return f"the checkpoint was written by another version of twifli (format {now['format']} expected)"
    for name, digest in now["inputs"].items():
        if saved["inputs"].get(name) != digest:
            return f"the input file {name} changed since the checkpoint was written"
    if set(saved["inputs"]) != set(now["inputs"]):
        return f"the input files changed since the checkpoint was written ({', '.join(saved['inputs'])} before)"
    if saved["case"] != now["case"]:
        return "case.toml changed since the checkpoint was written (only [solver] may change before --resume)"
    if saved["grid"] != now["grid"]:
        return "the run's grid, or how the ranks share it, changed since the checkpoint was written"
    return None


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
