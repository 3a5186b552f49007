"""How the handler groups texts for the model: by padded tokens, longest first."""

from __future__ import annotations

import pytest

from container.inference import (
    CPU_TOKENS_PER_BATCH,
    GPU_TOKENS_PER_BATCH,
    plan_batches,
    request_limits,
    tokens_per_batch,
)


def test_batches_hold_at_most_the_budget_in_padded_tokens_longest_first() -> None:
    counts = [10, 256, 12, 7, 256, 40, 9, 11]

    batches = plan_batches(counts, budget=512)

    assert batches == [[1, 4], [5, 2, 7, 0, 6, 3]]
    for batch in batches:
        assert len(batch) * counts[batch[0]] <= 512
        assert counts[batch[0]] == max(counts[index] for index in batch)


def test_a_text_longer_than_the_budget_goes_alone_and_every_text_once() -> None:
    counts = [300, 5, 5, 300, 5]

    batches = plan_batches(counts, budget=100)

    assert batches == [[0], [3], [1, 2, 4]]
    assert sorted(index for batch in batches for index in batch) == list(range(5))


def test_short_texts_make_big_batches_on_a_gpu() -> None:
    batches = plan_batches([16] * 10_000, GPU_TOKENS_PER_BATCH)
    assert [len(batch) for batch in batches] == [4096, 4096, 1808]


@pytest.mark.parametrize(
    ("on_gpu", "environment", "expected"),
    [
        (False, {}, CPU_TOKENS_PER_BATCH),
        (True, {}, GPU_TOKENS_PER_BATCH),
        (True, {"EMBEDDING_TOKENS_PER_BATCH": "  "}, GPU_TOKENS_PER_BATCH),
        (False, {"EMBEDDING_TOKENS_PER_BATCH": "1024"}, 1024),
        (True, {"EMBEDDING_TOKENS_PER_BATCH": "1"}, 1),
        (True, {"EMBEDDING_TOKENS_PER_BATCH": " 1048576 "}, 1048576),
    ],
)
def test_the_budget_is_the_devices_unless_set(
    on_gpu: bool, environment: dict[str, str], expected: int
) -> None:
    assert tokens_per_batch(on_gpu, environment) == expected


@pytest.mark.parametrize(
    "value", ["0", "-5", "lots", "1.5", "1e4", "1_000", "\uff11\uff10", "99999999999999999999"]
)
def test_a_bad_budget_names_the_variable_and_what_is_allowed(value: str) -> None:
    with pytest.raises(ValueError, match="EMBEDDING_TOKENS_PER_BATCH") as raised:
        tokens_per_batch(False, {"EMBEDDING_TOKENS_PER_BATCH": value})
    assert str(raised.value) == (
        f"EMBEDDING_TOKENS_PER_BATCH={value!r} is not allowed: give a whole number of tokens "
        "from 1 to 1048576 (defaults: 4096 on CPU, 65536 on GPU)"
    )


def test_the_request_limits_are_the_defaults_unless_set() -> None:
    assert request_limits({}) == (512, 65536)
    both = {"EMBEDDING_TEXTS_PER_REQUEST": "64", "EMBEDDING_TOKENS_PER_REQUEST": " 8192 "}
    assert request_limits(both) == (64, 8192)


@pytest.mark.parametrize(
    ("variable", "unit", "default"),
    [
        ("EMBEDDING_TEXTS_PER_REQUEST", "texts", 512),
        ("EMBEDDING_TOKENS_PER_REQUEST", "tokens", 65536),
    ],
)
def test_a_bad_request_limit_names_the_variable_and_what_is_allowed(
    variable: str, unit: str, default: int
) -> None:
    with pytest.raises(ValueError, match=variable) as raised:
        request_limits({variable: "0"})
    assert str(raised.value) == (
        f"{variable}='0' is not allowed: give a whole number of {unit} from 1 to 1048576 "
        f"(default: {default})"
    )
