"""Retrying through cold starts and transient faults, up to a total deadline.

botocore's "standard" retry mode already retries throttling, 5xx answers and broken connections
a few times with backoff; that covers short blips. A serverless endpoint waking from idle is
different: it answers `ModelNotReadyException` for up to a minute, which botocore does not retry.
This loop retries that, and anything botocore gave up on too early, with capped exponential
backoff and full jitter, until the deadline.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, TypeVar

from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from embeddings.errors import EndpointUnavailableError

T = TypeVar("T")

READ_TIMEOUT_SECONDS: Final = 70.0
"""Serverless invocations may take up to 60 s, a cold start included."""
CONNECT_TIMEOUT_SECONDS: Final = 10.0
BOTOCORE_MAX_ATTEMPTS: Final = 3

RETRYABLE_CODES: Final = frozenset(
    {
        "ModelNotReadyException",
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalServerError",
        "InternalServerException",
    }
)
RETRYABLE_STATUS: Final = frozenset({429, 500, 502, 503, 504})
_TRANSIENT_EXCEPTIONS: Final = (
    ReadTimeoutError,
    ConnectTimeoutError,
    ConnectionClosedError,
    EndpointConnectionError,
)


def botocore_config(read_timeout: float = READ_TIMEOUT_SECONDS) -> Config:
    """Client settings: standard retries for quick blips and a read timeout for cold starts."""
    return Config(
        retries={"mode": "standard", "total_max_attempts": BOTOCORE_MAX_ATTEMPTS},
        read_timeout=read_timeout,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
    )


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def is_retryable(error: BaseException) -> bool:
    if isinstance(error, _TRANSIENT_EXCEPTIONS):
        return True
    if isinstance(error, ClientError):
        if error_code(error) == "ModelError":
            # The container answered: retrying the same input gives the same failure.
            return False
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
    """Capped exponential backoff with full jitter, bounded by a total deadline."""

    deadline_seconds: float = 120.0
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 20.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    jitter: Callable[[], float] = field(default=random.random)
    """A uniform draw from [0, 1): the share of the capped delay to wait."""
    on_retry: Callable[[int, BaseException, float], None] | None = None
    """Called before each wait with the attempt number, the error and the delay."""

    def call(self, operation: Callable[[], T]) -> T:
        started = self.clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                return operation()
            except Exception as error:
                if not is_retryable(error):
                    raise
                delay = self._delay(attempt)
                elapsed = self.clock() - started
                if elapsed + delay > self.deadline_seconds:
                    raise EndpointUnavailableError(
                        f"the endpoint was still not answering after {attempt} attempts in "
                        f"{elapsed:.0f} s (deadline {self.deadline_seconds:.0f} s); "
                        f"last error: {describe(error)}"
                    ) from error
                if self.on_retry is not None:
                    self.on_retry(attempt, error, delay)
                self.sleep(delay)

    def _delay(self, attempt: int) -> float:
        ceiling = min(self.max_delay_seconds, self.base_delay_seconds * 2.0 ** (attempt - 1))
        return ceiling * self.jitter()
