"""The endpoint's control-plane facts: status, configuration, model, and waiting for service."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, WaiterError

from container import tei
from embeddings.errors import EmbeddingError, EndpointNotFoundError
from embeddings.retrying import error_code

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient


class EndpointFailedError(EmbeddingError):
    """The endpoint reached the Failed status; the message carries SageMaker's reason."""


class EndpointWaitTimeoutError(EmbeddingError):
    """The endpoint did not reach InService within the waiter's attempts."""


@dataclass(frozen=True)
class EndpointStatus:
    name: str
    status: str
    config_name: str
    created: datetime | None
    modified: datetime | None
    failure_reason: str | None

    @property
    def in_service(self) -> bool:
        return self.status == "InService"


@dataclass(frozen=True)
class ServingSetup:
    """What the endpoint runs: its variant's capacity and its model's container environment."""

    variant_name: str
    serverless: dict[str, int] | None
    instance_type: str | None
    instance_count: int | None
    model_name: str
    environment: dict[str, str]
    image: str = ""
    """The model's container image URI."""

    @property
    def runs_tei(self) -> bool:
        """Whether the container is Text Embeddings Inference: its image is from the `tei` or
        `tei-cpu` repository (the local endpoint's too), which pools and has no task."""
        repository = self.image.split("@")[0].rsplit("/", 1)[-1].split(":")[0]
        return repository in (tei.GPU_REPOSITORY, tei.CPU_REPOSITORY)


def _is_not_found(error: ClientError) -> bool:
    message = str(error.response.get("Error", {}).get("Message", "")).lower()
    code = error_code(error)
    return code in {"ValidationException", "ValidationError"} and (
        "could not find" in message or "not found" in message
    )


def describe_endpoint(client: SageMakerClient, name: str) -> EndpointStatus:
    try:
        response = client.describe_endpoint(EndpointName=name)
    except ClientError as error:
        if _is_not_found(error):
            raise EndpointNotFoundError(
                name, client.meta.region_name, endpoint_url=client.meta.endpoint_url
            ) from None
        raise
    return _status(response)


def _status(response: Any) -> EndpointStatus:
    return EndpointStatus(
        name=response["EndpointName"],
        status=response["EndpointStatus"],
        config_name=response.get("EndpointConfigName", ""),
        created=response.get("CreationTime"),
        modified=response.get("LastModifiedTime"),
        failure_reason=response.get("FailureReason"),
    )


def describe_serving_setup(client: SageMakerClient, config_name: str) -> ServingSetup:
    """The first (for this project: the only) production variant and its model."""
    config = client.describe_endpoint_config(EndpointConfigName=config_name)
    variant = config["ProductionVariants"][0]
    serverless = variant.get("ServerlessConfig")
    model = client.describe_model(ModelName=variant["ModelName"])
    container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
    return ServingSetup(
        variant_name=variant["VariantName"],
        serverless=dict(serverless) if serverless else None,  # type: ignore[arg-type]
        instance_type=variant.get("InstanceType"),
        instance_count=variant.get("InitialInstanceCount"),
        model_name=variant["ModelName"],
        environment=dict(container.get("Environment", {})),
        image=str(container.get("Image", "")),
    )


def wait_in_service(
    client: SageMakerClient,
    name: str,
    *,
    delay_seconds: int = 30,
    max_attempts: int = 120,
    on_status: Callable[[str, float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> EndpointStatus:
    """Block on botocore's `endpoint_in_service` waiter, reporting every status change.

    The waiter stops at once on Failed (raised with SageMaker's failure reason) and on an
    unknown endpoint; otherwise it polls every `delay_seconds`, `max_attempts` times.
    """
    started = clock()
    last: list[str] = []

    def report(parsed: Any, **_: Any) -> None:
        status = parsed.get("EndpointStatus") if isinstance(parsed, dict) else None
        if status and (not last or last[-1] != status):
            last.append(status)
            if on_status is not None:
                on_status(status, clock() - started)

    event = "after-call.sagemaker.DescribeEndpoint"
    client.meta.events.register(event, report)
    try:
        client.get_waiter("endpoint_in_service").wait(
            EndpointName=name,
            WaiterConfig={"Delay": delay_seconds, "MaxAttempts": max_attempts},
        )
    except WaiterError as error:
        response = error.last_response or {}
        if response.get("EndpointStatus") == "Failed":
            raise EndpointFailedError(
                f"endpoint {name!r} failed: {response.get('FailureReason', 'no reason given')}"
            ) from None
        if "Error" in response:
            code = response["Error"].get("Code", "")
            message = response["Error"].get("Message", "")
            if "not found" in message.lower() or "could not find" in message.lower():
                raise EndpointNotFoundError(
                    name, client.meta.region_name, endpoint_url=client.meta.endpoint_url
                ) from None
            raise EmbeddingError(f"waiting for {name!r} failed: {code}: {message}") from None
        status = response.get("EndpointStatus", "unknown")
        raise EndpointWaitTimeoutError(
            f"endpoint {name!r} is still {status} after {clock() - started:.0f} s "
            f"({max_attempts} checks {delay_seconds} s apart)"
        ) from None
    finally:
        client.meta.events.unregister(event, report)
    return describe_endpoint(client, name)
