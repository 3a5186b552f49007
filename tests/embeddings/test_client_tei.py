"""EmbeddingClient against a TEI endpoint's answers, scripted on loopback: TEI's batch limit
learned from its refusal (nothing lost or reordered), its overload retried, its other
refusals typed."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import numpy as np
import pytest

from embeddings.errors import ModelInvocationError, UnexpectedResponseError
from tests.embeddings.scripted import (
    Answer,
    client_at,
    model_error,
    ok,
    scripted_endpoint,
    vector_of,
)


def same_vectors(got: list[list[float]], texts: list[str]) -> bool:
    """Each text's own vector, in order (the client re-normalises: equal to 1e-12)."""
    expected = np.array([vector_of(text) for text in texts])
    return got is not None and np.allclose(np.array(got), expected, rtol=0, atol=1e-12)


def tei_error(status: int, error: str, error_type: str) -> Answer:
    return model_error(status, json.dumps({"error": error, "error_type": error_type}))


def tei(limit: int = 32, status: int = 422, seconds: float = 0.0) -> Any:
    """Answers as TEI does, after `seconds`: `[[floats]]` per text, and more than `limit` texts
    refused."""

    def script(body: dict[str, Any]) -> Answer:
        time.sleep(seconds)
        texts = body["inputs"]
        if len(texts) > limit:
            message = f"batch size {len(texts)} > maximum allowed batch size {limit}"
            return tei_error(status, message, "Validation")
        return ok([vector_of(text) for text in texts])

    return script


@pytest.mark.parametrize("status", [422, 413])  # TEI 1.9 (the default), TEI 1.8
def test_the_batch_limit_is_learned_from_the_refusal_and_nothing_is_lost_or_reordered(
    monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    texts = [f"text number {i}" for i in range(300)]
    with scripted_endpoint(tei(32, status)) as endpoint:
        client = client_at(endpoint.url, monkeypatch)
        vectors = client.embed(texts)
        sizes = [len(body["inputs"]) for body in endpoint.bodies]

    assert same_vectors(vectors, texts)
    assert client.max_texts_per_request == 32
    refused = [size for size in sizes if size > 32]
    assert len(refused) == 1  # once learned, never sent over the limit again
    assert sum(size for size in sizes if size <= 32) == 300


def test_in_parallel_too(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [f"parallel text {i}" for i in range(500)]
    with scripted_endpoint(tei(32, seconds=0.05)) as endpoint:
        client = client_at(endpoint.url, monkeypatch, concurrency=4)
        vectors = client.embed(texts)
        again = client.embed(texts[:100])

    assert same_vectors(vectors, texts)
    assert same_vectors(again, texts[:100])
    assert endpoint.most_in_flight >= 2


def test_a_limit_the_batch_already_keeps_is_an_error_not_a_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def liar(body: dict[str, Any]) -> Answer:
        return tei_error(422, "batch size 1 > maximum allowed batch size 64", "Validation")

    with scripted_endpoint(liar) as endpoint:
        client = client_at(endpoint.url, monkeypatch)
        with pytest.raises(ModelInvocationError) as raised:
            client.embed(["a", "b", "c"])

    assert "refused 3 texts" in str(raised.value)
    assert endpoint.requests == 1


def test_invoke_raw_says_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    with scripted_endpoint(tei(2)) as endpoint:
        client = client_at(endpoint.url, monkeypatch)
        with pytest.raises(ModelInvocationError) as raised:
            client.invoke_raw({"inputs": ["a", "b", "c"]})

    assert "takes at most 2 texts per request" in str(raised.value)
    assert raised.value.code == "ModelError"


def test_an_overloaded_tei_is_retried_and_throttles_the_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = iter([tei_error(429, "Model is overloaded", "Overloaded")] * 2)
    lock = threading.Lock()

    def busy_then_fine(body: dict[str, Any]) -> Answer:
        with lock:
            refusal = next(answers, None)
        return refusal or ok([vector_of(text) for text in body["inputs"]])

    with scripted_endpoint(busy_then_fine) as endpoint:
        client = client_at(endpoint.url, monkeypatch, deadline_seconds=30, concurrency=4)
        client.retry_policy.base_delay_seconds = 0.05
        vector = client.embed_one("busy")

    assert same_vectors([vector], ["busy"])
    assert endpoint.requests == 3
    assert client.in_flight.limit < 4


def test_other_tei_refusals_are_model_errors_with_teis_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = "Input validation error: `inputs` must have less than 256 tokens. Given: 300"

    with scripted_endpoint(lambda _: tei_error(422, message, "Validation")) as endpoint:
        client = client_at(endpoint.url, monkeypatch)
        with pytest.raises(ModelInvocationError) as raised:
            client.embed(["a long text", "another"])

    assert message in str(raised.value)
    assert "status 422" in str(raised.value)
    assert endpoint.requests == 1  # neither split nor retried


@pytest.mark.parametrize(
    "message",
    [
        "batch size 2 > maximum allowed batch size " + "9" * 5000,
        "batch size 2 > maximum allowed batch size 0",
    ],
)
def test_a_limit_that_is_no_limit_is_a_model_error(
    monkeypatch: pytest.MonkeyPatch, message: str
) -> None:
    with scripted_endpoint(lambda _: tei_error(422, message, "Validation")) as endpoint:
        client = client_at(endpoint.url, monkeypatch)
        with pytest.raises(ModelInvocationError):
            client.embed(["a", "b"])
        with pytest.raises(ModelInvocationError):
            client.invoke_raw({"inputs": ["a", "b"]})

    assert client.max_texts_per_request == 256  # nothing learned


def test_a_container_status_of_many_digits_is_no_status(monkeypatch: pytest.MonkeyPatch) -> None:
    status, headers, body = tei_error(422, "refused", "Validation")
    answer = {**json.loads(body), "OriginalStatusCode": "4" * 5000}
    reply = (status, headers, json.dumps(answer).encode())

    with scripted_endpoint(lambda _: reply) as endpoint:
        client = client_at(endpoint.url, monkeypatch)
        with pytest.raises(UnexpectedResponseError, match="cannot be read: ValueError"):
            client.embed(["a", "b"])


def test_a_limit_lowered_again_and_again_ends_as_a_model_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def liar(body: dict[str, Any]) -> Answer:
        size = len(body["inputs"])
        message = f"batch size {size} > maximum allowed batch size {size - 1}"
        return tei_error(422, message, "Validation")

    with scripted_endpoint(liar) as endpoint:
        client = client_at(endpoint.url, monkeypatch, max_texts_per_request=3000)
        with pytest.raises(ModelInvocationError):
            client.embed([f"t{i}" for i in range(3000)])

    assert endpoint.requests == 5  # refused, then 4 lower limits, then given up


def test_a_body_over_teis_payload_limit_is_split(monkeypatch: pytest.MonkeyPatch) -> None:
    """TEI reads at most 2,000,000 bytes of body (axum's 413 in plain text), fewer than the
    client's 4 MB budget: 32 texts of 80 KB are under TEI's text limit and over its bytes."""

    def two_megabytes(body: dict[str, Any]) -> Answer:
        if len(json.dumps(body)) > 2_000_000:
            return model_error(413, "Failed to buffer the request body: length limit exceeded")
        return ok([vector_of(text) for text in body["inputs"]])

    texts = [f"{i} " + "word " * 16_000 for i in range(32)]
    with scripted_endpoint(two_megabytes) as endpoint:
        client = client_at(endpoint.url, monkeypatch)
        vectors = client.embed(texts)

    assert same_vectors(vectors, texts)
    assert endpoint.requests > 2
