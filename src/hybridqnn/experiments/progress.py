"""Progress bars of a run: one :class:`Phase` per named phase (``SGD baseline (digits)``,
``QPH training``...), drawn by tqdm on stderr as

    SGD baseline (digits): epoch 7 of 20 |#####       | 00:02, ETA 00:04

A phase is a library progress callback (:data:`hybridqnn.train.progress.Progress`): pass it as
``progress=`` to a fit and it moves to step k of n; or call :meth:`Phase.advance` after each
step of the experiment's own loop. Phases nest: an outer phase over an experiment's settings
stays on the first line while each fit's phase runs under it. A finished bar is cleared
(``leave=False``), so nothing is left on the terminal and nothing is ever written to stdout.

Bars are drawn only when the run asked for them (:class:`~hybridqnn.experiments.context.RunContext`
``progress``, off with ``--no-progress``) and stderr is a terminal; otherwise a phase is a
no-op, and the run's numbers and files are the same either way.
"""

from __future__ import annotations

import logging
import sys
from contextlib import AbstractContextManager, nullcontext
from types import TracebackType
from typing import Any, TextIO

__all__ = ["BAR_FORMAT", "Phase", "logs_above_bars"]

#: The bar: the phase, step k of n of its unit, the time spent and the ETA.
BAR_FORMAT = "{desc}: {unit} {n_fmt} of {total_fmt} |{bar}| {elapsed}, ETA {remaining}"


class Phase:
    """A named phase of ``total`` steps of ``unit`` (``epoch``, ``iteration``, ``run``...).

    Args:
        name: What is running, e.g. ``"SGD baseline (digits)"``.
        total: Steps in the phase (>= 0); a fit's callback may change it (``progress(k, n)``).
        unit: The name of one step, shown as ``<unit> k of n``.
        enabled: Draw a bar (when ``file`` is a terminal); False: every call is a no-op.
        file: Where the bar goes (default: ``sys.stderr`` at creation).
    """

    def __init__(
        self, name: str, total: int, unit: str = "step", *, enabled: bool = True, file: TextIO | None = None
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"'name' must be a non-empty str, got {name!r}")
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise ValueError(f"'total' must be an integer >= 0, got {total!r}")
        self.name, self.total, self.unit = name, total, unit
        self.done = 0
        self._bar: Any = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=total, desc=name, unit=unit, file=file if file is not None else sys.stderr,
                leave=False, disable=None, dynamic_ncols=True, bar_format=BAR_FORMAT,
            )

    def __call__(self, k: int, n: int) -> None:
        """The library callback: step ``k`` of ``n`` is done."""
        if n != self.total:
            self.total = n
            if self._bar is not None:
                self._bar.total = n
        self._move(k - self.done)

    def advance(self, steps: int = 1) -> None:
        """``steps`` more steps are done."""
        self._move(steps)

    def _move(self, steps: int) -> None:
        self.done += steps
        if self._bar is not None:
            self._bar.update(steps)

    @property
    def closed(self) -> bool:
        """Whether the bar is gone (closed, or never drawn)."""
        return self._bar is None

    def close(self) -> None:
        """Clear the bar (idempotent)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Phase:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def logs_above_bars(enabled: bool) -> AbstractContextManager[Any]:
    """While bars may be drawn (``enabled``), the ``hybridqnn`` logger's console handlers write
    through tqdm, so a log line (``--verbose``, a warning) prints above the bars instead of
    through them."""
    if not enabled:
        return nullcontext()
    from tqdm.contrib.logging import logging_redirect_tqdm

    return logging_redirect_tqdm(loggers=[logging.getLogger("hybridqnn")])
