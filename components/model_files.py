"""The files of a model that the container needs, from the Hub or from a local directory.

An archive carries one weights format (safetensors where the model has it, else PyTorch's
`.bin`), the model's config, its tokenizer and the sentence-transformers module configs (the
pooling mode TEI reads): no ONNX or OpenVINO exports, no TensorFlow, Flax or Rust weights, no
README or training scripts, which would only make every cold start download more.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Final

from huggingface_hub import HfApi, snapshot_download
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

LOCAL_PREFIXES: Final = ("/", "./", "../", "~")
"""How `model_id` names a local directory rather than a Hub model."""

CONFIG_FILES: Final = frozenset({
    "config.json", "modules.json", "sentence_bert_config.json",
    "config_sentence_transformers.json", "tokenizer.json", "tokenizer_config.json",
    "special_tokens_map.json", "added_tokens.json", "vocab.txt", "vocab.json", "merges.txt",
    "spiece.model", "sentencepiece.bpe.model", "tokenizer.model",
})  # fmt: skip
"""Read by transformers, sentence-transformers or TEI to rebuild the model and its tokenizer."""
TOKENIZER_FILES: Final = frozenset({
    "tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model",
    "tokenizer.model",
})  # fmt: skip
WEIGHTS: Final = (
    re.compile(r"model(?:-[0-9]+-of-[0-9]+)?\.safetensors|model\.safetensors\.index\.json"),
    re.compile(r"pytorch_model(?:-[0-9]+-of-[0-9]+)?\.bin|pytorch_model\.bin\.index\.json"),
)
"""The weights formats, safetensors then PyTorch's, each with its shards and their index."""
_MODULE_DIR: Final = re.compile(r"[0-9]+_[A-Za-z][A-Za-z0-9_]*")
"""A sentence-transformers module folder (1_Pooling, 2_Dense): its config, its own weights."""


class ModelSourceError(ValueError):
    """The model cannot be had: the message says what is wrong and what to do, `setting` names
    the setting to fix."""

    def __init__(self, message: str, setting: str = "model_id") -> None:
        super().__init__(message)
        self.setting = setting


def is_local(model_id: str) -> bool:
    return model_id.startswith(LOCAL_PREFIXES)


def runtime_files(names: Iterable[str], tei: bool = False) -> list[str]:
    """The files to pack, of a model's relative file names, in order; one weights format a
    folder: safetensors first for TEI, PyTorch's `.bin` first for the HuggingFace image (whose
    transformers 4.26 reads safetensors only where that package is installed)."""
    names = sorted(set(names))
    formats = WEIGHTS if tei else WEIGHTS[::-1]

    def weights(folder: str) -> list[str]:
        inside = [n for n in names if n.rpartition("/")[0] == folder]
        for form in formats:
            found = [n for n in inside if form.fullmatch(n.rpartition("/")[2])]
            if any(not n.endswith(".json") for n in found):
                return found
        return []

    if not (chosen := weights("")):
        raise ModelSourceError("holds no weights: model.safetensors or pytorch_model.bin")
    if tei and "tokenizer.json" not in names:
        raise ModelSourceError("has no tokenizer.json, which TEI needs (a fast tokenizer)")
    if TOKENIZER_FILES.isdisjoint(names):
        raise ModelSourceError(f"has no tokenizer: none of {sorted(TOKENIZER_FILES)}")
    folders = {n.rpartition("/")[0] for n in names if _MODULE_DIR.fullmatch(n.rpartition("/")[0])}
    chosen += [f for folder in folders for f in [*weights(folder), f"{folder}/config.json"]]
    return sorted({n for n in names if n in CONFIG_FILES} | {n for n in chosen if n in names})


def local_files(directory: Path, tei: bool = False) -> dict[str, Path]:
    """The runtime's files of a model directory (a fine-tuned model), by archive name."""
    if not directory.is_dir():
        raise ModelSourceError("is not a directory")
    try:
        found = {
            p.relative_to(directory).as_posix(): p for p in directory.rglob("*") if p.is_file()
        }
    except OSError as error:
        raise ModelSourceError(f"cannot be read: {error}") from None
    return {name: found[name] for name in runtime_files(found, tei)}


def hub_files(
    model_id: str, revision: str | None, token: str | None, tei: bool = False
) -> dict[str, Path]:
    """The runtime's files of a Hub model, downloaded once into the Hub cache (with the Hub's
    progress bars), pinned to the commit `revision` resolves to; from the cache alone when
    HF_HUB_OFFLINE is set. A token unset leaves the Hub client's own (HF_TOKEN, `hf auth
    login`)."""
    at = f"{model_id!r}" + (f" at revision {revision!r}" if revision else "")
    try:
        try:
            info = HfApi(token=token).model_info(model_id, revision=revision)
            names: Collection[str] = runtime_files((s.rfilename for s in info.siblings or ()), tei)
            folder = snapshot_download(
                model_id, revision=info.sha, allow_patterns=list(names), token=token
            )
        except OfflineModeIsEnabled:
            folder = snapshot_download(model_id, revision=revision, token=token)
        return local_files(Path(folder), tei)
    except GatedRepoError:
        why = "is gated: accept its terms on huggingface.co and set a token that may read it"
    except RepositoryNotFoundError:
        why = "is not on the Hub, or is private: check the id, or set a token that may read it"
    except RevisionNotFoundError:
        raise ModelSourceError(f"{at}: the model has no such branch, tag or commit",
                               "model_revision") from None  # fmt: skip
    except LocalEntryNotFoundError:
        why = "is not in the Hub cache, which is all HF_HUB_OFFLINE allows: download it once"
    except ModelSourceError as error:
        why = str(error)
    except HfHubHTTPError as error:
        if error.response.status_code == 401:
            raise ModelSourceError(f"{at}: the Hub refused the token", "hf_api_token") from None
        why = _could_not(error)
    except Exception as error:  # the Hub client's network errors share no public base class
        why = _could_not(error)
    raise ModelSourceError(f"{at} {why}")


def _could_not(error: Exception) -> str:
    first = f"{type(error).__name__}: {error}".splitlines()[0]
    return f"could not be downloaded ({first}); HF_HUB_OFFLINE=1 packs it from the Hub cache"


def model_files(
    model_id: str, revision: str | None, token: str | None, tei: bool = False
) -> dict[str, Path]:
    """A model's runtime files, by archive name, from a local directory or the Hub."""
    if is_local(model_id):
        try:
            return local_files(Path(model_id).expanduser(), tei)
        except ModelSourceError as error:
            raise ModelSourceError(f"{model_id!r} {error}") from None
    return hub_files(model_id, revision, token, tei)
