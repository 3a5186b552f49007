"""Which of a model's files an archive carries, and how a Hub model or a local directory that
cannot be had is refused: one line that says what to do."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from huggingface_hub.errors import HfHubHTTPError

from components import model_files
from components.model_files import ModelSourceError, runtime_files
from tests.conftest import model_path
from tests.fake_hub import COMMIT, LISTING, NEEDED, NEEDED_HF, REPO, FakeHub, fake_hub

__all__ = ["fake_hub"]


def test_the_hub_repository_gives_one_weights_format_config_and_tokenizer() -> None:
    assert runtime_files(LISTING) == NEEDED_HF
    assert runtime_files(LISTING, tei=True) == NEEDED


def test_tei_needs_a_fast_tokenizer_and_every_model_a_tokenizer() -> None:
    with pytest.raises(ModelSourceError, match=r"^has no tokenizer\.json, which TEI needs"):
        runtime_files(["config.json", "model.safetensors", "vocab.txt"], tei=True)
    with pytest.raises(ModelSourceError, match=r"^has no tokenizer: none of "):
        runtime_files(["config.json", "model.safetensors"])


def test_pytorch_weights_where_there_are_no_safetensors() -> None:
    names = [n for n in LISTING if not n.endswith(".safetensors")]
    assert "pytorch_model.bin" in runtime_files(names)
    assert "openvino/openvino_model.bin" not in runtime_files(names)


def test_sharded_weights_come_with_their_index_and_module_weights_with_their_module() -> None:
    names = [
        "config.json", "tokenizer.json", "model.safetensors.index.json",
        "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
        "pytorch_model-00001-of-00002.bin", "2_Dense/config.json", "2_Dense/model.safetensors",
        "2_Dense/pytorch_model.bin", "onnx/model.safetensors", "code/inference.py",
    ]  # fmt: skip
    assert runtime_files(names, tei=True) == [
        "2_Dense/config.json", "2_Dense/model.safetensors", "config.json",
        "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
        "model.safetensors.index.json", "tokenizer.json",
    ]  # fmt: skip
    # A module's weights in the other format than the root's still come with it.
    dense_bin = ["config.json", "tokenizer.json", "model.safetensors", "2_Dense/config.json",
                 "2_Dense/pytorch_model.bin"]  # fmt: skip
    assert runtime_files(dense_bin, tei=True) == sorted(dense_bin)


@pytest.mark.parametrize(
    "names", [["config.json", "tokenizer.json"], ["config.json", "model.safetensors.index.json"],
              ["onnx/model.onnx", "tf_model.h5", "config.json"]],
)  # fmt: skip
def test_no_weights_is_refused(names: list[str]) -> None:
    with pytest.raises(ModelSourceError, match=r"^holds no weights: model\.safetensors or "):
        runtime_files(names)


def test_a_local_directory_gives_its_runtime_files() -> None:
    found = model_files.model_files(model_path(), None, None)

    assert list(found) == NEEDED
    assert found["model.safetensors"] == Path(model_path()) / "model.safetensors"


def test_a_local_directory_that_is_missing_or_has_no_weights(tmp_path: Path) -> None:
    with pytest.raises(ModelSourceError, match=r"^'.*/missing' is not a directory$"):
        model_files.model_files(str(tmp_path / "missing"), None, None)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelSourceError, match=r"^'/.*' holds no weights"):
        model_files.model_files(str(tmp_path), None, None)


def test_a_hub_model_downloads_only_what_it_needs_at_the_resolved_commit(
    fake_hub: FakeHub,
) -> None:
    found = model_files.model_files(REPO, "main", "hf_secret")

    assert list(found) == NEEDED_HF
    assert fake_hub.calls == [
        ("model_info", {"repo_id": REPO, "revision": "main"}),
        ("snapshot_download",
         {"repo_id": REPO, "revision": COMMIT, "allow_patterns": NEEDED_HF, "token": "hf_secret"}),
    ]  # fmt: skip
    assert found["vocab.txt"].read_bytes() == (Path(model_path()) / "vocab.txt").read_bytes()


def test_offline_takes_the_hub_cache_as_it_is(fake_hub: FakeHub) -> None:
    fake_hub.offline = True

    assert list(model_files.model_files(REPO, None, None)) == NEEDED
    assert fake_hub.calls[-1] == (
        "snapshot_download",
        {"repo_id": REPO, "revision": None, "token": None},
    )


@pytest.mark.parametrize(
    ("model_id", "revision", "gated", "setting", "message"),
    [
        ("someone/no-such-model", None, False, "model_id",
         "'someone/no-such-model' is not on the Hub, or is private: check the id, or set a "
         "token that may read it"),
        (REPO, "v9", False, "model_revision",
         f"'{REPO}' at revision 'v9': the model has no such branch, tag or commit"),
        (REPO, None, True, "model_id",
         f"'{REPO}' is gated: accept its terms on huggingface.co and set a token that may read it"),
    ],
)  # fmt: skip
def test_a_hub_model_that_cannot_be_had(
    fake_hub: FakeHub, model_id: str, revision: str | None, gated: bool, setting: str, message: str
) -> None:
    fake_hub.gated = gated
    with pytest.raises(ModelSourceError) as refused:
        model_files.model_files(model_id, revision, None)

    assert (refused.value.setting, str(refused.value)) == (setting, message)
    assert [call for call, _ in fake_hub.calls] == ["model_info"]  # nothing downloaded


def test_the_hub_unreachable_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    class Unreachable:
        def __init__(self, token: str | None = None) -> None: ...

        def model_info(self, repo_id: str, *, revision: str | None = None) -> None:
            raise ConnectionRefusedError(111, "Connection refused\nmore detail")

    monkeypatch.setattr(model_files, "HfApi", Unreachable)
    with pytest.raises(ModelSourceError) as refused:
        model_files.model_files(REPO, None, None)
    assert str(refused.value) == (
        f"'{REPO}' could not be downloaded (ConnectionRefusedError: [Errno 111] Connection "
        "refused); HF_HUB_OFFLINE=1 packs it from the Hub cache"
    )


def test_a_token_the_hub_refuses_names_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    class Refusing:
        def __init__(self, token: str | None = None) -> None: ...

        def model_info(self, repo_id: str, *, revision: str | None = None) -> None:
            response: Any = SimpleNamespace(headers={}, request=None, status_code=401)
            raise HfHubHTTPError("401 Unauthorized", response=response)

    monkeypatch.setattr(model_files, "HfApi", Refusing)
    with pytest.raises(ModelSourceError) as refused:
        model_files.model_files(REPO, None, "hf_wrong")
    assert (refused.value.setting, str(refused.value)) == (
        "hf_api_token",
        f"'{REPO}': the Hub refused the token",
    )
