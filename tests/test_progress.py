"""The progress bar of a run (the guide: simulated time and ETA), as a log file sees it."""

from __future__ import annotations

import io

from twifli_fv.outputs.progress import ProgressBar


def lines(updates: list[float], *, finished: bool) -> list[str]:
    stream = io.StringIO()  # not a terminal: one line per tenth
    bar = ProgressBar(3600.0, stream=stream)
    for t in updates:
        bar.update(t, "Charge at C/10")
    bar.close(finished=finished)
    return stream.getvalue().splitlines()


def test_a_line_per_tenth_and_the_last_at_100_percent():
    shown = lines([0.0, 100.0, 400.0, 410.0, 1900.0, 3599.99], finished=True)
    assert [line.split("]")[1].split("%")[0].strip() for line in shown] == ["0.0", "11.1", "52.7", "99.9", "100.0"]
    assert "t = 1.00 / 1.00 h" in shown[-1] and "ETA 00:00:00" in shown[-1]


def test_a_protocol_ending_early_ends_at_100_percent_an_interrupted_one_does_not():
    assert "100.0%" in lines([0.0, 1800.0], finished=True)[-1]  # a lithiation target reached at half the time
    assert "50.0%" in lines([0.0, 1800.0], finished=False)[-1]
    assert len(lines([0.0, 3600.0], finished=True)) == 2  # 100 % said once
