"""SIGTERM and Ctrl-C stop the local endpoint as a container stops: requests in progress are
answered, waiting ones at once, the drain is bounded, the exit status is 0. The runner is the
real one (`serve`'s), around a scripted model that starts in a second; the real servers of the
session are stopped with SIGTERM too, and checked (conftest.real_servers)."""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from embeddings.server import wait_until_answering
from tests.embeddings.server.conftest import RunningServer, in_background, launch


def scripted_server(tmp_path: Path, *extra: str, port: int | None = None) -> RunningServer:
    server = launch(
        tmp_path / "serve.log", "tests.embeddings.server.scripted_serve", *extra, port=port
    )
    wait_until_answering(
        server.url.replace("127.0.0.1", "[::1]") if "::1" in extra else server.url, 30
    )
    return server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    running = scripted_server(tmp_path)
    yield running
    running.stop(signal.SIGKILL)


def test_sigterm_answers_waiting_calls_at_once_finishes_the_running_one_and_exits_0(
    server: RunningServer,
) -> None:
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(5)]
    running, running_answer = in_background(server.port, "running", sleep=1.5)
    time.sleep(0.3)
    waiting = [in_background(server.port, f"waiting-{index}") for index in range(2)]
    time.sleep(0.3)

    signalled = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    for thread, _ in waiting:
        thread.join(timeout=10)
    answered = time.monotonic() - signalled
    code = server.process.wait(timeout=30)
    running.join(timeout=10)

    assert answered < 0.5
    for _, answers in waiting:
        status, _, body = answers[0]
        assert (status, json.loads(body)["OriginalStatusCode"]) == (424, 503)
        assert "the local endpoint is stopping" in json.loads(body)["OriginalMessage"]
    assert running_answer[0][0] == 200
    assert code == 0
    for sock in idle:
        sock.settimeout(5)
        assert sock.recv(1) == b""  # closed by the server
        sock.close()
    log = server.log()
    assert log.rstrip().endswith("stopped on SIGTERM")
    assert "Traceback" not in log


def test_a_second_ctrl_c_stops_at_once_and_still_answers(server: RunningServer) -> None:
    running, answers = in_background(server.port, "running", sleep=10)
    time.sleep(0.3)

    started = time.monotonic()
    server.process.send_signal(signal.SIGINT)
    time.sleep(0.3)
    server.process.send_signal(signal.SIGINT)
    code = server.process.wait(timeout=10)
    running.join(timeout=10)

    assert code == 0
    assert time.monotonic() - started < 3
    status, _, body = answers[0]
    assert (status, json.loads(body)["OriginalStatusCode"]) == (424, 503)
    assert "abandoning the prediction in progress" in server.log()
    assert "Traceback" not in server.log()


def test_the_drain_is_bounded_and_what_outlives_it_is_answered(tmp_path: Path) -> None:
    server = scripted_server(tmp_path, "--drain", "1")
    running, answers = in_background(server.port, "running", sleep=10)
    time.sleep(0.3)

    started = time.monotonic()
    code = server.stop(signal.SIGTERM, timeout=10)
    running.join(timeout=10)

    assert code == 0
    assert 1 <= time.monotonic() - started < 4
    assert (answers[0][0], json.loads(answers[0][2])["OriginalStatusCode"]) == (424, 503)
    assert "Traceback" not in server.log()


def test_an_ipv6_address_is_served_and_named_as_boto3_needs_it(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET6) as probe:
        probe.bind(("::1", 0))
        port = probe.getsockname()[1]
    server = scripted_server(tmp_path, "--host", "::1", port=port)
    try:
        assert f"AWS_ENDPOINT_URL=http://[::1]:{port}" in server.log()
    finally:
        assert server.stop() == 0
