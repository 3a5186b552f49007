"""A progress line on a terminal for long embedding jobs, so a 3,000-text run is not minutes of
silence; nothing at all when the stream is a pipe or a file, so logs and JSON stay clean."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final, TextIO

QUIET_SECONDS: Final = 1.0
"""Jobs that end sooner print nothing: a line that flashes and vanishes is noise."""
REDRAW_SECONDS: Final = 0.25
"""At most four redraws a second, however small the batches."""


class TerminalProgress:
    """An `EmbeddingClient` progress callback that redraws one line: texts done, rate, ETA."""

    def __init__(
        self,
        stream: TextIO,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.enabled = _is_terminal(stream)
        self._clock = clock
        self._last_drawn: float | None = None
        self._width = 0

    def __call__(self, done: int, total: int, elapsed: float) -> None:
        if not self.enabled or elapsed < QUIET_SECONDS:
            return
        if done == total and self._last_drawn is None:
            return  # over with its first report: a long request, not a long job
        now = self._clock()
        drawn_lately = self._last_drawn is not None and now - self._last_drawn < REDRAW_SECONDS
        if done < total and drawn_lately:
            return
        self._last_drawn = now
        self._draw(_describe(done, total, elapsed))

    def finish(self) -> None:
        """End the line, if one was drawn, so what follows starts on its own line."""
        if self._last_drawn is not None:
            self.stream.write("\n")
            self.stream.flush()
            self._last_drawn = None

    def _draw(self, line: str) -> None:
        padding = " " * max(0, self._width - len(line))
        self._width = len(line)
        self.stream.write(f"\r{line}{padding}")
        self.stream.flush()


def _describe(done: int, total: int, elapsed: float) -> str:
    rate = done / elapsed if elapsed > 0 else 0.0
    line = f"embedded {done:,}/{total:,} texts, {rate:,.1f} texts/s"
    if 0 < done < total and rate > 0:
        line += f", about {_duration((total - done) / rate)} left"
    return line


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
