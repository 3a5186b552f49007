"""The `model.tar.gz` that carries the sentence-embedding handler to the container.

The archive holds `code/inference.py` and nothing else: the model itself still comes from the
Hub through HF_MODEL_ID. Its bytes depend only on the script's bytes (no timestamps, owners or
file names from this machine), so `pulumi up` sees no change until the code changes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path
from typing import Final

ARCHIVE_MEMBER: Final = "code/inference.py"


def build(script: Path) -> bytes:
    source = script.read_bytes()
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        member = tarfile.TarInfo(ARCHIVE_MEMBER)
        member.size = len(source)
        member.mtime = 0
        member.mode = 0o644
        member.uid = member.gid = 0
        member.uname = member.gname = ""
        archive.addfile(member, io.BytesIO(source))
    compressed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, mtime=0) as gz:
        gz.write(tar_bytes.getvalue())
    return compressed.getvalue()


PREFIX: Final = "sentence-embeddings/"
"""Where the archives lie in the component's bucket."""


def object_key(archive: bytes) -> str:
    """A key that changes with the content: a new key is a new model_data_url, which makes
    SageMaker build a new model with the new code instead of keeping the old one."""
    return f"{PREFIX}{hashlib.sha256(archive).hexdigest()[:16]}/model.tar.gz"
