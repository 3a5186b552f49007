"""`EmbeddingClient`: sentence embeddings from the SageMaker endpoint, from any Python code.

from embeddings import EmbeddingClient

client = EmbeddingClient()                      # endpoint and region as the CLI finds them
vectors = client.embed(["first text", "second text"])   # 384 floats each, unit length
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from embeddings.batching import OutputModel, plan_batches
from embeddings.concurrency import AdaptiveLimit
from embeddings.errors import (
    AccessDeniedError,
    ConfigurationError,
    EndpointNotFoundError,
    InvalidInputError,
    ModelInvocationError,
    PayloadTooLargeError,
    ServiceError,
    UnexpectedResponseError,
)
from embeddings.pooling import Vector, sentence_embeddings
from embeddings.retrying import (
    CONNECT_TIMEOUT_SECONDS,
    RetryPolicy,
    botocore_config,
    describe,
    error_code,
    is_throttling,
)
from embeddings.settings import resolve_endpoint_name, resolve_region

if TYPE_CHECKING:
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient

DEFAULT_MAX_LENGTH: Final = 256
"""all-MiniLM-L6-v2 reads at most 256 tokens; sentence-transformers truncates there too."""
DEFAULT_MAX_TEXTS_PER_REQUEST: Final = 256

_NOT_FOUND: Final = re.compile(r"endpoint .* not found|could not find endpoint", re.IGNORECASE)

Progress = Callable[[int, int, float], None]
"""Called as batches come back: texts done, texts in all, seconds since the call began."""


class _BatchTooLargeError(Exception):
    """Internal: the service refused a batch for its size; split it and try again."""


def _is_too_large(error: ClientError) -> bool:
    """Only SageMaker's own refusals of a body's size: HTTP 413, or its "oversize body"."""
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    message = str(error.response.get("Error", {}).get("Message", ""))
    return status == 413 or (error_code(error) == "ValidationError" and "oversize" in message)


def check_texts(texts: object) -> list[str]:
    """Every problem with the input at once, before anything is sent."""
    if isinstance(texts, str | bytes) or not isinstance(texts, Sequence):
        raise InvalidInputError(
            f"texts must be a list of strings, got {type(texts).__name__}; "
            "for a single text use embed_one()"
        )
    if not texts:
        raise InvalidInputError("texts is empty; pass at least one text")
    problems = []
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            problems.append(f"text {index} is {type(text).__name__}, not a string")
        elif not text.strip():
            problems.append(f"text {index} is empty or whitespace")
    if problems:
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise InvalidInputError(f"{len(problems)} unusable texts, nothing was sent: {shown}{more}")
    return list(texts)


class EmbeddingClient:
    """Sentence embeddings (mean-pooled, L2-normalised) from a SageMaker embedding endpoint.

    Works with the stock HuggingFace container (token vectors, pooled here) and with endpoints
    that pool themselves. Texts are sent in as few requests as fit the payload limits, cold
    starts and throttling are retried until `deadline_seconds`, and every text gets exactly one
    embedding, in input order, or the call raises.
    """

    def __init__(
        self,
        endpoint_name: str | None = None,
        region: str | None = None,
        *,
        session: boto3.Session | None = None,
        max_length: int | None = DEFAULT_MAX_LENGTH,
        max_texts_per_request: int = DEFAULT_MAX_TEXTS_PER_REQUEST,
        deadline_seconds: float = 120.0,
        read_timeout_seconds: float = 70.0,
        retry_policy: RetryPolicy | None = None,
        concurrency: int = 1,
        on_progress: Progress | None = None,
    ) -> None:
        """`max_length` is the tokenizer truncation sent with every request; None sends none
        (then texts over the model's limit fail or embed differently).

        `deadline_seconds` bounds each request's whole life: every attempt, cold starts and
        throttling included, and the pauses between them (see `embeddings.retrying`).
        `concurrency` requests may be in flight at once (a serverless endpoint serves up to its
        MaxConcurrency); throttling lowers it for a while."""
        if max_texts_per_request < 1:
            raise ValueError("max_texts_per_request must be at least 1")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        session = session or boto3.Session()
        self.endpoint_name: str = str(resolve_endpoint_name(endpoint_name).value)
        resolved_region = resolve_region(region, boto3_region=session.region_name)
        if not resolved_region.value:
            raise ConfigurationError(
                "no AWS region configured; pass --region (region=...), or set "
                "DEFAULT_AWS_REGION or AWS_REGION"
            )
        self.region: str = resolved_region.value
        self.max_length = max_length
        self.max_texts_per_request = max_texts_per_request
        self.retry_policy = retry_policy or RetryPolicy(deadline_seconds=deadline_seconds)
        self.retry_policy.on_retry = self._retrying
        self.read_timeout_seconds = read_timeout_seconds
        self.runtime: SageMakerRuntimeClient = session.client(
            "sagemaker-runtime",
            region_name=self.region,
            config=botocore_config(read_timeout_seconds),
        )
        # botocore has a per-request read timeout in the request context: each attempt gets
        # what is left of its deadline. Set per thread, as threads share the client.
        self._attempt = threading.local()
        self.runtime.meta.events.register(
            "before-parameter-build.sagemaker-runtime.InvokeEndpoint", self._set_read_timeout
        )
        self.concurrency = AdaptiveLimit(concurrency)
        self.on_progress = on_progress
        self.requests_sent = 0
        self._output = OutputModel()
        self._learned = False
        self._dimension: int | None = None
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> list[Vector]:
        """One unit-length sentence embedding per text, in input order."""
        checked = check_texts(texts)
        results: list[Vector | None] = [None] * len(checked)
        started, done = time.monotonic(), 0

        def run(batch: range) -> None:
            nonlocal done
            with self.concurrency.slot():
                self._embed_range(checked, batch, results)
            with self._lock:
                done += len(batch)
                if self.on_progress is not None:
                    self.on_progress(done, len(checked), time.monotonic() - started)

        first = 0
        if not self._learned:  # the first answer tells token-level from pooled output
            batch = self._plan(checked)[0]
            run(batch)
            first = batch.stop
        rest = [range(first + b.start, first + b.stop) for b in self._plan(checked[first:])]
        if self.concurrency.ceiling == 1:
            for batch in rest:
                run(batch)
        else:
            with ThreadPoolExecutor(self.concurrency.ceiling, "embed") as pool:
                futures = [pool.submit(run, batch) for batch in rest]
                try:
                    for future in futures:
                        future.result()
                except BaseException:
                    # The call has failed: send nothing more, only let in-flight requests end.
                    for future in futures:
                        future.cancel()
                    raise
        missing = [index for index, vector in enumerate(results) if vector is None]
        if missing:  # pragma: no cover - a guard against a bug in the batching, never expected
            raise UnexpectedResponseError(f"no embedding came back for texts {missing}")
        return [vector for vector in results if vector is not None]

    def _plan(self, texts: list[str]) -> list[range]:
        return plan_batches(
            texts, self._output, max_length=self.max_length, max_texts=self.max_texts_per_request
        )

    def embed_one(self, text: str) -> Vector:
        """The sentence embedding of one text."""
        if not isinstance(text, str):
            raise InvalidInputError(f"text must be a string, got {type(text).__name__}")
        return self.embed([text])[0]

    def invoke_raw(self, payload: Any) -> Any:
        """Send `payload` as JSON and return the endpoint's JSON untouched."""
        try:
            body = json.dumps(payload).encode()
        except (TypeError, ValueError, RecursionError) as error:
            raise InvalidInputError(f"the payload cannot be sent as JSON: {error}") from None
        try:
            return self._invoke(body)
        except _BatchTooLargeError as error:
            raise PayloadTooLargeError(str(error), code="ValidationError") from None

    def payload(self, texts: Sequence[str]) -> dict[str, Any]:
        """The request body for a batch: the texts and, when set, the truncation to apply."""
        body: dict[str, Any] = {"inputs": list(texts)}
        if self.max_length is not None:
            body["parameters"] = {
                "tokenize_kwargs": {"truncation": True, "max_length": self.max_length}
            }
        return body

    def _embed_range(self, texts: list[str], indices: range, results: list[Vector | None]) -> None:
        batch = [texts[index] for index in indices]
        try:
            body = self._invoke(json.dumps(self.payload(batch)).encode())
        except _BatchTooLargeError as error:
            if len(indices) == 1:
                raise PayloadTooLargeError(
                    f"text {indices[0]} ({len(batch[0])} characters) is too large for one "
                    f"request on its own: {error}",
                    code="ValidationError",
                    service_message=str(error),
                ) from None
            middle = len(indices) // 2
            self._embed_range(texts, indices[:middle], results)
            self._embed_range(texts, indices[middle:], results)
            return
        vectors, layout = sentence_embeddings(body, len(batch))
        with self._lock:
            dimension = len(vectors[0])
            if self._dimension not in (None, dimension):
                raise UnexpectedResponseError(
                    f"the endpoint returned {dimension}-dimensional embeddings after "
                    f"{self._dimension}-dimensional ones; was the endpoint's model changed?"
                )
            self._dimension = dimension
            self._output, self._learned = OutputModel(layout=layout, dimension=dimension), True
        for index, vector in zip(indices, vectors, strict=True):
            results[index] = vector

    def _set_read_timeout(self, context: dict[str, Any], **_: Any) -> None:
        timeout = getattr(self._attempt, "read_timeout", None)
        if timeout is not None:
            context["read_timeout"] = timeout

    def _retrying(self, attempt: int, error: BaseException, delay: float) -> None:
        if is_throttling(error):
            self.concurrency.throttled()

    def _invoke(self, body: bytes) -> Any:
        def send(seconds_left: float) -> Any:
            # What is left after connecting is what the answer may take to come.
            self._attempt.read_timeout = max(
                0.1, min(self.read_timeout_seconds, seconds_left - CONNECT_TIMEOUT_SECONDS)
            )
            with self._lock:
                self.requests_sent += 1
            return self.runtime.invoke_endpoint(
                EndpointName=self.endpoint_name,
                ContentType="application/json",
                Accept="application/json",
                Body=body,
            )

        try:
            response = self.retry_policy.call(send)
            raw = response["Body"].read()
        except NoCredentialsError:
            raise ConfigurationError(
                "no AWS credentials found; run `aws configure`, or set AWS_PROFILE or "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
            ) from None
        except ClientError as error:
            raise self._translate(error) from error
        except BotoCoreError as error:
            raise ServiceError(f"the request failed: {describe(error)}") from error
        self.concurrency.succeeded()
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            raise UnexpectedResponseError(
                f"the endpoint returned {response.get('ContentType', 'a body')} that is not "
                f"JSON (or nested too deeply to read): {raw[:160]!r}"
            ) from None

    def _translate(self, error: ClientError) -> Exception:
        """The service's refusal as the EmbeddingError that says what to do about it."""
        code = error_code(error)
        message = str(error.response.get("Error", {}).get("Message", ""))
        if code in {"ValidationError", "ValidationException"} and _NOT_FOUND.search(message):
            return EndpointNotFoundError(
                self.endpoint_name,
                self.region,
                service_message=message,
                endpoint_url=self.runtime.meta.endpoint_url,
            )
        if _is_too_large(error):
            return _BatchTooLargeError(message or code)
        known = {"code": code, "service_message": message}
        if code == "ModelError":
            status = error.response.get("OriginalStatusCode", "")
            return ModelInvocationError(
                f"the model container failed on the request (status {status}): {message}", **known
            )
        if code.startswith("AccessDenied") or "not authorized" in message:
            return AccessDeniedError(
                f"not allowed to call sagemaker:InvokeEndpoint on {self.endpoint_name!r} in "
                f"{self.region}: {message} Give the identity named there the stack's "
                "invoke_policy_json (or EmbeddingEndpoint.grant_invoke).",
                **known,
            )
        return ServiceError(f"{code}: {message}".strip(": "), **known)
