"""container/inference.py in-process, with the real weights."""

from __future__ import annotations

import ast
import json
import math
import os
import re
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from container import INFERENCE_SCRIPT
from embeddings.server.huggingface import load_handler
from tests.conftest import model_path
from tests.embeddings.server.texts import LONG_PARAGRAPH, VARIED_TEXTS, truth
from tests.embeddings.vectors import cosine


@pytest.fixture(scope="module")
def handler() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return load_handler("feature-extraction", INFERENCE_SCRIPT)


@pytest.fixture(scope="module")
def loaded(handler: Any) -> Any:
    return handler.model_fn(model_path())


@pytest.fixture
def passes(loaded: Any) -> Iterator[list[int]]:
    """The model passes run while the test runs: [count]."""
    count = [0]
    hook = loaded["model"].register_forward_pre_hook(lambda *_: count.__setitem__(0, count[0] + 1))
    yield count
    hook.remove()


def test_uses_no_syntax_newer_than_the_containers_python_3_9() -> None:
    ast.parse(INFERENCE_SCRIPT.read_text(), feature_version=(3, 9))


def test_all_four_functions_replace_the_defaults(handler: Any) -> None:
    assert handler.custom == ("model_fn", "input_fn", "predict_fn", "output_fn")


def test_reads_the_models_own_sequence_limit(loaded: Any) -> None:
    assert loaded["max_length"] == 256  # sentence_bert_config.json of all-MiniLM-L6-v2


def test_equals_sentence_transformers_long_texts_included(
    handler: Any, loaded: Any, sentence_transformer: Any
) -> None:
    vectors = handler.predict_fn({"inputs": VARIED_TEXTS}, loaded)

    expected = truth(sentence_transformer, VARIED_TEXTS)
    similarities = [cosine(v, t) for v, t in zip(vectors.tolist(), expected, strict=True)]
    assert min(similarities) >= 0.99999
    assert all(math.isclose(math.fsum(x * x for x in v), 1.0, rel_tol=1e-5) for v in vectors)


def test_batch_equals_single_calls_in_input_order(handler: Any, loaded: Any) -> None:
    texts = [VARIED_TEXTS[0], LONG_PARAGRAPH * 20, VARIED_TEXTS[10], VARIED_TEXTS[14]]

    batch = handler.predict_fn({"inputs": texts}, loaded)
    singles = [handler.predict_fn({"inputs": text}, loaded) for text in texts]

    for one, many in zip(singles, batch, strict=True):
        assert cosine(one, many) >= 0.99999


def test_string_gives_a_flat_array_and_a_list_gives_one_array_each(
    handler: Any, loaded: Any
) -> None:
    single = json.loads(
        handler.output_fn(handler.predict_fn({"inputs": "hi"}, loaded), "application/json")
    )
    batch = json.loads(
        handler.output_fn(
            handler.predict_fn({"inputs": ["hi", "there"]}, loaded), "application/json"
        )
    )

    assert len(single) == 384
    assert all(isinstance(x, float) for x in single)
    assert [len(vector) for vector in batch] == [384, 384]


def test_parameters_are_accepted_and_ignored(handler: Any, loaded: Any) -> None:
    plain = handler.predict_fn({"inputs": "vectorize me"}, loaded)
    with_parameters = handler.predict_fn(
        {"inputs": "vectorize me", "parameters": {"tokenize_kwargs": {"truncation": True}}},
        loaded,
    )

    assert plain.tolist() == with_parameters.tolist()


def test_input_fn_reads_json_text_or_bytes(handler: Any) -> None:
    assert handler.input_fn('{"inputs": "a"}', "application/json") == {"inputs": "a"}
    assert handler.input_fn(b'{"inputs": "a"}', "application/json; charset=utf-8") == {
        "inputs": "a"
    }


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda h, m: h.input_fn("a,b", "text/csv"), "content type 'text/csv' is not supported"),
        (lambda h, m: h.predict_fn({"text": "a"}, m), 'with "inputs"'),
        (lambda h, m: h.predict_fn({"inputs": "  "}, m), '"inputs" is empty'),
        (lambda h, m: h.predict_fn({"inputs": []}, m), "non-empty list of strings"),
        (
            lambda h, m: h.predict_fn({"inputs": ["ok", 3]}, m),
            "inputs[1] is not a non-empty string",
        ),
    ],
)
def test_bad_input_raises_with_a_clear_message(
    handler: Any, loaded: Any, call: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        call(handler, loaded)


@pytest.mark.parametrize("budget", [1, 300, 1_000_000])
def test_the_token_budget_changes_the_batches_not_the_embeddings(
    handler: Any, loaded: Any, sentence_transformer: Any, budget: int
) -> None:
    """One text a batch (budget 1), a few, all at once (the default is checked above)."""
    texts = [VARIED_TEXTS[0], VARIED_TEXTS[6], VARIED_TEXTS[3], VARIED_TEXTS[14]]

    vectors = handler.predict_fn({"inputs": texts}, {**loaded, "tokens_per_batch": budget})

    expected = truth(sentence_transformer, texts)
    assert min(cosine(v, t) for v, t in zip(vectors.tolist(), expected, strict=True)) >= 0.99999


def test_the_answer_is_float32_json_the_client_reads(handler: Any, loaded: Any) -> None:
    vectors = handler.predict_fn({"inputs": VARIED_TEXTS[:8]}, loaded)

    answer = handler.output_fn(vectors, "application/json")

    assert np.asarray(json.loads(answer), dtype=np.float32).tobytes() == vectors.tobytes()
    assert len(answer) < 0.6 * len(json.dumps(vectors.tolist()))


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (["a"] * 1_000_000, "1000000 texts in one request, over the endpoint's limit of 512 "
         "(EMBEDDING_TEXTS_PER_REQUEST): send at most 512 texts a request"),
        (["word " * 2400] * 512, "131072 tokens in one request (each text cut at 256), over the "
         "endpoint's limit of 65536 (EMBEDDING_TOKENS_PER_REQUEST): send fewer or shorter texts "
         "a request"),
    ],
)  # fmt: skip
def test_an_oversize_request_is_refused_at_once_before_any_model_pass(
    handler: Any, loaded: Any, passes: list[int], inputs: list[str], message: str
) -> None:
    """A million texts (5 MB), and 512 texts of 12 KB (6 MB, far over the tokens once cut at
    256 each): unbounded, minutes and gigabytes."""
    started = time.monotonic()
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="in one request") as refused:
            handler.predict_fn({"inputs": inputs}, loaded)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    seconds = time.monotonic() - started

    assert str(refused.value) == message
    assert (passes[0], seconds < 10, peak < 50_000_000) == (0, True, True), (seconds, peak)
    started = time.monotonic()
    assert handler.predict_fn({"inputs": "next"}, loaded).shape == (384,)
    assert time.monotonic() - started < 5


def test_a_request_at_the_limits_is_served(handler: Any, loaded: Any) -> None:
    exactly = {**loaded, "texts_per_request": 4, "tokens_per_request": 3 * 256}

    vectors = handler.predict_fn({"inputs": [LONG_PARAGRAPH * 8] * 3}, exactly)

    assert vectors.shape == (3, 384)
    with pytest.raises(ValueError, match="771 tokens in one request"):  # [CLS] a [SEP]
        handler.predict_fn({"inputs": [LONG_PARAGRAPH * 8] * 3 + ["a"]}, exactly)


def test_a_6_mb_text_is_read_as_far_as_the_model_reads(
    handler: Any, loaded: Any, sentence_transformer: Any
) -> None:
    """Cut at 16,384 characters before tokenizing: the same first 256 tokens."""
    started = time.monotonic()
    vector = handler.predict_fn({"inputs": LONG_PARAGRAPH * 30_000}, loaded)

    assert time.monotonic() - started < 5
    assert cosine(vector, truth(sentence_transformer, [LONG_PARAGRAPH * 100])[0]) >= 0.99999


def test_a_prediction_past_its_deadline_stops_before_its_next_batch(
    handler: Any, loaded: Any, passes: list[int]
) -> None:
    """The container's toolkit cannot cancel a prediction: its caller has had SageMaker's
    timeout at 60 s, and the model would otherwise run on for every text left."""
    texts = [f"text number {index}" for index in range(300)]
    hurried = {**loaded, "tokens_per_batch": 1, "seconds_per_request": 0.2}

    with pytest.raises(TimeoutError) as stopped:
        handler.predict_fn({"inputs": texts}, hurried)

    done = re.fullmatch(
        r"stopped after 0.2 s, SageMaker's limit for an invocation, with (\d+) of 300 batches "
        r"done: send fewer texts a request",
        str(stopped.value),
    )
    assert done is not None, str(stopped.value)
    assert passes[0] == int(done[1]) < 300
    assert handler.predict_fn({"inputs": "next"}, loaded).shape == (384,)
