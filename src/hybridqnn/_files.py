"""Atomic file writes shared by the whole package (run reports, saved and exported models).

A file is written to a temporary file in the target's directory, flushed to disk and moved into
place with ``os.replace``, so a reader sees the old file or the new one, never a half-written one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text", "default_mode", "free_path"]


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
