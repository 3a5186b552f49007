"""`invoke` against a scripted endpoint on loopback: in process (concurrency, order, progress)
and as a user runs it, `python -m embeddings` in a process of its own (exit codes, Ctrl-C)."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from embeddings.cli import main
from embeddings.client import MAX_CONCURRENCY
from embeddings.retrying import RetryPolicy
from tests.embeddings.scripted import (
    Answer,
    hang,
    json_reply,
    ok,
    pooled,
    scripted_endpoint,
    service_error,
    vector_of,
)
from tests.embeddings.vectors import cosine

ROOT = Path(__file__).resolve().parents[2]


class Terminal(io.StringIO):
    """stderr as a terminal would be: isatty() is True."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Path, list[str]]:
    texts = [f"document number {i}" for i in range(1_200)]
    path = tmp_path / "corpus.json"
    path.write_text(json.dumps({"inputs": texts}))
    return path, texts


def slow(body: dict[str, Any]) -> Answer:
    time.sleep(0.1)
    return pooled(body)


@pytest.mark.parametrize("stderr", [Terminal(), io.StringIO()], ids=["terminal", "pipe"])
def test_concurrent_invoke_prints_every_vector_in_order_and_progress_only_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, corpus: tuple[Path, list[str]], stderr: io.StringIO
) -> None:
    path, texts = corpus
    monkeypatch.setattr("embeddings.progress.QUIET_SECONDS", 0.15)
    monkeypatch.setattr("sys.stderr", stderr)
    out = io.StringIO()
    with scripted_endpoint(slow) as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", endpoint.url)
        argv = ["invoke", "--endpoint", "x", "--region", "us-east-1", "--file", str(path)]
        code = main([*argv, "--concurrency", "2"], out=out)

    assert code == 0
    assert json.loads(out.getvalue()) == [pytest.approx(vector_of(text)) for text in texts]
    # The first request is sized for token-level output, until its answer shows pooled
    # vectors; then 256 texts a request, two at a time.
    first, *rest = [len(body["inputs"]) for body in endpoint.bodies]
    assert first < 256
    assert sorted(rest) == sorted([256] * 4 + [1_200 - first - 4 * 256])
    assert endpoint.most_in_flight == 2
    progress = stderr.getvalue()
    if isinstance(stderr, Terminal):
        assert progress.startswith("\rembedded ")
        assert "embedded 1,200/1,200 texts, " in progress
        assert progress.endswith("\n")
        assert progress.split("\r")[-1].rstrip().endswith(" texts/s")  # done: no time left
    else:
        assert progress == ""


@pytest.mark.parametrize("value", ["0", "-3", "201", "two", "1.5", ""])
def test_a_bad_concurrency_is_refused_naming_the_flag_and_what_is_allowed(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["invoke", "x", "--concurrency", value])

    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert f"argument --concurrency: {value!r} is not a whole number from 1 to 200" in error


def test_the_concurrency_ceiling_is_the_services() -> None:
    model = botocore.session.get_session().get_service_model("sagemaker")
    assert model.shape_for("ServerlessMaxConcurrency").metadata["max"] == MAX_CONCURRENCY


BOTH = "give either TEXT arguments or --file PATH, not both or neither"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--raw", "x", "--concurrency", "2"], "--concurrency is for embedding texts; --raw "
         "sends one request"),
        (["x", "--file", "payload.json"], BOTH),
        ([], BOTH),
    ],
)  # fmt: skip
def test_invoke_refuses_options_that_do_not_go_together(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["invoke", "--region", "us-east-1", *argv]) == 1
    assert capsys.readouterr().err == f"error: {message}\n"


def cli(
    *argv: str, cwd: Path, env: dict[str, str], close_stdout: bool = False
) -> subprocess.Popen[bytes]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAGEMAKER_"))}
    clean.update(PYTHONPATH=str(ROOT), AWS_CONFIG_FILE=str(cwd / "none"), **env)
    clean.update(AWS_SHARED_CREDENTIALS_FILE=str(cwd / "none"), AWS_EC2_METADATA_DISABLED="true")
    command = [sys.executable, "-m", "embeddings", *argv]
    if close_stdout:  # the shell starts it with no file descriptor 1 at all
        command = ["sh", "-c", 'exec "$@" >&-', "sh", *command]
    pipe = subprocess.PIPE
    return subprocess.Popen(command, cwd=cwd, env=clean, stdout=pipe, stderr=pipe)


CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def test_the_shipped_payload_prints_its_sentence_embedding_with_the_region_from_dotenv(
    tmp_path: Path, token_level: list[Any], expected_embeddings: list[list[float]]
) -> None:
    (tmp_path / ".env").write_text("SAGEMAKER_ENDPOINT=from-dotenv\nDEFAULT_AWS_REGION=eu-west-1\n")
    with scripted_endpoint(lambda _: ok([token_level[0]])) as endpoint:
        env = {"AWS_ENDPOINT_URL": endpoint.url, **CREDENTIALS}
        process = cli("invoke", "--file", str(ROOT / "vectorize_me.json"), cwd=tmp_path, env=env)
        stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 0, stderr
    assert json.loads((ROOT / "vectorize_me.json").read_text()) == {"inputs": "vectorize me"}
    assert endpoint.bodies[0]["inputs"] == ["vectorize me"]
    assert cosine(json.loads(stdout), expected_embeddings[0]) >= 0.9999


def test_no_credentials_is_one_line(tmp_path: Path) -> None:
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    process = cli("invoke", "x", "--region", "eu-west-1", cwd=tmp_path, env=env)
    stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 1
    assert stdout == b""
    assert stderr.startswith(b"error: no AWS credentials found")
    assert b"for a local endpoint any values do" in stderr
    assert stderr.count(b"\n") == 1


def test_no_region_names_every_variable_that_sets_one(tmp_path: Path) -> None:
    process = cli("invoke", "x", cwd=tmp_path, env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 1
    assert stderr.decode().endswith(
        "set DEFAULT_AWS_REGION (environment or .env), AWS_REGION or AWS_DEFAULT_REGION\n"
    )


def test_ctrl_c_during_a_concurrent_job_exits_at_once(
    corpus: tuple[Path, list[str]], tmp_path: Path
) -> None:
    """Four requests hung in flight: Ctrl-C ends the command in a moment, with 130, not when
    their read timeouts or deadlines run out."""
    path, _ = corpus
    with scripted_endpoint(hang(60)) as endpoint:
        env = {"AWS_ENDPOINT_URL": endpoint.url, **CREDENTIALS}
        argv = ("invoke", "--region", "us-east-1", "--file", str(path), "--concurrency", "4")
        process = cli(*argv, cwd=tmp_path, env=env)
        deadline = time.monotonic() + 30
        while endpoint.in_flight < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert endpoint.in_flight >= 1
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
        elapsed = time.monotonic() - started

    assert code == 130
    assert elapsed < 3
    assert b"Traceback" not in process.stderr.read()  # type: ignore[union-attr]


@pytest.mark.parametrize("stderr", [Terminal(), io.StringIO()], ids=["terminal", "pipe"])
def test_the_first_retry_of_each_kind_says_what_it_waits_for_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], stderr: io.StringIO
) -> None:
    """A cold start answers ModelNotReadyException for a while: one line says why it waits."""
    refusals = iter([service_error(429, "ModelNotReadyException", "Model is not ready")] * 3)
    monkeypatch.setattr("sys.stderr", stderr)
    with scripted_endpoint(lambda body: next(refusals, None) or pooled(body)) as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", endpoint.url)
        monkeypatch.setattr(
            "embeddings.cli.RetryPolicy", partial(RetryPolicy, base_delay_seconds=0.01)
        )
        code = main(["invoke", "--region", "us-east-1", "--endpoint", "cold", "cold"])

    assert code == 0
    assert json.loads(capsys.readouterr().out) == pytest.approx(vector_of("cold"))
    assert endpoint.requests == 4
    assert stderr.getvalue() == (
        f"\rwaiting for endpoint cold at {endpoint.url} (retrying until the 120 s deadline): "
        "ModelNotReadyException: Model is not ready\n"
        if isinstance(stderr, Terminal)
        else ""
    )


@pytest.mark.parametrize("reader", ["gone", "closed"])
def test_a_reader_that_left_or_a_closed_stdout_is_no_traceback(tmp_path: Path, reader: str) -> None:
    """`invoke ... | head -c 1` leaves no pipe to write to; `>&-` leaves no stdout at all."""
    with scripted_endpoint(pooled) as endpoint:
        env = {"AWS_ENDPOINT_URL": endpoint.url, **CREDENTIALS}
        argv = ("invoke", "--region", "us-east-1", "x")
        process = cli(*argv, cwd=tmp_path, env=env, close_stdout=reader == "closed")
        if reader == "gone":
            process.stdout.close()  # type: ignore[union-attr]
        code = process.wait(timeout=60)

    assert code == (141 if reader == "gone" else 0)
    assert process.stderr.read() == b""  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "argv", [["invoke", "hello"], ["status"], ["wait", "--delay", "1"], ["verify"]]
)
def test_nothing_listening_is_an_error_in_seconds_naming_the_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    """A local endpoint not started (or a typo in AWS_ENDPOINT_URL's port): every command says
    so within a few attempts, not after the 120 s deadline; invoke says first what it waits for,
    on a terminal."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    started = time.monotonic()
    code = main([*argv, "--region", "us-east-1"])

    assert time.monotonic() - started < 15
    assert code == 1
    refused = (
        f"could not connect to {url} (Failed to establish a new connection: [Errno 111] "
        "Connection refused): no local endpoint is listening there"
    )
    said = capsys.readouterr().out + terminal.getvalue()
    assert refused in said
    if argv[0] == "invoke":
        assert terminal.getvalue().startswith(
            f"\rwaiting for endpoint alex-embedding-endpoint at {url} (attempt 1 of 3): "
            "EndpointConnectionError: "
        )


@pytest.mark.parametrize("command", ["invoke", "status", "wait", "verify"])
def test_a_name_that_cannot_exist_is_refused_before_anything_is_sent(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    with scripted_endpoint(pooled) as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint.url)
        argv = [command, "--endpoint", "alex_embedding", "--region", "us-east-1"]
        code = main([*argv, "x"] if command == "invoke" else argv)

    assert code == 1
    assert capsys.readouterr().err == (
        "error: endpoint name 'alex_embedding' (14 characters) cannot exist: SageMaker allows up "
        "to 63 letters, digits and hyphens, starting and ending with a letter or digit\n"
    )
    assert endpoint.requests == 0


def test_verify_refuses_an_empty_text_before_anything_is_sent(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with scripted_endpoint(pooled) as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint.url)
        code = main(["verify", "--text", " ", "--region", "us-east-1"])

    assert code == 1
    assert "text 0 is empty or whitespace" in capsys.readouterr().err
    assert endpoint.requests == 0


def test_raw_sends_the_payload_as_given_and_prints_the_endpoints_bytes(tmp_path: Path) -> None:
    payload = b'{"text": "no inputs key",   "parameters": {}}'
    (tmp_path / "payload.json").write_bytes(payload)
    answer = '[[0.10000000149011612,  -0.2], "as the endpoint wrote it"]'
    with scripted_endpoint(lambda _: json_reply(answer)) as endpoint:
        env = {"AWS_ENDPOINT_URL": endpoint.url, **CREDENTIALS}
        process = cli("invoke", "--raw", "--file", "payload.json", "--region", "eu-west-1",
                      cwd=tmp_path, env=env)  # fmt: skip
        stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 0, stderr
    assert stdout == answer.encode()  # byte for byte: `> out.json` is the endpoint's answer
    assert endpoint.bodies == [{"text": "no inputs key", "parameters": {}}]
