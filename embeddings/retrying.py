"""Riding out cold starts, throttling and dropped connections: retries within one deadline, and
fewer requests in flight while the endpoint throttles. botocore's own retries are off (each would
wait a full read timeout past any deadline); tenacity makes the attempts, with capped exponential
backoff and full jitter, a pause that would pass the deadline cut to leave one last attempt, and
each attempt is told what is left of the deadline (docs/client.md says what that bounds). A
request that never got an HTTP answer (see `never_answered`) gets CONNECT_ATTEMPTS only: that is
an endpoint URL that is wrong or a local endpoint not started, not a cold start."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final, TypeVar

import tenacity
from botocore import exceptions as botocore_errors
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    HTTPClientError,
    ResponseStreamingError,
    SSLError,
)

from embeddings.errors import EndpointUnavailableError, container_status, describe, error_code

T = TypeVar("T")

MIN_ATTEMPT_SECONDS: Final = 0.5
"""An attempt with less time than this left is not started."""
CONNECT_ATTEMPTS: Final = 3
"""Attempts in all once the connection fails (botocore's standard mode makes 3 of anything)."""
THROTTLING_CODES: Final = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
)
RETRYABLE_CODES: Final = (
    THROTTLING_CODES
    | {"ModelNotReadyException", "ServiceUnavailable", "ServiceUnavailableException"}
    | {"InternalFailure", "InternalServerError", "InternalServerException"}
)
"""Throttling, a serverless cold start (ModelNotReadyException), the service's own faults."""
RETRYABLE_STATUS: Final = frozenset({429, 500, 502, 503, 504})
TRANSIENT_EXCEPTIONS: Final = (botocore_errors.ConnectionError, botocore_errors.HTTPClientError)
"""Connect or read failed, timed out or dropped: what botocore's standard retry mode retries."""


class StoppedError(Exception):
    """Internal: the work this request belongs to has failed or was interrupted."""


def _http_status(error: ClientError) -> object:
    return error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def is_throttling(error: ClientError) -> bool:
    if error_code(error) == "ModelError":  # TEI past MAX_CONCURRENT_REQUESTS: "Model is overloaded"
        return container_status(error) == 429
    return error_code(error) in THROTTLING_CODES or _http_status(error) == 429


def never_answered(error: BaseException) -> bool:
    """Connection refused, a host name that does not resolve, or no valid HTTP answer (a bad
    status line, a hang-up, a URL scheme the HTTP client cannot speak); not a body cut short."""
    no_answer = isinstance(error, EndpointConnectionError | HTTPClientError)
    return no_answer and not isinstance(error, ResponseStreamingError)


def is_retryable(error: BaseException) -> bool:
    if not isinstance(error, ClientError):  # a certificate refused stays refused
        return isinstance(error, TRANSIENT_EXCEPTIONS) and not isinstance(error, SSLError)
    if error_code(error) == "ModelError":
        # The container answered: the same input fails the same way, unless it was too busy
        # (TEI's 429) or not ready (503).
        return container_status(error) in (429, 503)
    return error_code(error) in RETRYABLE_CODES or _http_status(error) in RETRYABLE_STATUS


@dataclass
class RetryPolicy:
    """Capped exponential backoff with full jitter, every attempt within one deadline."""

    deadline_seconds: float = 120.0
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 20.0
    on_retry: Callable[[int, BaseException, float], None] | None = None
    """Called before each pause with the attempt number, its error and the pause in seconds."""
    sleep: Callable[[float], None] | None = None
    """How to pause; None waits in real time and wakes at once when the work stops."""
    clock: Callable[[], float] = time.monotonic
    jitter: Callable[[], float] = random.random
    """A draw from [0, 1): the share of the capped delay to wait."""

    def call(
        self, operation: Callable[[Callable[[], float]], T], stop: threading.Event | None = None
    ) -> T:
        """`operation(time_left)` until it succeeds, fails for good, or time runs out; once
        `stop` is set no attempt starts and no pause goes on (StoppedError)."""
        started = self.clock()
        stop = stop or threading.Event()

        def left() -> float:
            return self.deadline_seconds - (self.clock() - started)

        def attempt() -> T:
            if stop.is_set():
                raise StoppedError
            return operation(left)

        def pause(seconds: float) -> None:
            (self.sleep or stop.wait)(seconds)
            if stop.is_set():
                raise StoppedError

        def report(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            if self.on_retry is not None and error is not None:
                self.on_retry(state.attempt_number, error, state.upcoming_sleep or 0.0)

        def wait(state: tenacity.RetryCallState) -> float:
            ceiling = self.base_delay_seconds * 2.0 ** min(state.attempt_number - 1, 64)
            drawn = min(self.max_delay_seconds, ceiling) * self.jitter()
            return min(drawn, max(0.0, left() - MIN_ATTEMPT_SECONDS))

        def retry(state: tenacity.RetryCallState) -> bool:
            error = state.outcome.exception() if state.outcome else None
            if error is not None and never_answered(error):  # then raised as it is
                return state.attempt_number < CONNECT_ATTEMPTS
            return error is not None and is_retryable(error)

        retrying = tenacity.Retrying(
            retry=retry,
            wait=wait,
            stop=lambda _: left() <= MIN_ATTEMPT_SECONDS,
            sleep=pause,
            before_sleep=report,
        )
        try:
            return retrying(attempt)
        except tenacity.RetryError as gave_up:
            error = gave_up.last_attempt.exception()
            raise EndpointUnavailableError(
                f"the endpoint was still not answering after {gave_up.last_attempt.attempt_number}"
                f" attempts in {self.clock() - started:.0f} s (deadline "
                f"{self.deadline_seconds:.0f} s); last error: {describe(error) if error else '-'}"
            ) from error


class AdaptiveLimit:
    """Requests in flight, at most `limit`: it starts at the client's concurrency, a throttling
    answer halves it (never below 1), each run of `limit` successes raises it by one (as TCP
    does). A slot is held for one attempt, so a throttled request queues again before it
    retries; answers to requests sent before the last halving count once, or each of them would
    halve it again and drive it to 1."""

    def __init__(self, ceiling: int) -> None:
        self.ceiling = self.limit = ceiling
        self.in_flight = self._successes = self._generation = 0
        self._changed = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[int]:
        """Hold a place once fewer than `limit` are in flight; gives the generation it is in."""
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
