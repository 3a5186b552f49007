"""`python -m embeddings` as a user runs it, against moto_server on a loopback port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.embeddings.moto_helpers import deploy, queue_results
from tests.embeddings.vectors import cosine

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
STARTUP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                requests.get(f"{url}/moto-api/", timeout=1).raise_for_status()
                break
            except requests.RequestException:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def deployed(moto_server: str) -> str:
    requests.post(f"{moto_server}/moto-api/reset", timeout=10).raise_for_status()
    deploy(REGION, endpoint_url=moto_server)
    return moto_server


def cli(moto_url: str, *argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "SAGEMAKER_", "DEFAULT_AWS_"))
    }
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_ENDPOINT_URL=moto_url,
        AWS_CONFIG_FILE=str(cwd / "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(cwd / "aws-credentials"),
        PYTHONPATH=str(ROOT),
    )
    return subprocess.run(
        [sys.executable, "-m", "embeddings", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_invoke_shipped_payload_prints_the_sentence_embedding(
    deployed: str, tmp_path: Path, token_level: list[Any], expected_embeddings: list[list[float]]
) -> None:
    queue_results([[token_level[0]]], REGION, moto_api=deployed)

    result = cli(
        deployed,
        "invoke",
        "--file",
        str(ROOT / "vectorize_me.json"),
        "--region",
        REGION,
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    vector = json.loads(result.stdout)
    assert len(vector) == 384
    assert cosine(vector, expected_embeddings[0]) >= 0.9999


def test_invoke_text_with_region_from_dotenv(
    deployed: str, tmp_path: Path, token_level: list[Any], expected_embeddings: list[list[float]]
) -> None:
    (tmp_path / ".env").write_text(
        f"SAGEMAKER_ENDPOINT=alex-embedding-endpoint\nDEFAULT_AWS_REGION={REGION}\n"
    )
    queue_results([[token_level[1]]], REGION, moto_api=deployed)

    result = cli(deployed, "invoke", "The quick brown fox jumps over the lazy dog.", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert cosine(json.loads(result.stdout), expected_embeddings[1]) >= 0.9999


def test_status_exits_zero_when_in_service(deployed: str, tmp_path: Path) -> None:
    result = cli(deployed, "status", "--region", REGION, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "status   InService" in result.stdout
    assert "endpoint alex-embedding-endpoint" in result.stdout


def test_missing_endpoint_is_one_line_naming_the_region(deployed: str, tmp_path: Path) -> None:
    result = cli(deployed, "status", "--region", "ap-south-1", cwd=tmp_path)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert "was not found in region ap-south-1" in result.stderr


def test_no_credentials_is_one_line(moto_server: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "embeddings", "status", "--region", REGION],
        cwd=tmp_path,
        env={
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT),
            "AWS_ENDPOINT_URL": moto_server,
            "AWS_CONFIG_FILE": str(tmp_path / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
            "AWS_EC2_METADATA_DISABLED": "true",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1
    assert result.stderr.startswith("error: no AWS credentials found")
    assert result.stderr.count("\n") == 1
