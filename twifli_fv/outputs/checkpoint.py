"""Checkpoints: the run's state, the model's arrays and the frames recorded so far, for ``--resume``.

On one process ``output/checkpoint.npz`` holds everything. Under ``mpiexec`` no rank holds the whole field, so
each rank writes its own arrays as a piece, ``output/checkpoint_pieces/slotS_rankR.npz``, and rank 0 then writes
``output/checkpoint.npz`` as the index: fingerprint, state, number of ranks, the checkpoint's sequence number and
the recorder's arrays (the same on every rank). The pieces of checkpoint ``n`` go to slot ``n % 2`` and the index
is written last, after every piece is complete: the slot the index points at is never being overwritten, so a
run killed at any moment leaves a complete checkpoint. Each piece records its sequence number and rank, which
the loader checks against the index. A checkpoint resumes only on the number of ranks that wrote it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twifli_fv.errors import InputError
from twifli_fv.outputs.files import atomic_path
from twifli_fv.ranks import ONE, Ranks


@dataclass(frozen=True)
class Checkpoint:
    """What a run resumes from: the state, this rank's arrays with the shared ones, and the sequence number."""

    state: dict
    arrays: dict[str, np.ndarray]
    sequence: int


def save_checkpoint(path: str | Path, *, fingerprint: object, state: dict, own: dict[str, np.ndarray],
                    shared: dict[str, np.ndarray], ranks: Ranks = ONE, sequence: int = 0) -> None:
    """Write atomically ``own`` (this rank's arrays) and ``shared`` (the same on every rank): a crash while
    saving leaves the previous checkpoint intact. Collective on several ranks; a failure on any stops them all."""
    path = Path(path)
    meta = {"fingerprint": fingerprint, "state": state}
    if ranks.size == 1:
        _write(path, meta, {**own, **shared})
        return
    piece = {"sequence": sequence, "rank": ranks.rank, "ranks": ranks.size}
    ranks.together(lambda: _write(piece_path(path, sequence, ranks.rank), piece, own))
    index = {**meta, "ranks": ranks.size, "sequence": sequence}
    ranks.together(lambda: ranks.rank == 0 and _write(path, index, shared))


def load_checkpoint(path: str | Path, *, fingerprint: object, difference: Callable[[object, object], str | None],
                    ranks: Ranks = ONE) -> Checkpoint:
    """The checkpoint at ``path`` made by the same case (``difference(saved, fingerprint)`` is None) on as many
    ranks as ``ranks``, with this rank's piece; a refusal is the same one-line :class:`InputError` on every rank."""
    return ranks.together(lambda: _load(Path(path), fingerprint, difference, ranks), errors=(InputError,))


def piece_path(index: Path, sequence: int, rank: int) -> Path:
    """Where ``rank`` writes its piece of checkpoint number ``sequence`` (two slots, alternately)."""
    return index.with_name(f"{index.stem}_pieces") / f"slot{sequence % 2}_rank{rank}.npz"


def _load(path: Path, fingerprint: object, difference: Callable[[object, object], str | None],
          ranks: Ranks) -> Checkpoint:
    if not path.is_file():
        raise InputError(f"{path}: no checkpoint to resume from; run without --resume")
    meta, arrays = _read(path)
    written_on = int(meta.get("ranks", 1))
    if written_on != ranks.size:
        raise InputError(f"{path}: cannot resume: the checkpoint was written by {written_on} rank(s) and this "
                         f"run has {ranks.size}; resume on {written_on} (`mpiexec -n {written_on}`) or run without "
                         "--resume")
    changed = difference(meta["fingerprint"], fingerprint)
    if changed:
        raise InputError(f"{path}: cannot resume: {changed}; run without --resume")
    sequence = int(meta.get("sequence", 0))
    if ranks.size > 1:
        piece = piece_path(path, sequence, ranks.rank)
        if not piece.is_file():
            raise InputError(f"{piece}: missing piece of checkpoint {path}; run without --resume")
        mine, own = _read(piece)
        if (mine.get("sequence"), mine.get("rank")) != (sequence, ranks.rank):
            raise InputError(f"{piece}: piece of checkpoint {mine.get('sequence')} (rank {mine.get('rank')}), but "
                             f"{path} is checkpoint {sequence}; run without --resume")
        arrays = {**arrays, **own}
    return Checkpoint(meta["state"], arrays, sequence)


def _write(path: Path, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        np.savez(handle, _meta=np.array(json.dumps(meta)), **arrays)


def _read(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as data:
        return json.loads(str(data["_meta"])), {k: data[k] for k in data.files if k != "_meta"}
