"""The inference handler, shaped like the HuggingFace inference toolkit's.

The SageMaker HuggingFace container serves a model through four functions: `model_fn` loads
it, `input_fn` decodes the request body, `predict_fn` runs it, `output_fn` encodes the answer.
Its defaults build `transformers.pipeline(HF_TASK)` and call it with the request's `inputs` and
`"parameters"` as keyword arguments; a `code/inference.py` in the model archive may replace any
of the four. The local server goes through the same four functions, so it answers with exactly
the container's shapes.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOG = logging.getLogger("embeddings.server")

JSON_CONTENT_TYPES = ("application/json",)


class RequestError(Exception):
    """A request the model cannot serve; `status` is what the container would answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ModelSource:
    """Where the model comes from: a Hub id or a local directory, as HF_MODEL_ID may say."""

    model: str
    task: str
    revision: str | None = None

    def directory(self) -> str:
        """A local directory holding the model, as the container has in /opt/ml/model.

        A Hub id is downloaded (or taken from the Hugging Face cache; offline with
        HF_HUB_OFFLINE=1), a directory is used as it is.
        """
        if Path(self.model).is_dir():
            return str(Path(self.model).resolve())
        from huggingface_hub import snapshot_download

        return str(snapshot_download(self.model, revision=self.revision))


def _to_builtin(value: Any) -> Any:
    """numpy and torch values the pipelines may return, as JSON-ready Python values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def default_model_fn(task: str) -> Callable[[str], Any]:
    """The toolkit's default `model_fn`: a transformers pipeline for HF_TASK, on the CPU."""

    def model_fn(model_dir: str) -> Any:
        from transformers import pipeline  # heavy: imported only when a server starts

        any_task: Any = task  # pipeline() is overloaded on literal task names
        return pipeline(any_task, model=model_dir, device="cpu")

    return model_fn


def default_input_fn(body: str | bytes, content_type: str) -> Any:
    media_type = content_type.split(";")[0].strip().lower()
    if media_type not in JSON_CONTENT_TYPES:
        raise RequestError(
            400, f"content type {content_type or '(none)'!r} is not supported; use application/json"
        )
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RequestError(400, f"the body is not valid JSON: {error}") from None


def default_predict_fn(data: Any, model: Any) -> Any:
    """`model(inputs, **parameters)`, as the container calls the pipeline."""
    if not isinstance(data, dict) or "inputs" not in data:
        raise RequestError(400, 'the body must be a JSON object with "inputs"')
    inputs = data["inputs"]
    if inputs in ("", []) or (isinstance(inputs, str) and not inputs.strip()):
        raise RequestError(400, '"inputs" is empty')
    parameters = data.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise RequestError(400, '"parameters" must be a JSON object')
    return model(inputs, **parameters) if parameters else model(inputs)


def default_output_fn(prediction: Any, accept: str) -> bytes:
    return json.dumps(prediction, default=_to_builtin).encode()


@dataclass
class Handler:
    """The four functions, defaults replaced by whatever a user module defines."""

    model_fn: Callable[[str], Any]
    input_fn: Callable[[str | bytes, str], Any]
    predict_fn: Callable[[Any, Any], Any]
    output_fn: Callable[[Any, str], Any]
    custom: tuple[str, ...] = ()
    """Names of the functions that came from user code."""

    @classmethod
    def default(cls, task: str) -> Handler:
        return cls(default_model_fn(task), default_input_fn, default_predict_fn, default_output_fn)


def load_user_handler(path: Path, task: str) -> Handler:
    """Import `path` (an inference.py) and let its functions replace the defaults."""
    spec = importlib.util.spec_from_file_location("user_inference", path)
    if spec is None or spec.loader is None:
        raise ValueError(f"cannot import handler {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler = Handler.default(task)
    custom = []
    for name in ("model_fn", "input_fn", "predict_fn", "output_fn"):
        function = getattr(module, name, None)
        if callable(function):
            setattr(handler, name, function)
            custom.append(name)
    handler.custom = tuple(custom)
    return handler
