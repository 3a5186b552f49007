"""`serve` as the stock HuggingFace container (token vectors from the toolkit's default handler),
behind SageMaker's API: the shapes the real endpoint returns, the embeddings the client makes of
them, SageMaker's errors, and the command line's control-plane commands."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from embeddings import EmbeddingClient, EndpointNotFoundError, ModelInvocationError
from embeddings.cli import main
from tests.conftest import model_path
from tests.embeddings.server.conftest import (
    ENDPOINT,
    RunningServer,
    http_request,
    invoke_endpoint,
    point_boto3_at,
    runtime,
)
from tests.embeddings.server.texts import VARIED_TEXTS
from tests.embeddings.server.texts import truth as cached_truth
from tests.embeddings.vectors import cosine

JSON = {"Content-Type": "application/json"}


def truth(model: Any, texts: list[str]) -> list[list[float]]:
    return cached_truth(model, texts)


def test_boto3_sees_the_containers_token_level_shapes(stock: RunningServer) -> None:
    single = invoke_endpoint(stock.url, {"inputs": "vectorize me"})
    batch = invoke_endpoint(stock.url, {"inputs": ["vectorize me", "a longer sentence here"]})

    # [CLS] vector ##ize me [SEP]
    assert [len(single), len(single[0]), len(single[0][0])] == [1, 5, 384]
    assert [len(batch), len(batch[0]), len(batch[0][0][0])] == [2, 1, 384]
    assert len(batch[1][0]) > len(batch[0][0])  # no padding between texts


def test_an_answer_carries_its_request_id_as_sagemakers_do(stock: RunningServer) -> None:
    answers = [
        runtime(stock.url).invoke_endpoint(
            EndpointName=ENDPOINT, Body=b'{"inputs": "a"}', ContentType="application/json"
        )
        for _ in range(2)
    ]

    ids = {answer["ResponseMetadata"]["RequestId"] for answer in answers}
    assert len(ids) == 2
    assert all(len(request_id) == 36 for request_id in ids)


def test_the_embedding_client_equals_sentence_transformers(
    stock: RunningServer, monkeypatch: pytest.MonkeyPatch, sentence_transformer: Any
) -> None:
    point_boto3_at(stock, monkeypatch)
    client = EmbeddingClient()

    vectors = client.embed(VARIED_TEXTS)
    singles = [client.embed_one(text) for text in VARIED_TEXTS[:3]]

    similarities = [
        cosine(v, t)
        for v, t in zip(vectors, truth(sentence_transformer, VARIED_TEXTS), strict=True)
    ]
    assert min(similarities) >= 0.9999, list(zip(VARIED_TEXTS, similarities, strict=True))
    assert client.requests_sent < len(VARIED_TEXTS) + 3
    assert min(cosine(one, many) for one, many in zip(singles, vectors, strict=False)) >= 0.99999


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/ping/"), ("POST", "/ping"), ("DELETE", "/ping")]
)
def test_ping_answers_any_method_with_or_without_a_trailing_slash(
    stock: RunningServer, method: str, path: str
) -> None:
    status, _, body = http_request(stock.port, method, path)
    assert (status, json.loads(body)) == (200, {"status": "Healthy"})


def test_invocations_is_the_containers_own_route_to_any_method(stock: RunningServer) -> None:
    body = b'{"inputs": "vectorize me"}'
    direct = http_request(stock.port, "POST", "/invocations", body, JSON)
    put = http_request(stock.port, "PUT", "/invocations/", body, JSON)
    get = http_request(stock.port, "GET", "/invocations")

    assert json.loads(direct[2]) == json.loads(put[2]) == invoke_endpoint(stock.url, body)
    assert (get[0], json.loads(get[2])["type"]) == (400, "InternalServerException")
    assert "content type None is not supported" in json.loads(get[2])["message"]


OVERSIZE = b"x" * (6 * 1024 * 1024 + 1)


@pytest.mark.parametrize(
    ("body", "content_type", "code", "status", "original"),
    [
        (b'{"inputs": ', "application/json", "ModelError", 424, 400),
        (b'{"text": "x"}', "application/json", "ModelError", 424, 400),
        (b'{"inputs": 42}', "application/json", "ModelError", 424, 400),
        (b'["vectorize me"]', "application/json", "ModelError", 424, 400),
        (b"vectorize me", "text/plain", "ModelError", 424, 400),
        (OVERSIZE, "application/json", "ValidationError", 413, None),
        # Past 512 tokens without truncation the model itself fails, as in the container.
        (
            json.dumps({"inputs": "word " * 600}).encode(),
            "application/json",
            "ModelError",
            424,
            400,
        ),
    ],
)
def test_bad_requests_get_sagemakers_errors_and_the_server_keeps_serving(
    stock: RunningServer,
    body: bytes,
    content_type: str,
    code: str,
    status: int,
    original: int | None,
) -> None:
    with pytest.raises(ClientError) as raised:
        invoke_endpoint(stock.url, body, ContentType=content_type)

    error: dict[str, Any] = dict(raised.value.response)
    assert error["Error"]["Code"] == code
    assert error["ResponseMetadata"]["HTTPStatusCode"] == status
    assert error.get("OriginalStatusCode") == original
    assert len(invoke_endpoint(stock.url, {"inputs": "still serving"})[0][0]) == 384


def test_the_client_reads_sagemakers_errors(
    stock: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_boto3_at(stock, monkeypatch)

    with pytest.raises(EndpointNotFoundError) as not_found:
        EmbeddingClient("some-other-endpoint").embed_one("vectorize me")
    with pytest.raises(ModelInvocationError) as failed:
        EmbeddingClient(max_length=None).embed_one("word " * 600)  # 600 words break the model

    assert "'some-other-endpoint' was not found in region us-east-1" in str(not_found.value)
    assert "(status 400)" in str(failed.value)


def test_concurrent_clients_all_get_complete_correct_answers(
    stock: RunningServer, sentence_transformer: Any
) -> None:
    texts = [text for text in VARIED_TEXTS if len(text) < 100][:8]
    expected = truth(sentence_transformer, texts)
    problems: list[str] = []
    checked = [0] * len(texts)

    def worker(index: int) -> None:
        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
        client = EmbeddingClient(ENDPOINT, "us-east-1", session=session)
        client.runtime = runtime(stock.url)
        for _ in range(4):
            try:
                vector = client.embed_one(texts[index])
            except Exception as error:
                problems.append(f"client {index}: {error!r}")
                continue
            if cosine(vector, expected[index]) >= 0.9999:
                checked[index] += 1

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert problems == []
    assert checked == [4] * len(texts)


@pytest.mark.parametrize("command", [["status"], ["wait", "--delay", "1"], ["verify"]])
def test_control_plane_commands_work_against_serve(
    stock: RunningServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    point_boto3_at(stock, monkeypatch)

    code = main([*command, "--endpoint", ENDPOINT, "--region", "us-east-1"])

    out = capsys.readouterr().out
    assert code == 0, out
    if command == ["verify"]:
        assert out.splitlines()[-1] == "verified"
        assert f"HF_MODEL_ID={model_path()}, HF_TASK=feature-extraction" in out
    elif command == ["status"]:
        assert "InService" in out


def test_another_endpoint_name_is_not_found_by_the_command_line(
    stock: RunningServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    point_boto3_at(stock, monkeypatch)
    started = time.monotonic()

    code = main(["status", "--endpoint", "other", "--region", "us-east-1"])

    assert code == 1
    assert "'other' was not found in region us-east-1" in capsys.readouterr().err
    assert time.monotonic() - started < 10
