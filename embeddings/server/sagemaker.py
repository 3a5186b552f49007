"""SageMaker's side of the local endpoint: its limits, its errors, and the Describe* calls.

Errors have SageMaker's shape (the code in `x-amzn-ErrorType`, the fields in the body), so that
boto3 raises what it raises against AWS. The control plane (JSON 1.1: `POST /`, `X-Amz-Target`)
answers the calls `status`, `wait` and `verify` make, for what the local endpoint serves.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any, Final

from starlette.responses import JSONResponse, Response

from embeddings.server.contract import Answer, ServeOptions, parse_json
from embeddings.server.deployed import tei

LOG = logging.getLogger("embeddings.server")

ACCOUNT_ID: Final = "000000000000"
MB: Final = 1024 * 1024
REALTIME_LIMIT: Final = 6 * MB
"""InvokeEndpoint's request and response limit on a realtime endpoint..."""
SERVERLESS_LIMIT: Final = 4 * MB
"""...and on a serverless one."""
INVOCATION_TIMEOUT_SECONDS: Final = 60.0
"""How long SageMaker waits for the container to answer an invocation."""
TIMED_OUT: Final = Answer(
    0,
    b"Your invocation timed out while waiting for a response from container primary. Review "
    b"the latency metrics for each container in Amazon CloudWatch, resolve the issue, and try "
    b"again.",
)
_STARTED: Final = time.time()


def limit(options: ServeOptions) -> int:
    return SERVERLESS_LIMIT if options.serverless else REALTIME_LIMIT


def service_error(
    status: int, code: str, message: str, request_id: str = "", **fields: Any
) -> Response:
    LOG.info("%s %s: %s", status, code, " ".join(message.split())[:200])
    headers = {"x-amzn-ErrorType": code, "x-amzn-RequestId": request_id or str(uuid.uuid4())}
    if status in (408, 413, 503):
        headers["Connection"] = "close"  # what is left of the body is not read
    return JSONResponse({"message": message, **fields}, status, headers=headers)


def invocation_response(options: ServeOptions, name: str, answer: Answer) -> Response:
    """InvokeEndpoint's answer for the container's: the body itself, or a ModelError."""
    if answer.status == 200 and len(answer.body) > limit(options):
        message = f"the answer's {len(answer.body)} bytes are over InvokeEndpoint's limit"
        answer = Answer(500, f"{message} of {limit(options) // MB} MB".encode())
    if answer.status == 200:
        headers = {"x-Amzn-Invoked-Production-Variant": "AllTraffic"}
        headers["x-amzn-RequestId"] = str(uuid.uuid4())
        return Response(answer.body, 200, headers, media_type=answer.content_type)
    original = answer.body.decode(errors="replace")
    kind = "client" if 400 <= answer.status < 500 else "server"
    return service_error(
        424,
        "ModelError",
        f'Received {kind} error ({answer.status}) from primary with message "{original}". '
        "See the local server's log for more information.",
        OriginalStatusCode=answer.status,
        OriginalMessage=original,
        LogStreamArn=f"arn:aws:logs:local:{ACCOUNT_ID}:log-group:/aws/sagemaker/Endpoints/{name}",
    )


OPERATIONS: Final = {
    "DescribeEndpoint": ("EndpointName", "endpoint", ""),
    "DescribeEndpointConfig": ("EndpointConfigName", "endpoint configuration", "-config"),
    "DescribeModel": ("ModelName", "model", "-model"),
}
"""The calls answered: the field naming the resource, its kind, and its name's suffix."""


def describe(options: ServeOptions, target: str, payload: bytes) -> Response:
    """One control-plane call, about the endpoint NAME, NAME-config or NAME-model."""
    operation = target.removeprefix("SageMaker.")
    if operation not in OPERATIONS:
        message = f"the local endpoint answers {', '.join(OPERATIONS)}, not {target!r}"
        return _json(400, {"__type": "UnknownOperationException", "message": message})
    field, kind, suffix = OPERATIONS[operation]
    try:
        asked = str(parse_json(payload or b"{}").get(field))
    except (ValueError, AttributeError):
        return _json(400, {"__type": "SerializationException", "message": "not a JSON object"})
    name = options.endpoint_name or asked.removesuffix(suffix)
    if asked != name + suffix:
        message = f'Could not find {kind} "{asked}".'
        return _json(400, {"__type": "ValidationException", "message": message})
    arn = f"arn:aws:sagemaker:local:{ACCOUNT_ID}:{kind.replace(' configuration', '-config')}/"
    arn += asked.lower()
    described: dict[str, Any] = {field: asked, field.replace("Name", "Arn"): arn}
    described["CreationTime"] = _STARTED
    if operation == "DescribeEndpoint":
        described |= {
            "EndpointStatus": "InService",
            "EndpointConfigName": f"{name}-config",
            "ProductionVariants": [{"VariantName": "AllTraffic"}],
            "LastModifiedTime": _STARTED,
        }
    elif operation == "DescribeEndpointConfig":
        variant: dict[str, Any] = {"VariantName": "AllTraffic", "ModelName": f"{name}-model"}
        if options.serverless:
            capacity = {"MemorySizeInMB": 3072, "MaxConcurrency": options.max_concurrency}
            variant["ServerlessConfig"] = capacity
        else:
            variant |= {"InstanceType": "local", "InitialInstanceCount": 1}
        described["ProductionVariants"] = [variant]
    elif options.runtime == "tei":  # the image emulated, and its environment
        image = f"local/{tei.CPU_REPOSITORY}:{tei.DEFAULT_CPU_TAG}"
        environment = tei.environment(options.model, options.revision)
        described["PrimaryContainer"] = {"Image": image, "Environment": environment}
    else:
        environment = {"HF_MODEL_ID": options.model, "HF_TASK": options.task}
        described["PrimaryContainer"] = {"Image": "local", "Environment": environment}
        if options.handler_path is not None:  # where the handler comes from, as an archive's URL
            described["PrimaryContainer"]["ModelDataUrl"] = options.handler_path.resolve().as_uri()
    if operation == "DescribeModel":
        described["ExecutionRoleArn"] = f"arn:aws:iam::{ACCOUNT_ID}:role/local"
    return _json(200, described)


def _json(status: int, value: dict[str, Any]) -> Response:
    headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    return JSONResponse(value, status, headers, media_type="application/x-amz-json-1.1")
