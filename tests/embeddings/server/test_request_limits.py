"""Bounded work per request in every mode: the handler's limits of texts and tokens (the stock
mode's too), TEI's batch size; a prediction whose caller has been answered stops at its next
model pass. The session's real servers, and the handler's container in-process where a test
shortens the 60 s."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from container import INFERENCE_SCRIPT
from embeddings.server import ServeOptions, sagemaker
from embeddings.server.huggingface import HuggingFaceContainer, load_handler
from tests.conftest import model_path
from tests.embeddings.server.conftest import (
    ENDPOINT,
    RunningServer,
    http_request,
    invoke_endpoint,
    serving_in_thread,
    wait_for,
)
from tests.embeddings.server.texts import LONG_PARAGRAPH

TOO_MANY = "600000 texts in one request, over the endpoint's limit of 512"
TOO_LONG = "tokens in one request (each text cut at"
STOPPED = "prediction stopped: its caller has been answered (timed out, or gone)"


def rss_mb(server: RunningServer) -> float:
    """The server process's resident memory now."""
    kilobytes = subprocess.run(
        ["ps", "-o", "rss=", "-p", str(server.process.pid)], capture_output=True, check=True
    ).stdout
    return int(kilobytes) / 1024


def refusal(server: RunningServer, payload: Any) -> Any:
    with pytest.raises(ClientError) as refused:
        invoke_endpoint(server.url, payload)
    error: Any = refused.value.response
    assert error["Error"]["Code"] == "ModelError"
    return error


@pytest.mark.parametrize(
    ("mode", "inputs", "status", "message"),
    [
        ("stock", ["a"] * 600_000, 400, TOO_MANY),
        ("stock", ["word " * 300] * 300, 400, "90600 " + TOO_LONG + " 512), over"),
        ("pooled", ["a"] * 600_000, 400, TOO_MANY),
        ("pooled", ["word " * 300] * 300, 400, "76800 " + TOO_LONG + " 256), over"),
        ("tei", ["a"] * 300_000, 422, "batch size 300000 > maximum allowed batch size 32"),
    ],
)
def test_an_oversize_request_is_refused_at_once_and_the_next_is_served(
    real_servers: dict[str, RunningServer],
    request: pytest.FixtureRequest,
    mode: str,
    inputs: list[str],
    status: int,
    message: str,
) -> None:
    """Unbounded, 1,000 one-letter texts held the stock mode's model for 165 s and 50,000 took
    the handler's from 404 MB to 2,457 MB."""
    server: RunningServer = request.getfixturevalue(mode)
    before = rss_mb(server)
    started = time.monotonic()

    error = refusal(server, {"inputs": inputs})

    seconds, grown = time.monotonic() - started, rss_mb(server) - before
    assert error["OriginalStatusCode"] == status
    assert message in error["OriginalMessage"]
    assert (seconds < 10, grown < 150) == (True, True), (seconds, grown)
    started = time.monotonic()
    assert len(invoke_endpoint(server.url, {"inputs": ["next"]})) == 1
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("mode", "texts"),
    [
        ("stock", [f"{index} {LONG_PARAGRAPH * 2}" for index in range(500)]),  # 500 passes
        ("pooled", [f"{index} {LONG_PARAGRAPH * 8}" for index in range(256)]),  # 16 of 4,096
    ],
)
def test_a_prediction_whose_caller_left_stops_at_its_next_model_pass(
    request: pytest.FixtureRequest, mode: str, texts: list[str]
) -> None:
    """Each request takes 10 s or more here; the caller leaves after 1."""
    server: RunningServer = request.getfixturevalue(mode)
    stopped = server.log().count(STOPPED)
    body = json.dumps({"inputs": texts}).encode()
    with socket.create_connection(("127.0.0.1", server.port)) as gone:
        gone.sendall(
            f"POST /endpoints/{ENDPOINT}/invocations HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        time.sleep(1)

    wait_for(lambda: server.log().count(STOPPED) > stopped, seconds=30)  # not the whole run

    status, _, answer = http_request(
        server.port,
        "POST",
        "/invocations",
        b'{"inputs": "next"}',
        {"Content-Type": "application/json"},
    )
    assert (status, len(json.loads(answer)) > 0) == (200, True)


def test_a_prediction_past_the_invocation_timeout_stops_at_its_next_model_pass(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """In-process, the timeout at 0.5 s: the handler's container counts the passes."""
    caplog.set_level(logging.INFO, "embeddings.server")
    monkeypatch.setattr(sagemaker, "INVOCATION_TIMEOUT_SECONDS", 0.5)
    container = HuggingFaceContainer(
        load_handler("feature-extraction", INFERENCE_SCRIPT), model_path()
    )
    container.model["tokens_per_batch"] = 1  # a pass a text
    passes = [0]
    container.model["model"].register_forward_pre_hook(
        lambda *_: passes.__setitem__(0, passes[0] + 1)
    )
    texts = [f"text number {index}" for index in range(500)]
    options = ServeOptions("local", "feature-extraction")

    with serving_in_thread(options, container) as (_, port):
        body = json.dumps({"inputs": texts}).encode()
        status, _, answer = http_request(
            port, "POST", "/endpoints/x/invocations", body, {"Content-Type": "application/json"}
        )
        wait_for(lambda: not container.busy)
        ran = passes[0]
        after = http_request(
            port,
            "POST",
            "/invocations",
            b'{"inputs": "next"}',
            {"Content-Type": "application/json"},
        )

    assert (status, json.loads(answer)["OriginalStatusCode"]) == (424, 0)
    assert 0 < ran < 500
    assert passes[0] == ran + 1
    assert after[0] == 200
    assert STOPPED in caplog.text
