"""Atomic writes (hybridqnn._files): the target holds the old or the new content, never a part,
and no temporary file is left behind."""

from __future__ import annotations

import pytest

from hybridqnn._files import atomic_write_bytes, atomic_write_text


def test_write_and_replace(tmp_path) -> None:
    path = tmp_path / "a.bin"
    assert atomic_write_bytes(path, b"old") == path
    atomic_write_text(path, "néw")
    assert path.read_bytes() == "néw".encode()
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_failed_write_keeps_the_old_file(tmp_path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"old")
    with pytest.raises(TypeError):
        atomic_write_bytes(path, "not bytes")  # type: ignore[arg-type]
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_atomic_write_gives_the_umask_mode_not_mkstemps_0600(tmp_path) -> None:
    from hybridqnn._files import atomic_write_text, default_mode

    path = atomic_write_text(tmp_path / "r.json", "{}")
    assert (path.stat().st_mode & 0o777) == default_mode() != 0o600
