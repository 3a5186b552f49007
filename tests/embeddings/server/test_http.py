"""The local endpoint's HTTP under ordinary abuse: idle and slow clients, bursts, odd bodies,
oversized requests and answers, and stopping while clients are connected. Real server, loopback,
every wait bounded."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from embeddings.server.protocol import HEADER_TIMEOUT_SECONDS
from tests.embeddings.server.conftest import ENDPOINT, RunningServer, start_server

BURST_CLIENTS = 40
BURST_REQUESTS_EACH = 10
ONE_TEXT = json.dumps({"inputs": "a short sentence"}).encode()
NINE_MB_ANSWER = json.dumps({"inputs": ["word " * 60] * 20}).encode()
FIVE_MB_ANSWER = json.dumps({"inputs": ["word " * 60] * 10}).encode()


def port_of(server: RunningServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


def request(
    server: RunningServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 60,
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port_of(server), timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def invoke(
    server: RunningServer, body: bytes, timeout: float = 60
) -> tuple[int, dict[str, str], bytes]:
    return request(
        server,
        "POST",
        f"/endpoints/{ENDPOINT}/invocations",
        body,
        {"Content-Type": "application/json"},
        timeout,
    )


@pytest.fixture(scope="module")
def serverless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_server(tmp_path_factory.mktemp("serverless"), "--serverless")
    yield server
    server.stop()


def test_idle_connections_do_not_block_ping(local_endpoint: RunningServer) -> None:
    idle = [socket.create_connection(("127.0.0.1", port_of(local_endpoint))) for _ in range(16)]
    try:
        started = time.monotonic()
        status, _, body = request(local_endpoint, "GET", "/ping", timeout=5)
        assert (status, json.loads(body)) == (200, {"status": "Healthy"})
        assert time.monotonic() - started < 2
    finally:
        for sock in idle:
            sock.close()


def test_a_connection_that_sends_no_headers_is_closed(local_endpoint: RunningServer) -> None:
    with socket.create_connection(("127.0.0.1", port_of(local_endpoint))) as sock:
        sock.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        sock.settimeout(HEADER_TIMEOUT_SECONDS + 10)
        started = time.monotonic()
        assert sock.recv(1024) == b""  # closed by the server
        assert time.monotonic() - started < HEADER_TIMEOUT_SECONDS + 5


def test_a_burst_of_clients_gets_every_answer(local_endpoint: RunningServer) -> None:
    statuses: list[int | str] = []
    lock = threading.Lock()

    def client() -> None:
        for _ in range(BURST_REQUESTS_EACH):
            status: int | str
            try:
                status = invoke(local_endpoint, ONE_TEXT, timeout=120)[0]
            except OSError as error:
                status = type(error).__name__
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=client) for _ in range(BURST_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert len(statuses) == BURST_CLIENTS * BURST_REQUESTS_EACH
    assert set(statuses) == {200}


def test_a_chunked_body_is_read_like_any_other(local_endpoint: RunningServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port_of(local_endpoint), timeout=60)
    pieces = [b'{"inputs": ', b'"vectorize', b' me"}']
    connection.request(
        "POST",
        f"/endpoints/{ENDPOINT}/invocations",
        body=iter(pieces),
        headers={"Content-Type": "application/json"},
        encode_chunked=True,
    )
    response = connection.getresponse()

    assert response.status == 200
    assert len(json.loads(response.read())[0]) == 5  # [CLS] vectorize me [SEP]: 5 tokens
    connection.close()


@pytest.mark.parametrize("chunked", [False, True])
def test_an_oversized_request_is_refused_without_being_read(
    local_endpoint: RunningServer, chunked: bool
) -> None:
    body = b"x" * (6 * 1024 * 1024 + 1)
    connection = http.client.HTTPConnection("127.0.0.1", port_of(local_endpoint), timeout=60)
    connection.request(
        "POST",
        f"/endpoints/{ENDPOINT}/invocations",
        body=iter([body[: 1 << 20], body[1 << 20 :]]) if chunked else body,
        headers={"Content-Type": "application/json"},
        encode_chunked=chunked,
    )
    response = connection.getresponse()

    assert response.status == 413
    assert response.getheader("x-amzn-ErrorType") == "ValidationError"
    assert json.loads(response.read())["message"].endswith("has oversize body.")
    connection.close()
    assert invoke(local_endpoint, ONE_TEXT)[0] == 200


def test_the_container_refuses_a_body_over_its_frame_limit(local_endpoint: RunningServer) -> None:
    status, headers, body = request(local_endpoint, "POST", "/invocations", b"x" * 6_553_501)

    assert (status, body) == (413, b"")
    assert "content-type" not in {key.lower() for key in headers}


def test_an_answer_over_the_containers_limit_is_a_model_error(
    local_endpoint: RunningServer,
) -> None:
    status, headers, body = invoke(local_endpoint, NINE_MB_ANSWER, timeout=120)

    error = json.loads(body)
    assert status == 424
    assert {key.lower(): value for key, value in headers.items()}[
        "x-amzn-errortype"
    ] == "ModelError"
    assert error["OriginalStatusCode"] == 500
    assert '"message": "Worker died."' in error["OriginalMessage"]
    assert invoke(local_endpoint, ONE_TEXT)[0] == 200


def test_serverless_answers_are_limited_to_4_mb(
    serverless: RunningServer, local_endpoint: RunningServer
) -> None:
    realtime = invoke(local_endpoint, FIVE_MB_ANSWER, timeout=120)
    status, _, body = request(
        serverless,
        "POST",
        "/endpoints/any/invocations",
        FIVE_MB_ANSWER,
        {"Content-Type": "application/json"},
        timeout=120,
    )

    assert realtime[0] == 200
    assert 4 * 1024 * 1024 < len(realtime[2]) < 6 * 1024 * 1024
    assert status == 424
    assert "over InvokeEndpoint's 4 MB limit" in json.loads(body)["OriginalMessage"]


def test_every_request_gets_one_access_log_line(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        for path in ("/ping", "/nope", "/ping"):
            request(server, "GET", path)
    finally:
        server.stop()

    lines = [line for line in server.log().splitlines() if '"GET /' in line][-3:]
    assert [line.split('"')[1] for line in lines] == ["GET /ping", "GET /nope", "GET /ping"]
    assert [line.split('"')[2].split()[0] for line in lines] == ["200", "404", "200"]


def test_sigterm_finishes_accepted_requests_and_leaves_idle_clients(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    idle = [socket.create_connection(("127.0.0.1", port_of(server))) for _ in range(8)]
    answers: list[int] = []
    busy = threading.Thread(
        target=lambda: answers.append(invoke(server, NINE_MB_ANSWER, timeout=120)[0])
    )
    busy.start()
    time.sleep(1.0)  # the request is in the model

    started = time.monotonic()
    code = server.stop(signal.SIGTERM, timeout=60)
    busy.join(timeout=60)

    assert code == 0, server.log()
    assert time.monotonic() - started < 40
    assert answers == [424]  # answered (as too large), not dropped
    for sock in idle:
        sock.settimeout(5)
        assert sock.recv(1) == b""
        sock.close()
    assert "Traceback" not in server.log()
