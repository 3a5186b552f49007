"""Errors the client and command line raise, each with a message a person can act on: every
failure is an `EmbeddingError`, and those the service answered carry its `code` and
`service_message`."""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Final
from urllib.parse import urlsplit

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    NoCredentialsError,
)

_TEI_BATCH_LIMIT: Final = re.compile(
    r"batch size [0-9]+ > maximum allowed batch size ([0-9]{1,9})(?![0-9])"
)
"""TEI's refusal of more texts than its MAX_CLIENT_BATCH_SIZE (413, or 422 from TEI 1.9)."""
_TEI_BODY_LIMIT: Final = "Failed to buffer the request body"
"""TEI's 413 for a body over its payload limit (2,000,000 bytes by default)."""
_HANDLER_LIMIT: Final = re.compile(
    r"over the endpoint's limit of ([0-9]{1,9}) \(EMBEDDING_(TEXTS|TOKENS)_PER_REQUEST\)"
)
"""The handler's refusal (400) of more texts or tokens a request than its limits, which its
deployment may lower (container/inference.py)."""
_TIMED_OUT: Final = "timed out while waiting for a response from container"
"""SageMaker's ModelError for an invocation past its 60 s limit."""


class EmbeddingError(Exception):
    """Base class: anything that kept the client from returning embeddings."""

    def __init__(self, message: str, *, code: str | None = None, service_message: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.service_message = service_message


class InvalidInputError(EmbeddingError, ValueError):
    """The texts, payload or options are unusable; nothing was sent."""


class ConfigurationError(EmbeddingError):
    """No endpoint or region could be worked out, or credentials are missing."""


LOCAL_INSTALL: Final = (
    "the local endpoint needs {}: `pip install -r requirements-local.txt` in a clone of the "
    "repository, or the client with its [local] extra (`pip install './alex-sagemaker[local]'`)"
)
"""What `serve` says when a module it needs is missing (the client installed without the extra)."""


class AccessDeniedError(EmbeddingError):
    """The caller may not invoke the endpoint: its role lacks sagemaker:InvokeEndpoint."""


class EndpointUnavailableError(EmbeddingError):
    """Nothing could connect to the endpoint, or it kept answering with retryable errors until
    the deadline passed."""


class PayloadTooLargeError(EmbeddingError):
    """A single text (or a raw payload) is more than one request may carry."""


class UnexpectedResponseError(EmbeddingError):
    """The endpoint answered with something that is not a set of embeddings."""


class ModelInvocationError(EmbeddingError):
    """The model container itself failed on the request (SageMaker's ModelError)."""

    batch_limit: int | None = None
    """The most texts per request the container takes, when its refusal said so (TEI)."""
    timed_out: bool = False
    """SageMaker stopped waiting for the container's answer (the invocation limit, 60 s)."""


class ServiceError(EmbeddingError):
    """Any other refusal by the service, with its code and message."""


class EndpointNotFoundError(EmbeddingError):
    """SageMaker has no endpoint of that name in that region (often: the wrong region)."""

    def __init__(
        self, endpoint_name: str, region: str | None, endpoint_url: str, service_message: str = ""
    ) -> None:
        self.endpoint_name, self.region = endpoint_name, region
        message = f"endpoint {endpoint_name!r} was not found in region {region or '(unknown)'}"
        host = urlsplit(endpoint_url).hostname or ""
        if host.endswith((".amazonaws.com", ".amazonaws.com.cn", ".api.aws")):
            message += "; check the region (the deployed one is `pulumi stack output region`) "
            message += "and pass --region or set DEFAULT_AWS_REGION"
        else:  # an AWS_ENDPOINT_URL stand-in, such as the local endpoint
            message += (
                f" at {endpoint_url} (the AWS_ENDPOINT_URL in use); a local endpoint (`python"
            )
            message += " -m embeddings serve`) answers the name its --endpoint-name gives, or any "
            message += "name without one"
        super().__init__(message, code="ValidationError", service_message=service_message)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def error_message(error: ClientError) -> str:
    """The service's message, cut at 2,000 characters: an endpoint may answer anything."""
    return str(error.response.get("Error", {}).get("Message", ""))[:2000]


def describe(error: BaseException) -> str:
    """One line: the service's code and message, or the exception's type and text."""
    if isinstance(error, ClientError):
        return f"{error_code(error)}: {error_message(error)}".strip(": ")
    return f"{type(error).__name__}: {error}"


def is_not_found(error: ClientError) -> bool:
    """SageMaker's answer for an unknown endpoint, as the runtime and the control plane word it."""
    return error_code(error) in {"ValidationError", "ValidationException"} and bool(
        re.search(r"endpoint .* not found|could not find endpoint", error_message(error), re.I)
    )


def container_status(error: ClientError) -> int | None:
    """The container's own status behind a ModelError (SageMaker answers 424 around it)."""
    status = error.response.get("OriginalStatusCode")
    return status if isinstance(status, int) else None


def _no_answer(error: EndpointConnectionError | ConnectionClosedError) -> EmbeddingError:
    """Refused, unresolvable, or no HTTP answer: which URL and why (on loopback, refused means
    that no local endpoint is running there)."""
    url = urlsplit(str(error.kwargs.get("endpoint_url", "")))
    where, reason = f"{url.scheme}://{url.netloc}", str(error.kwargs.get("error", ""))[:200]
    if isinstance(error, ConnectionClosedError):
        return EndpointUnavailableError(
            f"{where} closed the connection without a valid HTTP answer ({reason}); is that the "
            "endpoint's URL? (AWS_ENDPOINT_URL, when set)"
        )
    message = f"could not connect to {where} ({reason.split(': ', 1)[-1]})"
    try:
        loopback = (
            url.hostname == "localhost" or ipaddress.ip_address(url.hostname or "").is_loopback
        )
    except ValueError:  # a host name
        loopback = False
    if loopback:
        message += ": no local endpoint is listening there; start one with `python -m embeddings"
        message += " serve`, or check the port in AWS_ENDPOINT_URL"
    return EndpointUnavailableError(message)


def endpoint_url_refused(error: ValueError) -> ConfigurationError:
    """botocore's refusal, as it makes a client, of the endpoint URL it was given."""
    return ConfigurationError(
        f"the endpoint URL cannot be used ({error}): AWS_ENDPOINT_URL (or its per-service "
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME, AWS_ENDPOINT_URL_SAGEMAKER) must be a URL such as "
        "http://127.0.0.1:8080"
    )


def from_botocore(
    error: BotoCoreError | ClientError, endpoint: str = "", region: str | None = None, url: str = ""
) -> EmbeddingError:
    """What botocore raised, as the EmbeddingError that says what to do about it; `endpoint`,
    `region` and `url` name what InvokeEndpoint was calling, when it was."""
    if isinstance(error, NoCredentialsError):
        return ConfigurationError(
            "no AWS credentials found; run `aws configure`, or set AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (for a local endpoint any values do, "
            "such as testing)"
        )
    if isinstance(error, EndpointConnectionError | ConnectionClosedError):
        return _no_answer(error)
    if not isinstance(error, ClientError):
        return ServiceError(f"the request failed: {describe(error)}")
    code, message = error_code(error), error_message(error)
    known: dict[str, Any] = {"code": code, "service_message": message}
    status = container_status(error) if code == "ModelError" else None
    if endpoint and is_not_found(error):
        return EndpointNotFoundError(endpoint, region, url, message)
    if (
        error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 413
        or (code == "ValidationError" and "oversize" in message)
        or (status == 413 and _TEI_BODY_LIMIT in message)
    ):
        return PayloadTooLargeError(f"the payload is too large for one request: {message}", **known)
    if code == "ModelError":
        tei = _TEI_BATCH_LIMIT.search(message) if status in (413, 422) else None
        handler = _HANDLER_LIMIT.search(message) if status == 400 else None
        if handler and handler[2] == "TOKENS":  # split as a batch too large is
            said = f"the model container takes at most {handler[1]} tokens per request"
            return PayloadTooLargeError(f"{said}: {message}", **known)
        limit, timed_out = tei or handler, _TIMED_OUT in message
        if limit:
            said = f"the model container takes at most {limit[1]} texts per request"
        elif timed_out:
            said = "the model container did not answer within the invocation limit (60 s)"
        else:
            said = f"the model container failed on the request (status {status})"
        refused = ModelInvocationError(f"{said}: {message}", **known)
        refused.batch_limit, refused.timed_out = int(limit[1]) if limit else None, timed_out
        return refused
    if endpoint and (code.startswith("AccessDenied") or "not authorized" in message):
        return AccessDeniedError(
            f"not allowed to call sagemaker:InvokeEndpoint on {endpoint!r} in {region}: "
            f"{message} Give the identity named there the stack's invoke_policy_json (or "
            "EmbeddingEndpoint.grant_invoke).",
            **known,
        )
    return ServiceError(describe(error), **known)
