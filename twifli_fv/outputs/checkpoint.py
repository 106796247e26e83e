"""Checkpoints: the concentration field, the run state and the frames recorded so far, in one file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from twifli_fv.errors import InputError
from twifli_fv.outputs.files import atomic_path


def save_checkpoint(path: str | Path, *, fingerprint: object, state: dict, arrays: dict[str, np.ndarray]) -> None:
    """Write atomically: a crash while saving leaves the previous checkpoint intact."""
    with atomic_path(path) as tmp:
        with tmp.open("wb") as handle:
            np.savez(handle, _meta=np.array(json.dumps({"fingerprint": fingerprint, "state": state})), **arrays)


def load_checkpoint(path: str | Path, *, fingerprint: object,
                    difference: Callable[[object, object], str | None]) -> tuple[dict, dict[str, np.ndarray]]:
    """The state and arrays of a checkpoint made by the same case: ``difference(saved, fingerprint)`` is None."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no checkpoint to resume from; run without --resume")
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["_meta"]))
        arrays = {k: data[k] for k in data.files if k != "_meta"}
    changed = difference(meta["fingerprint"], fingerprint)
    if changed:
        raise InputError(f"{path}: cannot resume: {changed}; run without --resume")
    return meta["state"], arrays
