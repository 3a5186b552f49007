"""Shared fixtures: a fresh, mocked Pulumi runtime per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.pulumi_harness import PulumiHarness, start, stop

StartPulumi = Callable[..., PulumiHarness]


@pytest.fixture
def pulumi_mocks() -> Iterator[StartPulumi]:
    """Call it with a region, project config and secret keys; each call gets a new event loop."""
    started: list[PulumiHarness] = []

    def _start(
        region: str = "us-east-1",
        config: dict[str, str] | None = None,
        secret_keys: list[str] | None = None,
    ) -> PulumiHarness:
        harness = start(region, config or {}, secret_keys or [])
        started.append(harness)
        return harness

    yield _start
    for harness in started:
        stop(harness)
