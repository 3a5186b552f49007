"""What the local endpoint needs of a container: its own answers around the model, and the model.

The images differ in all that surrounds the model (multi-model-server in the HuggingFace one,
TEI's router in Text Embeddings Inference), so each container brings its `Contract`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

JSON: Final = "application/json"
ANY_METHOD: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    content_type: str | None = JSON


@dataclass(frozen=True)
class Contract:
    ping: Answer
    not_found: Answer
    method_not_allowed: Answer
    request_limit: int
    too_large: Answer
    """For a request body over `request_limit` bytes."""
    stopping: Answer
    """For a request still waiting for the model when the server stops (a local answer)."""
    ping_paths: tuple[str, ...]
    ping_methods: tuple[str, ...]
    invocation_paths: tuple[str, ...]
    invocation_methods: tuple[str, ...]


class Container(Protocol):
    @property
    def contract(self) -> Contract: ...

    @property
    def busy(self) -> bool:
        """Whether the model is running now (a running prediction cannot be stopped)."""

    def stop(self) -> None:
        """Start nothing more: requests still waiting get `contract.stopping` at once."""

    async def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> Answer:
        """POST /invocations. Cancelled before its turn comes, the model never runs it."""
