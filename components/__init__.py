"""Reusable Pulumi components of the Alex vector engine."""

from components.args import EmbeddingEndpointArgs
from components.embedding_endpoint import EmbeddingEndpoint
from components.errors import InvalidSettingsError, Problem

__all__ = ["EmbeddingEndpoint", "EmbeddingEndpointArgs", "InvalidSettingsError", "Problem"]
