"""The SageMaker HuggingFace container: the inference toolkit's handler behind multi-model-server.

The toolkit (sagemaker-huggingface-inference-toolkit 2.1.1 in the default image) serves a model
with `model_fn` (a transformers pipeline for HF_TASK), `input_fn`, `predict_fn` and
`output_fn`; a `code/inference.py` in the model archive may replace any of them, or the last
three with one `transform_fn`. Around it, multi-model-server (MMS) answers /ping and
/invocations to any method, turns any failure into a 400 `{"code", "type", "message"}`, labels
an answer with the request's Accept, and runs one prediction at a time.
tests/fixtures/container_answers.json records the real container answering so.
"""

from __future__ import annotations

import asyncio
import csv
import importlib.util
import io
import json
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from embeddings.server.contract import ANY_METHOD, JSON, Answer, Contract

LOG = logging.getLogger("embeddings.server")

CSV: Final = "text/csv"
NPY: Final = "application/x-npy"
MMS_MAX_BYTES: Final = 6_553_500
"""multi-model-server's max_request_size and max_response_size defaults (bytes)."""
MMS_QUEUE: Final = 100
"""multi-model-server's job_queue_size default: predictions waiting at once; more get 503."""


def mms_error(status: int, kind: str, message: str) -> Answer:
    return Answer(status, json.dumps({"code": status, "type": kind, "message": message}).encode())


MMS_CONTRACT: Final = Contract(
    ping=Answer(200, b'{"status": "Healthy"}'),
    not_found=mms_error(
        404, "ResourceNotFoundException", "the container serves /ping and /invocations"
    ),
    method_not_allowed=mms_error(404, "ResourceNotFoundException", "no such route"),
    request_limit=MMS_MAX_BYTES,
    too_large=Answer(413, b"", None),
    stopping=mms_error(503, "ServiceUnavailableException", "the local endpoint is stopping"),
    ping_paths=("/ping", "/ping/"),
    ping_methods=ANY_METHOD,
    invocation_paths=("/invocations", "/invocations/"),
    invocation_methods=ANY_METHOD,
)


def decode(data: str | bytes, content_type: str | None) -> Any:
    """The toolkit's decoders for text: JSON, and CSV whose `inputs` column holds the texts.
    The content type must match exactly, as the toolkit's does (no `; charset=`)."""
    if content_type == JSON:
        return json.loads(data)
    if content_type == CSV:
        rows = list(csv.DictReader(io.StringIO(str(data))))
        if not rows or "inputs" not in rows[0]:
            raise ValueError('a CSV body needs a header row naming its column "inputs"')
        return {"inputs": [row["inputs"] for row in rows]}
    raise ValueError(f"content type {content_type} is not supported: send {JSON} or {CSV}")


def encode(prediction: Any, accept: str) -> str | bytes:
    """The toolkit's encoders: compact JSON (UTF-8 kept, no NaN), or a NumPy array file."""
    if accept == JSON:
        return json.dumps(
            prediction,
            ensure_ascii=False,
            allow_nan=False,
            separators=(",", ":"),
            default=lambda value: value.tolist(),  # numpy arrays and scalars
        )
    if accept == NPY:
        import numpy

        buffer = io.BytesIO()
        numpy.save(buffer, numpy.asarray(prediction))
        return buffer.getvalue()
    raise ValueError(f"accept type {accept} is not supported: ask for {JSON} or {NPY}")


def default_model_fn(task: str) -> Callable[[str], Any]:
    def model_fn(model_dir: str) -> Any:
        from transformers import pipeline  # heavy: imported only when a server starts

        any_task: Any = task  # pipeline() is overloaded on literal task names
        return pipeline(any_task, model=model_dir, device=-1)

    return model_fn


def default_predict_fn(data: Any, model: Any) -> Any:
    """The pipeline on `inputs`, with `parameters` as its keyword arguments (so
    `{"tokenize_kwargs": {"truncation": true}}` truncates)."""
    if not isinstance(data, dict) or "inputs" not in data:
        raise ValueError('the body must be a JSON object with "inputs", e.g. {"inputs": "text"}')
    parameters = data.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise ValueError('"parameters" must be an object, e.g. {"tokenize_kwargs": {...}}')
    inputs = data["inputs"]
    return [] if inputs == [] else model(inputs, **parameters)  # the image's transformers: []


@dataclass
class Handler:
    """The toolkit's steps, defaults replaced by whatever a user module defines."""

    model_fn: Callable[[str], Any]
    input_fn: Callable[[Any, str | None], Any] = decode
    predict_fn: Callable[[Any, Any], Any] = default_predict_fn
    output_fn: Callable[[Any, str], Any] = encode
    transform_fn: Callable[[Any, Any, str | None, str], Any] | None = None
    custom: tuple[str, ...] = ()
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
    handler.custom = tuple(name for name in names if callable(getattr(module, name, None)))
    steps = {"input_fn", "predict_fn", "output_fn"}
    if "transform_fn" in handler.custom and steps & set(handler.custom):
        raise ValueError(f"{user_module}: define transform_fn or {', '.join(sorted(steps))}")
    for name in handler.custom:
        setattr(handler, name, getattr(module, name))
    return handler


class HuggingFaceContainer:
    """The loaded model behind the handler, lent to one prediction at a time in order of
    arrival, on a thread of its own (MMS's one worker)."""

    contract: Final = MMS_CONTRACT

    def __init__(self, handler: Handler, model_dir: str) -> None:
        self.handler = handler
        self.model = handler.model_fn(model_dir)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="model")
        self._jobs: set[Future[Answer]] = set()
        self._stopping = asyncio.Event()

    @property
    def busy(self) -> bool:
        return any(job.running() for job in list(self._jobs))

    @property
    def waiting(self) -> int:
        """Predictions waiting for their turn."""
        return sum(not job.running() for job in list(self._jobs))

    def stop(self) -> None:
        self._stopping.set()

    async def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> Answer:
        if self._stopping.is_set():
            return self.contract.stopping
        if self.waiting >= MMS_QUEUE:
            return mms_error(503, "ServiceUnavailableException", "the container's queue is full")
        accept = JSON if accept in (None, "", "*/*") else accept
        job = self._thread.submit(self._predict, body, content_type, str(accept))
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)
        answer = asyncio.wrap_future(job)
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait((answer, stopping), return_when=asyncio.FIRST_COMPLETED)
            if job.cancel():  # the server is stopping and its turn has not come
                return self.contract.stopping
            return await answer
        finally:
            stopping.cancel()
            job.cancel()  # given up before its turn: never run; running: it runs on

    def _predict(self, body: bytes, content_type: str | None, accept: str) -> Answer:
        """One prediction, answered as the toolkit and MMS answer it."""
        try:
            # The toolkit hands JSON and CSV bodies to input_fn as text, anything else as bytes.
            data = body.decode() if content_type in (JSON, CSV) else body
            response = self.handler.transform(self.model, data, content_type, accept)
        except Exception as error:  # the toolkit answers any failure so
            LOG.info("prediction failed: %s: %s", type(error).__name__, str(error)[:300])
            return mms_error(400, "InternalServerException", str(error))
        encoded = response.encode() if isinstance(response, str) else bytes(response)
        if len(encoded) > MMS_MAX_BYTES:  # the real container's worker dies on such an answer
            message = f"the answer of {len(encoded)} bytes is over MMS's {MMS_MAX_BYTES}"
            return mms_error(500, "InternalServerException", message)
        return Answer(200, encoded, accept)
