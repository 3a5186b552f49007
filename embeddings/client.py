"""`EmbeddingClient`: sentence embeddings from the SageMaker endpoint, from any Python code.

from embeddings import EmbeddingClient

client = EmbeddingClient()                      # endpoint and region as the CLI finds them
vectors = client.embed(["first text", "second text"])   # 384 floats each, unit length
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable, Sequence
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
    READ_TIMEOUT_SECONDS,
    RetryPolicy,
    StoppedError,
    botocore_config,
    container_status,
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
DEFAULT_DEADLINE_SECONDS: Final = 120.0
MAX_CONCURRENCY: Final = 200
"""The most requests a serverless endpoint serves at once (its MaxConcurrency ceiling)."""
JOIN_SECONDS: Final = 0.1
"""How often the calling thread wakes while workers embed, so that Ctrl-C is heard at once."""

_NOT_FOUND: Final = re.compile(r"endpoint .* not found|could not find endpoint", re.IGNORECASE)
_TEI_BATCH_LIMIT: Final = re.compile(
    r"batch size [0-9]+ > maximum allowed batch size ([0-9]{1,9})(?![0-9])"
)
"""TEI's refusal of a request with more texts than its MAX_CLIENT_BATCH_SIZE (413, or 422 from
TEI 1.9), router/src/http/server.rs."""
_TEI_BODY_LIMIT: Final = "Failed to buffer the request body"
"""TEI's (axum's) 413 for a body over its --payload-limit (2,000,000 bytes by default)."""
MAX_LIMIT_LEARNINGS: Final = 4
"""How many times in a row one batch may be refused with a smaller limit than the last."""

Progress = Callable[[int, int, float], None]
"""Called as batches come back: texts done, texts in all, seconds since the call began."""


class _BatchTooLargeError(Exception):
    """Internal: the service refused a batch for its size; split it and try again."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message or code)
        self.code = code
        self.message = message or code


class _TooManyTextsError(Exception):
    """Internal: the container takes at most `limit` texts per request (TEI's batch limit)."""

    def __init__(self, limit: int, code: str, message: str) -> None:
        super().__init__(message)
        self.limit, self.code, self.message = limit, code, message


def _check_options(
    *,
    max_texts_per_request: object,
    deadline_seconds: object,
    read_timeout_seconds: object,
    concurrency: object,
    retry_policy: RetryPolicy | None,
) -> None:
    """Every problem with the client's options at once."""
    problems = []

    def whole(name: str, value: object, low: int, high: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            problems.append(f"{name}={value!r}: give a whole number from {low} to {high}")

    def seconds(name: str, value: object) -> None:
        if not (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and value > 0
        ):
            problems.append(f"{name}={value!r}: give a finite number of seconds above 0")

    whole("max_texts_per_request", max_texts_per_request, 1, 100_000)
    whole("concurrency", concurrency, 1, MAX_CONCURRENCY)
    seconds("read_timeout_seconds", read_timeout_seconds)
    if deadline_seconds is not None:
        seconds("deadline_seconds", deadline_seconds)
        if retry_policy is not None:
            problems.append(
                "deadline_seconds and retry_policy both given: the policy has its own deadline"
            )
    if problems:
        raise ValueError("; ".join(problems))


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
        deadline_seconds: float | None = None,
        read_timeout_seconds: float = READ_TIMEOUT_SECONDS,
        retry_policy: RetryPolicy | None = None,
        concurrency: int = 1,
        on_progress: Progress | None = None,
    ) -> None:
        """`max_length` is the tokenizer truncation sent with every request; None sends none
        (then texts over the model's limit fail or embed differently).

        `deadline_seconds` (120 unless `retry_policy` says) bounds each request's whole life:
        every attempt, cold starts and throttling included, and the pauses between them (see
        `embeddings.retrying` for exactly what it bounds). `concurrency` requests may be in
        flight at once, up to 200 (a serverless endpoint serves up to its MaxConcurrency);
        throttling lowers it for a while."""
        _check_options(
            max_texts_per_request=max_texts_per_request,
            deadline_seconds=deadline_seconds,
            read_timeout_seconds=read_timeout_seconds,
            concurrency=concurrency,
            retry_policy=retry_policy,
        )
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
        self.retry_policy = retry_policy or RetryPolicy(
            deadline_seconds=DEFAULT_DEADLINE_SECONDS
            if deadline_seconds is None
            else deadline_seconds
        )
        self.read_timeout_seconds = read_timeout_seconds
        self.runtime: SageMakerRuntimeClient = session.client(
            "sagemaker-runtime",
            region_name=self.region,
            config=botocore_config(
                read_timeout_seconds,
                connect_timeout=min(CONNECT_TIMEOUT_SECONDS, self.retry_policy.deadline_seconds),
                connections=max(10, concurrency),
            ),
        )
        # botocore has a per-request read timeout in the request context: each attempt gets
        # what is left of its deadline. Set per thread, as threads share the client.
        self._attempt = threading.local()
        self.runtime.meta.events.register(
            "before-parameter-build.sagemaker-runtime.InvokeEndpoint", self._set_read_timeout
        )
        self.concurrency = concurrency
        self.in_flight = AdaptiveLimit(concurrency)
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
        stop = threading.Event()

        def run(batch: range) -> None:
            nonlocal done
            self._embed_range(checked, batch, results, stop)
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
        if self.concurrency == 1 or len(rest) <= 1:
            for batch in rest:
                run(batch)
        else:
            _run_in_parallel(run, rest, self.concurrency, stop)
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
            body = json.dumps(payload, allow_nan=False).encode()
        except (TypeError, ValueError, RecursionError) as error:
            raise InvalidInputError(f"the payload cannot be sent as JSON: {error}") from None
        try:
            return self._invoke(body)
        except _TooManyTextsError as error:
            raise ModelInvocationError(
                f"the model container takes at most {error.limit} texts per request: "
                f"{error.message}",
                code=error.code,
                service_message=error.message,
            ) from None
        except _BatchTooLargeError as error:
            raise PayloadTooLargeError(
                f"the payload is too large for one request: {error.message}",
                code=error.code,
                service_message=error.message,
            ) from None

    def payload(self, texts: Sequence[str]) -> dict[str, Any]:
        """The request body for a batch: the texts and, when set, the truncation to apply."""
        body: dict[str, Any] = {"inputs": list(texts)}
        if self.max_length is not None:
            body["parameters"] = {
                "tokenize_kwargs": {"truncation": True, "max_length": self.max_length}
            }
        return body

    def _embed_range(
        self,
        texts: list[str],
        indices: range,
        results: list[Vector | None],
        stop: threading.Event | None = None,
        learnings: int = 0,
    ) -> None:
        batch = [texts[index] for index in indices]
        try:
            body = self._invoke(json.dumps(self.payload(batch)).encode(), stop)
        except _TooManyTextsError as error:
            # A limit of 0, one the batch already keeps, or one lowered again and again is no
            # limit to learn: the container is refusing, so say so rather than split forever.
            if not 0 < error.limit < len(indices) or learnings >= MAX_LIMIT_LEARNINGS:
                raise ModelInvocationError(
                    f"the model container refused {len(indices)} texts: {error.message}",
                    code=error.code,
                    service_message=error.message,
                ) from None
            # Learned for the rest of this client's requests; this batch is split to it.
            with self._lock:
                self.max_texts_per_request = min(self.max_texts_per_request, error.limit)
            for start in range(0, len(indices), error.limit):
                chunk = indices[start : start + error.limit]
                self._embed_range(texts, chunk, results, stop, learnings + 1)
            return
        except _BatchTooLargeError as error:
            if len(indices) == 1:
                raise PayloadTooLargeError(
                    f"text {indices[0]} ({len(batch[0])} characters) is too large for one "
                    f"request on its own: {error.message}",
                    code=error.code,
                    service_message=error.message,
                ) from None
            middle = len(indices) // 2
            self._embed_range(texts, indices[:middle], results, stop, learnings)
            self._embed_range(texts, indices[middle:], results, stop, learnings)
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

    def _invoke(self, body: bytes, stop: threading.Event | None = None) -> Any:
        def send(time_left: Callable[[], float]) -> tuple[bytes, str]:
            with self.in_flight.slot() as generation:
                # What is left once a place is free is what this attempt may take.
                self._attempt.read_timeout = max(0.1, min(self.read_timeout_seconds, time_left()))
                with self._lock:
                    self.requests_sent += 1
                try:
                    response = self.runtime.invoke_endpoint(
                        EndpointName=self.endpoint_name,
                        ContentType="application/json",
                        Accept="application/json",
                        Body=body,
                    )
                    raw = response["Body"].read()  # within the attempt: a drop here is retried
                except ClientError as error:
                    if is_throttling(error):
                        self.in_flight.throttled(generation)
                    raise
            self.in_flight.succeeded()
            return raw, str(response.get("ContentType", "no content type"))

        try:
            raw, content_type = self.retry_policy.call(send, stop)
        except NoCredentialsError:
            raise ConfigurationError(
                "no AWS credentials found; run `aws configure`, or set AWS_PROFILE or "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
            ) from None
        except ClientError as error:
            raise self._translate(error) from error
        except BotoCoreError as error:
            raise ServiceError(f"the request failed: {describe(error)}") from error
        except (ValueError, RecursionError) as error:  # botocore's parser, on a wild answer
            raise UnexpectedResponseError(
                f"the endpoint's answer cannot be read: {type(error).__name__}: {str(error)[:200]}"
            ) from None
        try:
            return json.loads(raw)
        except (ValueError, RecursionError) as error:
            reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
            raise UnexpectedResponseError(
                f"the endpoint's answer ({content_type}) cannot be read as JSON "
                f"({reason[:200]}); it began: {raw[:160]!r}"
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
            return _BatchTooLargeError(code, message)
        known = {"code": code, "service_message": message}
        if code == "ModelError":
            status = error.response.get("OriginalStatusCode", "")
            limit = _TEI_BATCH_LIMIT.search(message)
            if limit is not None and container_status(error) in (413, 422):
                return _TooManyTextsError(int(limit.group(1)), code, message)
            if container_status(error) == 413 and _TEI_BODY_LIMIT in message:
                return _BatchTooLargeError(code, message)
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


def _run_in_parallel(
    run: Callable[[range], None], batches: list[range], workers: int, stop: threading.Event
) -> None:
    """`run` each batch on up to `workers` threads. The first failure stops the rest: no batch
    starts after it, requests in flight make no further attempt, and it is raised at once,
    without waiting for them. So does Ctrl-C. The threads are daemons, so an interpreter that
    exits does not wait for a request in flight either."""
    pending = iter(batches)
    lock = threading.Lock()
    failures: list[BaseException] = []
    ended = threading.Event()
    count = min(workers, len(batches))
    running = count

    def work() -> None:
        nonlocal running
        try:
            while not stop.is_set():
                with lock:
                    batch = next(pending, None)
                if batch is None:
                    return
                run(batch)
        except StoppedError:
            pass
        except BaseException as error:  # handed to the calling thread
            failures.append(error)
            stop.set()
            ended.set()
        finally:
            with lock:
                running -= 1
                if running == 0:
                    ended.set()

    for n in range(count):
        threading.Thread(target=work, name=f"embed-{n}", daemon=True).start()
    try:
        while not ended.wait(JOIN_SECONDS):  # woken now and then, so that Ctrl-C is heard
            pass
    finally:
        stop.set()
    if failures:
        raise failures[0]
