"""Retrying through cold starts, throttling and dropped connections, all within one deadline.

botocore's own retries are off (each of its attempts would wait a full read timeout on top of any
deadline). tenacity runs the attempts instead, with capped exponential backoff and full jitter; a
pause longer than the time left is cut to leave one last attempt, and each attempt is told how
much of the deadline is left, which the client makes its read timeout. So a request ends within
`deadline_seconds`, every attempt, answer body and pause included, plus at most the time its last
attempt spent connecting (botocore's connect timeout cannot change per attempt). A server that
trickles its answer a byte at a time can still stretch a read: a read timeout counts the time
between bytes.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeVar

import tenacity
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    ResponseStreamingError,
)

from embeddings.errors import EndpointUnavailableError, describe, error_code

T = TypeVar("T")

MIN_ATTEMPT_SECONDS: Final = 0.5
"""An attempt with less time than this left is not started."""
THROTTLING_CODES: Final = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
)
RETRYABLE_CODES: Final = THROTTLING_CODES | {
    "ModelNotReadyException",  # a serverless cold start
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalServerError",
    "InternalServerException",
}
RETRYABLE_STATUS: Final = frozenset({429, 500, 502, 503, 504})
TRANSIENT_EXCEPTIONS: Final = (
    ReadTimeoutError,
    ConnectTimeoutError,
    ConnectionClosedError,
    EndpointConnectionError,
    ResponseStreamingError,  # the connection dropped while the answer's body came
)


class StoppedError(Exception):
    """Internal: the work this request belongs to has failed or was interrupted."""


def container_status(error: ClientError) -> int | None:
    """The container's own status behind a ModelError (SageMaker answers 424 around it)."""
    status = str(error.response.get("OriginalStatusCode", ""))
    return int(status) if status.isascii() and status.isdigit() and len(status) <= 3 else None


def _http_status(error: ClientError) -> object:
    return error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def is_throttling(error: ClientError) -> bool:
    if error_code(error) == "ModelError":  # TEI past MAX_CONCURRENT_REQUESTS: "Model is overloaded"
        return container_status(error) == 429
    return error_code(error) in THROTTLING_CODES or _http_status(error) == 429


def is_retryable(error: BaseException) -> bool:
    if not isinstance(error, ClientError):
        return isinstance(error, TRANSIENT_EXCEPTIONS)
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

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(is_retryable),
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
