"""`serve --runtime tei`: the local endpoint as Text Embeddings Inference 1.9.3 (its routes,
shapes, limits and statuses), with sentence-transformers' vectors, batching concurrent callers
into shared model passes. The session's TEI server for the contract; the container in-process
where a test must see or hold its model."""

from __future__ import annotations

import asyncio
import json
import math
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from container import tei as tei_settings
from embeddings import EmbeddingClient
from embeddings.cli import main
from embeddings.server.contract import Answer
from embeddings.server.tei import TeiContainer, length_groups
from tests.conftest import model_path
from tests.embeddings.server.conftest import (
    ENDPOINT,
    RunningServer,
    invoke_endpoint,
    point_boto3_at,
)
from tests.embeddings.server.texts import VARIED_TEXTS
from tests.embeddings.server.texts import truth as cached_truth
from tests.embeddings.vectors import cosine

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
HEAD = "The weather in Paris stayed sunny and warm all week long. " * 30
TAIL = "Quarterly revenue at the chip maker beat every analyst estimate. " * 30
"""Each about 360 tokens: a text of both, cut to 256 tokens, is one or the other."""


def post(
    server: RunningServer, payload: Any, content_type: str = JSON, path: str = "/invocations"
) -> requests.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": content_type}
    return requests.post(server.url + path, data=body, headers=headers, timeout=60)


def vectors(server: RunningServer, payload: Any) -> list[list[float]]:
    response = post(server, payload)
    assert (response.status_code, response.headers["content-type"]) == (200, JSON), response.text
    rows: list[list[float]] = response.json()
    return rows


def truth(model: Any, texts: list[str]) -> list[list[float]]:
    return cached_truth(model, texts)


def norm(vector: list[float]) -> float:
    return math.sqrt(math.fsum(x * x for x in vector))


def test_ping_health_and_other_routes_answer_as_teis_router(tei: RunningServer) -> None:
    asked = [("GET", "/ping"), ("GET", "/health"), ("POST", "/ping"), ("GET", "/invocations")]
    answers = {
        (method, path): requests.request(method, tei.url + path, timeout=10)
        for method, path in [*asked, ("GET", "/ping/")]
    }

    assert [(a.status_code, a.content) for a in answers.values()] == [
        (200, b""), (200, b""), (405, b""), (405, b""), (404, b""),
    ]  # fmt: skip
    assert answers["GET", "/invocations"].headers["allow"] == "POST"


def test_every_input_is_a_row_and_equals_sentence_transformers(
    tei: RunningServer, sentence_transformer: Any
) -> None:
    single = vectors(tei, {"inputs": "vectorize me"})
    batch = vectors(tei, {"inputs": VARIED_TEXTS})
    embed_route = post(tei, {"inputs": "vectorize me"}, path="/embed").json()

    assert [len(row) for row in single] == [384]
    assert [len(row) for row in batch] == [384] * len(VARIED_TEXTS)
    expected = truth(sentence_transformer, ["vectorize me", *VARIED_TEXTS])
    assert cosine(single[0], expected[0]) >= 0.9999
    similarities = [cosine(v, t) for v, t in zip(batch, expected[1:], strict=True)]
    assert min(similarities) >= 0.9999, list(zip(VARIED_TEXTS, similarities, strict=True))
    assert cosine(embed_route[0], single[0]) >= 0.99999
    assert abs(norm(single[0]) - 1) < 1e-6


def test_normalize_dimensions_and_truncation_direction(
    tei: RunningServer, sentence_transformer: Any
) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    text = "The central bank held interest rates steady."
    tokenizer = AutoTokenizer.from_pretrained(model_path())
    model = AutoModel.from_pretrained(model_path())
    with torch.inference_mode():
        tokens = model(**tokenizer([text], return_tensors="pt")).last_hidden_state[0]
    mean = tokens.mean(dim=0).tolist()

    raw = vectors(tei, {"inputs": text, "normalize": False})[0]
    cut = vectors(tei, {"inputs": text, "dimensions": 3})[0]
    right = vectors(tei, {"inputs": HEAD + TAIL})[0]
    left = vectors(tei, {"inputs": HEAD + TAIL, "truncation_direction": "Left"})[0]

    assert norm(raw) > 1.5  # the model's Normalize module is not run
    assert cosine(raw, mean) >= 0.99999
    assert abs(norm(raw) - norm(mean)) / norm(mean) < 1e-4
    assert max(abs(c - r / norm(raw[:3])) for c, r in zip(cut, raw[:3], strict=True)) < 1e-6
    head, tail, whole = truth(sentence_transformer, [HEAD, TAIL, HEAD + TAIL])
    assert cosine(right, whole) >= 0.9999  # sentence-transformers cuts on the right too
    assert cosine(left, tail) > 0.9 > cosine(left, head)


def tei_error(error_type: str, message: str) -> dict[str, str]:
    return {"error": message, "error_type": error_type}


# ruff: noqa: E501 (the refusals read best one a line)
REFUSALS: list[tuple[bytes, str, int, str, str]] = [
    (b'{"inputs":"x"}', "text/plain", 415, TEXT, "Content-Type: application/json"),
    (b'{"inputs":', JSON, 400, TEXT, "not JSON: EOF while parsing"),
    (b'{"text":"x"}', JSON, 422, TEXT, "`inputs` is missing"),
    (b'{"inputs":5}', JSON, 422, TEXT, "`inputs` must be a text or a list of texts"),
    (b'{"inputs":[101,102]}', JSON, 422, TEXT, "`inputs` must be a text or a list of texts"),
    (b'{"inputs":"x","prompt_name":"query"}', JSON, 422, TEXT, "`prompt_name` must be null (no prompts are served here)"),
    (b'{"inputs":"x","truncation_direction":"left"}', JSON, 422, TEXT, '`truncation_direction` must be "Left" or "Right"'),
    (b'{"inputs":"x","normalize":"no"}', JSON, 422, TEXT, "`normalize` must be true or false"),
    (b'["x"]', JSON, 422, TEXT, 'send {"inputs": "a text"}'),
    (b'{"inputs":""}', JSON, 400, JSON, "input 0 is empty"),
    (b'{"inputs":[]}', JSON, 400, JSON, "input 0 is empty"),
    (b'{"inputs":["x",""]}', JSON, 400, JSON, "input 1 is empty"),
    (json.dumps({"inputs": ["x"] * 33}).encode(), JSON, 422, JSON, "batch size 33 > maximum allowed batch size 32"),
    (json.dumps({"inputs": "word " * 300, "truncate": False}).encode(), JSON, 422, JSON, "input 0 has 302 tokens, over the model's 256"),
    (b'{"inputs":"x","dimensions":0}', JSON, 422, JSON, "`dimensions` must be from 1 to 384"),
    (b'{"inputs":"x","dimensions":385}', JSON, 422, JSON, "`dimensions` must be from 1 to 384"),
    (b'{"inputs":"' + b"x" * 2_000_000 + b'"}', JSON, 413, TEXT, "Failed to buffer the request body"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "content_type", "status", "answer_type", "text"),
    REFUSALS,
    ids=[f"{index}-{refusal[2]}" for index, refusal in enumerate(REFUSALS)],
)
def test_each_refusal_has_teis_status_and_body(
    tei: RunningServer, body: bytes, content_type: str, status: int, answer_type: str, text: str
) -> None:
    response = post(tei, body, content_type)

    assert (response.status_code, response.headers["content-type"]) == (status, answer_type)
    if answer_type == JSON:  # TEI 1.9's Empty (400) for an empty text, else Validation (422)
        assert response.json()["error_type"] == ("Empty" if status == 400 else "Validation")
        assert text in response.json()["error"]
    else:
        assert text in response.text
    assert len(vectors(tei, {"inputs": "still serving"})[0]) == 384


def test_invoke_endpoint_wraps_teis_errors_as_model_errors(tei: RunningServer) -> None:
    with pytest.raises(ClientError) as refused:
        invoke_endpoint(tei.url, {"inputs": ["x"] * 33})

    response: Any = refused.value.response
    assert (response["Error"]["Code"], response["OriginalStatusCode"]) == ("ModelError", 422)
    assert json.loads(response["OriginalMessage"]) == tei_error(
        "Validation", "batch size 33 > maximum allowed batch size 32"
    )


def test_invoke_endpoint_passes_bodies_over_teis_payload_limit_to_teis_refusal(
    tei: RunningServer,
) -> None:
    """Under SageMaker's 6 MB a body still meets TEI's own 2,000,000 bytes, as in the container."""
    with pytest.raises(ClientError) as refused:
        invoke_endpoint(tei.url, {"inputs": "x" * 2_000_000})

    response: Any = refused.value.response
    assert (response["Error"]["Code"], response["OriginalStatusCode"]) == ("ModelError", 413)
    assert "Failed to buffer the request body" in response["OriginalMessage"]


def test_the_client_reads_tei_and_learns_its_batch_limit(
    tei: RunningServer, monkeypatch: pytest.MonkeyPatch, sentence_transformer: Any
) -> None:
    point_boto3_at(tei, monkeypatch)
    texts = [f"Headline {index}: {VARIED_TEXTS[index % 5]}" for index in range(40)]
    client = EmbeddingClient()

    one = client.embed_one("vectorize me")
    several = client.embed(texts)

    assert cosine(one, truth(sentence_transformer, ["vectorize me"])[0]) >= 0.9999
    expected = truth(sentence_transformer, texts)
    assert min(cosine(v, t) for v, t in zip(several, expected, strict=True)) >= 0.9999
    assert client.max_texts_per_request == 32  # learned from TEI's 422 in a ModelError


def test_describe_model_and_verify_report_teis_image_and_variables(
    tei: RunningServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    point_boto3_at(tei, monkeypatch)
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")

    model = sagemaker.describe_model(ModelName=f"{ENDPOINT}-model")
    code = main(["verify", "--endpoint", ENDPOINT, "--region", "us-east-1"])

    assert model["PrimaryContainer"]["Environment"] == tei_settings.environment(model_path(), None)
    image = f"/{tei_settings.CPU_REPOSITORY}:{tei_settings.DEFAULT_CPU_TAG}"
    assert model["PrimaryContainer"]["Image"].endswith(image)
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines()[-1] == "verified"
    assert "Text Embeddings Inference" in out


# In process: the container itself, its model held where a test needs it held.


@pytest.fixture(scope="module")
def small() -> TeiContainer:
    """Two permits, batches of at most four, no automatic truncation."""
    return TeiContainer(
        model_path(), max_concurrent_requests=2, max_client_batch_size=4, auto_truncate=False
    )


@pytest.fixture(scope="module")
def container() -> TeiContainer:
    """TEI's default limits."""
    return TeiContainer(model_path())


def run(container: TeiContainer, payload: Any) -> Awaitable[Answer]:
    return container.invoke(json.dumps(payload).encode(), JSON, None)


def holding(container: TeiContainer, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """The model's next passes wait until the returned event is set."""
    release = threading.Event()
    forward = container._forward

    def held(batch: Any) -> Any:
        assert release.wait(30)
        return forward(batch)

    monkeypatch.setattr(container, "_forward", held)
    return release


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("timed out waiting")


def test_concurrent_callers_share_model_passes_and_each_gets_its_own_vector(
    container: TeiContainer, sentence_transformer: Any
) -> None:
    texts = [f"Headline {index}: {VARIED_TEXTS[index]}" for index in range(16)]
    passes, ran = container.counts

    async def scenario() -> list[Answer]:
        return await asyncio.gather(*(run(container, {"inputs": text}) for text in texts))

    answers = asyncio.run(scenario())

    assert [answer.status for answer in answers] == [200] * 16
    assert container.counts[1] - ran == 16
    assert container.counts[0] - passes < 16
    for answer, vector in zip(answers, truth(sentence_transformer, texts), strict=True):
        assert cosine(json.loads(answer.body)[0], vector) >= 0.9999


def test_past_the_permits_a_call_is_overloaded_and_a_gone_callers_input_never_runs(
    small: TeiContainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = holding(small, monkeypatch)
    ran = small.counts[1]

    async def scenario() -> tuple[Answer, Answer, Answer]:
        first = asyncio.ensure_future(run(small, {"inputs": "a"}))
        await until(lambda: small.busy)
        gone = asyncio.ensure_future(run(small, {"inputs": "b"}))
        await until(lambda: small.waiting == 1)
        overloaded = await run(small, {"inputs": "c"})
        gone.cancel()  # its caller went away
        await asyncio.sleep(0.05)
        release.set()
        return await first, overloaded, await run(small, {"inputs": "d"})

    first, overloaded, after = asyncio.run(scenario())

    assert overloaded.status == 429
    assert json.loads(overloaded.body) == tei_error("Overloaded", "Model is overloaded")
    assert (first.status, after.status) == (200, 200)  # every permit came back
    assert small.counts[1] - ran == 2  # "a" and "d": "b" was dropped unrun


def test_truncation_follows_the_containers_setting_and_batches_its_limits(
    small: TeiContainer,
) -> None:
    text = "word " * 300
    calls = [
        run(small, {"inputs": text}),
        run(small, {"inputs": text, "truncate": True}),
        run(small, {"inputs": ["a", "b"]}),
        run(small, {"inputs": ["a", "b", "c"]}),  # more inputs than permits: TEI 1.9's 429
        run(small, {"inputs": ["a"] * 5}),
    ]

    refused, cut, batch, overloaded, too_many = asyncio.run(_all(*calls))

    assert (refused.status, cut.status, batch.status) == (422, 200, 200)
    assert (len(json.loads(batch.body)), overloaded.status) == (2, 429)
    assert json.loads(too_many.body)["error"] == "batch size 5 > maximum allowed batch size 4"


async def _all(*calls: Awaitable[Answer]) -> list[Answer]:
    return [await call for call in calls]


def test_stopping_answers_the_queue_at_once_and_lets_the_running_pass_finish(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    small = TeiContainer(model_path())
    release = holding(small, monkeypatch)

    async def scenario() -> tuple[Answer, Answer, Answer]:
        running = asyncio.ensure_future(run(small, {"inputs": "a"}))
        await until(lambda: small.busy)
        queued = asyncio.ensure_future(run(small, {"inputs": "b"}))
        await until(lambda: small.waiting == 1)
        small.stop()
        await asyncio.wait_for(asyncio.shield(queued), 1)  # at once, not after the pass
        after = await run(small, {"inputs": "c"})
        release.set()
        return await running, await queued, after

    running, queued, after = asyncio.run(scenario())

    assert running.status == 200
    assert (queued.status, after.status) == (503, 503)
    assert json.loads(queued.body) == tei_error("Unhealthy", "the local endpoint is stopping")


def test_a_failing_forward_call_fails_its_own_inputs_only(
    container: TeiContainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    forward = container._forward

    def fragile(batch: Any) -> Any:
        if any(len(entry.ids) > 100 for entry in batch):
            raise RuntimeError("the long group broke")
        return forward(batch)

    monkeypatch.setattr(container, "_forward", fragile)
    payloads = [{"inputs": "short one"}, {"inputs": " ".join(["word"] * 200)}, {"inputs": "two"}]

    answers = asyncio.run(_gather(*(run(container, payload) for payload in payloads)))

    assert [answer.status for answer in answers] == [200, 424, 200]
    assert json.loads(answers[1].body) == tei_error("Backend", "RuntimeError: the long group broke")


async def _gather(*calls: Awaitable[Answer]) -> list[Answer]:
    return list(await asyncio.gather(*calls))


def test_an_input_over_the_whole_token_budget_runs_alone_instead_of_stalling(
    container: TeiContainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(container, "max_batch_tokens", 100)
    long_text = " ".join(["word"] * 200)

    calls = [run(container, {"inputs": long_text}), run(container, {"inputs": "short"})]
    answers = asyncio.run(_gather(*calls))

    assert [answer.status for answer in answers] == [200, 200]


def test_a_batch_is_computed_in_groups_of_similar_length() -> None:
    # Padding the three short inputs to 240 tokens would cost far more than a second call.
    assert length_groups([30, 250, 28, 31, 240], overhead=64) == [[2, 0, 3], [4, 1]]
    assert length_groups([]) == []


def test_a_model_tei_cannot_load_is_one_line(tmp_path: Path) -> None:
    from embeddings.errors import ConfigurationError
    from embeddings.server import ServeOptions, load

    (tmp_path / "config.json").write_text((Path(model_path()) / "config.json").read_text())

    with pytest.raises(ConfigurationError) as refused:
        load(ServeOptions(str(tmp_path), "", runtime="tei"))

    assert str(refused.value) == (
        f"model {tmp_path} cannot be loaded: no tokenizer.json: Text Embeddings Inference needs one"
    )


def test_options_tei_has_no_use_for_are_refused_before_anything_loads(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["serve", "--runtime", "tei", "--model", "/no/such/model", "--sentence-embeddings"])

    assert code == 1
    assert "--runtime tei and --sentence-embeddings do not go together" in capsys.readouterr().err
