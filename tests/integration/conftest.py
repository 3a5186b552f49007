"""Integration tests deploy a real endpoint in a real account: off unless asked for.

They run only when selected with `-m integration` and when the Pulumi CLI and AWS credentials
are there; anything missing skips them with the reason.
"""

from __future__ import annotations

import shutil

import boto3
import pytest

OFF = (
    "integration test: deploys a real SageMaker endpoint (and costs money); "
    "run `pytest -m integration` with AWS credentials and the Pulumi CLI"
)


def why_not_runnable(markexpr: str) -> str | None:
    if "integration" not in markexpr or "not integration" in markexpr:
        return OFF
    if shutil.which("pulumi") is None:
        return "integration test selected, but the Pulumi CLI is not installed"
    if boto3.Session().get_credentials() is None:
        return "integration test selected, but no AWS credentials were found"
    return None


@pytest.fixture(autouse=True)
def only_when_asked(request: pytest.FixtureRequest) -> None:
    reason = why_not_runnable(str(request.config.getoption("markexpr") or ""))
    if reason is not None:
        pytest.skip(reason)
