"""The one toolkit every experiment and benchmark uses: keyed seeds, timing, aggregation over
seeds and the paper-comparison columns (figures: :mod:`hybridqnn.experiments.plots`).

Row identity. Every result row names what it measured with three string columns: ``method``
(what trained or solved), ``dataset`` and ``setting`` (a short string saying what else varies
in that row, such as ``"K=10"``, ``"lr=0.01"`` or ``"a=0.316"``), then its metrics.

Keyed seeds. A row's seed is derived from the run's master seed and the row's *name*, never
from its position in a list::

    seed = ctx.seed_for("qubo-head", "mnist", "K=10", repeat)

so adding a data set, a method or a repeat leaves every other row's seed (and numbers) as they
were. :func:`child_seed` is ``numpy.random.SeedSequence(master, spawn_key=key words)``, where the
key words are the 32-bit words of the BLAKE2b digest of each key part: independent streams for
distinct keys, as with ``SeedSequence.spawn``.
"""

from __future__ import annotations

import hashlib
import numbers
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hybridqnn.experiments.context import RunContext

__all__ = [
    "QUICK_RATIOS_NOTE",
    "Timer",
    "aggregate",
    "bench_headline",
    "child_seed",
    "median_seconds",
    "note_baseline",
    "paper_columns",
    "seed_summary",
]


# --------------------------------------------------------------------------- seeds


def _key_words(part: str | int) -> list[int]:
    if isinstance(part, bool) or not isinstance(part, (str, numbers.Integral)):
        raise TypeError(f"seed key parts must be str or int, got {part!r}")
    text = f"{type(part).__name__}:{part}"
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return [int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:], "little")]


def child_seed(master: int, *key: str | int) -> int:
    """A 32-bit seed for the row named ``key``, derived from the run's ``master`` seed.

    Args:
        master: The run's master seed (an integer >= 0).
        *key: The row's name, e.g. ``("qpsbgd", "a1a", "lr=0.01", 3)``: strings and integers.

    Returns:
        ``SeedSequence(master, spawn_key=words(key)).generate_state(1)[0]``: the same key gives
        the same seed, and different keys independent ones. The type of each part counts
        (``"1"`` and ``1`` are different keys).
    """
    import numpy as np

    if isinstance(master, bool) or not isinstance(master, numbers.Integral) or master < 0:
        raise ValueError(f"'master' must be an integer >= 0, got {master!r}")
    words = [w for part in key for w in _key_words(part)]
    seq = np.random.SeedSequence(int(master), spawn_key=tuple(words))
    return int(seq.generate_state(1, dtype=np.uint32)[0])


# --------------------------------------------------------------------------- timing


class Timer:
    """Wall-clock time of a block: ``with Timer() as t: ...`` then ``t.seconds``
    (``time.perf_counter``; while the block runs, ``seconds`` is the time so far)."""

    def __init__(self) -> None:
        self._start: float | None = None
        self._stop: float | None = None

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        self._stop = None
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = time.perf_counter()

    @property
    def seconds(self) -> float:
        if self._start is None:
            return 0.0
        end = self._stop if self._stop is not None else time.perf_counter()
        return end - self._start


def median_seconds(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Call ``fn()`` ``repeats`` times; return the median wall-clock seconds and the last
    result. The benchmarks' one timing rule: the same repeats for an implementation and its
    baseline, in the same process."""
    if isinstance(repeats, bool) or not isinstance(repeats, numbers.Integral) or repeats < 1:
        raise ValueError(f"'repeats' must be an integer >= 1, got {repeats!r}")
    times = []
    result = None
    for _ in range(int(repeats)):
        with Timer() as t:
            result = fn()
        times.append(t.seconds)
    return statistics.median(times), result


#: The sentence a ``--quick`` benchmark report carries (:func:`note_baseline`).
QUICK_RATIOS_NOTE = (
    "Quick mode: a reduced setting that only exercises the path; its times and ratios are not "
    "comparable with the full benchmark's (other sizes, fewer repeats, fixed costs weigh more)."
)


def note_baseline(ctx: RunContext, baseline: str, why: str) -> None:
    """The note every benchmark report carries: what its baseline is (``baseline``) and why it
    is the fair comparison (``why``), plus :data:`QUICK_RATIOS_NOTE` in a ``--quick`` run."""
    ctx.note(f"Baseline: {baseline}. Why it is the fair one: {why}")
    if ctx.quick:
        ctx.note(QUICK_RATIOS_NOTE)


def bench_headline(rows: Sequence[Mapping[str, Any]], target: str) -> str:
    """A benchmark's headline: each row that is judged against the target (``meets_target``
    not None) with its seconds, speedup over its baseline and verdict, then ``target``."""
    judged = [r for r in rows if r.get("meets_target") is not None] or [
        r for r in rows if r.get("impl") != r.get("baseline")
    ][:1]
    parts = []
    for r in judged:
        seconds = "target not reached" if r.get("seconds") is None else f"{r['seconds']:.3g} s"
        speedup = r.get("speedup_vs_baseline")
        text = f"{r['impl']}: {seconds}" + (f", {speedup:.2f}x {r['baseline']}" if speedup is not None else "")
        if r.get("meets_target") is not None:
            text += ", target met" if r["meets_target"] else ", target missed"
        parts.append(text)
    return "; ".join(parts or ["no rows"]) + f" (target: {target})"


# --------------------------------------------------------------------------- rows


def aggregate(values: Sequence[float | None]) -> dict[str, float | int | None]:
    """Mean, population standard deviation, min, max and count of the values that are not
    None (all None for an empty list, with ``n = 0``)."""
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    return {
        "mean": statistics.fmean(vals),
        "std": statistics.pstdev(vals) if len(vals) > 1 else 0.0,
        "min": min(vals),
        "max": max(vals),
        "n": len(vals),
    }


def seed_summary(
    records: Sequence[Mapping[str, Any]], metrics: Sequence[str], **ident: Any
) -> dict[str, Any]:
    """One flat row over the repeats (seeds) of one (method, dataset, setting).

    Returns:
        The ``ident`` columns, ``"seeds"`` (the number of records), then for each metric ``m``
        its mean as ``m`` and ``m_std``, ``m_min``, ``m_max`` (None where no record has it).
    """
    row: dict[str, Any] = dict(ident)
    row["seeds"] = len(records)
    for m in metrics:
        a = aggregate([r.get(m) for r in records])
        row[m] = a["mean"]
        row[f"{m}_std"] = a["std"]
        row[f"{m}_min"] = a["min"]
        row[f"{m}_max"] = a["max"]
    return row


def paper_columns(metric: str, value: float | None, paper: float | None) -> dict[str, Any]:
    """The one shape of a paper comparison in a row: ``paper_<metric>`` (the paper's number,
    None when it reports none) and ``<metric>_vs_paper`` (ours minus the paper's)."""
    diff = None if value is None or paper is None else float(value) - float(paper)
    return {f"paper_{metric}": paper, f"{metric}_vs_paper": diff}
