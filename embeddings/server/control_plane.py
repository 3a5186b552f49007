"""The SageMaker control-plane calls the command line makes, answered for the local endpoint.

`status`, `wait` and `verify` describe the endpoint, its configuration and its model (JSON 1.1
protocol: `POST /` with `X-Amz-Target: SageMaker.<Operation>`). The local endpoint answers them
for what it serves: InService, serverless or one local instance, the real model id and task
(with `--runtime tei`: TEI's image and the variables the component gives that container, which
have no task).
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Final

from container import tei

if TYPE_CHECKING:
    from embeddings.server.app import Endpoint

ACCOUNT_ID: Final = "000000000000"
REGION: Final = "local"
_STARTED: Final = time.time()


def _arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:{kind}/{name.lower()}"


def _container(endpoint: Endpoint) -> dict[str, Any]:
    """The model's container: the image emulated and its environment."""
    if endpoint.runtime == "tei":
        return {
            "Image": f"local/{tei.CPU_REPOSITORY}:{tei.DEFAULT_CPU_TAG}",
            "Environment": tei.environment(endpoint.model_id, endpoint.revision),
        }
    return {
        "Image": "local",
        "Environment": {"HF_MODEL_ID": endpoint.model_id, "HF_TASK": endpoint.task},
    }


def _not_found(message: str) -> tuple[int, dict[str, Any]]:
    return 400, {"__type": "ValidationException", "message": message}


def answer(target: str, payload: bytes, endpoint: Endpoint) -> tuple[int, dict[str, Any]]:
    """The status and JSON body for one control-plane call."""
    operation = target.removeprefix("SageMaker.")
    try:
        request = json.loads(payload or b"{}")
    except ValueError:
        return 400, {"__type": "SerializationException", "message": "the body is not JSON"}
    if not isinstance(request, dict):
        return 400, {"__type": "SerializationException", "message": "the body is not an object"}
    # Names follow the endpoint's: <name>-config and <name>-model (any name when it has none).
    asked = str(request.get("EndpointConfigName") or request.get("ModelName") or "")
    name = endpoint.endpoint_name or str(request.get("EndpointName") or asked.rsplit("-", 1)[0])
    config, model = f"{name}-config", f"{name}-model"
    if operation == "DescribeEndpoint":
        asked = str(request.get("EndpointName"))
        if endpoint.endpoint_name not in (None, asked):
            return _not_found(f'Could not find endpoint "{asked}".')
        return 200, {
            "EndpointName": asked,
            "EndpointArn": _arn("endpoint", asked),
            "EndpointConfigName": config,
            "EndpointStatus": "InService",
            "CreationTime": _STARTED,
            "LastModifiedTime": _STARTED,
            "ProductionVariants": [{"VariantName": "AllTraffic"}],
        }
    if operation == "DescribeEndpointConfig":
        if request.get("EndpointConfigName") != config:
            return _not_found(
                f'Could not find endpoint configuration "{request.get("EndpointConfigName")}".'
            )
        variant: dict[str, Any] = {"VariantName": "AllTraffic", "ModelName": model}
        if endpoint.serverless:
            variant["ServerlessConfig"] = {
                "MemorySizeInMB": 3072,
                "MaxConcurrency": endpoint.max_concurrency,
            }
        else:
            variant |= {"InstanceType": "local", "InitialInstanceCount": 1}
        return 200, {
            "EndpointConfigName": config,
            "EndpointConfigArn": _arn("endpoint-config", config),
            "ProductionVariants": [variant],
            "CreationTime": _STARTED,
        }
    if operation == "DescribeModel":
        if asked != model:
            return _not_found(f'Could not find model "{asked}".')
        return 200, {
            "ModelName": model,
            "ModelArn": _arn("model", model),
            "PrimaryContainer": _container(endpoint),
            "ExecutionRoleArn": f"arn:aws:iam::{ACCOUNT_ID}:role/local",
            "CreationTime": _STARTED,
        }
    return 400, {
        "__type": "UnknownOperationException",
        "message": f"the local endpoint answers DescribeEndpoint, DescribeEndpointConfig and "
        f"DescribeModel, not {target or 'a request without X-Amz-Target'}",
    }
