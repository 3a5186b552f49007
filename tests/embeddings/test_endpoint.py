"""Waiting for InService with botocore's waiter: status changes, failure reasons, time-outs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from embeddings.endpoint import (
    EndpointFailedError,
    EndpointWaitTimeoutError,
    wait_in_service,
)
from embeddings.errors import EndpointNotFoundError

NAME = "alex-embedding-endpoint"


@pytest.fixture
def sagemaker(boto3_session: boto3.Session) -> Iterator[tuple[object, Stubber]]:
    client = boto3_session.client("sagemaker", region_name="eu-west-1")
    with Stubber(client) as stub:
        yield client, stub


def describe(stub: Stubber, status: str, reason: str | None = None) -> None:
    response = {
        "EndpointName": NAME,
        "EndpointArn": f"arn:aws:sagemaker:eu-west-1:123456789012:endpoint/{NAME}",
        "EndpointConfigName": "alex-embedding-config-1",
        "EndpointStatus": status,
        "CreationTime": datetime(2026, 11, 25, 2, 0, tzinfo=UTC),
        "LastModifiedTime": datetime(2026, 11, 25, 2, 5, tzinfo=UTC),
    }
    if reason:
        response["FailureReason"] = reason
    stub.add_response("describe_endpoint", response, {"EndpointName": NAME})


def test_each_status_change_is_reported_once(sagemaker: tuple[object, Stubber]) -> None:
    client, stub = sagemaker
    for status in ("Creating", "Creating", "Updating", "InService"):
        describe(stub, status)
    seen: list[str] = []

    final = wait_in_service(
        client,  # type: ignore[arg-type]
        NAME,
        delay_seconds=0,
        max_attempts=10,
        on_status=lambda status, _elapsed: seen.append(status),
    )

    assert seen == ["Creating", "Updating", "InService"]
    assert final["EndpointStatus"] == "InService"
    stub.assert_no_pending_responses()


def test_failed_endpoint_stops_at_once_with_the_reason(sagemaker: tuple[object, Stubber]) -> None:
    client, stub = sagemaker
    describe(stub, "Creating")
    describe(stub, "Failed", "Image cannot be pulled: cross region ECR image pulls are not allowed")

    with pytest.raises(EndpointFailedError) as raised:
        wait_in_service(client, NAME, delay_seconds=0, max_attempts=50)  # type: ignore[arg-type]

    assert str(raised.value) == (
        f"endpoint '{NAME}' failed: Image cannot be pulled: cross region ECR image pulls are "
        "not allowed"
    )
    stub.assert_no_pending_responses()


def test_unknown_endpoint_is_not_found_in_the_clients_region(
    sagemaker: tuple[object, Stubber],
) -> None:
    client, stub = sagemaker
    stub.add_client_error(
        "describe_endpoint",
        service_error_code="ValidationException",
        service_message=f"Could not find endpoint '{NAME}'.",
    )

    with pytest.raises(EndpointNotFoundError) as raised:
        wait_in_service(client, NAME, delay_seconds=0, max_attempts=5)  # type: ignore[arg-type]

    assert "was not found in region eu-west-1" in str(raised.value)


def test_running_out_of_attempts_says_how_long_and_where_it_stood(
    sagemaker: tuple[object, Stubber],
) -> None:
    client, stub = sagemaker
    for _ in range(3):
        describe(stub, "Creating")

    with pytest.raises(EndpointWaitTimeoutError) as raised:
        wait_in_service(client, NAME, delay_seconds=0, max_attempts=3)  # type: ignore[arg-type]

    assert f"endpoint '{NAME}' is still Creating after" in str(raised.value)
    assert "(3 checks 0 s apart)" in str(raised.value)


def test_the_client_knows_teis_repositories_as_the_container_declares_them() -> None:
    from container import tei
    from embeddings.endpoint import TEI_REPOSITORIES

    assert TEI_REPOSITORIES == (tei.GPU_REPOSITORY, tei.CPU_REPOSITORY)
