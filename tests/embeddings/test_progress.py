"""The terminal progress line: quiet for short jobs and pipes, throttled redraws, one final line."""

from __future__ import annotations

import io

from embeddings.progress import QUIET_SECONDS, REDRAW_SECONDS, TerminalProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_short_job_prints_nothing() -> None:
    stream = Terminal()
    progress = TerminalProgress(stream, clock=Clock())
    progress(50, 100, QUIET_SECONDS / 2)
    progress(100, 100, QUIET_SECONDS * 0.9)
    progress.finish()
    assert stream.getvalue() == ""


def test_redraws_are_throttled_and_the_last_is_always_drawn() -> None:
    stream, clock = Terminal(), Clock()
    progress = TerminalProgress(stream, clock=clock)
    progress(1_000, 3_000, 2.0)
    clock.now += REDRAW_SECONDS / 10
    progress(1_100, 3_000, 2.2)  # too soon: skipped
    clock.now += REDRAW_SECONDS
    progress(2_000, 3_000, 4.0)
    clock.now += REDRAW_SECONDS / 10
    progress(3_000, 3_000, 6.0)  # the end: drawn however soon
    progress.finish()

    lines = stream.getvalue().split("\r")[1:]
    assert [line.rstrip() for line in lines] == [
        "embedded 1,000/3,000 texts, 500.0 texts/s, about 4s left",
        "embedded 2,000/3,000 texts, 500.0 texts/s, about 2s left",
        "embedded 3,000/3,000 texts, 500.0 texts/s",
    ]
    assert lines[-1].endswith("\n")


def test_a_shorter_line_blanks_what_the_longer_one_left() -> None:
    stream, clock = Terminal(), Clock()
    progress = TerminalProgress(stream, clock=clock)
    progress(10, 100_000, 10.0)
    clock.now += 1
    progress(100_000, 100_000, 100.0)
    first, second = stream.getvalue().split("\r")[1:]
    assert first == "embedded 10/100,000 texts, 1.0 texts/s, about 27h46m left"
    assert second.rstrip() == "embedded 100,000/100,000 texts, 1,000.0 texts/s"
    assert len(second) == len(first)


def test_nothing_on_a_pipe_or_a_closed_stream() -> None:
    pipe = io.StringIO()
    TerminalProgress(pipe)(5, 10, 60.0)
    closed = Terminal()
    closed.close()
    assert not TerminalProgress(closed).enabled
    assert pipe.getvalue() == ""


def test_a_job_over_with_its_first_report_prints_nothing() -> None:
    """One slow request is not a long job: no line that says 1/1 done."""
    stream = Terminal()
    progress = TerminalProgress(stream, clock=Clock())
    progress(1, 1, QUIET_SECONDS * 3)
    progress.finish()
    assert stream.getvalue() == ""
