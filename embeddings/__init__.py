"""Client library and command line for the Alex SageMaker embedding endpoint."""

from embeddings.client import EmbeddingClient
from embeddings.errors import (
    AccessDeniedError,
    ConfigurationError,
    EmbeddingError,
    EndpointNotFoundError,
    EndpointUnavailableError,
    InvalidInputError,
    ModelInvocationError,
    PayloadTooLargeError,
    ServiceError,
    UnexpectedResponseError,
)

__all__ = [
    "AccessDeniedError",
    "ConfigurationError",
    "EmbeddingClient",
    "EmbeddingError",
    "EndpointNotFoundError",
    "EndpointUnavailableError",
    "InvalidInputError",
    "ModelInvocationError",
    "PayloadTooLargeError",
    "ServiceError",
    "UnexpectedResponseError",
]
