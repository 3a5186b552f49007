"""The local endpoint with the real model: same API, same shapes, same embeddings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from embeddings import EmbeddingClient, EndpointNotFoundError, ModelInvocationError
from tests.embeddings.server.conftest import ENDPOINT, ROOT, RunningServer
from tests.embeddings.server.texts import VARIED_TEXTS
from tests.embeddings.vectors import cosine

LOAD_CLIENTS = 8
LOAD_REQUESTS_EACH = 50
LOAD_SECONDS = 300.0
OVERSIZE = b"x" * (6 * 1024 * 1024 + 1)
UNTRUNCATED = json.dumps({"inputs": "word " * 600}).encode()


def expected(model: Any, texts: list[str]) -> list[list[float]]:
    vectors: list[list[float]] = model.encode(texts, normalize_embeddings=True).tolist()
    return vectors


def runtime(url: str) -> Any:
    return boto3.client(
        "sagemaker-runtime",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def invoke(
    url: str, body: bytes, content_type: str = "application/json", name: str = ENDPOINT
) -> Any:
    response = runtime(url).invoke_endpoint(EndpointName=name, ContentType=content_type, Body=body)
    return json.loads(response["Body"].read())


def test_embedding_client_equals_sentence_transformers(
    runtime_env: RunningServer, sentence_transformer: Any
) -> None:
    client = EmbeddingClient()

    vectors = client.embed(VARIED_TEXTS)

    assert len(VARIED_TEXTS) >= 20
    truth = expected(sentence_transformer, VARIED_TEXTS)
    similarities = [cosine(v, t) for v, t in zip(vectors, truth, strict=True)]
    assert min(similarities) >= 0.9999, list(zip(VARIED_TEXTS, similarities, strict=True))
    assert client.requests_sent < len(VARIED_TEXTS)


def test_single_texts_equal_the_batch(runtime_env: RunningServer) -> None:
    client = EmbeddingClient()
    texts = VARIED_TEXTS[:5]

    batch = client.embed(texts)
    singles = [client.embed_one(text) for text in texts]

    for one, many in zip(singles, batch, strict=True):
        assert cosine(one, many) >= 0.99999


def test_boto3_sees_the_containers_token_level_shapes(local_endpoint: RunningServer) -> None:
    single = invoke(local_endpoint.url, b'{"inputs": "vectorize me"}')
    batch = invoke(local_endpoint.url, b'{"inputs": ["vectorize me", "a longer sentence here"]}')

    # [CLS] vector ##ize me [SEP]
    assert [len(single), len(single[0]), len(single[0][0])] == [1, 5, 384]
    assert [len(batch), len(batch[0]), len(batch[0][0][0])] == [2, 1, 384]
    assert len(batch[1][0]) > len(batch[0][0])  # no padding between texts


def test_container_contract_routes(local_endpoint: RunningServer) -> None:
    ping = requests.get(f"{local_endpoint.url}/ping", timeout=10)
    direct = requests.post(
        f"{local_endpoint.url}/invocations", json={"inputs": "vectorize me"}, timeout=30
    )

    assert ping.status_code == 200
    assert direct.status_code == 200
    assert direct.json() == invoke(local_endpoint.url, b'{"inputs": "vectorize me"}')


def test_paraphrase_ranks_above_unrelated(runtime_env: RunningServer) -> None:
    client = EmbeddingClient()
    query, paraphrase, unrelated = client.embed(
        [
            "The company's profits rose sharply this quarter.",
            "Quarterly earnings at the firm increased significantly.",
            "My cat likes to sleep on the warm windowsill.",
        ]
    )

    assert cosine(query, paraphrase) > cosine(query, unrelated) + 0.3


def test_command_line_invoke_against_the_local_endpoint(
    local_endpoint: RunningServer, sentence_transformer: Any, tmp_path: Path
) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=local_endpoint.url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        DEFAULT_AWS_REGION="us-east-1",
        PYTHONPATH=str(ROOT),
    )

    result = subprocess.run(
        [sys.executable, "-m", "embeddings", "invoke", "--file", str(ROOT / "vectorize_me.json")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    vector = json.loads(result.stdout)
    assert cosine(vector, expected(sentence_transformer, ["vectorize me"])[0]) >= 0.9999


@pytest.mark.parametrize(
    ("body", "content_type", "code", "status", "original", "message"),
    [
        (b'{"inputs": ', "application/json", "ModelError", 424, 400, "Expecting value"),
        (b'{"text": "x"}', "application/json", "ModelError", 424, 400, "text input must of type"),
        (b'{"inputs": 42}', "application/json", "ModelError", 424, 400, "text input must of type"),
        (b'{"inputs": null}', "application/json", "ModelError", 424, 400, "either `text` or"),
        (b"vectorize me", "text/plain", "ModelError", 424, 400, "not supported"),
        (OVERSIZE, "application/json", "ValidationError", 413, None, "oversize body"),
        # Past 512 tokens without truncation the model itself fails, as it does in the container.
        (UNTRUNCATED, "application/json", "ModelError", 424, 400, "size of tensor"),
    ],
)  # fmt: skip
def test_bad_requests_get_sagemakers_errors_and_the_server_keeps_serving(
    local_endpoint: RunningServer,
    body: bytes,
    content_type: str,
    code: str,
    status: int,
    original: int | None,
    message: str,
) -> None:
    with pytest.raises(ClientError) as raised:
        invoke(local_endpoint.url, body, content_type)

    error: dict[str, Any] = dict(raised.value.response)
    assert error["Error"]["Code"] == code
    assert error["ResponseMetadata"]["HTTPStatusCode"] == status
    assert message in error["Error"]["Message"]
    if original is not None:
        assert error["OriginalStatusCode"] == original
    after = invoke(local_endpoint.url, b'{"inputs": "still serving"}')
    assert len(after[0][0]) == 384


def test_unknown_endpoint_name_is_not_found_for_the_client(runtime_env: RunningServer) -> None:
    with pytest.raises(EndpointNotFoundError) as raised:
        EmbeddingClient("some-other-endpoint").embed_one("vectorize me")

    assert "'some-other-endpoint' was not found in region us-east-1" in str(raised.value)


def test_model_failure_reaches_the_client_as_a_model_error(runtime_env: RunningServer) -> None:
    client = EmbeddingClient(max_length=None)  # no truncation: 600 words break the model

    with pytest.raises(ModelInvocationError) as raised:
        client.embed_one("word " * 600)

    assert "(status 400)" in str(raised.value)


def test_concurrent_clients_all_get_complete_correct_answers(
    local_endpoint: RunningServer, sentence_transformer: Any
) -> None:
    texts = VARIED_TEXTS[:LOAD_CLIENTS]
    truth = expected(sentence_transformer, texts)
    errors: list[str] = []
    checked = [0] * LOAD_CLIENTS
    deadline = time.monotonic() + LOAD_SECONDS

    def worker(index: int) -> None:
        client = EmbeddingClient(
            ENDPOINT,
            "us-east-1",
            session=boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing"),
        )
        client.runtime = runtime(local_endpoint.url)
        for _ in range(LOAD_REQUESTS_EACH):
            if time.monotonic() > deadline:
                errors.append(f"client {index} ran out of time")
                return
            try:
                vector = client.embed_one(texts[index])
            except Exception as error:
                errors.append(f"client {index}: {error!r}")
                continue
            if len(vector) != 384 or cosine(vector, truth[index]) < 0.9999:
                errors.append(f"client {index}: wrong embedding")
            else:
                checked[index] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(LOAD_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=LOAD_SECONDS + 30)

    assert errors == []
    assert checked == [LOAD_REQUESTS_EACH] * LOAD_CLIENTS
