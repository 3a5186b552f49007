"""The endpoint's CloudWatch log events, once or followed for a bounded time."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from botocore.exceptions import ClientError

from embeddings.errors import EmbeddingError
from embeddings.retrying import error_code

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

_DURATION: Final = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class LogGroupMissingError(EmbeddingError):
    """SageMaker creates the log group only when a container first starts."""


@dataclass(frozen=True)
class LogEvent:
    timestamp: datetime
    stream: str
    message: str

    def format(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M:%S} {self.stream} {self.message.rstrip()}"


def log_group(endpoint_name: str) -> str:
    return f"/aws/sagemaker/Endpoints/{endpoint_name}"


def parse_since(text: str) -> timedelta:
    """`30s`, `10m`, `2h` or `1d`."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration; use a number and s, m, h or d, e.g. 10m")
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def fetch(
    client: CloudWatchLogsClient, group: str, start: datetime, end: datetime | None = None
) -> Iterator[tuple[str, LogEvent]]:
    """Every event in `group` from `start` (to `end`), oldest first, with its event id."""
    arguments: dict[str, object] = {
        "logGroupName": group,
        "startTime": int(start.timestamp() * 1000),
    }
    if end is not None:
        arguments["endTime"] = int(end.timestamp() * 1000)
    try:
        for page in client.get_paginator("filter_log_events").paginate(**arguments):  # type: ignore[arg-type]
            for event in page.get("events", []):
                yield (
                    event.get("eventId", ""),
                    LogEvent(
                        timestamp=datetime.fromtimestamp(event.get("timestamp", 0) / 1000, UTC),
                        stream=event.get("logStreamName", ""),
                        message=event.get("message", ""),
                    ),
                )
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            raise LogGroupMissingError(
                f"log group {group} does not exist in {client.meta.region_name} yet; SageMaker "
                "creates it when the endpoint's first container starts (invoke it once)"
            ) from None
        raise


def tail(
    client: CloudWatchLogsClient,
    endpoint_name: str,
    *,
    since: timedelta,
    follow: bool,
    emit: Callable[[LogEvent], None],
    poll_seconds: float = 5.0,
    follow_seconds: float = 600.0,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Emit events from `since` ago; with `follow`, keep polling for `follow_seconds` at most.

    Returns how many events were emitted. Each event is emitted once, even though polls
    overlap by a few seconds to catch events that arrive late.
    """
    group = log_group(endpoint_name)
    seen: set[str] = set()
    start = now() - since
    deadline = time.monotonic() + follow_seconds
    emitted = 0
    while True:
        latest = start
        for event_id, event in fetch(client, group, start):
            latest = max(latest, event.timestamp)
            if event_id in seen:
                continue
            seen.add(event_id)
            emit(event)
            emitted += 1
        if not follow or time.monotonic() + poll_seconds > deadline:
            return emitted
        sleep(poll_seconds)
        start = latest - timedelta(seconds=5)
