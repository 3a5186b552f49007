"""The `model.tar.gz` SageMaker unpacks into /opt/ml/model: the handler's `code/inference.py`,
the model's own files (`model_source` archive), or both.

The same files make the same bytes: members in name order, with no timestamps, owners or
modes from this machine, and a gzip header without name or time. It is written once, streamed
file by file into the cache directory (never held in memory), and named after a digest of what
went in, so the next `pulumi preview` or `up` reuses it and its S3 key changes exactly when
its content does (a new key is a new model_data_url, so SageMaker builds a new model).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Final

PREFIX: Final = "sentence-embeddings/"
"""Where the archives lie in the component's bucket (named after their first use)."""
FORMAT: Final = "tar.gz/pax/level-6/v1"
"""Part of every digest: a change to how archives are written gives each a new key."""
CHUNK: Final = 1 << 20


def cache_dir() -> Path:
    """$XDG_CACHE_HOME/alex-sagemaker/model-archives, as the Hub cache sits in ~/.cache too."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "alex-sagemaker" / "model-archives"


def digest(members: Mapping[str, Path]) -> str:
    """Of the names and bytes that go in, and of the format."""
    summary = hashlib.sha256(FORMAT.encode())
    for name in sorted(members):
        content = hashlib.sha256()
        with members[name].open("rb") as source:
            while chunk := source.read(CHUNK):
                content.update(chunk)
        summary.update(f"{name}\0{content.hexdigest()}\0".encode())
    return summary.hexdigest()


def build(members: Mapping[str, Path], directory: Path | None = None) -> Path:
    """The archive of `members` (archive name: source file), built unless already cached."""
    directory = directory or cache_dir()
    path = directory / f"{digest(members)}.tar.gz"
    if path.is_file() and _whole(path):
        return path
    directory.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        with (
            partial.open("wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as packed,
            tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as archive,
        ):
            for name in sorted(members):
                member = tarfile.TarInfo(name)
                member.size = members[name].stat().st_size
                with members[name].open("rb") as source:
                    archive.addfile(member, source)
        with partial.open("rb") as written:
            os.fsync(written.fileno())
        partial.replace(path)  # whole or not at all, also when another build races this one
    finally:
        partial.unlink(missing_ok=True)  # interrupted: no partial file left behind
    return path


def _whole(archive: Path) -> bool:
    """Whether a cached archive reads to its end with gzip's checksum right (a truncated or
    damaged file is built again rather than uploaded)."""
    try:
        with gzip.open(archive) as packed:
            while packed.read(CHUNK):
                pass
    except (OSError, EOFError):
        return False
    return True


def object_key(archive: Path) -> str:
    """The archive's key: its digest (the cached file's name) under PREFIX."""
    return f"{PREFIX}{archive.name.removesuffix('.tar.gz')[:16]}/model.tar.gz"
