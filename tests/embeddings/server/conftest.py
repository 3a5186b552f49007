"""Local endpoints for the tests: real ones (subprocess, real weights, offline), one per mode for
the whole session and started together; and in-process ones around a scripted model, for the
front end's promises, where timings must be exact."""

from __future__ import annotations

import http.client
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import uvicorn

from embeddings.server import ServeOptions, wait_until_answering
from embeddings.server.app import build_app
from embeddings.server.huggingface import HuggingFaceContainer
from tests.conftest import model_path
from tests.embeddings.server.scripted_serve import ScriptedModel, scripted_container

ROOT = Path(__file__).resolve().parents[3]
ENDPOINT = "alex-embedding-endpoint"
START_SECONDS = 180.0
MODES: dict[str, tuple[str, ...]] = {
    "stock": ("--no-sentence-embeddings", "--endpoint-name", ENDPOINT, "--max-concurrency", "64"),
    "pooled": ("--sentence-embeddings", "--serverless", "--max-concurrency", "8"),
    "tei": ("--runtime", "tei", "--endpoint-name", ENDPOINT, "--max-concurrency", "64"),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise

    def log(self) -> str:
        return self.log_path.read_text()


def launch(
    log_path: Path,
    *command: str,
    port: int | None = None,
    python: Path | None = None,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
) -> RunningServer:
    """`python -m COMMAND... --port PORT`, its output to `log_path`: by default this venv's python
    in the checkout, offline."""
    port = port or free_port()
    env = env or {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    with log_path.open("wb") as log:
        command = (str(python or sys.executable), "-m", *command, "--port", str(port))
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    return RunningServer(f"http://127.0.0.1:{port}", process, log_path)


def answering(server: RunningServer) -> RunningServer:
    try:
        wait_until_answering(server.url, START_SECONDS)
    except TimeoutError:
        server.stop(signal.SIGKILL)
        raise RuntimeError(f"the local endpoint did not start:\n{server.log()}") from None
    return server


def start_server(tmp_dir: Path, *extra: str) -> RunningServer:
    log = tmp_dir / f"serve-{time.monotonic_ns()}.log"
    return answering(launch(log, "embeddings", "serve", "--model", model_path(), *extra))


@pytest.fixture(scope="session")
def real_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, RunningServer]]:
    """All three modes, launched at once on first use (loading the model is most of a test
    session's wait). Each must stop on SIGTERM with status 0 at the end."""
    folder = tmp_path_factory.mktemp("servers")
    servers = {
        mode: launch(folder / f"{mode}.log", "embeddings", "serve", "--model", model_path(), *args)
        for mode, args in MODES.items()
    }
    yield servers
    for server in servers.values():
        server.process.send_signal(signal.SIGTERM)
    for mode, server in servers.items():
        assert server.process.wait(timeout=60) == 0, server.log()
        assert server.log().rstrip().endswith("stopped on SIGTERM"), server.log()[-2000:]
        assert "Traceback" not in server.log(), mode


@pytest.fixture(scope="session")
def stock(real_servers: dict[str, RunningServer]) -> RunningServer:
    """The stock container's token vectors, answering only ENDPOINT."""
    return answering(real_servers["stock"])


@pytest.fixture(scope="session")
def pooled(real_servers: dict[str, RunningServer]) -> RunningServer:
    """`--sentence-embeddings --serverless`: container/inference.py, 4 MB limits."""
    return answering(real_servers["pooled"])


@pytest.fixture(scope="session")
def tei(real_servers: dict[str, RunningServer]) -> RunningServer:
    """`--runtime tei`, answering only ENDPOINT."""
    return answering(real_servers["tei"])


def point_boto3_at(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> RunningServer:
    """boto3 in this process talks to `server`, in us-east-1."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return server


def runtime(url: str) -> Any:
    return boto3.client(
        "sagemaker-runtime",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def invoke_endpoint(url: str, payload: Any, name: str = ENDPOINT, **options: Any) -> Any:
    """InvokeEndpoint through boto3; the answer's JSON."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    options.setdefault("ContentType", "application/json")
    answer = runtime(url).invoke_endpoint(EndpointName=name, Body=body, **options)
    return json.loads(answer["Body"].read())


def http_request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 60,
    chunks: list[bytes] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request on its own connection (its body `chunks`, if given, sent chunked): status,
    headers (lower-case names), body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        if chunks is not None:
            connection.request(method, path, iter(chunks), headers or {}, encode_chunked=True)
        else:
            connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        names = {key.lower(): value for key, value in response.getheaders()}
        return response.status, names, response.read()
    finally:
        connection.close()


def raw_exchange(port: int, data: bytes, wait: float = 30) -> bytes:
    """Send bytes as they are; read until the server closes or `wait` passes."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(data)
        sock.settimeout(wait)
        received, deadline = b"", time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                piece = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not piece:
                break
            received += piece
        return received


def wait_for(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.005)


INVOKE = "/endpoints/scripted/invocations"


def call(port: int, request_id: str, path: str = INVOKE, **script: Any) -> Any:
    """A scripted model's answer (see ScriptedModel), by InvokeEndpoint unless `path` says
    otherwise: status, headers, body."""
    body = json.dumps({"id": request_id, **script}).encode()
    return http_request(port, "POST", path, body, {"Content-Type": "application/json"})


def in_background(port: int, request_id: str, **options: Any) -> tuple[threading.Thread, list[Any]]:
    """`call` in a thread, and the list its answer will be put in."""
    answers: list[Any] = []
    thread = threading.Thread(target=lambda: answers.append(call(port, request_id, **options)))
    thread.start()
    return thread, answers


@dataclass
class Scripted:
    port: int
    container: HuggingFaceContainer
    model: ScriptedModel
    server: uvicorn.Server

    def invoke(self, request_id: str, **script: Any) -> Any:
        return call(self.port, request_id, **script)

    def in_background(self, request_id: str, **script: Any) -> tuple[threading.Thread, list[Any]]:
        return in_background(self.port, request_id, **script)


@contextmanager
def serving_in_thread(
    options: ServeOptions, container: Any
) -> Iterator[tuple[uvicorn.Server, int]]:
    """The app on uvicorn in a thread, as `serve` runs it (signals aside), stopped on leaving."""
    port = free_port()
    server: uvicorn.Server | None = None
    app = build_app(options, container, lambda: server is not None and server.should_exit)
    config = uvicorn.Config(app, port=port, log_config=None, timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server is not None and server.started)
    try:
        yield server, port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def server_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """What the in-process server logs (its INFO lines)."""
    caplog.set_level(logging.INFO, "embeddings.server")
    return caplog


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    """A realtime endpoint of max concurrency 2 around a scripted model."""
    model = ScriptedModel()
    container = scripted_container(model)
    options = ServeOptions("scripted", "none", max_concurrency=2)
    with serving_in_thread(options, container) as (server, port):
        yield Scripted(port, container, model, server)
