"""The endpoint's CloudWatch log events, once or followed for a bounded time."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from embeddings.errors import EmbeddingError, error_code

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

OVERLAP_SECONDS = 5
"""Each poll reaches back this far before the last event seen, for events that arrive late."""


def parse_since(text: str) -> timedelta:
    """`30s`, `10m`, `2h` or `1d`."""
    match = re.fullmatch(r"\s*(\d{1,5})\s*([smhd])\s*", text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration; use a number and s, m, h or d, e.g. 10m")
    return timedelta(seconds=int(match[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]])


def tail(
    client: CloudWatchLogsClient,
    endpoint_name: str,
    *,
    since: timedelta,
    emit: Callable[[str], None],
    follow_seconds: float = 0.0,
    poll_seconds: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Emit `/aws/sagemaker/Endpoints/<endpoint>`'s events from `since` ago, each once, oldest
    first; then poll for new ones every `poll_seconds` for `follow_seconds`. Returns how many
    events were emitted."""
    group = f"/aws/sagemaker/Endpoints/{endpoint_name}"
    start, seen = max(datetime.now(UTC) - since, datetime.fromtimestamp(0, UTC)), set()
    deadline = time.monotonic() + follow_seconds
    while True:
        latest = start
        pages = client.get_paginator("filter_log_events").paginate(
            logGroupName=group, startTime=int(start.timestamp() * 1000)
        )
        try:
            events = [event for page in pages for event in page.get("events", [])]
        except ClientError as error:
            if error_code(error) != "ResourceNotFoundException":
                raise
            raise EmbeddingError(
                f"log group {group} does not exist in {client.meta.region_name} yet; SageMaker "
                "creates it when the endpoint's first container starts (invoke it once)"
            ) from None
        for event in events:
            when = datetime.fromtimestamp(event.get("timestamp", 0) / 1000, UTC)
            latest = max(latest, when)
            if event.get("eventId") not in seen:
                seen.add(event.get("eventId"))
                stream, message = event.get("logStreamName", ""), event.get("message", "")
                emit(f"{when:%Y-%m-%d %H:%M:%S} {stream} {message.rstrip()}")
        if time.monotonic() + poll_seconds > deadline:
            return len(seen)
        sleep(poll_seconds)
        start = latest - timedelta(seconds=OVERLAP_SECONDS)
