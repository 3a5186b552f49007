"""`serve --runtime tei`: the local endpoint answering as Text Embeddings Inference 1.8.2 does
(its routes, shapes, limits and error texts), with sentence-transformers' vectors, batching
concurrent callers into shared model passes. One real server on loopback for the contract, and
the container in-process where a test needs to see or hold its model thread."""

# ruff: noqa: E501  (the error table reads best one case per line)

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from container import tei as tei_settings
from embeddings import EmbeddingClient
from embeddings.cli import main
from embeddings.server.tei import TEI_CONTRACT, TeiContainer, length_groups
from embeddings.server.tei_json import EmbedRequest
from tests.conftest import model_path
from tests.embeddings.server.conftest import (
    ENDPOINT,
    ROOT,
    RunningServer,
    point_boto3_at,
    start_server,
)
from tests.embeddings.server.texts import VARIED_TEXTS
from tests.embeddings.vectors import cosine

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
DIMENSION = 384
HEAD = "The weather in Paris stayed sunny and warm all week long. " * 30
TAIL = "Quarterly revenue at the chip maker beat every analyst estimate. " * 30
"""Each about 360 tokens: a text of both, cut to 256 tokens, is one or the other."""


@pytest.fixture(scope="module")
def tei_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_server(
        tmp_path_factory.mktemp("tei"),
        "--runtime", "tei", "--endpoint-name", ENDPOINT, "--max-concurrency", "64",
    )  # fmt: skip
    yield server
    server.stop()


@pytest.fixture(scope="module")
def container() -> TeiContainer:
    """In-process, TEI's default limits."""
    return TeiContainer(model_path())


@pytest.fixture(scope="module")
def small() -> TeiContainer:
    """In-process, two permits, batches of at most four, no automatic truncation."""
    return TeiContainer(
        model_path(), max_concurrent_requests=2, max_client_batch_size=4, auto_truncate=False
    )


def post(
    server: RunningServer, payload: Any, content_type: str = JSON, path: str = "/invocations"
) -> requests.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return requests.post(
        server.url + path, data=body, headers={"Content-Type": content_type}, timeout=60
    )


def vectors(server: RunningServer, payload: Any) -> list[list[float]]:
    response = post(server, payload)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == JSON
    rows: list[list[float]] = response.json()
    return rows


def truth(model: Any, texts: list[str]) -> list[list[float]]:
    rows: list[list[float]] = model.encode(texts, normalize_embeddings=True).tolist()
    return rows


def norm(vector: list[float]) -> float:
    return math.sqrt(math.fsum(x * x for x in vector))


def error(error_type: str, message: str) -> bytes:
    """TEI's ErrorResponse as serde_json writes it."""
    answer = {"error": message, "error_type": error_type}
    return json.dumps(answer, separators=(",", ":"), ensure_ascii=False).encode()


def test_ping_and_other_routes_answer_as_axum(tei_endpoint: RunningServer) -> None:
    url = tei_endpoint.url
    ping = requests.get(url + "/ping", timeout=10)
    health = requests.get(url + "/health", timeout=10)
    posted_ping = requests.post(url + "/ping", timeout=10)
    got_invocations = requests.get(url + "/invocations", timeout=10)
    slash = requests.get(url + "/ping/", timeout=10)

    assert (ping.status_code, ping.content, ping.headers.get("content-type")) == (200, b"", None)
    assert (health.status_code, health.content) == (200, b"")
    assert (posted_ping.status_code, posted_ping.content) == (405, b"")
    assert posted_ping.headers["allow"] == "GET,HEAD"
    assert (got_invocations.status_code, got_invocations.headers["allow"]) == (405, "POST")
    assert (slash.status_code, slash.content, slash.headers.get("content-type")) == (404, b"", None)


def test_every_input_is_a_row_even_a_single_string(
    tei_endpoint: RunningServer, sentence_transformer: Any
) -> None:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(model_path()) / "tokenizer.json"))
    tokenizer.no_padding()  # tokenizer.json pads to 128
    ids = tokenizer.encode("vectorize me").ids

    single = vectors(tei_endpoint, {"inputs": "vectorize me"})
    batch = vectors(tei_endpoint, {"inputs": ["vectorize me", "Hi", "a"]})
    token_ids = vectors(tei_endpoint, {"inputs": ids})
    token_id_batch = vectors(tei_endpoint, {"inputs": [ids, ids]})
    embed_route = post(tei_endpoint, {"inputs": "vectorize me"}, path="/embed").json()

    assert (ids[0], ids[-1]) == (101, 102)  # [CLS] ... [SEP], decoded and re-encoded as such
    assert [len(row) for row in single] == [DIMENSION]
    assert [len(row) for row in batch] == [DIMENSION] * 3
    assert [len(row) for row in token_id_batch] == [DIMENSION] * 2
    expected = truth(sentence_transformer, ["vectorize me", "Hi", "a"])
    assert cosine(single[0], expected[0]) >= 0.9999
    assert min(cosine(v, t) for v, t in zip(batch, expected, strict=True)) >= 0.9999
    assert cosine(token_ids[0], single[0]) >= 0.99999
    assert cosine(embed_route[0], single[0]) >= 0.99999
    assert abs(norm(single[0]) - 1) < 1e-6


def test_vectors_equal_sentence_transformers_past_256_tokens_too(
    tei_endpoint: RunningServer, sentence_transformer: Any
) -> None:
    rows = vectors(tei_endpoint, {"inputs": VARIED_TEXTS})

    expected = truth(sentence_transformer, VARIED_TEXTS)
    similarities = [cosine(v, t) for v, t in zip(rows, expected, strict=True)]
    assert min(similarities) >= 0.9999, list(zip(VARIED_TEXTS, similarities, strict=True))
    lengths = [len(ids) for ids in sentence_transformer.tokenizer(VARIED_TEXTS)["input_ids"]]
    assert max(lengths) > 512  # so truncation to 256 tokens was needed, and matched


def test_the_embedding_client_reads_tei_answers(
    tei_endpoint: RunningServer,
    monkeypatch: pytest.MonkeyPatch,
    isolated_aws: Path,
    sentence_transformer: Any,
) -> None:
    point_boto3_at(tei_endpoint, monkeypatch)
    client = EmbeddingClient()

    one = client.embed_one("vectorize me")
    several = client.embed(VARIED_TEXTS[:6])

    assert cosine(one, truth(sentence_transformer, ["vectorize me"])[0]) >= 0.9999
    expected = truth(sentence_transformer, VARIED_TEXTS[:6])
    assert min(cosine(v, t) for v, t in zip(several, expected, strict=True)) >= 0.9999


def test_normalize_false_is_the_plain_mean_of_the_token_vectors(
    tei_endpoint: RunningServer,
) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    text = "The central bank held interest rates steady."
    tokenizer = AutoTokenizer.from_pretrained(model_path())
    model = AutoModel.from_pretrained(model_path())
    with torch.inference_mode():
        encoded = tokenizer([text], return_tensors="pt")
        tokens = model(**encoded).last_hidden_state[0]
    mean = tokens.mean(dim=0).tolist()

    raw = vectors(tei_endpoint, {"inputs": text, "normalize": False})[0]
    default = vectors(tei_endpoint, {"inputs": text})[0]

    assert norm(raw) > 1.5  # not normalised: the model's Normalize module is not run
    assert abs(norm(raw) - norm(mean)) / norm(mean) < 1e-4
    assert cosine(raw, mean) >= 0.99999
    assert max(abs(d - r / norm(raw)) for d, r in zip(default, raw, strict=True)) < 1e-6


def test_dimensions_cut_the_vector_before_normalising(tei_endpoint: RunningServer) -> None:
    raw = vectors(tei_endpoint, {"inputs": "vectorize me", "normalize": False})[0]

    cut = vectors(tei_endpoint, {"inputs": "vectorize me", "dimensions": 3})[0]

    assert len(cut) == 3
    assert abs(norm(cut) - 1) < 1e-6
    expected = [x / norm(raw[:3]) for x in raw[:3]]
    assert max(abs(c - e) for c, e in zip(cut, expected, strict=True)) < 1e-6


def test_left_truncation_keeps_the_end_of_a_long_text(
    tei_endpoint: RunningServer, sentence_transformer: Any
) -> None:
    text = HEAD + TAIL

    right = vectors(tei_endpoint, {"inputs": text})[0]
    left = vectors(tei_endpoint, {"inputs": text, "truncation_direction": "Left"})[0]

    head, tail, whole = truth(sentence_transformer, [HEAD, TAIL, text])
    assert cosine(right, whole) >= 0.9999  # sentence-transformers cuts on the right too
    assert cosine(left, right) < 0.5
    assert cosine(left, tail) > 0.9 > cosine(left, head)


TOO_MANY = ["x"] * 33
REFUSALS: list[tuple[bytes, str, int, str, bytes]] = [
    (b'{"inputs":"x"}', "text/plain", 415, TEXT, b"Expected request with `Content-Type: application/json`"),
    (b'{"inputs":"x"}', "application/json ; charset=utf-8", 415, TEXT, b"Expected request with `Content-Type: application/json`"),
    (b'{"inputs":', JSON, 400, TEXT, b"Failed to parse the request body as JSON: inputs: EOF while parsing a value at line 1 column 10"),
    (b'{"text":"x"}', JSON, 422, TEXT, b"Failed to deserialize the JSON body into the target type: missing field `inputs` at line 1 column 12"),
    (b'{"inputs":5}', JSON, 422, TEXT, b"Failed to deserialize the JSON body into the target type: inputs: data did not match any variant of untagged enum Input at line 1 column 12"),
    (b'{"inputs":"x","truncation_direction":"left"}', JSON, 422, TEXT, b"Failed to deserialize the JSON body into the target type: truncation_direction: unknown variant `left`, expected `Left` or `Right` at line 1 column 43"),
    (b'{"inputs":"x","normalize":"no"}', JSON, 422, TEXT, b'Failed to deserialize the JSON body into the target type: normalize: invalid type: string "no", expected a boolean at line 1 column 30'),
    (b'{"inputs":"x","inputs":"y"}', JSON, 422, TEXT, b"Failed to deserialize the JSON body into the target type: duplicate field `inputs` at line 1 column 22"),
    (b'{"inputs":""}', JSON, 413, JSON, error("Validation", "Input validation error: `inputs` cannot be empty")),
    (b'{"inputs":[]}', JSON, 413, JSON, error("Validation", "Input validation error: `inputs` cannot be empty")),
    (b'{"inputs":["x",""]}', JSON, 413, JSON, error("Validation", "Input validation error: `inputs` cannot be empty")),
    (json.dumps({"inputs": TOO_MANY}).encode(), JSON, 413, JSON, error("Validation", "batch size 33 > maximum allowed batch size 32")),
    (json.dumps({"inputs": "word " * 300, "truncate": False}).encode(), JSON, 413, JSON, error("Validation", "Input validation error: `inputs` must have less than 256 tokens. Given: 302")),
    (json.dumps({"inputs": "a" * 64001, "truncate": False}).encode(), JSON, 413, JSON, error("Validation", "Input validation error: `inputs` must have less than 64000 characters. Given: 64001")),
    (b'{"inputs":"x","prompt_name":"query"}', JSON, 413, JSON, error("Validation", "Input validation error: `default-prompt-name` is set to `query` but no prompts were found in the Sentence Transformers configuration")),
    (b'{"inputs":"x","dimensions":0}', JSON, 413, JSON, error("Validation", "Input validation error: `dimensions` should be positive")),
    (b'{"inputs":"x","dimensions":385}', JSON, 413, JSON, error("Validation", "Input validation error: `dimensions` should be smaller than the maximum embedding dimension.")),
    (b'{"inputs":"' + b"x" * 2_000_000 + b'"}', JSON, 413, TEXT, b"Failed to buffer the request body: length limit exceeded"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "content_type", "status", "answer_type", "answer"),
    REFUSALS,
    ids=[f"{index}-{status}" for index, (_, _, status, _, _) in enumerate(REFUSALS)],
)
def test_each_refusal_is_teis(
    tei_endpoint: RunningServer,
    body: bytes,
    content_type: str,
    status: int,
    answer_type: str,
    answer: bytes,
) -> None:
    response = post(tei_endpoint, body, content_type)

    assert (response.status_code, response.headers["content-type"]) == (status, answer_type)
    assert response.content == answer


def test_thirty_two_texts_are_served_and_thirty_three_refused(
    tei_endpoint: RunningServer,
) -> None:
    texts = [f"note {index}" for index in range(33)]

    served = post(tei_endpoint, {"inputs": texts[:32]})
    refused = post(tei_endpoint, {"inputs": texts})

    assert served.status_code == 200
    assert len(served.json()) == 32
    assert refused.status_code == 413
    assert refused.json() == {
        "error": "batch size 33 > maximum allowed batch size 32",
        "error_type": "Validation",
    }


def invoke_endpoint(server: RunningServer, payload: Any) -> Any:
    runtime = boto3.client(
        "sagemaker-runtime",
        region_name="us-east-1",
        endpoint_url=server.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return runtime.invoke_endpoint(
        EndpointName=ENDPOINT, ContentType=JSON, Body=json.dumps(payload).encode()
    )


def test_invoke_endpoint_wraps_teis_errors_as_model_errors(tei_endpoint: RunningServer) -> None:
    served = json.loads(invoke_endpoint(tei_endpoint, {"inputs": "vectorize me"})["Body"].read())
    with pytest.raises(ClientError) as refused:
        invoke_endpoint(tei_endpoint, {"inputs": ""})

    assert [len(row) for row in served] == [DIMENSION]
    response: Any = refused.value.response
    assert response["Error"]["Code"] == "ModelError"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert response["OriginalStatusCode"] == 413
    assert response["OriginalMessage"] == (
        '{"error":"Input validation error: `inputs` cannot be empty","error_type":"Validation"}'
    )


def test_describe_model_reports_the_tei_containers_variables(
    tei_endpoint: RunningServer,
) -> None:
    sagemaker = boto3.client(
        "sagemaker",
        region_name="us-east-1",
        endpoint_url=tei_endpoint.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

    model = sagemaker.describe_model(ModelName=f"{ENDPOINT}-model")

    environment = model["PrimaryContainer"]["Environment"]
    assert environment == tei_settings.environment(model_path(), None)
    assert "HF_TASK" not in environment
    assert model["PrimaryContainer"]["Image"].endswith(
        f"/{tei_settings.CPU_REPOSITORY}:{tei_settings.DEFAULT_CPU_TAG}"
    )


def test_verify_passes_against_it(tei_endpoint: RunningServer, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AWS_ENDPOINT_URL": tei_endpoint.url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }

    result = subprocess.run(
        [sys.executable, "-m", "embeddings", "verify", "--endpoint", ENDPOINT,
         "--region", "us-east-1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "verified"
    assert lines[2] == (
        f"[ok] model {ENDPOINT}-model: HF_MODEL_ID={model_path()}, Text Embeddings Inference "
        f"({tei_settings.CPU_REPOSITORY}:{tei_settings.DEFAULT_CPU_TAG})"
    )
    assert "384-d vector (expected 384), norm 1.000000" in lines[3]


@pytest.mark.parametrize(
    ("option", "args"),
    [
        ("--sentence-embeddings", ["--sentence-embeddings"]),
        ("--task", ["--task", "feature-extraction"]),
    ],
)
def test_options_tei_has_no_use_for_are_refused_before_anything_loads(
    option: str, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()

    code = main(["serve", "--runtime", "tei", "--model", "/no/such/model", *args])

    assert code == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: --runtime tei and {option} do not go together: Text Embeddings Inference "
        "always returns one pooled vector per text and has no task"
    ]
    assert time.monotonic() - started < 5


def in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """`work(0)` ... `work(count - 1)`, all released at once, and their results in order."""
    results: list[Any] = [None] * count
    start = threading.Barrier(count)

    def run(index: int) -> None:
        start.wait()
        results[index] = work(index)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


def invoke(container: TeiContainer, payload: Any, abandoned: threading.Event | None = None) -> Any:
    return container.invoke(json.dumps(payload).encode(), JSON, None, abandoned)


def test_concurrent_callers_share_model_passes_and_each_gets_its_own_vector(
    container: TeiContainer, sentence_transformer: Any
) -> None:
    texts = [f"Headline {index}: {VARIED_TEXTS[index]}" for index in range(16)]
    passes, ran = container.stats.passes, container.stats.texts

    answers = in_threads(16, lambda index: invoke(container, {"inputs": texts[index]}))

    assert [answer.status for answer in answers] == [200] * 16
    assert container.stats.texts - ran == 16
    assert container.stats.passes - passes < 16
    assert max(list(container.stats.sizes)[passes:]) > 1
    expected = truth(sentence_transformer, texts)
    for answer, vector in zip(answers, expected, strict=True):
        assert cosine(json.loads(answer.body)[0], vector) >= 0.9999


def hold_the_model(container: TeiContainer, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """The model thread's next pass waits until the returned event is set."""
    release = threading.Event()
    forward = container._forward

    def held(batch: Any) -> Any:
        assert release.wait(30)
        return forward(batch)

    monkeypatch.setattr(container, "_forward", held)
    return release


def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.005)


def test_a_single_input_past_the_permits_is_overloaded_and_a_gone_caller_is_dropped(
    small: TeiContainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = hold_the_model(small, monkeypatch)
    texts_before = small.stats.texts
    answers: dict[str, Any] = {}
    first = threading.Thread(target=lambda: answers.update(a=invoke(small, {"inputs": "a"})))
    first.start()
    wait_for(lambda: small.busy)
    gone = threading.Event()
    second = threading.Thread(target=lambda: answers.update(b=invoke(small, {"inputs": "b"}, gone)))
    second.start()
    wait_for(lambda: small.waiting == 1)

    overloaded = invoke(small, {"inputs": "c"})
    gone.set()
    second.join(timeout=5)
    release.set()
    first.join(timeout=30)

    assert (overloaded.status, overloaded.body) == (429, error("Overloaded", "Model is overloaded"))
    assert answers["b"] is None  # its caller went away: answered nothing, computed never
    assert answers["a"].status == 200
    wait_for(lambda: small.waiting == 0 and not small.busy)
    assert small.stats.texts - texts_before == 1
    assert invoke(small, {"inputs": "d"}).status == 200  # every permit came back


def test_a_batch_larger_than_the_permits_waits_for_them_and_completes(
    small: TeiContainer,
) -> None:
    answer = invoke(small, {"inputs": ["one", "two", "three", "four"]})

    assert answer.status == 200
    assert len(json.loads(answer.body)) == 4


def test_truncation_follows_the_containers_setting_unless_the_request_says(
    small: TeiContainer,
) -> None:
    text = "word " * 300

    refused = invoke(small, {"inputs": text})
    cut = invoke(small, {"inputs": text, "truncate": True})

    assert (refused.status, refused.body) == (
        413,
        error(
            "Validation",
            "Input validation error: `inputs` must have less than 256 tokens. Given: 302",
        ),
    )
    assert cut.status == 200
    assert (invoke(small, {"inputs": ["a"] * 5}).status, small.max_client_batch_size) == (413, 4)


def test_an_empty_batch_is_teis_empty_error(container: TeiContainer) -> None:
    # serde reads `[]` as one empty input, so only a caller of `embed` can send this.
    answer = container.embed(EmbedRequest([], single=False))

    assert answer is not None
    assert (answer.status, answer.body) == (400, error("Empty", "`inputs` cannot be empty"))


def test_prompt_names_are_the_models_prompts(
    container: TeiContainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(container, "prompts", {"query": "query: ", "document": ""})

    prompted = invoke(container, {"inputs": "rates held", "prompt_name": "query"})
    written_out = invoke(container, {"inputs": "query: rates held"})
    unknown = invoke(container, {"inputs": "rates held", "prompt_name": "passage"})

    assert json.loads(prompted.body) == json.loads(written_out.body)
    assert (unknown.status, unknown.body) == (
        413,
        error(
            "Validation",
            "Input validation error: `default-prompt-name` is set to `passage` but it was not "
            'found in the Sentence Transformers prompts. Available prompts: ["query", "document"]',
        ),
    )


def test_a_batch_is_computed_in_groups_of_similar_length() -> None:
    # Padding the three short inputs to 240 tokens would cost far more than a second call.
    assert length_groups([30, 250, 28, 31, 240], overhead_tokens=64) == [[2, 0, 3], [4, 1]]
    assert length_groups([], overhead_tokens=64) == []


def test_a_model_tei_cannot_load_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text((Path(model_path()) / "config.json").read_text())

    result = subprocess.run(
        [sys.executable, "-m", "embeddings", "serve", "--runtime", "tei", "--model", str(tmp_path)],
        cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        f"error: model {tmp_path} cannot be loaded: tokenizer.json not found. "
        "text-embeddings-inference only supports fast tokenizers"
    ]


def test_stopping_answers_the_queue_at_once_and_lets_the_running_pass_finish(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stopping = TeiContainer(model_path())
    release = hold_the_model(stopping, monkeypatch)
    answers: dict[str, Any] = {}
    running = threading.Thread(target=lambda: answers.update(a=invoke(stopping, {"inputs": "a"})))
    running.start()
    wait_for(lambda: stopping.busy)
    queued = threading.Thread(target=lambda: answers.update(b=invoke(stopping, {"inputs": "b"})))
    queued.start()
    wait_for(lambda: stopping.waiting == 1)

    stopping.stop(grace_seconds=5)
    queued.join(timeout=2)
    after = invoke(stopping, {"inputs": "c"})
    release.set()
    running.join(timeout=30)

    assert not queued.is_alive()
    assert answers["b"] is None  # the local endpoint answers it TEI_CONTRACT.stopping
    assert after is None
    assert answers["a"].status == 200
    assert stopping.stop_deadline is not None
    assert (TEI_CONTRACT.stopping.status, TEI_CONTRACT.stopping.body) == (
        503,
        error("Unhealthy", "the local endpoint is stopping"),
    )


def test_token_ids_that_decode_to_nothing_are_refused_alone(container: TeiContainer) -> None:
    answers = in_threads(
        2,
        lambda index: invoke(container, {"inputs": [99999]} if index else {"inputs": "innocent"}),
    )

    assert answers[1].status == 413
    assert answers[1].body == error(
        "Validation", "Input validation error: `inputs` cannot be empty"
    )
    assert answers[0].status == 200


def test_a_failing_forward_call_fails_its_own_inputs_only(
    container: TeiContainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    forward = container._forward

    def fragile(batch: Any) -> Any:
        assert release.wait(30)
        if any(len(entry.ids) > 100 for entry in batch):
            raise RuntimeError("the long group broke")
        return forward(batch)

    monkeypatch.setattr(container, "_forward", fragile)
    long_text = " ".join(["word"] * 200)
    payloads = [{"inputs": "short one"}, {"inputs": long_text}, {"inputs": "short two"}]
    results: list[Any] = [None] * 3

    def call(index: int) -> None:
        results[index] = invoke(container, payloads[index])

    threads = [threading.Thread(target=call, args=(index,)) for index in range(3)]
    for thread in threads:
        thread.start()
    wait_for(lambda: container.busy or container.waiting >= 3)
    release.set()
    for thread in threads:
        thread.join(timeout=60)

    assert [result.status for result in results] == [200, 424, 200]
    assert results[1].body == error("Backend", "Backend error: the long group broke")


def test_an_input_over_the_whole_token_budget_runs_alone_instead_of_stalling() -> None:
    tight = TeiContainer(model_path(), max_batch_tokens=100)
    try:
        answers = in_threads(
            2,
            lambda index: invoke(tight, {"inputs": " ".join(["word"] * 200) if index else "short"}),
        )
    finally:
        tight.stop(0)

    assert [answer.status for answer in answers] == [200, 200]
