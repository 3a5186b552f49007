"""Retrying through cold starts and transient faults, all within one deadline.

botocore's own retries are off: each of its attempts would wait a full read timeout on top of
any deadline. Every attempt is made here instead (tenacity runs the loop), with capped
exponential backoff and full jitter, and each attempt is told how long it may still take: the
request's read timeout shrinks to what is left of the deadline, and no attempt starts with
less than MIN_ATTEMPT_SECONDS left. So a request ends within `deadline_seconds`, every attempt,
answer body and pause between attempts included, plus at most the time its last attempt spent
connecting (botocore's connect timeout, 5 s or the deadline if shorter, cannot change per
attempt). A server that trickles its answer a byte at a time can also stretch a read, as a
read timeout counts the time between bytes.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, TypeVar

import tenacity
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    ResponseStreamingError,
)

from embeddings.errors import EndpointUnavailableError

T = TypeVar("T")

READ_TIMEOUT_SECONDS: Final = 70.0
"""Serverless invocations may take up to 60 s, a cold start included."""
CONNECT_TIMEOUT_SECONDS: Final = 5.0
MIN_ATTEMPT_SECONDS: Final = 0.5
"""An attempt with less time than this left is not started."""

THROTTLING_CODES: Final = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
)
RETRYABLE_CODES: Final = THROTTLING_CODES | {
    "ModelNotReadyException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalServerError",
    "InternalServerException",
}
RETRYABLE_STATUS: Final = frozenset({429, 500, 502, 503, 504})
_TRANSIENT_EXCEPTIONS: Final = (
    ReadTimeoutError,
    ConnectTimeoutError,
    ConnectionClosedError,
    EndpointConnectionError,
    ResponseStreamingError,  # the connection dropped while the answer's body came
)


class StoppedError(Exception):
    """Internal: the work this request belonged to has failed or was interrupted."""


def botocore_config(
    read_timeout: float = READ_TIMEOUT_SECONDS,
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
    connections: int = 10,
) -> Config:
    """Client settings: botocore makes one attempt; `RetryPolicy` makes the others."""
    return Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        read_timeout=read_timeout,
        connect_timeout=connect_timeout,
        max_pool_connections=connections,
    )


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def container_status(error: ClientError) -> int | None:
    """The container's own status behind a ModelError (SageMaker answers 424 around it)."""
    status = str(error.response.get("OriginalStatusCode", ""))
    return int(status) if status.isascii() and status.isdigit() and len(status) <= 3 else None


def is_throttling(error: BaseException) -> bool:
    if not isinstance(error, ClientError):
        return False
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if error_code(error) == "ModelError":
        # TEI past its MAX_CONCURRENT_REQUESTS: 429 "Model is overloaded", a full queue.
        return container_status(error) == 429
    return error_code(error) in THROTTLING_CODES or status == 429


def is_retryable(error: BaseException) -> bool:
    if isinstance(error, _TRANSIENT_EXCEPTIONS):
        return True
    if isinstance(error, ClientError):
        if error_code(error) == "ModelError":
            # The container answered: retrying the same input gives the same failure, unless
            # it said it is too busy (TEI's 429) or not ready (503).
            return container_status(error) in (429, 503)
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return error_code(error) in RETRYABLE_CODES or status in RETRYABLE_STATUS
    return False


def describe(error: BaseException) -> str:
    if isinstance(error, ClientError):
        message = error.response.get("Error", {}).get("Message", "")
        return f"{error_code(error)}: {message}".strip(": ")
    return f"{type(error).__name__}: {error}"


@dataclass
class RetryPolicy:
    """Capped exponential backoff with full jitter, every attempt within one deadline."""

    deadline_seconds: float = 120.0
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 20.0
    sleep: Callable[[float], None] | None = None
    """How to pause between attempts; None waits in real time, and wakes at once when the work
    the request belongs to stops."""
    clock: Callable[[], float] = time.monotonic
    jitter: Callable[[], float] = field(default=random.random)
    """A uniform draw from [0, 1): the share of the capped delay to wait."""
    on_retry: Callable[[int, BaseException, float], None] | None = None
    """Called before each wait with the attempt number, the error and the delay."""

    def call(
        self, operation: Callable[[Callable[[], float]], T], stop: threading.Event | None = None
    ) -> T:
        """`operation(time_left)` until it succeeds, fails for good, or time runs out;
        `time_left()` gives the seconds left of the deadline. Once `stop` is set no attempt
        starts and no pause goes on: StoppedError is raised."""
        started = self.clock()

        def left() -> float:
            return self.deadline_seconds - (self.clock() - started)

        def out_of_time(state: tenacity.RetryCallState) -> bool:
            # Pauses are cut to leave the next attempt MIN_ATTEMPT_SECONDS (see `wait`).
            return left() <= MIN_ATTEMPT_SECONDS

        def report(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            if self.on_retry is not None and error is not None:
                self.on_retry(state.attempt_number, error, state.upcoming_sleep or 0.0)

        def attempt() -> T:
            if stop is not None and stop.is_set():
                raise StoppedError
            return operation(left)

        def pause(seconds: float) -> None:
            if self.sleep is not None:
                self.sleep(seconds)
            elif stop is not None:
                stop.wait(seconds)
            else:
                time.sleep(seconds)
            if stop is not None and stop.is_set():
                raise StoppedError

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(is_retryable),
            # A pause longer than the time left is cut to leave one last attempt its minimum,
            # rather than ending the retries early.
            wait=lambda state: min(
                self._delay(state.attempt_number), max(0.0, left() - MIN_ATTEMPT_SECONDS)
            ),
            stop=out_of_time,
            sleep=pause,
            before_sleep=report,
            reraise=False,
        )
        try:
            return retrying(attempt)
        except tenacity.RetryError as gave_up:
            error = gave_up.last_attempt.exception()
            attempts = gave_up.last_attempt.attempt_number
            raise EndpointUnavailableError(
                f"the endpoint was still not answering after {attempts} attempts in "
                f"{self.clock() - started:.0f} s (deadline {self.deadline_seconds:.0f} s); "
                f"last error: {describe(error) if error else 'none'}"
            ) from error

    def _delay(self, attempt: int) -> float:
        ceiling = min(self.max_delay_seconds, self.base_delay_seconds * 2.0 ** (attempt - 1))
        return ceiling * self.jitter()
