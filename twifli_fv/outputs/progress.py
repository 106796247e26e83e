"""A progress bar on stderr: simulated time, share done, wall time and ETA (rank 0 only)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """Redrawn in place on a terminal; one line per tenth done otherwise (logs stay short)."""

    def __init__(self, total_s: float, *, stream: TextIO | None = None, enabled: bool = True, width: int = 30) -> None:
        self.total_s, self.width, self.enabled = max(total_s, 1e-12), width, enabled
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self.first_s: float | None = None
        self.shown, self.drawn_at = -1, 0.0

    def update(self, simulated_s: float, label: str = "") -> None:
        if not self.enabled:
            return
        if self.first_s is None:
            self.first_s = simulated_s  # a resumed run starts part-way
        done = min(simulated_s / self.total_s, 1.0)
        now = time.monotonic()
        tenth = int(done * 10)
        if self.tty and now - self.drawn_at < 0.2 and done < 1.0:
            return
        if not self.tty and tenth == self.shown:
            return
        self.shown, self.drawn_at = tenth, now
        elapsed = now - self.started
        rate = (simulated_s - self.first_s) / elapsed if elapsed > 0 else 0.0
        eta = (self.total_s - simulated_s) / rate if rate > 0 else float("nan")
        filled = int(done * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        text = (f"[{bar}] {int(1000 * done) / 10:5.1f}%  t = {simulated_s / 3600:.2f} / {self.total_s / 3600:.2f} h  "
                f"wall {_clock(elapsed)}  ETA {_clock(eta)}  {label}")
        self.stream.write(("\r" + text) if self.tty else text + "\n")
        self.stream.flush()

    def close(self, *, finished: bool = False) -> None:
        """End the bar; ``finished``: the protocol is complete, shown as 100 % also where it ended before its longest
        duration (a lithiation target, a cut-off) or a hair short of it."""
        if finished and self.shown < 10:
            self.update(self.total_s, "done")
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _clock(seconds: float) -> str:
    if seconds != seconds:  # NaN: not known yet
        return "--:--:--"
    seconds = int(round(seconds))
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
