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
    """An `EmbeddingClient` progress callback that redraws one line: texts done, rate, time left."""

    def __init__(self, stream: TextIO, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream, self._clock = stream, clock
        try:
            self.enabled = stream.isatty()
        except (AttributeError, ValueError):  # no isatty, or a closed stream
            self.enabled = False
        self._last_drawn: float | None = None
        self._width = 0

    def __call__(self, done: int, total: int, elapsed: float) -> None:
        if not self.enabled or elapsed < QUIET_SECONDS:
            return
        now, drawn = self._clock(), self._last_drawn
        if drawn is None and done == total:
            return  # over with its first report: a long request, not a long job
        if drawn is not None and done < total and now - drawn < REDRAW_SECONDS:
            return
        self._last_drawn = now
        rate = done / elapsed
        line = f"embedded {done:,}/{total:,} texts, {rate:,.1f} texts/s"
        if 0 < done < total:
            minutes, seconds = divmod(round((total - done) / rate), 60)
            hours, minutes = divmod(minutes, 60)
            left = f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"
            line += f", about {left if hours or minutes else f'{seconds}s'} left"
        self.stream.write(f"\r{line}{' ' * max(0, self._width - len(line))}")
        self.stream.flush()
        self._width = len(line)

    def note(self, line: str) -> None:
        """`line` on a line of its own, over any progress line, when the stream is a terminal."""
        if self.enabled:
            self.stream.write(f"\r{line}{' ' * max(0, self._width - len(line))}\n")
            self.stream.flush()
            self._width = 0

    def finish(self) -> None:
        """End the line, if one was drawn, so what follows starts on its own line."""
        if self._last_drawn is not None:
            self.stream.write("\n")
            self.stream.flush()
            self._last_drawn = None
