"""`invoke --file --concurrency N` against a scripted endpoint on loopback: the vectors in input
order, no more than N requests at once, and a progress line only when stderr is a terminal."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from embeddings.cli import main
from embeddings.client import MAX_CONCURRENCY
from tests.embeddings.scripted import Answer, hang, scripted_endpoint
from tests.embeddings.test_client_promises import pooled, vector_of

ROOT = Path(__file__).resolve().parents[2]


class Terminal(io.StringIO):
    """stderr as a terminal would be: isatty() is True."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def bulk_file(tmp_path: Path) -> tuple[Path, list[str]]:
    texts = [f"document number {i}" for i in range(1_200)]
    path = tmp_path / "corpus.json"
    path.write_text(json.dumps({"inputs": texts}))
    return path, texts


def invoke(
    url: str, monkeypatch: pytest.MonkeyPatch, stderr: io.StringIO, *argv: str
) -> tuple[int, str]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setattr("sys.stderr", stderr)
    out = io.StringIO()
    code = main(["invoke", "--endpoint", "scripted", "--region", "us-east-1", *argv], out=out)
    return code, out.getvalue()


def slow(body: dict[str, Any]) -> Answer:
    """Six requests take 2 s in all at concurrency 2: past QUIET_SECONDS before the last."""
    time.sleep(0.5)
    return pooled(body)


def test_concurrent_invoke_prints_every_vector_in_order_with_progress_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, bulk_file: tuple[Path, list[str]]
) -> None:
    path, texts = bulk_file
    stderr = Terminal()
    with scripted_endpoint(slow) as endpoint:
        code, out = invoke(
            endpoint.url, monkeypatch, stderr, "--file", str(path), "--concurrency", "2"
        )

    assert code == 0
    assert json.loads(out) == [pytest.approx(vector_of(text)) for text in texts]
    # The first request is sized for token-level output, until an answer shows pooled vectors;
    # then 256 texts a request.
    first, *rest = [len(body["inputs"]) for body in endpoint.bodies]
    assert first < 256
    assert sorted(rest) == sorted([256] * 4 + [1_200 - first - 4 * 256])
    assert endpoint.most_in_flight == 2
    progress = stderr.getvalue()
    assert progress.startswith("\rembedded ")
    assert "embedded 1,200/1,200 texts, " in progress
    assert " texts/s" in progress
    assert progress.endswith("\n")


def test_no_progress_when_stderr_is_not_a_terminal(
    monkeypatch: pytest.MonkeyPatch, bulk_file: tuple[Path, list[str]]
) -> None:
    path, texts = bulk_file
    stderr = io.StringIO()
    with scripted_endpoint(slow) as endpoint:
        code, out = invoke(endpoint.url, monkeypatch, stderr, "--file", str(path))

    assert code == 0
    assert len(json.loads(out)) == len(texts)
    assert endpoint.most_in_flight == 1
    assert stderr.getvalue() == ""


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


def test_ctrl_c_during_a_concurrent_job_exits_at_once(
    bulk_file: tuple[Path, list[str]], tmp_path: Path
) -> None:
    """Four requests hung in flight: Ctrl-C ends the command in a moment, with 130, not when
    their read timeouts or deadlines run out."""
    path, _ = bulk_file
    with scripted_endpoint(hang(60)) as endpoint:
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": endpoint.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "embeddings", "invoke", "--endpoint", "scripted",
             "--region", "us-east-1", "--file", str(path), "--concurrency", "4"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
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


def test_raw_with_concurrency_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["invoke", "--raw", "x", "--concurrency", "2", "--region", "us-east-1"]) == 1
    assert capsys.readouterr().err == (
        "error: --concurrency is for embedding texts; --raw sends one request\n"
    )
