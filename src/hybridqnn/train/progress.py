"""Progress callbacks: the one way a training function says how far it has got.

A progress callback is any callable ``progress(k, n)``: step ``k`` of ``n`` is done, with
``1 <= k <= n`` and ``k`` increasing by one per call. A step is the function's natural unit:

- :func:`~hybridqnn.train.fit_sgd_head`, :func:`~hybridqnn.train.fit_natural`,
  :func:`~hybridqnn.train.fit_qat`, :func:`~hybridqnn.train.train_gcn`: an epoch;
- :func:`~hybridqnn.train.fit_qubo_head`: an iteration (its C class QUBOs solved, the step
  accepted or rejected);
- :func:`~hybridqnn.train.fit_qcbo`, :func:`~hybridqnn.train.fit_greedy_moves`: a
  progressive-hedging (or line-search) iteration;
- :func:`~hybridqnn.train.train_classifier`: an update (one mini-batch).

``n`` is the most steps the call will run: a fit that stops early (``patience``) stops short of
``n``. With ``restarts`` the runs share one count: run r's step k is step r * n + k of
restarts * n (:func:`shared_progress`).

Every such argument is ``progress=None`` by default, so the library is silent unless asked; the
command line passes a progress bar (:meth:`hybridqnn.experiments.context.RunContext.phase`), and
a script may pass anything, e.g. ``progress=lambda k, n: print(f"epoch {k} of {n}")``. The
callback is called from the thread that called the fit, after the step's metrics callback, and
must not touch the fit's state: the numbers are the same with and without it.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Progress", "check_progress", "shared_progress"]

#: ``progress(k, n)``: step ``k`` of ``n`` is done (module docstring).
Progress = Callable[[int, int], None]


def check_progress(progress: object) -> Progress | None:
    """``progress`` if it is None or callable, else a one-line ``TypeError``."""
    if progress is not None and not callable(progress):
        raise TypeError(f"'progress' must be callable as progress(k, n) or None, got {type(progress).__name__}")
    return progress  # type: ignore[return-value]


def shared_progress(progress: Progress | None, run: int, runs: int) -> Progress | None:
    """The callback for run ``run`` (0-based) of ``runs`` runs of the same length (restarts, the
    points of a sweep): its step k of n is reported as step ``run * n + k`` of ``runs * n``, so
    the runs fill one count."""
    if progress is None:
        return None

    def report(k: int, n: int) -> None:
        progress(run * n + k, runs * n)

    return report
