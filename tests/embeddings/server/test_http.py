"""The local endpoint's HTTP under ordinary abuse: idle and slow clients, bursts, odd bodies,
oversized requests and answers, and stopping while clients are connected. Real server, loopback,
every wait bounded."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from embeddings.server import DRAIN_SECONDS, wait_until_answering
from embeddings.server.app import BODY_IDLE_SECONDS, CONTAINER_QUEUE
from embeddings.server.protocol import HEADER_TIMEOUT_SECONDS
from tests.conftest import model_path
from tests.embeddings.server.conftest import (
    ENDPOINT,
    ROOT,
    RunningServer,
    free_port,
    start_server,
)

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
def test_an_oversized_request_is_refused_and_the_connection_closed(
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
    request_id = response.getheader("x-amzn-RequestId")
    assert json.loads(response.read())["message"] == f"Request {request_id} has oversize body."
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


def raw_exchange(server: RunningServer, data: bytes, wait: float = 30) -> bytes:
    """Send bytes as they are and read until the server closes or `wait` passes."""
    with socket.create_connection(("127.0.0.1", port_of(server))) as sock:
        sock.sendall(data)
        sock.settimeout(wait)
        received = b""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                piece = sock.recv(65536)
            except TimeoutError:
                break
            if not piece:
                break
            received += piece
        return received


def test_a_body_that_stops_arriving_gets_a_408_and_the_connection_closed(
    local_endpoint: RunningServer,
) -> None:
    started = time.monotonic()
    answer = raw_exchange(
        local_endpoint,
        f"POST /endpoints/{ENDPOINT}/invocations HTTP/1.1\r\nHost: x\r\n"
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"inp'.encode(),
        wait=BODY_IDLE_SECONDS + 15,
    )

    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"x-amzn-errortype: requesttimeout" in answer.lower()
    assert BODY_IDLE_SECONDS - 1 < time.monotonic() - started < BODY_IDLE_SECONDS + 10
    assert invoke(local_endpoint, ONE_TEXT)[0] == 200


def test_a_client_that_leaves_mid_body_is_one_log_line(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        for path in ("/invocations", "/endpoints/x/invocations", "/"):
            with socket.create_connection(("127.0.0.1", port_of(server))) as sock:
                sock.sendall(
                    f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc".encode()
                )
                time.sleep(0.2)
        assert request(server, "GET", "/ping")[0] == 200
    finally:
        server.stop()

    log = server.log()
    assert "Traceback" not in log
    assert "ClientDisconnect" not in log
    gone = [line for line in log.splitlines() if '" 499 ' in line]
    assert len(gone) == 3


def test_a_body_declared_too_large_is_refused_before_it_is_sent(
    local_endpoint: RunningServer,
) -> None:
    """With Expect: 100-continue the client waits to be told to send: it is told no."""
    started = time.monotonic()
    answer = raw_exchange(
        local_endpoint,
        f"POST /endpoints/{ENDPOINT}/invocations HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/json\r\nContent-Length: 7000000\r\n"
        "Expect: 100-continue\r\n\r\n".encode(),
        wait=10,
    )

    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"100 Continue" not in answer
    assert time.monotonic() - started < 5


def test_an_unparsable_request_gets_the_containers_json_400(
    local_endpoint: RunningServer,
) -> None:
    answer = raw_exchange(
        local_endpoint,
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        wait=10,
    )

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert json.loads(body) == {
        "code": 400,
        "type": "BadRequestException",
        "message": "Invalid HTTP message.",
    }


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/ping/"), ("POST", "/ping"), ("DELETE", "/ping"), ("PUT", "/ping/")],
)
def test_ping_answers_any_method_with_or_without_a_trailing_slash(
    local_endpoint: RunningServer, method: str, path: str
) -> None:
    status, _, body = request(local_endpoint, method, path)
    assert (status, json.loads(body)) == (200, {"status": "Healthy"})


def test_invocations_answers_any_method_as_the_container_does(
    local_endpoint: RunningServer,
) -> None:
    headers = {"Content-Type": "application/json"}
    put = request(local_endpoint, "PUT", "/invocations/", ONE_TEXT, headers)
    get = request(local_endpoint, "GET", "/invocations")

    assert put[0] == 200
    assert len(json.loads(put[2])[0]) == 5
    assert get[0] == 400
    assert json.loads(get[2])["message"].startswith("Content type None is not supported")


def test_a_repeated_content_type_is_read_from_its_last_value(
    local_endpoint: RunningServer,
) -> None:
    answer = raw_exchange(
        local_endpoint,
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Type: text/csv\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(ONE_TEXT)).encode() + b"\r\n\r\n" + ONE_TEXT,
        wait=60,
    )

    assert answer.startswith(b"HTTP/1.1 200 ")


def test_sigterm_answers_waiting_requests_at_once(tmp_path: Path) -> None:
    """One prediction running and two waiting: the waiting two are answered as soon as the
    signal comes, the running one when it ends, and the process then exits with 0."""
    server = start_server(tmp_path, "--sentence-embeddings")
    answers: dict[str, tuple[int, float, bytes]] = {}
    heavy = json.dumps({"inputs": ["word " * 100] * 500}).encode()  # seconds of CPU

    def call(name: str) -> None:
        status, _, body = invoke(server, heavy if name == "running" else ONE_TEXT, timeout=120)
        answers[name] = (status, time.monotonic(), body)

    clients = [threading.Thread(target=call, args=(name,)) for name in ("running", "a", "b")]
    for client in clients:
        client.start()
        time.sleep(0.5)
    time.sleep(1.0)  # all three in: one running, two waiting
    signalled = time.monotonic()
    code = server.stop(signal.SIGTERM, timeout=DRAIN_SECONDS + 15)
    for client in clients:
        client.join(timeout=30)

    assert code == 0, server.log()
    for waiting in ("a", "b"):
        status, answered, body = answers[waiting]
        assert status == 424
        assert "the local endpoint is stopping" in json.loads(body)["OriginalMessage"]
        assert answered - signalled < 1
    assert answers["running"][1] > answers["a"][1]  # it went on to its end
    assert "Traceback" not in server.log()


def test_a_second_ctrl_c_stops_at_once_and_still_answers(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    answers: list[tuple[int, dict[str, str], bytes]] = []
    heavy = json.dumps({"inputs": ["word " * 200] * 40}).encode()
    client = threading.Thread(target=lambda: answers.append(invoke(server, heavy, timeout=60)))
    client.start()
    time.sleep(1.0)

    started = time.monotonic()
    server.process.send_signal(signal.SIGINT)
    time.sleep(0.3)
    code = server.stop(signal.SIGINT, timeout=30)
    client.join(timeout=30)

    assert code == 0
    assert time.monotonic() - started < 5
    status, headers, _ = answers[0]
    assert (status, headers["x-amzn-errortype"]) == (503, "ServiceUnavailable")
    assert "Traceback" not in server.log()


def test_few_file_descriptors_and_stalled_clients_still_leave_ping_answering(
    tmp_path: Path,
) -> None:
    """A soft limit of 256 open files (macOS's default) and 400 clients that send headers and
    one byte of body: the server takes the hard limit, refuses what its queue cannot hold,
    drops the stalled bodies after BODY_IDLE_SECONDS, and /ping answers throughout."""
    port = free_port()
    log = tmp_path / "serve.log"
    command = (
        f"ulimit -Sn 256 && exec {sys.executable} -m embeddings serve --port {port} "
        f'--model "{model_path()}"'
    )
    with log.open("w") as out:
        process = subprocess.Popen(
            ["bash", "-c", command],
            env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = RunningServer(f"http://127.0.0.1:{port}", process, log)  # type: ignore[arg-type]
    stalled: list[socket.socket] = []
    try:
        wait_until_answering(server.url, 120)
        for _ in range(400):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 99\r\n\r\n{")
            stalled.append(sock)
        started = time.monotonic()
        assert request(server, "GET", "/ping", timeout=10)[0] == 200
        assert time.monotonic() - started < 5
        time.sleep(BODY_IDLE_SECONDS + 2)
        statuses = []
        for sock in stalled:
            sock.settimeout(5)
            with contextlib.suppress(OSError):
                statuses.append(sock.recv(200)[:12])
        # The container's queue holds 100: those wait for their body, and time out; the rest
        # are refused at once.
        assert statuses.count(b"HTTP/1.1 408") == CONTAINER_QUEUE
        assert statuses.count(b"HTTP/1.1 503") == 400 - CONTAINER_QUEUE
    finally:
        for sock in stalled:
            sock.close()
        server.stop()
    text = log.read_text()
    assert "Traceback" not in text
    assert "out of system resource" not in text
