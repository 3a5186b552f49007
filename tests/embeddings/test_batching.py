"""Batch planning: every text once, in order, within the payload limits."""

from __future__ import annotations

import json

import pytest

from embeddings.batching import (
    ASCII_CHARS_PER_TOKEN,
    PAYLOAD_LIMIT_BYTES,
    SAFETY_FACTOR,
    TEXTS_PER_REQUEST,
    TOKENS_PER_REQUEST,
    OutputModel,
    estimate_tokens,
    plan_batches,
    request_bytes,
)

SHORT = [f"Quarterly revenue note number {i} for the portfolio." for i in range(1000)]
TOKENS = OutputModel(layout="tokens", dimension=384)
POOLED = OutputModel(layout="pooled", dimension=384)
BUDGET = PAYLOAD_LIMIT_BYTES * SAFETY_FACTOR


def covered(batches: list[range]) -> list[int]:
    return [index for batch in batches for index in batch]


def test_estimate_tokens_errs_high_and_stops_at_truncation() -> None:
    # "vectorize me" is 5 real tokens: [CLS] vector ##ize me [SEP].
    assert estimate_tokens("vectorize me", 256) == 6
    assert estimate_tokens("x" * 3000, 256) == 256
    assert estimate_tokens("x" * 3000, None) == 1002
    # Every non-ASCII character may be a token of its own.
    assert estimate_tokens("市场在央行宣布后上涨", 256) == 12
    assert estimate_tokens("🚀🚀🚀", 256) == 5


@pytest.mark.parametrize("output", [TOKENS, POOLED])
def test_every_text_once_in_order_within_the_response_budget(output: OutputModel) -> None:
    batches = plan_batches(SHORT, output, max_length=256, max_texts=10_000)

    assert covered(batches) == list(range(len(SHORT)))
    for batch in batches:
        estimated = sum(output.response_bytes(estimate_tokens(SHORT[i], 256)) for i in batch)
        assert estimated <= BUDGET


def test_pooled_output_packs_many_more_texts_per_request() -> None:
    token_batches = plan_batches(SHORT, TOKENS, max_length=256, max_texts=10_000)
    pooled_batches = plan_batches(SHORT, POOLED, max_length=256, max_texts=10_000)

    assert len(token_batches) >= 5 * len(pooled_batches)
    assert len(pooled_batches) == 3  # 1000 texts at 8.4 KB each in 3.4 MB responses
    # With the client's own cap of 256 texts a request (the figures docs/client.md gives):
    assert len(plan_batches(SHORT, TOKENS, max_length=256, max_texts=256)) == 53
    assert len(plan_batches(SHORT, POOLED, max_length=256, max_texts=256)) == 4


def test_pooled_requests_carry_at_most_the_token_budget() -> None:
    """Long texts, each cut at 256 tokens: 64 a request (16,384 tokens), though far more would fit
    the payload limits; cut at 128 tokens, 128 a request."""
    long_texts = [f"{i} " + "portfolio " * 1_000 for i in range(150)]  # 10,000 characters

    batches = plan_batches(long_texts, POOLED, max_length=256, max_texts=10_000)

    assert TOKENS_PER_REQUEST == 16384
    assert [len(batch) for batch in batches] == [64, 64, 22]
    cut = plan_batches(long_texts, POOLED, max_length=128, max_texts=10_000)
    assert [len(batch) for batch in cut] == [128, 22]
    mixed = ["short text", *long_texts[:80]]
    assert [len(b) for b in plan_batches(mixed, POOLED, max_length=256, max_texts=256)] == [64, 17]


def test_max_texts_caps_each_batch() -> None:
    batches = plan_batches(SHORT, POOLED, max_length=256, max_texts=64)

    assert [len(batch) for batch in batches] == [64] * 15 + [40]


def test_request_budget_binds_for_long_texts_with_pooled_output() -> None:
    long_texts = ["word " * 20_000] * 40  # 100 KB of text each

    batches = plan_batches(long_texts, POOLED, max_length=256, max_texts=10_000)

    assert covered(batches) == list(range(40))
    for batch in batches:
        assert sum(request_bytes(long_texts[i]) for i in batch) <= BUDGET
    assert len(batches) == 2


def test_a_text_larger_than_the_budget_gets_a_batch_of_its_own() -> None:
    texts = ["a", "x" * 5_000_000, "b"]

    assert plan_batches(texts, POOLED, max_length=256, max_texts=100) == [
        range(1),
        range(1, 2),
        range(2, 3),
    ]


def test_request_bytes_counts_json_escapes() -> None:
    assert request_bytes('say "hi"') == len(json.dumps('say "hi"')) + 2
    assert request_bytes("é") == len('"\\u00e9"') + 2


def test_the_clients_requests_fit_inside_the_handlers_limits() -> None:
    """The handler refuses more texts or tokens a request than its limits; the client's stay
    under them even if every estimated token were three real ones (one-character tokens, as in
    "1,2,3": the estimate counts 3 ASCII characters a token, and no character is more than one)."""
    from container import inference

    assert TEXTS_PER_REQUEST <= inference.TEXTS_PER_REQUEST
    assert TOKENS_PER_REQUEST * ASCII_CHARS_PER_TOKEN <= inference.TOKENS_PER_REQUEST
