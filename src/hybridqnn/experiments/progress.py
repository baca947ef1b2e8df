"""Progress bars of a run: one :class:`Phase` per named phase (``SGD baseline (digits)``,
``QPH training``...), drawn by tqdm on stderr as

    SGD baseline (digits): epoch 7 of 20 |#####       | 00:02, ETA 00:04

A phase is a library progress callback (:data:`hybridqnn.train.progress.Progress`): pass it as
``progress=`` to a fit and it moves to step k of n; or call :meth:`Phase.advance` after each
step of the experiment's own loop. Phases nest: an outer phase over an experiment's settings
stays on the first line while each fit's phase runs under it. A finished bar is cleared
(``leave=False``), so nothing is left on the terminal and nothing is ever written to stdout.

Bars are drawn only when the run asked for them (:class:`~hybridqnn.experiments.context.RunContext`
``progress``, off with ``--no-progress``) and stderr is a terminal. Otherwise (a run under
``nohup``, in a batch job, or with ``--no-progress``) a phase writes its step as an INFO log line
(shown with ``--verbose``) at most every ``log_every`` seconds, so a long run says where it is:

    hybridqnn: INFO: qph-qcgd (0-1, binary): QPH iteration 3 of 5, 21:04 elapsed, ETA 14:02

A phase that ends within ``log_every`` seconds writes nothing. The run's numbers and files are
the same either way.
"""

from __future__ import annotations

import logging
import sys
import time
from contextlib import AbstractContextManager, nullcontext
from types import TracebackType
from typing import Any, TextIO

from hybridqnn._checks import check_float

__all__ = ["BAR_FORMAT", "Phase", "logs_above_bars"]

logger = logging.getLogger(__name__)

#: The bar: the phase, step k of n of its unit, the time spent and the ETA.
BAR_FORMAT = "{desc}: {unit} {n_fmt} of {total_fmt} |{bar}| {elapsed}, ETA {remaining}"


class Phase:
    """A named phase of ``total`` steps of ``unit`` (``epoch``, ``iteration``, ``run``...).

    Args:
        name: What is running, e.g. ``"SGD baseline (digits)"``.
        total: Steps in the phase (>= 0); a fit's callback may change it (``progress(k, n)``).
        unit: The name of one step, shown as ``<unit> k of n``.
        enabled: Draw a bar (when ``file`` is a terminal).
        file: Where the bar goes (default: ``sys.stderr`` at creation).
        log_every: Without a bar, seconds between INFO log lines of the step (module docstring).
    """

    def __init__(
        self,
        name: str,
        total: int,
        unit: str = "step",
        *,
        enabled: bool = True,
        file: TextIO | None = None,
        log_every: float = 60.0,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"'name' must be a non-empty str, got {name!r}")
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise ValueError(f"'total' must be an integer >= 0, got {total!r}")
        self.name, self.total, self.unit = name, total, unit
        self.done = 0
        self._bar: Any = None
        self._log_every = check_float("log_every", log_every, 0.0)
        self._start = self._logged = time.monotonic()
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=total, desc=name, unit=unit, file=file if file is not None else sys.stderr,
                leave=False, disable=None, dynamic_ncols=True, bar_format=BAR_FORMAT,
            )
            if self._bar.disable:  # not a terminal: tqdm draws nothing
                self._bar = None

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
        elif logger.isEnabledFor(logging.INFO) and time.monotonic() - self._logged >= self._log_every:
            self._log()

    def _log(self) -> None:
        self._logged = now = time.monotonic()
        elapsed = now - self._start
        left = elapsed / self.done * (self.total - self.done) if 0 < self.done <= self.total else None
        from tqdm import tqdm  # its clock format, as on the bars

        logger.info(
            "%s: %s %d of %d, %s elapsed, ETA %s", self.name, self.unit, self.done, self.total,
            tqdm.format_interval(elapsed), "?" if left is None else tqdm.format_interval(left),
        )

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
