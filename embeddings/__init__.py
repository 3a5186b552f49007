"""Client library and command line for the Alex SageMaker embedding endpoint."""

from embeddings.client import EmbeddingClient
from embeddings.errors import (
    ConfigurationError,
    EmbeddingError,
    EndpointNotFoundError,
    EndpointUnavailableError,
    InvalidInputError,
    ModelInvocationError,
    PayloadTooLargeError,
    UnexpectedResponseError,
)

__all__ = [
    "ConfigurationError",
    "EmbeddingClient",
    "EmbeddingError",
    "EndpointNotFoundError",
    "EndpointUnavailableError",
    "InvalidInputError",
    "ModelInvocationError",
    "PayloadTooLargeError",
    "UnexpectedResponseError",
]
