"""What `python -m embeddings serve` was asked to serve, and how."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal


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
