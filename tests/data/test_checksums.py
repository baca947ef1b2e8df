"""Checksum verification and the overridable checksum table."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hybridqnn.data import DataIntegrityError, checksums


def test_md5_and_sha256(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"hello")
    checksums.verify_file(path, hashlib.md5(b"hello").hexdigest())
    checksums.verify_file(path, hashlib.sha256(b"hello").hexdigest().upper())
    checksums.verify_file(path, None)


def test_mismatch_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"hello")
    with pytest.raises(DataIntegrityError, match="f.bin") as info:
        checksums.verify_file(path, "0" * 32)
    assert isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)


def test_bad_digest_length(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"x")
    with pytest.raises(ValueError, match="MD5"):
        checksums.verify_file(path, "abc")


def test_table_is_read_only_and_overridable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert checksums.expected_checksums("mnist")["train-images-idx3-ubyte.gz"] == (
        "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    )
    with pytest.raises(TypeError):
        checksums.CHECKSUMS["mnist"]["x"] = "y"  # type: ignore[index]
    monkeypatch.setattr(checksums, "CHECKSUMS", {"mnist": {"x": None}})
    assert dict(checksums.expected_checksums("mnist")) == {"x": None}
    assert dict(checksums.expected_checksums("unknown")) == {}


def test_real_files_match_the_table(shared_data: Path) -> None:
    for key in ("mnist", "fashion-mnist", "libsvm"):
        for name, digest in checksums.expected_checksums(key).items():
            checksums.verify_file(shared_data / key / name, digest)
