"""Atomic writes and directory swaps (hybridqnn._files): the target holds the old or the new
content, never a part, and no temporary file or directory is left behind."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridqnn import _files
from hybridqnn._files import (
    _host,
    atomic_write_bytes,
    atomic_write_text,
    clean_stale,
    clean_stale_in,
    is_stale,
    replace_directory,
    staging_dir,
)

HOST = _host()  # staging names carry the host: a pid means something only there


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


# --------------------------------------------------------------------------- directories

def _reaped() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _tree(root: Path) -> dict[str, bytes | None]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


def _write(root: Path, files: dict[str, bytes]) -> None:
    root.mkdir(exist_ok=True)
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


def _no_exchange(monkeypatch) -> None:
    monkeypatch.setattr(_files, "_exchange", lambda a, b: False)


def test_staging_dir_is_a_hidden_empty_sibling(tmp_path) -> None:
    target = tmp_path / "run"
    a, b = staging_dir(target), staging_dir(target)
    assert a != b and a.parent == b.parent == tmp_path
    assert a.name.startswith(f".run.pending-{HOST}-{os.getpid()}-") and list(a.iterdir()) == []
    assert (a.stat().st_mode & 0o777) == _files.default_mode(directory=True)
    assert not target.exists()


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "fallback"])
@pytest.mark.parametrize("state", ["absent", "empty", "full"])
def test_replace_directory(tmp_path, monkeypatch, exchange, state) -> None:
    if not exchange:
        _no_exchange(monkeypatch)
    target = tmp_path / "run"
    if state != "absent":
        target.mkdir()
    if state == "full":
        _write(target, {"old.txt": b"old", "models/m/w.bin": b"w", "report.json": b"{}"})
    new = staging_dir(target)
    _write(new, {"report.json": b'{"new": 1}', "models/n/w.bin": b"n"})
    expected = _tree(new)
    assert replace_directory(new, target) is None
    assert _tree(target) == expected
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging or old tree left


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "fallback"])
def test_replace_directory_keeps_the_targets_mode(tmp_path, monkeypatch, exchange) -> None:
    if not exchange:
        _no_exchange(monkeypatch)
    target = tmp_path / "run"
    _write(target, {"old.txt": b"old"})
    os.chmod(target, 0o2770)  # a group-shared directory
    new = staging_dir(target)
    _write(new, {"new.txt": b"new"})
    replace_directory(new, target)
    assert (target / "new.txt").is_file() and (target.stat().st_mode & 0o7777) == 0o2770


def test_exchange_swaps_or_says_unavailable(tmp_path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    _write(a, {"x": b"a"})
    _write(b, {"x": b"b"})
    if _files._exchange(a, b):
        assert (a / "x").read_bytes() == b"b" and (b / "x").read_bytes() == b"a"
        with pytest.raises(FileNotFoundError):  # a real error is raised, not "unavailable"
            _files._exchange(a, tmp_path / "missing")
    else:  # pragma: no cover - a kernel, libc or filesystem without RENAME_EXCHANGE
        assert (a / "x").read_bytes() == b"a"


def test_replace_directory_errors_leave_both_trees(tmp_path) -> None:
    target = tmp_path / "run"
    target.write_text("a file")
    new = staging_dir(target)
    with pytest.raises(NotADirectoryError):
        replace_directory(new, target)
    assert target.read_text() == "a file" and new.is_dir()


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "fallback"])
def test_an_undeletable_old_tree_is_logged_not_raised(tmp_path, monkeypatch, caplog, exchange) -> None:
    """Once the new tree is in place the replacement has happened: failing to delete the old
    one must not raise (a caller would think its tree was not placed)."""
    if not exchange:
        _no_exchange(monkeypatch)
    target = tmp_path / "run"
    _write(target, {"old.txt": b"old"})
    new = staging_dir(target)
    _write(new, {"new.txt": b"new"})

    def rmtree(path, *args, **kwargs):
        raise OSError(errno.EACCES, "denied", str(path))

    monkeypatch.setattr(_files.shutil, "rmtree", rmtree)
    with caplog.at_level("WARNING", logger="hybridqnn._files"):
        replace_directory(new, target)
    assert _tree(target) == {"new.txt": b"new"}
    assert "could not delete the replaced tree" in caplog.text


def test_fallback_failing_in_its_window_puts_the_old_tree_back(tmp_path, monkeypatch) -> None:
    _no_exchange(monkeypatch)
    target = tmp_path / "run"
    _write(target, {"old.txt": b"old"})
    new = staging_dir(target)
    real_rename, calls = os.rename, []

    def rename(src, dst):
        calls.append((src, dst))
        if len(calls) == 3:  # new -> target, after target -> .run.old-*
            raise OSError(errno.EACCES, "denied")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(PermissionError):
        replace_directory(new, target)
    assert _tree(target) == {"old.txt": b"old"} and new.is_dir()


def test_clean_stale_restores_the_newest_old_tree_and_deletes_the_rest(tmp_path) -> None:
    dead = _reaped()
    target = tmp_path / "run"
    _write(tmp_path / f".run.old-{HOST}-{dead}-100", {"r": b"older"})
    _write(tmp_path / f".run.old-{HOST}-{dead}-200", {"r": b"newest"})
    _write(tmp_path / f".run.pending-{HOST}-{dead}-300", {"r": b"half a run"})
    live = tmp_path / f".run.pending-{HOST}-{os.getpid()}-400"  # a run still going: left alone
    _write(live, {"r": b"live"})
    others = [tmp_path / f".other.pending-{HOST}-{dead}-1", tmp_path / ".run.pending-x", tmp_path / "keep"]
    for other in others:
        other.mkdir()
    clean_stale(target)
    assert (target / "r").read_bytes() == b"newest"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["run", live.name] + [o.name for o in others])
    clean_stale(target)  # target exists now: nothing more to restore
    assert (target / "r").read_bytes() == b"newest" and live.is_dir()


def test_clean_stale_racing_another_restore_is_not_an_error(tmp_path, monkeypatch) -> None:
    """Two runs starting together both see the target missing; the one whose rename finds the
    old tree gone (the other restored it) carries on."""
    dead = _reaped()
    target = tmp_path / "run"
    old = tmp_path / f".run.old-{HOST}-{dead}-1"
    _write(old, {"r": b"old"})
    real_rename = os.rename

    def rename(src, dst):
        real_rename(src, dst)  # the other run's restore, just before ours
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(src))

    monkeypatch.setattr(os, "rename", rename)
    clean_stale(target)
    assert (target / "r").read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["run"]


def test_clean_stale_deletes_old_trees_when_the_target_exists(tmp_path) -> None:
    dead = _reaped()
    target = tmp_path / "run"
    _write(target, {"r": b"current"})
    _write(tmp_path / f".run.old-{HOST}-{dead}-1", {"r": b"old"})
    clean_stale(target)
    assert [p.name for p in tmp_path.iterdir()] == ["run"] and (target / "r").read_bytes() == b"current"
    clean_stale(tmp_path / "missing" / "run")  # a missing parent is nothing to clean


def test_is_stale() -> None:
    assert is_stale(f".run.pending-{HOST}-{_reaped()}-5")
    assert not is_stale(f".run.pending-{HOST}-{os.getpid()}-5")
    assert not is_stale(".run.pending-x") and not is_stale("run")
    # another host's process cannot be seen from here: never stale, whatever its pid
    assert not is_stale(f".run.pending-{HOST}x-{_reaped()}-5")
    assert is_stale(f".pending-{_reaped()}-5")  # an earlier version's name, inside a run


def test_clean_stale_in_cleans_every_target_of_a_folder(tmp_path) -> None:
    """Default runs (runs/NAME-STAMP) never come back to their own name: a later default run
    cleans what killed ones left, except another host's."""
    dead = _reaped()
    _write(tmp_path / f".a-1.pending-{HOST}-{dead}-1", {"r": b"half"})
    _write(tmp_path / f".b-2.old-{HOST}-{dead}-2", {"r": b"whole old run"})
    foreign = tmp_path / f".c-3.pending-{HOST}x-{dead}-3"
    _write(foreign, {"r": b"another host's live run"})
    (tmp_path / "d-4").mkdir()
    clean_stale_in(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["b-2", "d-4", foreign.name])
    assert (tmp_path / "b-2" / "r").read_bytes() == b"whole old run"  # restored, not deleted
    clean_stale_in(tmp_path / "missing")  # nothing to clean


_TREES = st.dictionaries(
    st.sampled_from(["a", "b.txt", "m/w.bin", "m/n/x", "report.json"]), st.binary(max_size=8),
    max_size=4,
)


@settings(max_examples=40, deadline=None)
@given(old=st.none() | _TREES, new=_TREES, exchange=st.booleans())
def test_replace_directory_gives_the_new_tree_exactly(old, new, exchange) -> None:
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        if not exchange:
            _no_exchange(mp)
        target = Path(tmp) / "run"
        if old is not None:
            _write(target, old)
        stage = staging_dir(target)
        _write(stage, new)
        expected = _tree(stage)
        replace_directory(stage, target)
        assert _tree(target) == expected
        assert [p.name for p in Path(tmp).iterdir()] == ["run"]
