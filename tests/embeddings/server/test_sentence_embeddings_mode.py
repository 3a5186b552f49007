"""`serve --sentence-embeddings`: the handler behind the real API, as the endpoint runs it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from embeddings import EmbeddingClient
from embeddings.batching import OutputModel, plan_batches
from tests.embeddings.server.conftest import RunningServer, point_boto3_at, start_server
from tests.embeddings.server.texts import LONG_PARAGRAPH, VARIED_TEXTS
from tests.embeddings.vectors import cosine


@pytest.fixture(scope="module")
def pooled_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_server(tmp_path_factory.mktemp("pooled"), "--sentence-embeddings")
    yield server
    server.stop()


@pytest.fixture
def pooled_env(
    pooled_endpoint: RunningServer, monkeypatch: pytest.MonkeyPatch, isolated_aws: Path
) -> RunningServer:
    return point_boto3_at(pooled_endpoint, monkeypatch)


def raw(url: str, payload: Any) -> Any:
    client = boto3.client(
        "sagemaker-runtime",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    response = client.invoke_endpoint(
        EndpointName="alex-embedding-endpoint",
        ContentType="application/json",
        Body=json.dumps(payload).encode(),
    )
    return json.loads(response["Body"].read())


def test_client_gets_sentence_transformers_embeddings(
    pooled_env: RunningServer, sentence_transformer: Any
) -> None:
    vectors = EmbeddingClient().embed(VARIED_TEXTS)

    truth = sentence_transformer.encode(VARIED_TEXTS, normalize_embeddings=True).tolist()
    assert min(cosine(v, t) for v, t in zip(vectors, truth, strict=True)) >= 0.9999


def test_answers_one_flat_array_per_text(pooled_endpoint: RunningServer) -> None:
    single = raw(pooled_endpoint.url, {"inputs": "vectorize me"})
    batch = raw(pooled_endpoint.url, {"inputs": ["vectorize me", "another text"]})

    assert len(single) == 384
    assert [len(vector) for vector in batch] == [384, 384]
    assert cosine(single, batch[0]) >= 0.99999


def test_long_input_is_truncated_not_refused(
    pooled_endpoint: RunningServer, sentence_transformer: Any
) -> None:
    text = LONG_PARAGRAPH * 20  # far past 512 tokens, sent without any parameters

    vector = raw(pooled_endpoint.url, {"inputs": text})

    truth = sentence_transformer.encode([text], normalize_embeddings=True).tolist()[0]
    assert cosine(vector, truth) >= 0.9999


def test_pooled_answers_let_the_client_pack_far_more_texts(pooled_env: RunningServer) -> None:
    texts = [f"Short note number {index} about the market." for index in range(300)]
    client = EmbeddingClient()
    client.embed_one("the first answer tells the client the endpoint pools")
    client.requests_sent = 0

    vectors = client.embed(texts)

    assert len(vectors) == 300
    assert client.requests_sent == 2  # at most 256 texts per request
    token_level_plan = plan_batches(texts, OutputModel(), max_length=256, max_texts=256)
    assert len(token_level_plan) >= 6 * client.requests_sent
