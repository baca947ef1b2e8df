"""Size limits that every data-file parser checks before it allocates.

A data file declares sizes (an IDX header's dimensions, a pickled array's shape, the largest
feature index of a LIBSVM file, the test indices of a Planetoid graph) and the parsers compare
each declared size with these limits *before* any memory is allocated for it; decompression
streams and stops at the declared size or at :attr:`DataLimits.max_file_bytes`, whichever
comes first. A file over a limit raises :class:`~hybridqnn.errors.InputFileError` naming the
file, the limit, its value and how to raise it.

**Limits a user can raise.** By default a data file may decompress to at most 4 GiB
(``max_file_bytes``), one decoded array may take at most 4 GiB (``max_array_bytes``), a file
may hold at most 50,000,000 rows or nodes (``max_rows``) and a LIBSVM file may use feature
indices up to 16,777,216 (``max_features``; 2^24). The real data sets are far below these
(CIFAR-10's training set is 150 MiB, PubMed has 19,717 nodes). To raise a limit for one call,
pass ``limits=DataLimits(max_array_bytes=16 * 2**30)`` to the parser; to raise it for a process,
set the environment variable ``HYBRIDQNN_MAX_FILE_BYTES``, ``HYBRIDQNN_MAX_ARRAY_BYTES``,
``HYBRIDQNN_MAX_ROWS`` or ``HYBRIDQNN_MAX_FEATURES`` to a positive integer (read at each call,
so nothing global is cached).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from hybridqnn._checks import check_int
from hybridqnn.errors import InputFileError

__all__ = ["DEFAULT_LIMITS", "DataLimits", "check_limit", "resolve_limits"]

_GIB = 2**30


@dataclass(frozen=True)
class DataLimits:
    """The limits a data-file parser enforces (see the module docstring for the defaults).

    Attributes:
        max_file_bytes: Most bytes a file may hold after decompression.
        max_array_bytes: Most bytes one decoded array (dense features, images) may take.
        max_rows: Most rows (samples, graph nodes, lines) one file may declare.
        max_features: Largest LIBSVM feature index (and so the widest feature matrix).
    """

    max_file_bytes: int = 4 * _GIB
    max_array_bytes: int = 4 * _GIB
    max_rows: int = 50_000_000
    max_features: int = 2**24

    def __post_init__(self) -> None:
        for field in fields(self):
            check_int(field.name, getattr(self, field.name), 1)


DEFAULT_LIMITS = DataLimits()
"""The documented defaults, before environment overrides."""

_ENV = {field.name: f"HYBRIDQNN_{field.name.upper()}" for field in fields(DataLimits)}


def resolve_limits(limits: DataLimits | None = None) -> DataLimits:
    """Return ``limits``, or the defaults with the ``HYBRIDQNN_MAX_*`` environment overrides.

    Raises:
        TypeError: If ``limits`` is not a :class:`DataLimits` or ``None``.
        ValueError: If an environment variable is not a positive integer.
    """
    if limits is not None:
        if not isinstance(limits, DataLimits):
            raise TypeError(f"'limits' must be a DataLimits or None, got {type(limits).__name__}")
        return limits
    values = {}
    for name, env in _ENV.items():
        text = os.environ.get(env, "").strip()
        if text:
            if not text.isdigit() or int(text) < 1:
                raise ValueError(f"{env!r} must be a positive integer, got {text!r}")
            values[name] = int(text)
    return DataLimits(**values) if values else DEFAULT_LIMITS


def check_limit(source: str, what: str, value: int, limits: DataLimits, name: str) -> None:
    """Raise :class:`InputFileError` if ``value`` (declared by ``source``) exceeds ``limits.name``.

    Args:
        source: The file, as named in the message.
        what: What the value measures, e.g. ``"the data size of shape (10, 10) in bytes"``.
        value: The declared size.
        limits: The limits in force.
        name: The :class:`DataLimits` field to compare with.
    """
    bound = getattr(limits, name)
    if value > bound:
        raise InputFileError(
            f"{source}: {what} is {value}, above the limit {name}={bound} "
            f"(raise it with limits=DataLimits({name}=...) or ${_ENV[name]})"
        )
