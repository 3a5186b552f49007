"""The local endpoint answers the container contract as the real container does.

tests/fixtures/container_answers.json holds what multi-model-server with the inference toolkit
(2.1.1, transformers 4.26, the default image's) answered to each kind of request, with the stock
handler and with container/inference.py: status, content type, the error body byte for
byte, and the vectors' shapes and leading values. Each is replayed against `serve`.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.embeddings.server.conftest import RunningServer, start_server
from tests.fixtures.record_container_answers import summary

RECORDING = json.loads(
    (Path(__file__).parents[2] / "fixtures" / "container_answers.json").read_text()
)
ANSWERS: list[dict[str, Any]] = RECORDING["answers"]
MODES = {"stock": (), "sentence-embeddings": ("--sentence-embeddings",)}


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, RunningServer]]:
    started = {
        mode: start_server(tmp_path_factory.mktemp(mode), *flags) for mode, flags in MODES.items()
    }
    yield started
    for server in started.values():
        server.stop()


def ask(server: RunningServer, recorded: dict[str, Any]) -> tuple[int, str | None, bytes]:
    connection = http.client.HTTPConnection(server.url.split("//")[1], timeout=120)
    if "path" in recorded:
        connection.request("GET", recorded["path"])
    else:
        headers = {"Content-Type": recorded["content_type"], "Accept": recorded["accept"]}
        connection.request(
            "POST",
            "/invocations",
            body=base64.b64decode(recorded["body_base64"]),
            headers={key: value for key, value in headers.items() if value is not None},
        )
    response = connection.getresponse()
    answer = response.status, response.getheader("Content-Type"), response.read()
    connection.close()
    return answer


def close(actual: Any, expected: Any) -> bool:
    """Equal shapes; leading values equal to 2e-4 (transformers 4.26 vs today's, same weights)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return actual.keys() == expected.keys() and all(
            close(actual[k], expected[k]) for k in expected
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return len(actual) == len(expected) and all(
            abs(a - e) <= 2e-4 for a, e in zip(actual, expected, strict=True)
        )
    return bool(actual == expected)


def test_the_recording_covers_at_least_30_kinds_of_request_in_both_modes() -> None:
    for mode in MODES:
        kinds = {answer["name"] for answer in ANSWERS if answer["mode"] == mode}
        assert len(kinds) >= 30, mode
    assert RECORDING["toolkit"] == "sagemaker-huggingface-inference-toolkit 2.1.1"
    assert RECORDING["transformers"] == "4.26.0"


@pytest.mark.parametrize(
    "recorded", ANSWERS, ids=[f"{answer['mode']}: {answer['name']}" for answer in ANSWERS]
)
def test_answers_as_the_real_container(
    servers: dict[str, RunningServer], recorded: dict[str, Any]
) -> None:
    expected = recorded["answer"]

    status, content_type, body = ask(servers[recorded["mode"]], recorded)

    assert (status, content_type) == (expected["status"], expected["content_type"])
    if "body" in expected:
        # Object addresses in Python's messages differ from run to run.
        address = re.compile(r"0x[0-9a-f]+")
        assert address.sub("0x?", body.decode()) == address.sub("0x?", expected["body"])
    elif "json" in expected:
        assert close(summary(json.loads(body)), expected["json"]), json.dumps(expected["json"])
    else:  # NPY: the same array
        assert body[:10] == base64.b64decode(expected["body_base64"])[:10]
        assert len(body) == len(base64.b64decode(expected["body_base64"]))
