"""The local endpoint answers the container contract as the real container did.

tests/fixtures/container_answers.json records what multi-model-server with the inference
toolkit (2.1.1, transformers 4.26, the default image's) answered to each kind of request, with
the stock handler and with container/inference.py: status, content type, an error's code and
type (and message), a JSON answer's nested shape and leading values, an array file's header and
size. Each request is sent again to `serve` in the same mode. Error messages are compared where
the code that raises them is the same on both sides: container/inference.py's. Two requests get
a different answer on purpose (LEFT_OUT).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.embeddings.server.conftest import RunningServer, http_request
from tests.fixtures.record_container_answers import compact, request_for

LEFT_OUT = {"csv with inputs header", "accept npy"}
"""The toolkit's CSV decoder and NumPy encoder, which the local endpoint does not serve: it
refuses them as the toolkit refuses any other type, naming JSON."""
RECORDING = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "container_answers.json").read_text()
)
ANSWERS: list[dict[str, Any]] = RECORDING["answers"]


def test_the_recording_is_the_real_containers_and_covers_35_kinds_of_request_a_mode() -> None:
    assert RECORDING["toolkit"] == "sagemaker-huggingface-inference-toolkit 2.1.1"
    assert RECORDING["transformers"] == "4.26.0"
    for mode in ("stock", "sentence-embeddings"):
        assert len({answer["name"] for answer in ANSWERS if answer["mode"] == mode}) >= 35


def close(actual: Any, expected: Any) -> bool:
    """The same shapes, and leading values within 2e-4 (transformers 4.26 against today's)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return actual.keys() == expected.keys() and all(
            close(actual[key], expected[key]) for key in expected
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return len(actual) == len(expected) and all(
            abs(a - e) <= 2e-4 for a, e in zip(actual, expected, strict=True)
        )
    return bool(actual == expected)


@pytest.mark.parametrize(
    "recorded", ANSWERS, ids=[f"{answer['mode']}: {answer['name']}" for answer in ANSWERS]
)
def test_answers_as_the_real_container(
    stock: RunningServer, pooled: RunningServer, recorded: dict[str, Any]
) -> None:
    server = stock if recorded["mode"] == "stock" else pooled
    method, path, headers, body = request_for(recorded["name"])

    status, answer_headers, raw = http_request(server.port, method, path, body or None, headers)

    answer = compact(status, answer_headers.get("content-type"), raw)
    if recorded["name"] in LEFT_OUT:
        assert (answer["status"], answer["error"]["type"]) == (400, "InternalServerException")
        assert "application/json" in answer["error"]["message"]
        return
    assert (answer["status"], answer["content_type"]) == (
        recorded["status"],
        recorded["content_type"],
    )
    if "error" in recorded:
        error, expected = answer["error"], recorded["error"]
        assert (error["code"], error["type"]) == (expected["code"], expected["type"])
        if recorded["mode"] == "sentence-embeddings" and path == "/invocations":
            assert error["message"] == expected["message"]
    elif "json" in recorded:
        assert close(answer["json"], recorded["json"]), json.dumps(recorded["json"])
    else:
        assert {key: answer.get(key) for key in ("npy", "body")} == {
            key: recorded.get(key) for key in ("npy", "body")
        }
