"""Errors the embeddings client raises, each with a message a person can act on.

Every failure of `embed`, `embed_one` and `invoke_raw` is an `EmbeddingError`; those the service
answered carry its error `code` and `service_message` as well.
"""

from __future__ import annotations


class EmbeddingError(Exception):
    """Base class: anything that kept the client from returning embeddings."""

    def __init__(self, message: str, *, code: str | None = None, service_message: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.service_message = service_message


class InvalidInputError(EmbeddingError, ValueError):
    """The texts or payload are unusable; nothing was sent."""


class ConfigurationError(EmbeddingError):
    """No endpoint or region could be worked out, or credentials are missing."""


class EndpointNotFoundError(EmbeddingError):
    """SageMaker has no endpoint of that name in that region (often: the wrong region)."""

    def __init__(
        self,
        endpoint_name: str,
        region: str | None,
        *,
        service_message: str = "",
        endpoint_url: str | None = None,
    ) -> None:
        self.endpoint_name = endpoint_name
        self.region = region
        if endpoint_url is not None and not _is_aws(endpoint_url):
            message = (
                f"endpoint {endpoint_name!r} was not found in region {region or '(unknown)'} "
                f"at {endpoint_url} (the AWS_ENDPOINT_URL in use); a local endpoint (`python -m "
                "embeddings serve`) answers the name its --endpoint-name gives, or any name "
                "without one"
            )
        else:
            message = (
                f"endpoint {endpoint_name!r} was not found in region {region or '(unknown)'}; "
                "check the region (the deployed one is `pulumi stack output region`) and pass "
                "--region or set DEFAULT_AWS_REGION"
            )
        super().__init__(message, code="ValidationError", service_message=service_message)


def _is_aws(url: str) -> bool:
    """Whether botocore talks to AWS itself, not to an AWS_ENDPOINT_URL stand-in."""
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn", ".api.aws"))


class AccessDeniedError(EmbeddingError):
    """The caller may not invoke the endpoint: its role lacks sagemaker:InvokeEndpoint."""


class EndpointUnavailableError(EmbeddingError):
    """The endpoint kept answering with retryable errors until the deadline passed."""


class PayloadTooLargeError(EmbeddingError):
    """A single text produces more output than one request may carry."""


class UnexpectedResponseError(EmbeddingError):
    """The endpoint answered with something that is not a set of embeddings."""


class ModelInvocationError(EmbeddingError):
    """The model container itself failed on the request (SageMaker's ModelError)."""


class ServiceError(EmbeddingError):
    """Any other refusal by the service, with its code and message."""
