"""How many requests may be in flight at once: up to a ceiling, halved when throttled.

A serverless endpoint serves up to its MaxConcurrency requests at once and throttles the rest, as
does an account's quota. The limit starts at the ceiling; a throttling answer halves it (never
below 1), and each run of as many successes as the limit raises it by one (additive increase,
multiplicative decrease, as TCP does). A slot is held for one attempt, so a throttled request
waits for a place again before it retries. Throttling answers to requests sent before the last
halving count once: they were sent under the older limit, and halving for each would drive the
limit to 1.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class AdaptiveLimit:
    def __init__(self, ceiling: int) -> None:
        self.ceiling = self.limit = ceiling
        self.in_flight = self._successes = self._generation = 0
        self._changed = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[int]:
        """Wait until fewer than `limit` requests are in flight and hold a place; gives the
        limit's generation, for `throttled`."""
        with self._changed:
            self._changed.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1
            generation = self._generation
        try:
            yield generation
        finally:
            with self._changed:
                self.in_flight -= 1
                self._changed.notify_all()

    def throttled(self, generation: int) -> None:
        """A request sent in `generation` was throttled: halve the limit, once per generation."""
        with self._changed:
            if generation == self._generation:
                self.limit = max(1, self.limit // 2)
                self._generation += 1
            self._successes = 0

    def succeeded(self) -> None:
        with self._changed:
            self._successes += 1
            if self._successes >= self.limit and self.limit < self.ceiling:
                self.limit += 1
                self._successes = 0
                self._changed.notify_all()
