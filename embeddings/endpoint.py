"""The endpoint as its owner watches it, for `status`, `wait` and `verify`: its status, what it
runs, and waiting for InService (botocore's own `endpoint_in_service` waiter)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, cast

from botocore.exceptions import ClientError, WaiterError

from embeddings.errors import (
    EmbeddingError,
    EndpointNotFoundError,
    from_botocore,
    is_not_found,
)

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker.type_defs import (
        ContainerDefinitionOutputTypeDef,
        DescribeEndpointOutputTypeDef,
        ProductionVariantOutputTypeDef,
    )


class EndpointFailedError(EmbeddingError):
    """The endpoint reached the Failed status; the message carries SageMaker's reason."""


class EndpointWaitTimeoutError(EmbeddingError):
    """The endpoint did not reach InService within the waiter's attempts."""


def _not_found(client: SageMakerClient, name: str) -> EndpointNotFoundError:
    return EndpointNotFoundError(name, client.meta.region_name, client.meta.endpoint_url)


def describe_endpoint(client: SageMakerClient, name: str) -> DescribeEndpointOutputTypeDef:
    try:
        return client.describe_endpoint(EndpointName=name)
    except ClientError as error:
        if is_not_found(error):
            raise _not_found(client, name) from None
        raise


def serving_setup(
    client: SageMakerClient, config_name: str
) -> tuple[ProductionVariantOutputTypeDef, ContainerDefinitionOutputTypeDef]:
    """The configuration's first (for this project: only) variant, and its model's container."""
    [variant, *_] = client.describe_endpoint_config(EndpointConfigName=config_name)[
        "ProductionVariants"
    ]
    model = client.describe_model(ModelName=variant["ModelName"])
    return variant, model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]


TEI_REPOSITORIES: Final = ("tei", "tei-cpu")
"""container/tei.py's GPU and CPU repositories (a test holds them equal): the client is also
installed without container/."""


def runs_tei(image: str) -> bool:
    """Whether the image is TEI's (`tei` or `tei-cpu`, the local endpoint's too): it pools."""
    return image.split("@")[0].rsplit("/", 1)[-1].split(":")[0] in TEI_REPOSITORIES


def wait_in_service(
    client: SageMakerClient,
    name: str,
    *,
    delay_seconds: int = 30,
    max_attempts: int = 120,
    on_status: Callable[[str, float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> DescribeEndpointOutputTypeDef:
    """Poll every `delay_seconds`, `max_attempts` times, reporting each status change; stop at
    once on Failed (raised with SageMaker's reason) and on an unknown endpoint."""
    started = clock()
    last: list[Any] = [{}]

    def report(parsed: Any, **_: Any) -> None:
        status = parsed.get("EndpointStatus") if isinstance(parsed, dict) else None
        if status and on_status is not None and status != last[0].get("EndpointStatus"):
            on_status(status, clock() - started)
        last[0] = parsed if status else last[0]

    event = "after-call.sagemaker.DescribeEndpoint"
    client.meta.events.register(event, report)
    try:
        client.get_waiter("endpoint_in_service").wait(
            EndpointName=name, WaiterConfig={"Delay": delay_seconds, "MaxAttempts": max_attempts}
        )
    except WaiterError as error:
        response: Any = error.last_response or {}
        if "Error" in response:
            failure = ClientError(response, "DescribeEndpoint")
            found = is_not_found(failure)
            raise _not_found(client, name) if found else from_botocore(failure) from None
        if response.get("EndpointStatus") == "Failed":
            reason = response.get("FailureReason", "no reason given")
            raise EndpointFailedError(f"endpoint {name!r} failed: {reason}") from None
        raise EndpointWaitTimeoutError(
            f"endpoint {name!r} is still {response.get('EndpointStatus', 'unknown')} after "
            f"{clock() - started:.0f} s ({max_attempts} checks {delay_seconds} s apart)"
        ) from None
    finally:
        client.meta.events.unregister(event, report)
    return cast("DescribeEndpointOutputTypeDef", last[0])
