"""The SageMaker HuggingFace container: the inference toolkit's handler (2.1.1 in the default
image: `model_fn`, a pipeline for HF_TASK, `input_fn`, `predict_fn`, `output_fn`, any of them or
`transform_fn` replaced by a code/inference.py) behind multi-model-server (MMS), which answers
/ping and /invocations to any method, any failure 400 `{"code", "type", "message"}`, one
prediction at a time. tests/fixtures/container_answers.json records the real one doing so.

Two departures, to keep one request from holding the local endpoint: the stock pipeline
refuses what the handler refuses (container/inference.py's request limits), though the real
stock container has none: past them its answer is over MMS's 6,553,500 bytes (about 800 token
vectors of 384 floats, while 512 texts are at least 1,536 tokens), so it fails there too, after
computing. And a prediction whose caller has been answered (timed out, or gone) stops at its
next model pass, where the real container runs it to the end."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

from embeddings.server.contract import ANY_METHOD, JSON, Answer, Contract, parse_json

LOG = logging.getLogger("embeddings.server")

MMS_MAX_BYTES: Final = 6_553_500
"""multi-model-server's max_request_size and max_response_size defaults (bytes)."""
MMS_QUEUE: Final = 100
"""multi-model-server's job_queue_size default: predictions waiting at once; more get 503."""


def mms_error(status: int, kind: str, message: str) -> Answer:
    return Answer(status, json.dumps({"code": status, "type": kind, "message": message}).encode())


NOT_FOUND: Final = mms_error(404, "ResourceNotFoundException", "the routes: /ping, /invocations")
MMS_CONTRACT: Final = Contract(
    ping=Answer(200, b'{"status": "Healthy"}'),
    not_found=NOT_FOUND,
    method_not_allowed=NOT_FOUND,
    request_limit=MMS_MAX_BYTES,
    too_large=Answer(413, b"", None),
    stopping=mms_error(503, "ServiceUnavailableException", "the local endpoint is stopping"),
    ping_paths=("/ping", "/ping/"),
    ping_methods=ANY_METHOD,
    invocation_paths=("/invocations", "/invocations/"),
    invocation_methods=ANY_METHOD,
)


def decode(data: str | bytes, content_type: str | None) -> Any:
    """The toolkit's JSON decoder, for exactly `application/json` (no `; charset=`) as its
    own. Its CSV and NumPy codecs are not served here."""
    if content_type != JSON:
        raise ValueError(f"content type {content_type} is not supported: send {JSON}")
    return parse_json(data)


def encode(prediction: Any, accept: str) -> str:
    """The toolkit's JSON encoder: compact, UTF-8 kept, no NaN, numpy values as lists."""
    if accept != JSON:
        raise ValueError(f"accept type {accept} is not supported: ask for {JSON}")
    compact: dict[str, Any] = {"ensure_ascii": False, "allow_nan": False, "separators": ",:"}
    return json.dumps(prediction, default=lambda value: value.tolist(), **compact)


def default_model_fn(task: str) -> Callable[[str], Any]:
    from transformers import pipeline  # heavy: imported when a server loads a model

    return lambda model_dir: pipeline(cast(Any, task), model=model_dir, device=-1)


def default_predict_fn(data: Any, model: Any) -> Any:
    """The pipeline on `inputs`, `parameters` its keyword arguments (so that
    `{"tokenize_kwargs": {"truncation": true}}` truncates)."""
    if not isinstance(data, dict) or "inputs" not in data:
        raise ValueError('the body must be a JSON object with "inputs", e.g. {"inputs": "text"}')
    parameters = data.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise ValueError('"parameters" must be an object, e.g. {"tokenize_kwargs": {...}}')
    inputs = data["inputs"]
    if inputs == []:
        return []  # as the image's pipeline
    texts = [inputs] if isinstance(inputs, str) else inputs
    if isinstance(texts, list) and all(isinstance(text, str) for text in texts):
        refuse_oversize(texts, getattr(model, "tokenizer", None))
    return model(inputs, **parameters)


def refuse_oversize(texts: list[str], tokenizer: Any) -> None:
    """The handler's refusals, tokens (given a pipeline's tokenizer) counted up to the model's
    512 positions a text: the pipeline's own truncation, if asked for, may cut them shorter."""
    from embeddings.server.deployed import inference

    max_texts, max_tokens = inference.request_limits()
    inference.check_texts(len(texts), max_texts)
    if tokenizer is None:
        return
    length = min(tokenizer.model_max_length, inference.FALLBACK_MAX_LENGTH)
    counted = sum(map(len, inference.tokenize(tokenizer, texts, length)["input_ids"]))
    inference.check_tokens(counted, max_tokens, length)


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
    from embeddings.server.deployed import inference

    inference.request_limits()  # a bad limit fails here, at start, as the handler's model_fn fails
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
    if "transform_fn" in handler.custom and set(handler.custom) - {"model_fn", "transform_fn"}:
        raise ValueError(f"{user_module}: define transform_fn, or input_fn/predict_fn/output_fn")
    for name in handler.custom:
        setattr(handler, name, getattr(module, name))
    return handler


class AbandonedError(Exception):
    """Raised in a model pass of a prediction whose caller has been answered."""


def torch_modules(model: Any) -> list[Any]:
    """The torch modules in what a model_fn returned: itself, a pipeline's `.model`, or the
    values of a dict (the handler's)."""
    from torch.nn import Module

    held = [model, getattr(model, "model", None)]
    held += list(model.values()) if isinstance(model, dict) else []
    return [value for value in held if isinstance(value, Module)]


class HuggingFaceContainer:
    """The loaded model behind the handler, lent to one prediction at a time in order of
    arrival, on a thread of its own (MMS's one worker). A prediction whose caller has been
    answered stops at the model's next pass (a hook on it raises AbandonedError)."""

    contract: Final = MMS_CONTRACT

    def __init__(self, handler: Handler, model_dir: str) -> None:
        self.handler = handler
        self.model = handler.model_fn(model_dir)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="model")
        self._jobs: set[Future[Answer]] = set()
        self._stopping = False
        self._abandoned = threading.Event()
        """The running prediction's: set once its caller has been answered."""
        for module in torch_modules(self.model):
            module.register_forward_pre_hook(self._stop_if_abandoned)

    def _stop_if_abandoned(self, *_: Any) -> None:
        if self._abandoned.is_set():
            raise AbandonedError("its caller has been answered (timed out, or gone)")

    @property
    def busy(self) -> bool:
        return any(job.running() for job in list(self._jobs))

    @property
    def waiting(self) -> int:
        return sum(not job.running() for job in list(self._jobs))

    def stop(self) -> None:
        self._stopping = True
        for job in list(self._jobs):
            job.cancel()  # one whose turn has not come is never run

    async def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> Answer:
        if self._stopping:
            return self.contract.stopping
        if self.waiting >= MMS_QUEUE:
            return mms_error(503, "ServiceUnavailableException", "the container's queue is full")
        accept = JSON if accept in (None, "", "*/*") else accept
        abandoned = threading.Event()
        job = self._thread.submit(self._predict, body, content_type, str(accept), abandoned)
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)
        try:
            return await asyncio.wrap_future(job)
        except asyncio.CancelledError:
            if self._stopping and job.cancelled():  # by `stop`, before its turn
                return self.contract.stopping
            raise
        finally:
            job.cancel()  # given up before its turn: never run
            abandoned.set()  # running: it stops at its next model pass

    def _predict(
        self, body: bytes, content_type: str | None, accept: str, abandoned: threading.Event
    ) -> Answer:
        """One prediction, answered as the toolkit and MMS answer it."""
        self._abandoned = abandoned
        try:
            # The toolkit hands a JSON (or CSV) body to input_fn as text, any other as bytes.
            data = body.decode() if content_type in (JSON, "text/csv") else body
            response = self.handler.transform(self.model, data, content_type, accept)
        except AbandonedError as error:
            LOG.info("prediction stopped: %s", error)
            return mms_error(503, "ServiceUnavailableException", str(error))  # read by nobody
        except Exception as error:  # the toolkit answers any failure so
            LOG.info("prediction failed: %s: %s", type(error).__name__, str(error)[:300])
            return mms_error(400, "InternalServerException", str(error))
        encoded = response.encode() if isinstance(response, str) else bytes(response)
        if len(encoded) > MMS_MAX_BYTES:  # the real container's worker dies on such an answer
            message = f"the answer of {len(encoded)} bytes is over MMS's {MMS_MAX_BYTES}"
            return mms_error(500, "InternalServerException", message)
        return Answer(200, encoded, accept)
