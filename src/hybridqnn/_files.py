"""Atomic file and directory writes shared by the whole package (run directories, reports,
saved and exported models).

A file is written to a temporary file in the target's directory, flushed to disk and moved into
place with ``os.replace``, so a reader sees the old file or the new one, never a half-written one.
A directory is built under a hidden sibling name (:func:`staging_dir`) and swapped into place in
one step (:func:`replace_directory`); :func:`clean_stale` repairs what a killed process left.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import re
import shutil
import stat
import tempfile
import time
from pathlib import Path

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "clean_stale",
    "clean_stale_in",
    "default_mode",
    "free_path",
    "is_stale",
    "replace_directory",
    "staging_dir",
]

logger = logging.getLogger(__name__)

#: ``.<target name>.<pending|old>-<host>-<pid>-<milliseconds>``: a sibling made by :func:`staging_dir`
#: (a directory being built) or by the fallback of :func:`replace_directory` (an old tree).
_SIBLING_RE = re.compile(
    r"^\.(?P<name>.+)\.(?P<kind>pending|old)-(?P<host>[A-Za-z0-9]+)-(?P<pid>\d+)-(?P<ms>\d+)$"
)
#: The owner at the end of such a name: ``-<host>-<pid>-<ms>`` (earlier versions: no host).
_OWNER_RE = re.compile(r"-(?:(?P<host>[A-Za-z0-9]+)-)?(?P<pid>\d+)-(?P<ms>\d+)$")


def _host() -> str:
    """This machine's name, letters and digits only (a process id means something only on the
    host that made it: runs from several hosts or containers may share one folder)."""
    import socket

    return re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:40] or "host"

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
#: errno values saying the exchange is not available here (old kernel or libc, a filesystem
#: without it); anything else is a real error.
_NO_EXCHANGE = {errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP}


def free_path(base: Path) -> Path:
    """``base`` if nothing exists there, else the first free ``base-2``, ``base-3``..."""
    path, i = base, 1
    while path.exists():
        i += 1
        path = base.with_name(f"{base.name}-{i}")
    return path


def default_mode(directory: bool = False) -> int:
    """The mode ``open``/``mkdir`` would give a new file (0o666) or directory (0o777) under the
    process umask; :func:`tempfile.mkstemp` and ``mkdtemp`` use 0o600/0o700 instead."""
    mask = os.umask(0)
    os.umask(mask)
    return (0o777 if directory else 0o666) & ~mask


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: temp file in the same directory, then replace."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, default_mode())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


# --------------------------------------------------------------------------- directories


def _hidden_sibling(target: Path, kind: str) -> Path:
    stamp = f"{_host()}-{os.getpid()}-{time.time_ns() // 1_000_000}"
    return target.parent / f".{target.name}.{kind}-{stamp}"


def staging_dir(target: str | os.PathLike[str]) -> Path:
    """Create and return an empty directory ``.<name>.pending-<host>-<pid>-<ms>`` beside ``target``
    (same parent, so the same filesystem: :func:`replace_directory` can rename it onto
    ``target``). The parent must exist."""
    target = Path(target)
    while True:
        path = _hidden_sibling(target, "pending")
        try:
            path.mkdir()  # mode 0o777 under the umask, like any new directory
        except FileExistsError:  # the same process asked twice in one millisecond
            time.sleep(0.001)
            continue
        return path


def _exchange(a: Path, b: Path) -> bool:
    """Swap the paths ``a`` and ``b`` atomically with Linux's ``renameat2(RENAME_EXCHANGE)``
    (kernel >= 3.15, glibc >= 2.28); False where that is not available."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):  # not Linux/glibc
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in _NO_EXCHANGE:
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def replace_directory(new: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Put the directory ``new`` at ``target`` in one step and delete what ``target`` held.

    A reader (or a process killed at any point) sees the old tree at ``target`` or the new one,
    never a mix:

    - ``target`` absent or an empty directory: one ``rename(2)``;
    - otherwise ``renameat2(new, target, RENAME_EXCHANGE)`` swaps the two trees atomically and
      the old one, now under ``new``'s name, is deleted;
    - where the exchange is unavailable: ``target -> .<name>.old-<host>-<pid>-<ms>``, then
      ``new -> target``. Between these two renames ``target`` is missing; if the process dies
      there, :func:`clean_stale` renames the old tree back.

    ``new`` and ``target`` must be on one filesystem (make ``new`` with :func:`staging_dir`).
    A concurrent call for the same ``target`` ends with one of the two trees there, whole.
    ``new`` takes the permission bits of an existing ``target`` directory (a group-shared one
    stays shared). An error leaves ``new`` whole at its path; once the new tree is in place, a
    failure to delete the old one is logged, not raised (:func:`clean_stale` deletes it later).
    """
    new, target = Path(new), Path(target)
    with contextlib.suppress(FileNotFoundError):  # keep the place's mode (a shared, setgid dir)
        mode = os.stat(target).st_mode
        if stat.S_ISDIR(mode):
            os.chmod(new, stat.S_IMODE(mode))
    olds: list[Path] = []
    try:
        while True:
            try:
                os.rename(new, target)
                break
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
            if _exchange(new, target):
                olds.append(new)
                break
            old = _hidden_sibling(target, "old")
            with contextlib.suppress(FileNotFoundError):  # a concurrent call moved it: again
                os.rename(target, old)
                olds.append(old)
    except BaseException:
        if olds and not os.path.lexists(target):  # the fallback failed in its window: undo
            os.rename(olds[-1], target)
        raise
    for old in olds:
        try:
            shutil.rmtree(old)
        except OSError as exc:  # the new tree is in place: what is left is stale, not an error
            logger.warning("could not delete the replaced tree %s (%s)", old, exc)


def is_stale(path: str | os.PathLike[str]) -> bool:
    """True if ``path``'s name ends in ``-<host>-<pid>-<ms>`` (or an earlier version's
    ``-<pid>-<ms>``), ``host`` is this machine and no process ``pid`` is running (a directory
    left by a killed run). A live ``pid`` may be a concurrent run, and another host's process
    cannot be seen from here: neither is stale."""
    match = _OWNER_RE.search(Path(path).name)
    if match is None or match["host"] not in (None, _host()):
        return False
    pid = int(match["pid"])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process
        return False
    return False


def clean_stale(target: str | os.PathLike[str]) -> None:
    """Repair what killed processes left beside ``target`` (:func:`staging_dir`,
    :func:`replace_directory`): if ``target`` is missing and an ``.<name>.old-*`` tree survived
    the fallback's window, the newest is renamed back to ``target``; every other stale
    ``.<name>.pending-*`` or ``.<name>.old-*`` is deleted. Those of live processes are left
    alone (logged)."""
    target = Path(target)
    if not target.parent.is_dir():
        return
    stale: list[tuple[str, int, Path]] = []
    for path in target.parent.iterdir():
        match = _SIBLING_RE.match(path.name)
        if match is None or match["name"] != target.name:
            continue
        if not is_stale(path):
            logger.info("leaving %s: process %s on %s may still be running", path, match["pid"],
                        match["host"])
            continue
        stale.append((match["kind"], int(match["ms"]), path))
    olds = sorted((ms, path) for kind, ms, path in stale if kind == "old")
    if olds and not os.path.lexists(target):
        restored = olds[-1][1]
        try:
            os.rename(restored, target)
        except OSError as exc:  # a concurrent call restored it, or a run took the place
            if exc.errno not in (errno.ENOENT, errno.ENOTEMPTY, errno.EEXIST):
                raise
        else:
            logger.warning("restored %s from %s (a process was killed while replacing it)",
                           target, restored.name)
        stale = [s for s in stale if s[2] != restored]
    for _, _, path in stale:
        logger.info("deleting %s (left by a killed process)", path)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def clean_stale_in(folder: str | os.PathLike[str]) -> None:
    """:func:`clean_stale` for every target in ``folder`` that killed processes left hidden
    siblings of (runs with a new default name each time never come back to their own)."""
    folder = Path(folder)
    names = {m["name"] for p in folder.iterdir() if (m := _SIBLING_RE.match(p.name))} if folder.is_dir() else set()
    for name in sorted(names):
        clean_stale(folder / name)
