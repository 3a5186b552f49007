"""A real local endpoint (subprocess, real weights, offline) and the true embeddings."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from embeddings.server import wait_until_answering
from tests.conftest import model_path

ROOT = Path(__file__).resolve().parents[3]
ENDPOINT = "alex-embedding-endpoint"
START_SECONDS = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen[str]
    log_path: Path

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise

    def log(self) -> str:
        return self.log_path.read_text()


def start_server(tmp_dir: Path, *extra: str) -> RunningServer:
    port = free_port()
    log_path = tmp_dir / f"serve-{port}.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "embeddings", "serve",
                "--port", str(port), "--model", model_path(), *extra,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
        )  # fmt: skip
    server = RunningServer(f"http://127.0.0.1:{port}", process, log_path)
    try:
        wait_until_answering(server.url, START_SECONDS)
    except TimeoutError:
        server.stop(signal.SIGKILL)
        raise RuntimeError(f"the local endpoint did not start:\n{server.log()}") from None
    return server


@pytest.fixture(scope="module")
def local_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server per module, answering only ENDPOINT as SageMaker would, with room for the
    bursts the tests send (throttling is tested in test_overload.py)."""
    server = start_server(
        tmp_path_factory.mktemp("serve"), "--endpoint-name", ENDPOINT, "--max-concurrency", "64"
    )
    yield server
    server.stop()


def point_boto3_at(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> RunningServer:
    """boto3 in this process talks to `server` for sagemaker-runtime, in us-east-1."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", server.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return server


@pytest.fixture
def runtime_env(
    local_endpoint: RunningServer, monkeypatch: pytest.MonkeyPatch, isolated_aws: Path
) -> RunningServer:
    return point_boto3_at(local_endpoint, monkeypatch)
