"""`serve --sentence-embeddings`: container/inference.py behind the real API, as the endpoint runs
it (here also `--serverless`: SageMaker's 4 MB limit and a serverless configuration)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from embeddings import EmbeddingClient
from embeddings.batching import OutputModel, plan_batches
from tests.embeddings.server.conftest import RunningServer, invoke_endpoint, point_boto3_at
from tests.embeddings.server.texts import LONG_PARAGRAPH, VARIED_TEXTS
from tests.embeddings.server.texts import truth as cached_truth
from tests.embeddings.vectors import cosine


def test_the_client_gets_sentence_transformers_embeddings(
    pooled: RunningServer, monkeypatch: pytest.MonkeyPatch, sentence_transformer: Any
) -> None:
    point_boto3_at(pooled, monkeypatch)

    vectors = EmbeddingClient().embed(VARIED_TEXTS)

    truth = cached_truth(sentence_transformer, VARIED_TEXTS)
    assert min(cosine(v, t) for v, t in zip(vectors, truth, strict=True)) >= 0.9999


def test_answers_one_flat_array_per_text_and_truncates_long_ones(
    pooled: RunningServer, sentence_transformer: Any
) -> None:
    long_text = LONG_PARAGRAPH * 20  # far past 512 tokens, sent without any parameters
    single = invoke_endpoint(pooled.url, {"inputs": "vectorize me"})
    batch = invoke_endpoint(pooled.url, {"inputs": ["vectorize me", long_text]})

    assert len(single) == 384
    assert [len(vector) for vector in batch] == [384, 384]
    assert cosine(single, batch[0]) >= 0.99999
    truth = cached_truth(sentence_transformer, [long_text])[0]
    assert cosine(batch[1], truth) >= 0.9999


def test_pooled_answers_let_the_client_pack_far_more_texts(
    pooled: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_boto3_at(pooled, monkeypatch)
    texts = [f"Short note number {index} about the market." for index in range(300)]
    client = EmbeddingClient()
    client.embed_one("the first answer tells the client the endpoint pools")
    client.requests_sent = 0

    vectors = client.embed(texts)

    assert len(vectors) == 300
    assert client.requests_sent == 2  # at most 256 texts a request
    token_level_plan = plan_batches(texts, OutputModel(), max_length=256, max_texts=256)
    assert len(token_level_plan) >= 6 * client.requests_sent


def test_serverless_bodies_are_limited_to_4_mb_and_described_so(pooled: RunningServer) -> None:
    five_mb = b'{"inputs": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    control_plane = boto3.client(
        "sagemaker",
        region_name="us-east-1",
        endpoint_url=pooled.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

    with pytest.raises(ClientError) as refused:
        invoke_endpoint(pooled.url, five_mb, name="any-name")
    config = control_plane.describe_endpoint_config(EndpointConfigName="any-name-config")

    error: Any = refused.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
        "ValidationError",
        413,
    )
    assert "oversize" in error["Error"]["Message"]
    assert config["ProductionVariants"][0]["ServerlessConfig"]["MaxConcurrency"] == 8
