"""What the local endpoint's parts pass each other: the options, and what a container brings (its
own answers around the model, which differ between the images, and the model)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, Protocol

from pydantic import TypeAdapter, ValidationError

JSON: Final = "application/json"
ANY_METHOD: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_ANY_JSON: Final = TypeAdapter(Any)


def parse_json(data: str | bytes) -> Any:
    """JSON as `json.loads` reads it, but with a bounded depth: a body nested thousands deep is a
    ValueError saying where, never a RecursionError deep in a thread's stack."""
    try:
        return _ANY_JSON.validate_json(data)
    except ValidationError as error:
        raise ValueError(error.errors()[0]["msg"]) from None


@dataclass(frozen=True)
class ServeOptions:
    model: str
    task: str
    revision: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    max_concurrency: int = 4
    """InvokeEndpoint calls in progress at once; more are throttled, as SageMaker throttles."""
    endpoint_name: str | None = None
    """Answer only this name, as SageMaker would; None answers any."""
    serverless: bool = False
    handler_path: Path | None = None
    model_source: str = "--model"
    """Where `model` came from, for messages: --model, or HF_MODEL_ID."""
    task_source: str = "--task"
    runtime: Literal["huggingface", "tei"] = "huggingface"
    """The container emulated: the SageMaker HuggingFace image, or Text Embeddings Inference
    (which always pools and has no task, so `task` and `handler_path` do not apply)."""


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
        """Whether the model runs now (a running prediction cannot be stopped)."""

    def stop(self) -> None:
        """Start nothing more: requests still waiting get `contract.stopping` at once."""

    async def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> Answer:
        """POST /invocations. Cancelled before its turn comes, the model never runs it."""
