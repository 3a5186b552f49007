"""docs/client.md as written: its Python runs against a scripted endpoint, and every command in
it is one the command line accepts."""

from __future__ import annotations

import math
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from embeddings.cli import build_parser
from embeddings.retrying import RetryPolicy
from tests.embeddings.scripted import pooled, scripted_endpoint

DOC = (Path(__file__).resolve().parents[2] / "docs" / "client.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, flags=re.DOTALL)


def test_the_python_runs_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEFAULT_AWS_REGION", "eu-west-1")
    first, second = blocks("python")
    with scripted_endpoint(pooled) as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", endpoint.url)
        embedded: dict[str, Any] = {}
        exec(first, embedded)
        configured: dict[str, Any] = {}
        exec(second, configured)

    assert [len(vector) for vector in embedded["vectors"]] == [8, 8]
    assert all(math.isclose(math.fsum(x * x for x in v), 1.0) for v in embedded["vectors"])
    assert embedded["client"].concurrency == 4
    assert embedded["client"].retry_policy.deadline_seconds == 30
    assert isinstance(configured["client"].retry_policy, RetryPolicy)
    assert configured["client"].retry_policy.deadline_seconds == 300


def test_every_command_is_accepted_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    lines = [line.split("#")[0] for block in blocks("bash") for line in block.splitlines()]
    commands = [shlex.split(line)[3:] for line in lines if line.strip()]
    assert len(commands) == 5
    for argv in commands:
        if argv == ["--help"]:
            with pytest.raises(SystemExit) as exited:
                build_parser().parse_args(argv)
            assert exited.value.code == 0
        else:
            assert build_parser().parse_args(argv).command == argv[0]
