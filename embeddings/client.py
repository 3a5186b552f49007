"""`EmbeddingClient`: sentence embeddings from the SageMaker endpoint, from any Python code
(docs/client.md says what it promises: deadline, retries, batching, concurrency, errors)."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from embeddings.batching import TEXTS_PER_REQUEST, OutputModel, plan_batches
from embeddings.errors import (
    ConfigurationError,
    EmbeddingError,
    InvalidInputError,
    ModelInvocationError,
    PayloadTooLargeError,
    UnexpectedResponseError,
    endpoint_url_refused,
    from_botocore,
)
from embeddings.pooling import Vector, sentence_embeddings
from embeddings.retrying import AdaptiveLimit, RetryPolicy, StoppedError, is_throttling
from embeddings.settings import resolve

if TYPE_CHECKING:
    from mypy_boto3_sagemaker_runtime import SageMakerRuntimeClient

DEFAULT_MAX_LENGTH: Final = 256
"""all-MiniLM-L6-v2 reads at most 256 tokens; sentence-transformers truncates there too."""
DEFAULT_DEADLINE_SECONDS: Final = 120.0
READ_TIMEOUT_SECONDS: Final = 70.0
"""Serverless invocations may take up to 60 s, a cold start included."""
CONNECT_TIMEOUT_SECONDS: Final = 5.0
MAX_CONCURRENCY: Final = 200
"""The most requests a serverless endpoint serves at once (its MaxConcurrency ceiling)."""
MAX_LIMIT_LEARNINGS: Final = 4
"""How many times in a row one batch may be refused with a smaller limit than the last."""
JOIN_SECONDS: Final = 0.1
"""How often the calling thread wakes while workers embed, so that Ctrl-C is heard at once."""

Progress = Callable[[int, int, float], None]
"""Called as batches come back: texts done, texts in all, seconds since the call began."""


def _option_problems(options: dict[str, Any]) -> list[str]:
    """Every problem with the client's options, each naming the option and what is allowed."""
    wholes = {"max_length": 100_000, "max_texts_per_request": 100_000}
    problems = [
        f"{name}={options[name]!r}: give a whole number from 1 to {high}"
        for name, high in {**wholes, "concurrency": MAX_CONCURRENCY}.items()
        if not (type(options[name]) is int and 1 <= options[name] <= high)
        and not (name == "max_length" and options[name] is None)
    ]
    kinds: dict[str, Any] = {
        "endpoint_name": str,
        "region": str,
        "session": boto3.Session,
        "retry_policy": RetryPolicy,
        "on_progress": Callable,
    }
    problems += [
        f"{name}={options[name]!r}: give a {kind.__name__} or None"
        for name, kind in kinds.items()
        if not isinstance(options[name], kind | None)
    ]
    seconds = {name: options[name] for name in ("read_timeout_seconds", "deadline_seconds")}
    if isinstance(policy := options["retry_policy"], RetryPolicy):
        seconds |= {
            f"retry_policy.{name}": getattr(policy, name)
            for name in ("deadline_seconds", "base_delay_seconds", "max_delay_seconds")
        }
    problems += [
        f"{name}={value!r}: give a finite number of seconds above 0"
        for name, value in seconds.items()
        if not (type(value) in (int, float) and 0 < value < math.inf)
        and not (name == "deadline_seconds" and value is None)
    ]
    if options["retry_policy"] is not None and options["deadline_seconds"] is not None:
        problems.append("deadline_seconds and retry_policy both given: the policy has a deadline")
    return problems


def _text_problem(text: object) -> str:
    if not isinstance(text, str):
        return f"{type(text).__name__}, not a string"
    if not text.strip():
        return "empty or whitespace"
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate: bytes a terminal or file could not decode
        return "not valid Unicode (it holds a lone surrogate, as undecodable bytes become)"
    return ""


def check_texts(texts: object) -> list[str]:
    """Every problem with the input at once, before anything is sent."""
    if isinstance(texts, str | bytes) or not isinstance(texts, Sequence):
        raise InvalidInputError(
            f"texts must be a list of strings, got {type(texts).__name__}; "
            "for a single text use embed_one()"
        )
    if not texts:
        raise InvalidInputError("texts is empty; pass at least one text")
    problems = [
        f"text {index} is {problem}"
        for index, text in enumerate(texts)
        if (problem := _text_problem(text))
    ]
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise InvalidInputError(
            f"{len(problems)} unusable text{'s' * (len(problems) > 1)}, nothing was sent: "
            f"{'; '.join(problems[:5])}{more}"
        )
    return list(texts)


class EmbeddingClient:
    """Sentence embeddings (mean-pooled, L2-normalised) from the stock HuggingFace container's
    token vectors or from an endpoint that pools (the sentence-embedding handler, TEI): exactly
    one per text, in input order, or an EmbeddingError."""

    def __init__(
        self,
        endpoint_name: str | None = None,
        region: str | None = None,
        *,
        session: boto3.Session | None = None,
        max_length: int | None = DEFAULT_MAX_LENGTH,
        max_texts_per_request: int = TEXTS_PER_REQUEST,
        deadline_seconds: float | None = None,
        read_timeout_seconds: float = READ_TIMEOUT_SECONDS,
        retry_policy: RetryPolicy | None = None,
        concurrency: int = 1,
        on_progress: Progress | None = None,
    ) -> None:
        """`max_length` is the truncation sent with every request (None sends none). The
        deadline (`deadline_seconds`, 120, or `retry_policy`'s) bounds each request, retries and
        pauses included; `concurrency` requests may be in flight at once."""
        options = {name: value for name, value in locals().items() if name != "self"}
        problems = _option_problems(options)
        session = session or boto3.Session()
        names = isinstance(endpoint_name, str | None) and isinstance(region, str | None)
        if names and isinstance(session, boto3.Session):
            try:  # the name and region from wherever they come, in the same refusal
                self.endpoint_name, self.region = resolve(endpoint_name, region, session)
            except InvalidInputError as error:
                problems.append(str(error))
            except ConfigurationError as error:  # no region: alone, said as such
                if not problems:
                    raise
                problems.append(str(error))
        if problems:
            raise InvalidInputError("; ".join(problems))
        self.max_length, self.max_texts_per_request = max_length, max_texts_per_request
        self.retry_policy = retry_policy or RetryPolicy(
            deadline_seconds=deadline_seconds or DEFAULT_DEADLINE_SECONDS
        )
        self.read_timeout_seconds, self.concurrency = read_timeout_seconds, concurrency
        self.on_progress = on_progress
        config = Config(
            retries={"mode": "standard", "total_max_attempts": 1},  # RetryPolicy makes the rest
            read_timeout=read_timeout_seconds,
            connect_timeout=min(CONNECT_TIMEOUT_SECONDS, self.retry_policy.deadline_seconds),
            max_pool_connections=max(10, concurrency),
        )
        try:
            self.runtime: SageMakerRuntimeClient = session.client(
                "sagemaker-runtime", region_name=self.region, config=config
            )
        except ValueError as error:
            raise endpoint_url_refused(error) from None
        # botocore takes a per-request read timeout from the request context: each attempt gets
        # what is left of its deadline. Per thread, as the threads share the client.
        self._attempt = threading.local()
        self.runtime.meta.events.register(
            "before-parameter-build.sagemaker-runtime.InvokeEndpoint", self._set_read_timeout
        )
        self.in_flight, self.requests_sent = AdaptiveLimit(concurrency), 0
        self._output, self._lock = OutputModel(), threading.Lock()
        self._dimension: int | None = None

    def embed(self, texts: Sequence[str]) -> list[Vector]:
        """One unit-length sentence embedding per text, in input order."""
        checked = check_texts(texts)
        results: list[Vector] = [[] for _ in checked]
        started, done, reporting = time.monotonic(), 0, threading.Lock()

        def run(batch: range, stop: threading.Event) -> None:
            nonlocal done
            self._embed_range(checked, batch, results, stop)
            with reporting:
                done += len(batch)
                if self.on_progress is not None and not stop.is_set():
                    self.on_progress(done, len(checked), time.monotonic() - started)

        # Until an answer tells token-level from pooled output, one batch goes alone.
        first = self._plan(checked)[:1] if self._dimension is None else []
        _in_parallel(run, first, 1)
        offset = first[0].stop if first else 0
        rest = self._plan(checked[offset:])
        _in_parallel(
            run, [range(offset + b.start, offset + b.stop) for b in rest], self.concurrency
        )
        return results

    def embed_one(self, text: str) -> Vector:
        """The sentence embedding of one text."""
        return self.embed([text])[0]

    def invoke_raw(self, payload: Any) -> Any:
        """Send `payload` as JSON and return the endpoint's JSON untouched."""
        try:
            body = json.dumps(payload, allow_nan=False).encode()
        except (TypeError, ValueError, RecursionError) as error:
            raise InvalidInputError(f"the payload cannot be sent as JSON: {error}") from None
        return self._invoke(body)

    def invoke_bytes(self, body: bytes) -> bytes:
        """Send `body` as it is, with the same retries and deadline, and return the endpoint's
        answer byte for byte (`invoke --raw`)."""
        return self._exchange(body, None)[0]

    def payload(self, texts: Sequence[str]) -> dict[str, Any]:
        """The request body for a batch: the texts and, when set, the truncation to apply."""
        body: dict[str, Any] = {"inputs": list(texts)}
        if self.max_length is not None:
            body["parameters"] = {
                "tokenize_kwargs": {"truncation": True, "max_length": self.max_length}
            }
        return body

    def _plan(self, texts: list[str]) -> list[range]:
        return plan_batches(
            texts, self._output, max_length=self.max_length, max_texts=self.max_texts_per_request
        )

    def _embed_range(
        self,
        texts: list[str],
        indices: range,
        results: list[Vector],
        stop: threading.Event,
        learnings: int = 0,
    ) -> None:
        """texts[indices] into results, split when refused for size, for taking longer than the
        invocation limit, or for more texts than TEI's batch limit."""
        batch = texts[indices.start : indices.stop]
        try:
            answer = self._invoke(json.dumps(self.payload(batch)).encode(), stop)
        except PayloadTooLargeError as error:
            parts = _halves(indices, error, batch, "is too large for one request")
        except ModelInvocationError as error:
            limit = error.batch_limit
            if error.timed_out:  # a slower container than planned for: smaller requests may do
                parts = _halves(indices, error, batch, "takes longer than the invocation limit")
            elif limit is None:
                raise
            # A limit of 0, one the batch already keeps, or one lowered again and again is no
            # limit to learn: the container is refusing, so say so rather than split forever.
            elif not 0 < limit < len(indices) or learnings >= MAX_LIMIT_LEARNINGS:
                raise _reworded(
                    error, f"the model container refused {len(indices)} texts"
                ) from None
            else:
                with self._lock:  # learned for the rest of this client's requests
                    self.max_texts_per_request = min(self.max_texts_per_request, limit)
                learnings += 1
                parts = [indices[start : start + limit] for start in range(0, len(indices), limit)]
        else:
            vectors, layout = sentence_embeddings(answer, len(indices))
            with self._lock:  # one kind of answer from one endpoint: else the model changed
                now, seen = (
                    _kind(len(vectors[0]), layout),
                    _kind(self._dimension, self._output.layout),
                )
                if self._dimension is not None and now != seen:
                    raise UnexpectedResponseError(
                        f"the endpoint returned {now} after {seen}; was the endpoint's model "
                        "changed?"
                    )
                self._dimension = len(vectors[0])
                self._output = OutputModel(layout, self._dimension)
            results[indices.start : indices.stop] = vectors
            return
        for part in parts:
            self._embed_range(texts, part, results, stop, learnings)

    def _set_read_timeout(self, context: dict[str, Any], **_: Any) -> None:
        context["read_timeout"] = self._attempt.read_timeout  # set by _invoke for each attempt

    def _sender(self, body: bytes) -> Callable[[Callable[[], float]], tuple[bytes, str]]:
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

        return send

    def _invoke(self, body: bytes, stop: threading.Event | None = None) -> Any:
        """One request, retried by the policy; the answer as JSON, or an EmbeddingError."""
        raw, content_type = self._exchange(body, stop)
        try:
            return json.loads(raw)
        except (ValueError, RecursionError) as error:
            reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
            raise UnexpectedResponseError(
                f"the endpoint's answer ({content_type}) cannot be read as JSON "
                f"({reason[:200]}); it began: {raw[:160]!r}"
            ) from None

    def _exchange(self, body: bytes, stop: threading.Event | None) -> tuple[bytes, str]:
        """One request, retried by the policy: the answer's bytes and content type."""
        try:
            return self.retry_policy.call(self._sender(body), stop)
        except (ClientError, BotoCoreError) as error:
            url = self.runtime.meta.endpoint_url
            raise from_botocore(error, self.endpoint_name, self.region, url) from error
        except (EmbeddingError, StoppedError):
            raise
        except Exception as error:  # botocore's parser on a wild answer: an error body that is
            # a JSON list (AttributeError), one nested too deeply (RecursionError), ...
            raise UnexpectedResponseError(
                f"the endpoint's answer cannot be read: {type(error).__name__}: {str(error)[:200]}"
            ) from None


def _reworded(error: EmbeddingError, saying: str) -> EmbeddingError:
    """The same error (its type, the service's code and words) said of what the caller sent."""
    return type(error)(
        f"{saying}: {error.service_message}", code=error.code, service_message=error.service_message
    )


def _kind(dimension: int | None, layout: str) -> str:
    return f"{dimension}-dimensional {'embeddings' if layout == 'pooled' else 'token vectors'}"


def _halves(indices: range, error: EmbeddingError, batch: list[str], fails: str) -> list[range]:
    """The two halves of a refused batch, in order; a text refused on its own is the error."""
    if len(indices) == 1:
        saying = f"text {indices[0]} ({len(batch[0])} characters) {fails} on its own"
        raise _reworded(error, saying) from None
    return [indices[: len(indices) // 2], indices[len(indices) // 2 :]]


def _in_parallel(
    run: Callable[[range, threading.Event], None], batches: list[range], workers: int
) -> None:
    """`run` each batch on up to `workers` daemon threads (an exiting interpreter does not wait
    for a request in flight). The first failure, or Ctrl-C, sets `stop`: no batch starts after
    it, requests in flight make no further attempt, and it is raised at once."""
    pending, lock, stop = iter(batches), threading.Lock(), threading.Event()
    failures: list[BaseException] = []
    running = min(workers, len(batches))

    def work() -> None:
        nonlocal running
        try:
            while not stop.is_set() and (batch := next(pending, None)) is not None:  # GIL-atomic
                run(batch, stop)
        except StoppedError:
            pass
        except BaseException as error:  # handed to the calling thread
            failures.append(error)
            stop.set()
        with lock:
            running -= 1
            if running == 0:
                stop.set()  # all done: wakes the calling thread

    for number in range(running):
        threading.Thread(target=work, name=f"embed-{number}", daemon=True).start()
    try:
        while running and not stop.wait(JOIN_SECONDS):  # wakes now and then to hear Ctrl-C
            pass
    finally:
        stop.set()
    if failures:
        raise failures[0]
