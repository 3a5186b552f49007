"""Pooling checked against numbers from the real model (tests/fixtures/token_level.json)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from embeddings.errors import UnexpectedResponseError
from embeddings.pooling import describe_shape, sentence_embeddings
from tests.embeddings.vectors import cosine

FIXTURE = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "token_level.json").read_text()
)
TOKEN_LEVEL: list[Any] = FIXTURE["token_level"]
"""The container's answer to the fixture's texts: [texts][1][tokens][384]."""
EXPECTED: list[list[float]] = FIXTURE["sentence_transformers"]
"""sentence-transformers' encode(normalize_embeddings=True) of the same texts."""


def test_fixture_is_real_token_level_output() -> None:
    assert len(TOKEN_LEVEL) == len(FIXTURE["texts"]) == len(EXPECTED) == 3
    for item in TOKEN_LEVEL:
        assert len(item) == 1
        assert len(item[0]) >= 4  # [CLS] text tokens [SEP]
        assert {len(token) for token in item[0]} == {384}


def test_batch_of_token_vectors_pools_to_the_models_sentence_embeddings() -> None:
    vectors, layout = sentence_embeddings(TOKEN_LEVEL, 3)

    assert layout == "tokens"
    for vector, expected in zip(vectors, EXPECTED, strict=True):
        assert len(vector) == 384
        assert math.isclose(math.fsum(x * x for x in vector), 1.0, rel_tol=1e-9)
        assert cosine(vector, expected) >= 0.9999


def test_first_token_vector_is_not_the_sentence_embedding() -> None:
    """Why the reference app's `result[0][0]` was wrong: [CLS] alone has a cosine of about 0.5
    to the embedding (the README's figure)."""
    first_tokens = [item[0][0] for item in TOKEN_LEVEL]
    cosines = [cosine(a, b) for a, b in zip(first_tokens, EXPECTED, strict=True)]

    assert all(0.4 < value < 0.65 for value in cosines), cosines
    assert 0.45 < sum(cosines) / len(cosines) < 0.6


@pytest.mark.parametrize(
    "body",
    [
        TOKEN_LEVEL[0],  # {"inputs": "text"} answers [1][T][D]
        [TOKEN_LEVEL[0]],  # {"inputs": ["text"]} answers [1][1][T][D]
        {"embeddings": [TOKEN_LEVEL[0]]},
    ],
)
def test_single_text_token_shapes(body: Any) -> None:
    vectors, layout = sentence_embeddings(body, 1)

    assert layout == "tokens"
    assert cosine(vectors[0], EXPECTED[0]) >= 0.9999


@pytest.mark.parametrize(
    "body",
    [
        EXPECTED[1],
        [EXPECTED[1]],
        {"embeddings": EXPECTED[1]},
        {"embeddings": [EXPECTED[1]]},
    ],
)
def test_single_text_pooled_shapes(body: Any) -> None:
    vectors, layout = sentence_embeddings(body, 1)

    assert layout == "pooled"
    assert cosine(vectors[0], EXPECTED[1]) >= 0.999999


def test_pooled_batch_is_renormalised_and_kept_in_order() -> None:
    scaled = [[x * 3.0 for x in vector] for vector in EXPECTED]

    vectors, layout = sentence_embeddings({"embeddings": scaled}, 3)

    assert layout == "pooled"
    for vector, expected in zip(vectors, EXPECTED, strict=True):
        assert vector == pytest.approx(expected, abs=1e-7)


@pytest.mark.parametrize(
    ("body", "count", "message"),
    [
        (TOKEN_LEVEL[:2], 3, "the endpoint returned [2][1]["),
        (
            {"error": "boom"},
            1,
            "returned dict, expected one result for each of the 1 texts sent; the response "
            'began: {"error": "boom"}',
        ),
        ("body", 1, "returned str"),
        ([[["a", "b"]]], 1, "of str"),
        ([[1.0, 2.0], "x"], 2, "token vectors or a [dim] embedding per text"),
        ([[[1.0, 2.0], [1.0]]], 1, "expected vectors of one dimension"),
        ([[1.0, 0.0], [1.0, 0.0, 0.0]], 2, "embeddings of one dimension"),
        ([0.0, 0.0], 1, "vector of norm 0.0"),
        ([[True, False]], 1, "of bool"),
        # One text answered with two or five vectors: not token vectors to average.
        (EXPECTED[:2], 1, "returned [2][384] of float, expected one result for each of the 1"),
        (TOKEN_LEVEL[0][0], 1, "expected one result for each of the 1 texts sent"),
        (EXPECTED, 2, "returned [3][384] of float, expected one result for each of the 2"),
        (EXPECTED[:2], 3, "returned [2][384] of float, expected one result for each of the 3"),
        ([EXPECTED[0], TOKEN_LEVEL[1]], 2, "one kind of result for every text"),
    ],
)
def test_other_shapes_are_errors_that_show_what_came_back(
    body: Any, count: int, message: str
) -> None:
    with pytest.raises(UnexpectedResponseError) as raised:
        sentence_embeddings(body, count)

    assert message in str(raised.value)


def test_describe_shape_follows_the_first_element() -> None:
    assert describe_shape(TOKEN_LEVEL) == f"[3][1][{len(TOKEN_LEVEL[0][0])}][384] of float"
    assert describe_shape([]) == "[0] of list"
    assert describe_shape({"b": 1, "a": 2}) == "dict"
    assert describe_shape([[[[[[[[0.5]]]]]]]]) == "[1][1][1][1][1][1]...(2 more levels) of float"
