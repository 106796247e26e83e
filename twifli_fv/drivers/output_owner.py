"""A run owns its output folder: a lock file, the clean-up of a killed run, and the previous output kept safe.

``output/.lock`` holds the PID and host of the run writing the folder (the README's "A run owns CASE/output/");
hidden partial files are those of :func:`~twifli_fv.outputs.files.atomic_path`.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import time
from pathlib import Path

from twifli_fv.errors import InputError

log = logging.getLogger(__name__)
LOCK = ".lock"
PREVIOUS = ".previous"
FRESH_LOCK_S = 10.0  # an unreadable lock younger than this is being written, not stale


class OutputOwner:
    """Claim ``out`` (:meth:`claim`), then leave it (``with``): after an :class:`OSError`, writing failed."""

    def __init__(self, out: Path) -> None:
        self.out, self.lock = out, out / LOCK
        self.previous: Path | None = None

    def claim(self, *, fresh: bool) -> None:
        """Lock the folder, remove what a killed run left, and (fresh run) set the previous output aside."""
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            self._lock()
        except OSError as exc:
            raise InputError(f"{exc.filename or self.out}: cannot write the run's output ({exc.strerror}); "
                             "make the case folder writable or copy the case elsewhere") from None
        for partial in self.out.rglob(".*.partial-*"):
            partial.unlink()
            log.info("removed %s, left by an interrupted run", partial)
        aside = self.out / PREVIOUS
        shutil.rmtree(aside, ignore_errors=True)
        if fresh:
            entries = [p for p in self.out.iterdir() if p.name != LOCK]
            if entries:
                aside.mkdir()
                for entry in entries:
                    entry.rename(aside / entry.name)
                self.previous = aside

    def __enter__(self) -> OutputOwner:
        return self

    def __exit__(self, kind: type | None, exc: BaseException | None, traceback: object) -> None:
        """Drop the previous output (or, when writing failed, the new one, restoring the previous) and unlock."""
        write_failed = isinstance(exc, OSError)
        try:
            if write_failed and self.previous is not None:
                for entry in self.out.iterdir():
                    if entry.name not in (LOCK, PREVIOUS):
                        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
                for entry in self.previous.iterdir():
                    entry.rename(self.out / entry.name)
            elif write_failed:
                for partial in self.out.rglob(".*.partial-*"):
                    partial.unlink()
            if self.previous is not None:
                shutil.rmtree(self.previous, ignore_errors=True)
        finally:
            self.lock.unlink(missing_ok=True)

    def _lock(self) -> None:
        mine = f"{os.getpid()} {socket.gethostname()}\n"
        for _ in range(2):
            try:
                with open(self.lock, "x") as handle:
                    handle.write(mine)
                return
            except FileExistsError:
                owner = self._stale_owner()
                log.warning("%s: taking over the lock of %s, which is no longer running", self.lock, owner)
                self.lock.unlink(missing_ok=True)
        raise InputError(f"{self.lock}: another run took the output folder while this one started; try again")

    def _stale_owner(self) -> str:
        """Who held a lock that can be taken over; a lock of a live (or unknown) process is refused."""
        try:
            pid_text, host = self.lock.read_text().split()
            pid = int(pid_text)
        except (OSError, ValueError):  # empty or half-written: being taken right now, or killed while taken
            if time.time() - self.lock.stat().st_mtime < FRESH_LOCK_S:
                raise InputError(f"{self.lock}: another twifli run is taking this output folder; wait for it") from None
            return "an interrupted run"
        if host != socket.gethostname():
            raise InputError(f"{self.lock}: a run on host {host} (PID {pid}) is writing this output; wait for it, "
                             "or delete the lock file if that run is gone")
        if _alive(pid):
            raise InputError(f"{self.lock}: another twifli run (PID {pid}) is writing this output; wait for it to "
                             "finish or stop it (one run per case folder at a time)")
        return f"PID {pid}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
