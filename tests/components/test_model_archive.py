"""The model archive: exactly the files given, the same bytes for the same files wherever they
lie, written once and found again by a digest of what went in."""

from __future__ import annotations

import gzip
import tarfile
from pathlib import Path

import pytest

from components import model_archive
from container import INFERENCE_SCRIPT


def contents(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


def two_files(folder: Path, weights: bytes = b"\x00\x01" * 5000) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "w.bin").write_bytes(weights)
    return {"model.safetensors": folder / "w.bin", "code/inference.py": INFERENCE_SCRIPT}


def test_holds_exactly_the_files_given_in_name_order(tmp_path: Path) -> None:
    archive = model_archive.build(two_files(tmp_path / "src"), tmp_path / "cache")

    with tarfile.open(archive, mode="r:gz") as tar:
        assert tar.getnames() == ["code/inference.py", "model.safetensors"]
    assert contents(archive) == {
        "code/inference.py": INFERENCE_SCRIPT.read_bytes(),
        "model.safetensors": b"\x00\x01" * 5000,
    }


def test_carries_nothing_from_this_machine(tmp_path: Path) -> None:
    archive = model_archive.build(two_files(tmp_path / "src"), tmp_path / "cache")

    with tarfile.open(archive, mode="r:gz") as tar:
        for member in tar.getmembers():
            assert (member.mtime, member.uid, member.gid, member.uname, member.gname) == (
                0, 0, 0, "", "")  # fmt: skip
            assert member.mode == 0o644
            assert member.pax_headers == {}
    raw = archive.read_bytes()
    # gzip header: no timestamp (bytes 4-8) and no file name flag (bit 3 of byte 3).
    assert raw[4:8] == b"\x00\x00\x00\x00"
    assert raw[3] & 0x08 == 0
    assert gzip.decompress(raw)[:17] == b"code/inference.py"


def test_same_files_elsewhere_same_bytes_and_key(tmp_path: Path) -> None:
    first = model_archive.build(two_files(tmp_path / "a"), tmp_path / "cache-a")
    second = model_archive.build(two_files(tmp_path / "b" / "deeper"), tmp_path / "cache-b")

    assert first.read_bytes() == second.read_bytes()
    assert model_archive.object_key(first) == model_archive.object_key(second)
    assert model_archive.object_key(first).startswith("sentence-embeddings/")
    assert model_archive.object_key(first).endswith("/model.tar.gz")


def test_a_changed_byte_changes_the_key(tmp_path: Path) -> None:
    original = model_archive.build(two_files(tmp_path / "a"), tmp_path / "cache")
    changed = model_archive.build(two_files(tmp_path / "b", b"\x00\x02" * 5000), tmp_path / "cache")

    assert model_archive.object_key(original) != model_archive.object_key(changed)
    assert original.read_bytes() != changed.read_bytes()


def test_built_once_then_found_in_the_cache(tmp_path: Path) -> None:
    members = two_files(tmp_path / "src")
    first = model_archive.build(members, tmp_path / "cache")
    written = first.stat().st_mtime_ns

    again = model_archive.build(members, tmp_path / "cache")

    assert again == first
    assert again.stat().st_mtime_ns == written  # not rewritten
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [first.name]  # no partial left


def test_cache_follows_xdg_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert model_archive.cache_dir() == tmp_path / "alex-sagemaker" / "model-archives"


def test_a_damaged_cached_archive_is_built_again(tmp_path: Path) -> None:
    members = two_files(tmp_path / "src")
    first = model_archive.build(members, tmp_path / "cache")
    whole = first.read_bytes()
    first.write_bytes(whole[: len(whole) // 2])  # as a crash mid-write or a full disk leaves it

    again = model_archive.build(members, tmp_path / "cache")

    assert again == first
    assert again.read_bytes() == whole
