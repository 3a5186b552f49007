"""The inference toolkit's handler, as the SageMaker HuggingFace container runs it.

sagemaker-huggingface-inference-toolkit (2.1.1 in the default image) serves a model through
`load` (`model_fn`), `preprocess` (`input_fn`), `predict` (`predict_fn`) and `postprocess`
(`output_fn`); a `code/inference.py` in the model archive may replace any of them, or all of
the last three with one `transform_fn`. This module follows its code step by step (decoders,
the pipeline call, encoders, error texts), so the local endpoint answers what the container
answers; tests/fixtures/container_answers.json records the real container to prove it.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

JSON: Final = "application/json"
CSV: Final = "text/csv"
NPY: Final = "application/x-npy"
ANY: Final = "*/*"
UTF8_TYPES: Final = (JSON, CSV)
"""Bodies of these types reach the handler as text, any other as bytes (exact match only)."""
# sagemaker_inference.errors.UnsupportedFormatError, as the toolkit raises it.
_UNSUPPORTED: Final = (
    "Content type {} is not supported by this framework.\n\n"
    "            Please implement input_fn to to deserialize the request data or an output_fn to\n"
    "            serialize the response. For more information, see the SageMaker Python SDK "
    "README."
)
# Raised as PredictionException(message, 400), whose text gets the code appended.
_CSV_HEADER: Final = (
    "You need to provide the correct CSV with Header columns to use it with the inference "
    "toolkit default handler. : 400"
)
# transformers 4.26's tokenizer on something that is no text (newer releases word it otherwise).
_NOT_TEXT: Final = (
    "text input must of type `str` (single example), `List[str]` (batch or single pretokenized "
    "example) or `List[List[str]]` (batch of pretokenized examples)."
)


class UnsupportedFormatError(Exception):
    def __init__(self, content_type: str | None) -> None:
        super().__init__(_UNSUPPORTED.format(content_type))


def decode(data: str | bytes, content_type: str | None) -> Any:
    """The toolkit's decoders: JSON, CSV with an `inputs` (or `question`/`context`) header, NPY.

    Its image and audio decoders need Pillow and are not reproduced: they answer as an
    unsupported type does."""
    if content_type == JSON:
        return json.loads(data)
    if content_type == CSV:
        text = str(data)
        if not any(
            key in text.splitlines()[0].lower() for key in ("question", "context", "inputs")
        ):
            raise ValueError(_CSV_HEADER)
        rows = list(csv.DictReader(io.StringIO(text)))
        if "inputs" in rows[0]:
            return {"inputs": [row["inputs"] for row in rows]}
        return {"inputs": rows}
    if content_type == NPY:
        import numpy

        return numpy.load(io.BytesIO(bytes(data, "utf-8") if isinstance(data, str) else data))
    raise UnsupportedFormatError(content_type)


def _to_builtin(value: Any) -> Any:
    """What the toolkit's JSON encoder writes for numpy values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def encode(prediction: Any, accept: str) -> str | bytes:
    """The toolkit's encoders: compact JSON (no NaN, UTF-8 kept), CSV of dicts, NPY."""
    if accept == JSON:
        return json.dumps(
            prediction,
            ensure_ascii=False,
            allow_nan=False,
            separators=(",", ":"),
            default=_to_builtin,
        )
    if accept == CSV:
        rows = prediction if isinstance(prediction, list) else list(prediction)
        stream = io.StringIO()
        writer = csv.DictWriter(stream, rows[0].keys())
        writer.writeheader()
        writer.writerows(rows)
        return stream.getvalue()
    if accept == NPY:
        import numpy

        buffer = io.BytesIO()
        numpy.save(buffer, numpy.asarray(prediction))
        return buffer.getvalue()
    raise UnsupportedFormatError(accept)


def default_model_fn(task: str) -> Callable[[str], Any]:
    """`load`: a transformers pipeline for HF_TASK on the model directory, on the CPU."""

    def model_fn(model_dir: str) -> Any:
        from transformers import pipeline  # heavy: imported only when a server starts

        any_task: Any = task  # pipeline() is overloaded on literal task names
        return pipeline(any_task, model=model_dir, device=-1)

    return model_fn


def default_predict_fn(data: Any, model: Any) -> Any:
    """`predict`, verbatim: pop `inputs` (else pass the whole body) and `parameters`."""
    inputs = data.pop("inputs", data)
    parameters = data.pop("parameters", None)
    if parameters is not None:
        if not isinstance(parameters, Mapping):  # Python's own words, with 4.26's default repr
            where = (
                f"<{type(model).__module__}.{type(model).__qualname__} object at {id(model):#x}>"
            )
            raise TypeError(
                f"{where} argument after ** must be a mapping, not {type(parameters).__name__}"
            )
        return _pipeline(model, inputs, parameters)
    return _pipeline(model, inputs, {})


def _pipeline(model: Any, inputs: Any, parameters: Mapping[str, Any]) -> Any:
    """The pipeline call, with what transformers 4.26 (the image's) does that newer ones do
    not: an empty batch answers `[]`, and each item must be text, or pretokenized text."""
    if isinstance(inputs, list) and not inputs:
        return []
    items = inputs if isinstance(inputs, list) else [inputs]
    if any(item is not None and not _is_text(item) for item in items):
        raise ValueError(_NOT_TEXT)
    return model(inputs, **parameters)


def _is_text(value: Any) -> bool:
    """A text, a pretokenized text (list of words), or a batch of those, as 4.26 checks."""
    if isinstance(value, str):
        return True
    if not isinstance(value, list | tuple):
        return False
    first = value[0] if value else ""
    return isinstance(first, str) or (
        isinstance(first, list | tuple) and (not first or isinstance(first[0], str))
    )


@dataclass
class Handler:
    """The toolkit's steps, defaults replaced by whatever a user module defines."""

    model_fn: Callable[[str], Any]
    input_fn: Callable[[Any, str | None], Any] = decode
    predict_fn: Callable[[Any, Any], Any] = default_predict_fn
    output_fn: Callable[[Any, str], Any] = encode
    transform_fn: Callable[[Any, Any, str | None, str], Any] | None = None
    custom: tuple[str, ...] = field(default=())
    """Names of the functions that came from user code."""

    def transform(self, model: Any, data: Any, content_type: str | None, accept: str) -> Any:
        if self.transform_fn is not None:
            return self.transform_fn(model, data, content_type, accept)
        return self.output_fn(self.predict_fn(self.input_fn(data, content_type), model), accept)


def load_handler(task: str, user_module: Path | None = None) -> Handler:
    """The default handler, or one whose functions `user_module` (an inference.py) replaces."""
    handler = Handler(default_model_fn(task))
    if user_module is None:
        return handler
    spec = importlib.util.spec_from_file_location("user_inference", user_module)
    if spec is None or spec.loader is None:
        raise ValueError(f"cannot import handler {user_module}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    names = ("model_fn", "input_fn", "predict_fn", "output_fn", "transform_fn")
    custom = tuple(name for name in names if callable(getattr(module, name, None)))
    if "transform_fn" in custom and {"input_fn", "predict_fn", "output_fn"} & set(custom):
        raise ValueError(
            "Cannot use transform_fn implementation in conjunction with input_fn, predict_fn, "
            "and/or output_fn implementation"
        )
    for name in custom:
        setattr(handler, name, getattr(module, name))
    handler.custom = custom
    return handler
