"""The handler's model archive: exactly code/inference.py, the same bytes every time."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

from components import model_archive
from container import INFERENCE_SCRIPT


def members(archive: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        return {member.name: member for member in tar.getmembers()}


def test_archive_holds_exactly_the_handler() -> None:
    archive = model_archive.build(INFERENCE_SCRIPT)

    found = members(archive)
    assert list(found) == ["code/inference.py"]
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        extracted = tar.extractfile("code/inference.py")
        assert extracted is not None
        assert extracted.read() == INFERENCE_SCRIPT.read_bytes()


def test_archive_carries_nothing_from_this_machine() -> None:
    archive = model_archive.build(INFERENCE_SCRIPT)

    member = members(archive)["code/inference.py"]
    assert (member.mtime, member.uid, member.gid, member.uname, member.gname) == (0, 0, 0, "", "")
    assert member.mode == 0o644
    # gzip header: no timestamp (bytes 4-8) and no file name flag (bit 3 of byte 3).
    assert archive[4:8] == b"\x00\x00\x00\x00"
    assert archive[3] & 0x08 == 0
    assert gzip.decompress(archive)[:17] == b"code/inference.py"


def test_same_code_same_bytes_and_key(tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere" / "inference.py"
    copy.parent.mkdir()
    copy.write_bytes(INFERENCE_SCRIPT.read_bytes())

    first, second = model_archive.build(INFERENCE_SCRIPT), model_archive.build(copy)

    assert first == second
    assert model_archive.object_key(first) == model_archive.object_key(second)


def test_changed_code_changes_the_key(tmp_path: Path) -> None:
    changed = tmp_path / "inference.py"
    changed.write_bytes(INFERENCE_SCRIPT.read_bytes() + b"\n# changed\n")

    original = model_archive.build(INFERENCE_SCRIPT)
    modified = model_archive.build(changed)

    assert model_archive.object_key(original) != model_archive.object_key(modified)
    assert model_archive.object_key(original).startswith("sentence-embeddings/")
    assert model_archive.object_key(original).endswith("/model.tar.gz")
