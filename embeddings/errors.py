"""Errors the embeddings client and command line raise, each with a message a person can act on.

Every failure of `embed`, `embed_one` and `invoke_raw` is an `EmbeddingError`; those the service
answered carry its error `code` and `service_message` as well.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError


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


class AccessDeniedError(EmbeddingError):
    """The caller may not invoke the endpoint: its role lacks sagemaker:InvokeEndpoint."""


class EndpointUnavailableError(EmbeddingError):
    """The endpoint kept answering with retryable errors until the deadline passed."""


class PayloadTooLargeError(EmbeddingError):
    """A single text (or a raw payload) is more than one request may carry."""


class UnexpectedResponseError(EmbeddingError):
    """The endpoint answered with something that is not a set of embeddings."""


class ModelInvocationError(EmbeddingError):
    """The model container itself failed on the request (SageMaker's ModelError)."""

    batch_limit: int | None = None
    """The most texts per request the container takes, when its refusal said so (TEI)."""


class ServiceError(EmbeddingError):
    """Any other refusal by the service, with its code and message."""


class EndpointNotFoundError(EmbeddingError):
    """SageMaker has no endpoint of that name in that region (often: the wrong region)."""

    def __init__(
        self, endpoint_name: str, region: str | None, endpoint_url: str, service_message: str = ""
    ) -> None:
        self.endpoint_name, self.region = endpoint_name, region
        where = f"endpoint {endpoint_name!r} was not found in region {region or '(unknown)'}"
        host = urlsplit(endpoint_url).hostname or ""
        if host.endswith((".amazonaws.com", ".amazonaws.com.cn", ".api.aws")):
            hint = (
                "check the region (the deployed one is `pulumi stack output region`) and pass "
                "--region or set DEFAULT_AWS_REGION"
            )
        else:  # an AWS_ENDPOINT_URL stand-in, such as the local endpoint
            hint = (
                f"at {endpoint_url} (the AWS_ENDPOINT_URL in use); a local endpoint (`python -m "
                "embeddings serve`) answers the name its --endpoint-name gives, or any name "
                "without one"
            )
        super().__init__(
            f"{where}; {hint}", code="ValidationError", service_message=service_message
        )


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def error_message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))


def describe(error: BaseException) -> str:
    """One line: the service's code and message, or the exception's type and text."""
    if isinstance(error, ClientError):
        return f"{error_code(error)}: {error_message(error)}".strip(": ")
    return f"{type(error).__name__}: {error}"


def is_not_found(error: ClientError) -> bool:
    """SageMaker's answer for an unknown endpoint (runtime and control plane word it apart)."""
    message = error_message(error).lower()
    return error_code(error) in {"ValidationError", "ValidationException"} and (
        "not found" in message or "could not find" in message
    )


def from_botocore(error: BotoCoreError | ClientError) -> EmbeddingError:
    """What botocore raised, as the EmbeddingError a person can act on."""
    if isinstance(error, NoCredentialsError):
        return ConfigurationError(
            "no AWS credentials found; run `aws configure`, or set AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    if isinstance(error, ClientError):
        return ServiceError(
            describe(error), code=error_code(error), service_message=error_message(error)
        )
    return ServiceError(f"the request failed: {describe(error)}")
