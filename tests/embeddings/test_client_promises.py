"""What EmbeddingClient promises: a deadline that holds, only typed errors, the same vectors in
order however many requests are in flight, and fewer in flight when throttled."""

from __future__ import annotations

import json
import socket
import threading
import time
from functools import partial
from typing import Any

import numpy as np
import pytest

import embeddings
from container import inference
from container.inference import float32_json
from embeddings import EmbeddingClient
from embeddings.errors import (
    AccessDeniedError,
    ConfigurationError,
    EmbeddingError,
    EndpointNotFoundError,
    EndpointUnavailableError,
    InvalidInputError,
    ModelInvocationError,
    PayloadTooLargeError,
    ServiceError,
    UnexpectedResponseError,
)
from embeddings.retrying import CONNECT_ATTEMPTS, RetryPolicy
from tests.embeddings.scripted import (
    TIMED_OUT,
    Answer,
    client_at,
    cut_off,
    hang,
    json_reply,
    model_error,
    ok,
    pooled,
    raw,
    scripted_endpoint,
    service_error,
    timed_out,
    vector_of,
)

DIMENSION = 8


@pytest.mark.parametrize(("deadline", "read_timeout"), [(2.0, 0.8), (1.5, 70.0)])
def test_the_deadline_bounds_a_hung_endpoint(
    monkeypatch: pytest.MonkeyPatch, deadline: float, read_timeout: float
) -> None:
    with scripted_endpoint(hang(10)) as endpoint:
        client = client_at(
            endpoint.url,
            monkeypatch,
            deadline_seconds=deadline,
            read_timeout_seconds=read_timeout,
        )
        started = time.monotonic()
        with pytest.raises(EndpointUnavailableError) as raised:
            client.embed_one("hello")
        elapsed = time.monotonic() - started

    assert elapsed <= deadline + 0.5, elapsed
    assert "ReadTimeoutError" in str(raised.value)
    assert f"(deadline {deadline:.0f} s)" in str(raised.value)


@pytest.mark.parametrize(("answer_seconds", "deadline"), [(0.9, 1.2), (0.3, 1.0)])
def test_a_slow_answer_within_the_deadline_is_waited_for(
    monkeypatch: pytest.MonkeyPatch, answer_seconds: float, deadline: float
) -> None:
    """The whole of what is left goes to waiting for the answer: none is held back."""

    def slow(body: dict[str, Any]) -> Answer:
        time.sleep(answer_seconds)
        return pooled(body)

    with scripted_endpoint(slow) as endpoint:
        client = client_at(endpoint.url, monkeypatch, deadline_seconds=deadline)

        assert client.embed_one("hello") == pytest.approx(vector_of("hello"))
        assert endpoint.requests == 1


DENIED = (
    "User: arn:aws:sts::123456789012:assumed-role/ingest/x is not authorized to perform:"
    " sagemaker:InvokeEndpoint on resource:"
    " arn:aws:sagemaker:us-east-1:123456789012:endpoint/scripted"
)
TOO_LONG = "Received client error (400): input exceeds the maximum length of 512"


@pytest.mark.parametrize(
    ("code", "status", "message", "kind", "expected"),
    [
        (
            "AccessDeniedException",
            400,
            DENIED,
            AccessDeniedError,
            "not allowed to call sagemaker:InvokeEndpoint on 'scripted'",
        ),
        (
            "ValidationError",
            400,
            "1 validation error detected: Value at 'body' failed",
            ServiceError,
            "ValidationError: 1 validation error detected",
        ),
        (
            "InvalidSignatureException",
            403,
            "Signature expired",
            ServiceError,
            "InvalidSignatureException: Signature expired",
        ),
        ("ModelError", 424, TOO_LONG, ModelInvocationError, "input exceeds the maximum length"),
    ],
)
def test_every_refusal_is_a_typed_error_with_the_services_code_and_message(
    monkeypatch: pytest.MonkeyPatch,
    code: str,
    status: int,
    message: str,
    kind: type[EmbeddingError],
    expected: str,
) -> None:
    with scripted_endpoint(lambda _: service_error(status, code, message)) as endpoint:
        client = client_at(endpoint.url, monkeypatch, deadline_seconds=5)
        for call in (
            lambda: client.embed_one("a text"),
            lambda: client.invoke_raw({"inputs": "x"}),
        ):
            with pytest.raises(kind) as raised:
                call()
            assert expected in str(raised.value)
            assert (raised.value.code, raised.value.service_message) == (code, message)
        assert endpoint.requests == 2  # refused, not retried; never split as "too large"


def test_an_unknown_endpoint_at_a_stand_in_url_names_the_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answer = service_error(400, "ValidationError", "Endpoint scripted of account 1 not found.")
    with (
        scripted_endpoint(lambda _: answer) as endpoint,
        pytest.raises(EndpointNotFoundError) as raised,
    ):
        client_at(endpoint.url, monkeypatch).embed_one("x")

    assert str(raised.value) == (
        f"endpoint 'scripted' was not found in region us-east-1 at {endpoint.url} (the "
        "AWS_ENDPOINT_URL in use); a local endpoint (`python -m embeddings serve`) answers the "
        "name its --endpoint-name gives, or any name without one"
    )
    assert (raised.value.endpoint_name, raised.value.region) == ("scripted", "us-east-1")


def test_a_tls_handshake_that_fails_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    """https:// to a server that speaks plain HTTP: a certificate or protocol refused stays
    refused, so the client says so at once instead of retrying until the deadline."""
    with scripted_endpoint(lambda _: ok([[1.0]])) as endpoint:
        url = endpoint.url.replace("http://", "https://")
        client = client_at(url, monkeypatch, deadline_seconds=20)
        started = time.monotonic()
        with pytest.raises(ServiceError, match="SSLError"):
            client.embed_one("x")

    assert time.monotonic() - started < 5
    assert client.requests_sent == 1


def test_a_service_message_of_any_length_is_cut_to_one_a_person_can_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answer = service_error(400, "ValidationError", "x" * 1_000_000)
    with scripted_endpoint(lambda _: answer) as endpoint, pytest.raises(ServiceError) as raised:
        client_at(endpoint.url, monkeypatch).embed_one("x")

    assert str(raised.value) == "ValidationError: " + "x" * 2000


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("[[" + ",".join(["NaN"] * DIMENSION) + "]]", "not finite"),
        ("[[" + ",".join(["1e400"] * DIMENSION) + "]]", "not finite"),
        ("[[[" + ",".join(["Infinity"] * DIMENSION) + "]]]", "not finite"),
    ],
)
def test_a_reply_that_is_no_set_of_embeddings_is_an_unexpected_response(
    monkeypatch: pytest.MonkeyPatch, answer: str, expected: str
) -> None:
    with scripted_endpoint(lambda _: json_reply(answer)) as endpoint:
        client = client_at(endpoint.url, monkeypatch, deadline_seconds=5)
        with pytest.raises(UnexpectedResponseError) as raised:
            client.embed_one("a text")

    assert expected in str(raised.value)


def test_embeddings_that_change_dimension_between_batches_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = iter([DIMENSION, 2 * DIMENSION])

    def changing(body: dict[str, Any]) -> Answer:
        dimension = next(calls)
        return ok([vector_of(text, dimension) for text in body["inputs"]])

    with scripted_endpoint(changing) as endpoint:
        client = client_at(endpoint.url, monkeypatch, max_texts_per_request=2)
        with pytest.raises(UnexpectedResponseError) as raised:
            client.embed(["one", "two", "three"])

    assert "16-dimensional embeddings after 8-dimensional embeddings" in str(raised.value)


@pytest.mark.parametrize("concurrency", [1, 2, 4])
def test_requests_in_flight_stay_within_the_concurrency_and_order_is_kept(
    monkeypatch: pytest.MonkeyPatch, concurrency: int
) -> None:
    texts = [f"text number {i}" for i in range(18)]

    def busy(body: dict[str, Any]) -> Answer:
        time.sleep(0.05)
        return pooled(body)

    with scripted_endpoint(busy) as endpoint:
        client = client_at(
            endpoint.url, monkeypatch, concurrency=concurrency, max_texts_per_request=2
        )
        vectors = client.embed(texts)

    assert vectors == [pytest.approx(vector_of(text)) for text in texts]
    assert endpoint.requests == 9
    assert endpoint.most_in_flight == concurrency


def test_throttling_lowers_the_requests_in_flight_and_every_text_still_comes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An endpoint with MaxConcurrency 2 throttles the rest, as SageMaker does."""
    texts = [f"text number {i}" for i in range(60)]
    gate = threading.BoundedSemaphore(2)

    def limited(body: dict[str, Any]) -> Answer:
        if not gate.acquire(blocking=False):
            return service_error(400, "ThrottlingException", "Rate exceeded")
        try:
            time.sleep(0.05)
            return pooled(body)
        finally:
            gate.release()

    with scripted_endpoint(limited) as endpoint:
        client = client_at(
            endpoint.url,
            monkeypatch,
            concurrency=8,
            max_texts_per_request=2,
            deadline_seconds=60,
        )
        client.retry_policy.base_delay_seconds = 0.05
        client.retry_policy.max_delay_seconds = 0.5
        vectors = client.embed(texts)

    throttled = endpoint.requests - 30  # 60 texts, 2 a request: 30 answered
    assert vectors == [pytest.approx(vector_of(text)) for text in texts]
    assert client.in_flight.limit < 8
    # 6 of the first 8 are throttled; then the limit halves once per round, not once per
    # throttled answer, and throttled requests wait for a place before they try again.
    assert 6 <= throttled < 20


def test_progress_is_reported_per_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, int]] = []
    with scripted_endpoint(pooled) as endpoint:
        client = client_at(
            endpoint.url,
            monkeypatch,
            concurrency=2,
            max_texts_per_request=3,
            on_progress=lambda done, total, _: seen.append((done, total)),
        )
        client.embed([f"t{i}" for i in range(10)])

    assert [total for _, total in seen] == [10] * 4
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert seen[-1] == (10, 10)


def test_json_numbers_of_both_forms_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """17-digit doubles (the stock container) and float32's shortest form (our handler's
    writer): the same embedding, to float32's precision, either way."""
    unit = np.asarray([vector_of("x")], dtype=np.float32)
    doubles = json.dumps(unit.tolist())
    shortest = float32_json(unit)
    assert len(shortest) < 0.75 * len(doubles)
    for answer in (doubles, shortest):
        with scripted_endpoint(partial(lambda text, _: json_reply(text), answer)) as endpoint:
            vector = client_at(endpoint.url, monkeypatch).embed_one("x")
        assert vector == pytest.approx(unit[0].tolist(), abs=1e-7)


def test_a_failed_batch_stops_the_batches_not_yet_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    """A corpus of 100 requests whose third fails: the rest are not sent."""
    calls = iter(range(1_000))

    def third_fails(body: dict[str, Any]) -> Answer:
        if next(calls) == 2:
            return service_error(400, "ValidationError", "1 validation error detected")
        time.sleep(0.02)
        return pooled(body)

    with scripted_endpoint(third_fails) as endpoint:
        client = client_at(endpoint.url, monkeypatch, concurrency=2, max_texts_per_request=1)
        with pytest.raises(ServiceError):
            client.embed([f"t{i}" for i in range(100)])

    assert endpoint.requests <= 5


def test_a_failure_behind_a_slow_batch_stops_the_job_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Batch 1 takes 4 s, batch 2 is refused at once: the refusal is raised at once, and no
    other batch is sent."""

    def script(body: dict[str, Any]) -> Answer:
        text = body["inputs"][0]
        if text == "t1":
            time.sleep(4)
        if text == "t2":
            return service_error(400, "ValidationError", "1 validation error detected")
        return pooled(body)

    with scripted_endpoint(script) as endpoint:
        client = client_at(endpoint.url, monkeypatch, concurrency=2, max_texts_per_request=1)
        started = time.monotonic()
        with pytest.raises(ServiceError):
            client.embed([f"t{i}" for i in range(200)])
        elapsed = time.monotonic() - started

    assert elapsed < 1.5
    assert endpoint.requests <= 4


def test_a_failure_stops_the_retries_of_requests_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    """One request refused while another is being throttled: the call ends at once, not when
    the throttled one's deadline passes."""

    def script(body: dict[str, Any]) -> Answer:
        text = body["inputs"][0]
        if text == "t1":
            return service_error(400, "ThrottlingException", "Rate exceeded")
        if text == "t2":
            time.sleep(0.3)
            return service_error(400, "ValidationError", "1 validation error detected")
        return pooled(body)

    with scripted_endpoint(script) as endpoint:
        client = client_at(
            endpoint.url, monkeypatch, concurrency=2, max_texts_per_request=1, deadline_seconds=8
        )
        started = time.monotonic()
        with pytest.raises(ServiceError):
            client.embed(["t0", "t1", "t2", "t3"])
        elapsed = time.monotonic() - started
        time.sleep(1.0)  # longer than any first pause: a retry that should not come
        sent_after = endpoint.requests

    assert elapsed < 1.5
    assert [body["inputs"][0] for body in endpoint.bodies].count("t3") == 0
    assert sent_after == endpoint.requests


def test_a_connection_dropped_mid_answer_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([0, 1])

    def script(body: dict[str, Any]) -> Answer:
        answer = pooled(body)
        return cut_off(answer, 10) if next(answers, 1) == 0 else answer

    with scripted_endpoint(script) as endpoint:
        client = client_at(endpoint.url, monkeypatch, deadline_seconds=10)
        client.retry_policy.base_delay_seconds = 0.05

        assert client.embed_one("hello") == pytest.approx(vector_of("hello"))
        assert endpoint.requests == 2


def test_a_host_that_never_accepts_is_bounded_by_the_deadline_and_its_connect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A listener whose backlog is full: SYNs go unanswered, connecting hangs."""
    with socket.socket() as full:
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        address = full.getsockname()
        fillers = []
        for _ in range(8):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(address)
            fillers.append(filler)
        time.sleep(0.2)
        client = client_at(f"http://{address[0]}:{address[1]}", monkeypatch, deadline_seconds=1)
        started = time.monotonic()
        with pytest.raises(EndpointUnavailableError):
            client.embed_one("hello")
        elapsed = time.monotonic() - started
        for filler in fillers:
            filler.close()

    assert elapsed < 1 + 1 + 0.5  # the deadline, plus at most one connect timeout (1 s here)


@pytest.mark.parametrize(
    "answer", ["[[" + "1" * 400 + ", 0.5]]", "[" + "1" * 400 + ", 0.5]", "[[1e400, 0.5]]"]
)
def test_numbers_no_float_holds_are_an_unexpected_response(
    monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    with scripted_endpoint(lambda _: json_reply(answer)) as endpoint:
        client = client_at(endpoint.url, monkeypatch)
        with pytest.raises(UnexpectedResponseError):
            client.embed_one("x")


def test_a_413_is_too_large_with_the_services_own_code(monkeypatch: pytest.MonkeyPatch) -> None:
    with scripted_endpoint(lambda _: service_error(413, "PayloadTooLarge", "too big")) as endpoint:
        client = client_at(endpoint.url, monkeypatch)
        with pytest.raises(PayloadTooLargeError) as one_text:
            client.embed_one("x")
        with pytest.raises(PayloadTooLargeError) as raw:
            client.invoke_raw({"inputs": "x"})

    for raised in (one_text, raw):
        assert (raised.value.code, raised.value.service_message) == ("PayloadTooLarge", "too big")


def test_every_error_the_readme_names_is_importable_from_the_package() -> None:
    for name in (
        "AccessDeniedError",
        "ServiceError",
        "EndpointNotFoundError",
        "EndpointUnavailableError",
        "InvalidInputError",
        "ModelInvocationError",
        "PayloadTooLargeError",
        "UnexpectedResponseError",
        "ConfigurationError",
    ):
        assert issubclass(getattr(embeddings, name), embeddings.EmbeddingError)


def test_a_retry_policy_passed_in_is_left_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    policy = RetryPolicy(deadline_seconds=5, on_retry=lambda attempt, *_: seen.append(attempt))
    answers = iter([service_error(400, "ThrottlingException", "Rate exceeded")])

    with scripted_endpoint(lambda body: next(answers, None) or pooled(body)) as endpoint:
        client = client_at(endpoint.url, monkeypatch, retry_policy=policy)
        client.embed_one("x")

    assert seen == [1]  # the caller's own callback still runs
    assert client.retry_policy is policy
    assert policy.deadline_seconds == 5


def test_bad_options_are_refused_all_at_once() -> None:
    with pytest.raises(InvalidInputError) as raised:
        EmbeddingClient(
            "x",
            "us-east-1",
            max_length=0,
            deadline_seconds=float("nan"),
            read_timeout_seconds=0,
            concurrency=2.5,  # type: ignore[arg-type]
            max_texts_per_request=True,
            on_progress="loud",  # type: ignore[arg-type]
        )

    assert isinstance(raised.value, ValueError)
    assert str(raised.value) == (
        "max_length=0: give a whole number from 1 to 100000; "
        "max_texts_per_request=True: give a whole number from 1 to 100000; "
        "concurrency=2.5: give a whole number from 1 to 200; "
        "on_progress='loud': give a Callable or None; "
        "read_timeout_seconds=0: give a finite number of seconds above 0; "
        "deadline_seconds=nan: give a finite number of seconds above 0"
    )
    with pytest.raises(InvalidInputError) as raised:
        EmbeddingClient(7, b"us-east-1", session="mine", retry_policy=RetryPolicy(float("inf")))  # type: ignore[arg-type]
    assert str(raised.value) == (
        "endpoint_name=7: give a str or None; region=b'us-east-1': give a str or None; "
        "session='mine': give a Session or None; retry_policy.deadline_seconds=inf: give a "
        "finite number of seconds above 0"
    )
    with pytest.raises(InvalidInputError, match="deadline_seconds and retry_policy both given"):
        EmbeddingClient("x", "us-east-1", deadline_seconds=5, retry_policy=RetryPolicy())
    assert EmbeddingClient("x", "us-east-1", max_length=None).payload(["a"]) == {"inputs": ["a"]}


def test_a_payload_with_nan_is_refused_before_it_is_sent() -> None:
    client = EmbeddingClient("x", "us-east-1")
    with pytest.raises(InvalidInputError, match="cannot be sent as JSON"):
        client.invoke_raw({"inputs": "x", "parameters": {"threshold": float("nan")}})


def test_throttling_for_good_is_retried_until_the_deadline_not_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A drawn pause longer than the time left is cut short, so the last attempt comes just
    before the deadline instead of the retries giving up seconds early."""
    throttled = service_error(400, "ThrottlingException", "Rate exceeded")
    with scripted_endpoint(lambda _: throttled) as endpoint:
        client = client_at(endpoint.url, monkeypatch, deadline_seconds=2)
        client.retry_policy.base_delay_seconds = 4.0  # every drawn pause would pass the deadline
        client.retry_policy.jitter = lambda: 1.0
        started = time.monotonic()
        with pytest.raises(EndpointUnavailableError):
            client.embed_one("busy")
        elapsed = time.monotonic() - started

    # One attempt, a pause cut to leave the last attempt its 0.5 s, the last attempt.
    assert 1.4 <= elapsed <= 2.5, elapsed
    assert endpoint.requests == 2


def test_a_batch_that_times_out_is_split_until_each_part_answers_in_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A container too slow for more than 3 texts a request: SageMaker's timeout answers the
    rest, each such batch is halved and sent again, and every text comes back once, in order."""
    texts = [f"text number {i}" for i in range(20)]

    def slow_container(body: dict[str, Any]) -> Answer:
        return timed_out() if len(body["inputs"]) > 3 else pooled(body)

    with scripted_endpoint(slow_container) as endpoint:
        client = client_at(endpoint.url, monkeypatch, concurrency=3, max_texts_per_request=16)
        vectors = client.embed(texts)

    assert vectors == [pytest.approx(vector_of(text)) for text in texts]
    answered = [body["inputs"] for body in endpoint.bodies if len(body["inputs"]) <= 3]
    assert sorted(text for batch in answered for text in batch) == sorted(texts)
    # 16 -> 8 -> 4 -> 2: 7 timed out and 8 answered for the first 16; 4 -> 2 for the rest.
    assert endpoint.requests == 7 + 8 + 1 + 2


def test_the_timeout_scripted_here_is_the_one_the_local_endpoint_answers() -> None:
    from embeddings.server import sagemaker

    assert (sagemaker.TIMED_OUT.status, sagemaker.TIMED_OUT.body) == (0, TIMED_OUT.encode())


def test_a_text_that_times_out_on_its_own_fails_saying_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts = ["fine", "also fine", "x" * 5_000, "fine again"]

    def script(body: dict[str, Any]) -> Answer:
        return timed_out() if texts[2] in body["inputs"] else pooled(body)

    with scripted_endpoint(script) as endpoint:
        client = client_at(endpoint.url, monkeypatch)
        with pytest.raises(ModelInvocationError) as raised:
            client.embed(texts)

    message = str(raised.value)
    assert message.startswith("text 2 (5000 characters) takes longer than the invocation limit")
    assert message.endswith(f"on its own: {raised.value.service_message}")
    assert TIMED_OUT in raised.value.service_message
    assert raised.value.code == "ModelError"
    # All four, their halves, then the half holding text 2 halved: text 2 alone, and no more.
    sent = [body["inputs"] for body in endpoint.bodies]
    assert sent == [texts, texts[:2], texts[2:], texts[2:3]]


@pytest.mark.parametrize(
    ("count", "answer"),
    [
        (1, lambda texts: [vector_of(texts[0]), vector_of("extra")]),  # [2][D] for one text
        (1, lambda texts: [[vector_of(texts[0]), vector_of("extra")]]),  # [1][2][D] once pooled
        (3, lambda texts: [vector_of(text) for text in texts[:2]]),
        (3, lambda texts: [vector_of(text) for text in [*texts, "extra"]]),
    ],
)
def test_an_answer_with_another_number_of_vectors_than_texts_is_refused(
    monkeypatch: pytest.MonkeyPatch, count: int, answer: Any
) -> None:
    """A pooled endpoint that answers with too few or too many vectors: an error, never their
    mean nor a gap. Its first answer (one text, one vector) shows that it pools."""
    texts = [f"text {i}" for i in range(count)]
    answers = iter([ok([vector_of("first")])])
    with scripted_endpoint(lambda body: next(answers, None) or ok(answer(texts))) as endpoint:
        client = client_at(endpoint.url, monkeypatch)
        assert client.embed_one("first") == pytest.approx(vector_of("first"))
        with pytest.raises(UnexpectedResponseError) as raised:
            client.embed(texts)

    assert endpoint.requests == 2
    assert any(
        words in str(raised.value)
        for words in (
            f"expected one result for each of the {count} text",
            "8-dimensional token vectors after 8-dimensional embeddings",
        )
    )


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (b"HTTP/1.1 abc\r\n\r\n", "closed the connection without a valid HTTP answer"),
        (b"garbage\r\n\r\n", "closed the connection without a valid HTTP answer"),
        (
            b"HTTP/1.1 400 Bad\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n[1,2]",
            "the endpoint's answer cannot be read: AttributeError",
        ),
        (
            b"HTTP/1.1 424 X\r\nx-amzn-ErrorType: ModelError\r\nContent-Length: 2\r\n\r\n[]",
            "the endpoint's answer cannot be read: AttributeError",
        ),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n[[0.5, 1", "cannot be read as JSON"),
    ],
)
def test_a_status_line_or_answer_the_http_layer_cannot_read_is_a_typed_error(
    monkeypatch: pytest.MonkeyPatch, answer: bytes, expected: str
) -> None:
    with scripted_endpoint(lambda _: raw(answer)) as endpoint:
        client = client_at(endpoint.url, monkeypatch)
        started = time.monotonic()
        with pytest.raises(EmbeddingError) as raised:
            client.embed_one("x")

    assert expected in str(raised.value)
    assert type(raised.value) in (EndpointUnavailableError, UnexpectedResponseError)
    assert endpoint.requests <= CONNECT_ATTEMPTS
    assert time.monotonic() - started < 10  # a few quick attempts, not the 120 s deadline


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_nothing_listening_is_a_few_quick_attempts_then_an_error_naming_the_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    client = client_at(url, monkeypatch)
    started = time.monotonic()
    with pytest.raises(EndpointUnavailableError) as raised:
        client.embed_one("hello")

    assert time.monotonic() - started < 10  # pauses of at most 1 s and 2 s between 3 attempts
    assert client.requests_sent == CONNECT_ATTEMPTS
    assert str(raised.value) == (
        f"could not connect to {url} (Failed to establish a new connection: [Errno 111] "
        "Connection refused): no local endpoint is listening there; start one with `python -m "
        "embeddings serve`, or check the port in AWS_ENDPOINT_URL"
    )


def test_a_host_name_that_does_not_resolve_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """As the resolver answers for a typo in AWS_ENDPOINT_URL (no lookup leaves the machine)."""
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "no-such-host.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    client = client_at("http://no-such-host.invalid:8080", monkeypatch)
    with pytest.raises(EndpointUnavailableError) as raised:
        client.embed_one("hello")

    assert client.requests_sent == CONNECT_ATTEMPTS
    assert str(raised.value).startswith(
        "could not connect to http://no-such-host.invalid:8080 (Failed to resolve "
        "'no-such-host.invalid'"
    )
    assert "local endpoint" not in str(raised.value)


def handler_refusal(check: Any, *args: int) -> Answer:
    """SageMaker's 424 around the handler's own refusal of a request over its limits."""
    with pytest.raises(ValueError, match="over the endpoint's limit of") as raised:
        check(*args)
    return model_error(400, str(raised.value))


def test_a_handler_with_lower_limits_than_the_clients_is_followed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A deployment that lowered EMBEDDING_TEXTS_PER_REQUEST to 5 and EMBEDDING_TOKENS_PER_REQUEST
    to what 3 of these texts hold: the client learns the first, halves for the second, and every
    text comes back in order."""
    texts = [f"text number {i}" for i in range(12)]

    def limited(body: dict[str, Any]) -> Answer:
        count = len(body["inputs"])
        if count > 5:
            return handler_refusal(inference.check_texts, count, 5)
        if count > 3:
            return handler_refusal(inference.check_tokens, 6 * count, 18, 256)
        return pooled(body)

    with scripted_endpoint(limited) as endpoint:
        client = client_at(endpoint.url, monkeypatch, max_texts_per_request=12)
        vectors = client.embed(texts)

    assert vectors == [pytest.approx(vector_of(text)) for text in texts]
    assert client.max_texts_per_request == 5
    # 12 refused for its texts; then 5 refused for its tokens, halved: 2 + 3, twice; then 2.
    assert [len(body["inputs"]) for body in endpoint.bodies] == [12, 5, 2, 3, 5, 2, 3, 2]


@pytest.mark.parametrize("url", ["127.0.0.1:8080", "http://", "http://[::1"])
def test_an_endpoint_url_botocore_cannot_use_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        client_at(url, monkeypatch)

    assert str(raised.value).startswith("the endpoint URL cannot be used (Invalid ")
    assert "must be a URL such as http://127.0.0.1:8080" in str(raised.value)


def test_a_url_scheme_the_http_client_cannot_speak_is_a_few_attempts_not_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = client_at("ftp://127.0.0.1:8080", monkeypatch)
    started = time.monotonic()
    with pytest.raises(ServiceError, match="Not supported URL scheme ftp"):
        client.embed_one("hello")

    assert time.monotonic() - started < 10
    assert client.requests_sent == CONNECT_ATTEMPTS
