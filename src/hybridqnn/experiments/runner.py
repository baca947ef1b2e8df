"""Run an experiment into a run directory.

A run directory holds ``config.toml`` (the resolved config, with the seed actually used),
``metrics.jsonl`` (one JSON object per :meth:`RunContext.log` call), ``report.json``,
``report.md``, PNG figures and, when the run failed, ``error.log`` with the traceback.

A failed or interrupted run never overwrites a good result. If the directory already holds an
ok ``report.json``, the new run writes into a hidden staging directory; at the end an ok run
moves its files over the old ones, while a failed or interrupted run keeps them under tagged
names (``report.failed.json``, ``metrics.failed.jsonl``, ``loss.failed.png``...).
"""

from __future__ import annotations

import logging
import numbers
import os
import platform
import re
import shutil
import sys
import time
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hybridqnn.experiments.config import ResolvedConfig
from hybridqnn.experiments.report import (
    atomic_write_text,
    check_bench_row,
    has_ok_report,
    to_json,
    write_report,
)

__all__ = ["RunContext", "RunResult", "collect_versions", "run_experiment"]

logger = logging.getLogger(__name__)

_DEVICE_RE = re.compile(r"^(cpu|cuda(:\d+)?)$")
_FIGURE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_VERSION_PACKAGES = ("hybridqnn", "numpy", "torch", "dimod", "dwave-samplers", "scikit-learn")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= 500 else text[:497] + "..."


def _flat_value(where: str, key: str, value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Path):
        return str(value)
    # numpy scalars, 0-d numpy arrays and 0-d torch tensors
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()
        if value is None or isinstance(value, (str, bool, int, float)):
            return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise ValueError(
        f"{where}[{key!r}] must be a str, int, float, bool or None (rows are flat), "
        f"got {type(value).__name__}"
    )


class RunContext:
    """What an experiment's ``run(ctx, params)`` gets: the config, the output directory, the
    seed and the ways to record results.

    Attributes:
        config: The resolved config.
        params: Shortcut for ``config.params``.
        out_dir: Directory this run writes its files to. Experiments may write extra files
            here. (When the run directory held a good report, this is a staging directory
            whose files are moved into place when the run ends.)
        seed: Master seed of the run.
        data_dir: Data directory from ``--data-dir``, or None to let loaders resolve their
            environment variable or cache.
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        executor: Executor spec from ``--executor`` (e.g. ``"dask://host:8786"``) or None.
        quick: Whether this is a ``--quick`` run.
        show_progress: Whether :meth:`progress` draws progress bars.
    """

    def __init__(
        self,
        config: ResolvedConfig,
        out_dir: str | os.PathLike[str],
        *,
        data_dir: str | os.PathLike[str] | None = None,
        device: str = "cpu",
        executor: str | None = None,
        progress: bool = False,
    ) -> None:
        if not isinstance(config, ResolvedConfig):
            raise TypeError(f"'config' must be a ResolvedConfig, got {type(config).__name__}")
        self.config = config
        self.out_dir = Path(out_dir)
        self.seed: int = config.seed
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.device = _check_device(device)
        self.executor = executor
        self.quick: bool = config.quick
        self.show_progress = bool(progress)
        self._rows: list[dict[str, Any]] = []
        self._notes: list[str] = []
        self._figures: list[str] = []

    @property
    def params(self) -> Any:
        """The experiment's params instance."""
        return self.config.params

    @property
    def kind(self) -> str:
        """``"experiment"`` or ``"bench"``."""
        return self.config.experiment.kind

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Copies of the rows recorded so far."""
        return [dict(row) for row in self._rows]

    @property
    def notes(self) -> list[str]:
        """The notes recorded so far."""
        return list(self._notes)

    @property
    def figures(self) -> list[str]:
        """File names (relative to :attr:`out_dir`) of the figures saved so far."""
        return list(self._figures)

    def spawn_seeds(self, n: int) -> list[int]:
        """Return ``n`` child seeds derived from the master seed.

        Uses ``numpy.random.SeedSequence(seed).spawn(n)`` and draws one 32-bit word from each
        child, so the seeds suit numpy, torch and dimod samplers alike. The result depends only
        on the master seed and ``n``, and ``spawn_seeds(n)[:k] == spawn_seeds(k)``: repeated
        calls return the same seeds, so ask once for all you need and index into the list.
        """
        import numpy as np

        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise ValueError(f"'n' must be an integer >= 0, got {n!r}")
        children = np.random.SeedSequence(self.seed).spawn(int(n))
        return [int(child.generate_state(1, dtype=np.uint32)[0]) for child in children]

    def seed_for(self, *key: str | int) -> int:
        """The keyed seed of the row named ``key`` (e.g. ``(method, dataset, setting,
        repeat)``): :func:`hybridqnn.experiments.toolkit.child_seed` of the master seed. Adding
        a row changes no other row's seed."""
        from hybridqnn.experiments.toolkit import child_seed

        return child_seed(self.seed, *key)

    def log(self, **metrics: Any) -> None:
        """Append one JSON line (e.g. one epoch's metrics) to ``metrics.jsonl`` and flush it.

        Values may be anything JSON can hold; numpy and torch values are converted.
        """
        if not metrics:
            raise ValueError("log() needs at least one metric, got none")
        line = to_json(metrics)
        with open(self.out_dir / "metrics.jsonl", "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()

    def add_row(self, row: Mapping[str, Any]) -> None:
        """Record one flat result row for ``report.json`` ``rows`` and the report table.

        Args:
            row: ``{str: str | int | float | bool | None}``; numpy/torch scalars are
                converted. For bench experiments the row must have ``case``, ``impl``,
                ``seconds``, ``baseline`` and ``speedup_vs_baseline``.

        Raises:
            ValueError: For nested values or a bench row missing a required key.
        """
        where = f"row {len(self._rows)}"
        if not isinstance(row, Mapping):
            raise TypeError(f"{where} must be a dict, got {type(row).__name__}")
        clean = {}
        for key, value in row.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} keys must be str, got {key!r}")
            clean[key] = _flat_value(where, key, value)
        if self.kind == "bench":
            check_bench_row(clean, len(self._rows))
        self._rows.append(clean)

    def progress(
        self, iterable: Iterable[Any], total: int | None = None, desc: str | None = None
    ) -> Iterable[Any]:
        """Wrap ``iterable`` in a tqdm progress bar on stderr when progress is enabled (and
        stderr is a terminal); otherwise return it unchanged."""
        if not self.show_progress:
            return iterable
        from tqdm.auto import tqdm

        return tqdm(
            iterable, total=total, desc=desc, file=sys.stderr, leave=False, disable=None,
            dynamic_ncols=True,
        )

    def save_figure(self, name: str, fig: Any) -> Path:
        """Save a matplotlib figure as ``out_dir/<name>.png`` atomically and close it.

        Args:
            name: File stem (letters, digits, ``.``, ``_``, ``-``); a ``.png`` suffix is
                accepted.
            fig: A ``matplotlib.figure.Figure``.

        Returns:
            The path written.
        """
        if not isinstance(name, str):
            raise TypeError(f"'name' must be a str, got {name!r}")
        stem = name[:-4] if name.lower().endswith(".png") else name
        if not _FIGURE_RE.match(stem):
            raise ValueError(
                f"'name' must be a file stem of letters, digits, '.', '_' and '-', got {name!r}"
            )
        if not hasattr(fig, "savefig"):
            raise TypeError(f"'fig' must be a matplotlib Figure, got {type(fig).__name__}")
        _use_agg()
        import io

        buf = io.BytesIO()
        try:
            fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
        finally:
            _close_figure(fig)
        path = self.out_dir / f"{stem}.png"
        from hybridqnn.experiments.report import atomic_write_bytes

        atomic_write_bytes(path, buf.getvalue())
        if path.name not in self._figures:
            self._figures.append(path.name)
        return path

    def note(self, text: str) -> None:
        """Append a free-text paragraph to the report's notes."""
        if not isinstance(text, str):
            raise TypeError(f"'text' must be a str, got {type(text).__name__}")
        self._notes.append(text)


def _use_agg() -> None:
    """Select the non-interactive Agg backend unless pyplot is already in use (switching then
    would close the user's figures)."""
    if "matplotlib.pyplot" not in sys.modules:
        import matplotlib

        matplotlib.use("Agg")


def _close_figure(fig: Any) -> None:
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close(fig)


def _check_device(device: Any) -> str:
    if not isinstance(device, str) or not _DEVICE_RE.match(device):
        raise ValueError(f"'device' must be cpu, cuda or cuda:N; got {device!r}")
    return device


def _check_device_available(device: str) -> None:
    if device == "cpu":
        return
    import torch

    if not torch.cuda.is_available():
        raise ValueError(f"'device' is {device!r} but torch.cuda.is_available() is False")
    if ":" in device:
        index = int(device.split(":", 1)[1])
        count = torch.cuda.device_count()
        if index >= count:
            raise ValueError(
                f"'device' is {device!r} but only {count} CUDA device(s) are visible"
            )


def collect_versions() -> dict[str, str | None]:
    """Return the versions of Python and the packages that shape results (None if missing)."""
    from importlib.metadata import PackageNotFoundError, version

    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in _VERSION_PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


def _platform_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
        "python_implementation": platform.python_implementation(),
        "cpu_count": os.cpu_count(),
    }
    if hasattr(os, "sched_getaffinity"):
        info["cpus_available"] = len(os.sched_getaffinity(0))
    return info


@dataclass
class RunResult:
    """Outcome of :func:`run_experiment`.

    Attributes:
        status: ``"ok"``, ``"failed"``, ``"interrupted"`` or ``"dry-run"``.
        out_dir: The run directory (for a dry run: the one that would be used, not created).
        config: The resolved config.
        report: The report dict written (None for a dry run).
        report_path: Path of the report JSON written (None for a dry run).
        error: One-line error message when the run did not end ok.
        exception: The exception that ended the run, if any.
    """

    status: str
    out_dir: Path
    config: ResolvedConfig
    report: dict[str, Any] | None = None
    report_path: Path | None = None
    error: str | None = None
    exception: BaseException | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """True if the run finished with status ``"ok"`` (or was a dry run)."""
        return self.status in ("ok", "dry-run")

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The report's rows (empty for a dry run)."""
        return list((self.report or {}).get("rows", []))


def default_out_dir(name: str, root: str | os.PathLike[str] = "runs") -> Path:
    """Return ``root/<name>-<YYYYmmdd-HHMMSS>`` (with ``-2``, ``-3``... if taken); not created."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{name}-{stamp}"
    path, i = base, 1
    while path.exists():
        i += 1
        path = base.with_name(f"{base.name}-{i}")
    return path


def _make_default_out_dir(name: str) -> Path:
    while True:
        path = default_out_dir(name)
        try:
            path.mkdir(parents=True, exist_ok=False)
        except FileExistsError:  # another run took it between the check and mkdir
            continue
        return path


def _tagged(name: str, status: str) -> str:
    stem, dot, suffix = name.partition(".")
    if not dot:
        return f"{name}.{status}"
    return f"{stem}.{status}.{suffix}"


def _promote(work: Path, out: Path, status: str) -> dict[str, str]:
    """Move the staged files of ``work`` into ``out`` (tagged with ``status`` unless ok)."""
    renamed: dict[str, str] = {}
    for entry in sorted(work.iterdir()):
        if entry.name.startswith("."):
            continue
        target_name = entry.name if status == "ok" else _tagged(entry.name, status)
        target = out / target_name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif entry.is_dir() and (target.exists() or target.is_symlink()):
            target.unlink()
        os.replace(entry, target)
        renamed[entry.name] = target_name
    shutil.rmtree(work, ignore_errors=True)
    return renamed


def run_experiment(
    config: ResolvedConfig,
    out_dir: str | os.PathLike[str] | None = None,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    device: str = "cpu",
    executor: str | None = None,
    progress: bool = False,
    dry_run: bool = False,
    raise_on_error: bool = True,
) -> RunResult:
    """Run ``config``'s experiment and write its run directory.

    Args:
        config: A config from :func:`~hybridqnn.experiments.config.load_config`.
        out_dir: Run directory (created if missing; may already hold an earlier run). Default:
            ``runs/<config-name>-<YYYYmmdd-HHMMSS>`` under the current directory.
        data_dir: Data directory handed to the experiment (must exist), or None.
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``; CUDA must be available.
        executor: Executor spec handed to the experiment, e.g. ``"dask://host:8786"``.
        progress: Show progress bars (on stderr) in :meth:`RunContext.progress`.
        dry_run: Validate and resolve everything, log the resolved config and return a
            ``"dry-run"`` result without creating anything or calling ``run``.
        raise_on_error: After writing the failed/interrupted report, re-raise the exception
            (``KeyboardInterrupt`` included). With False the result carries it instead.

    Returns:
        The :class:`RunResult`.

    Raises:
        ValueError: For an invalid device, a missing ``data_dir`` or an unavailable CUDA
            device (before anything is created).
    """
    if not isinstance(config, ResolvedConfig):
        raise TypeError(f"'config' must be a ResolvedConfig, got {type(config).__name__}")
    device = _check_device(device)
    if data_dir is not None:
        data_dir = Path(data_dir).expanduser()
        if not data_dir.is_dir():
            raise ValueError(f"'data_dir' must be an existing directory, got {str(data_dir)!r}")
    if executor is not None and (not isinstance(executor, str) or not executor):
        raise ValueError(f"'executor' must be a non-empty str or None, got {executor!r}")
    _check_device_available(device)
    experiment = config.experiment

    if dry_run:
        target = Path(out_dir) if out_dir is not None else default_out_dir(config.name)
        logger.info(
            "dry run: would run experiment %r (config %r) into %s with:\n%s",
            experiment.name, config.name, target, config.to_toml(),
        )
        return RunResult(status="dry-run", out_dir=target, config=config)

    if out_dir is None:
        out = _make_default_out_dir(config.name)
    else:
        out = Path(out_dir)
        if out.exists() and not out.is_dir():
            raise ValueError(f"'out_dir' {str(out)!r} exists and is not a directory")
        out.mkdir(parents=True, exist_ok=True)

    # A directory that already holds a good report is protected: stage this run's files.
    protected = has_ok_report(out)
    work = out
    if protected:
        work = out / f".pending-{os.getpid()}-{int(time.time() * 1e3)}"
        work.mkdir()
        logger.info("%s holds an ok report; staging this run in %s", out, work.name)

    ctx = RunContext(
        config, work, data_dir=data_dir, device=device, executor=executor, progress=progress
    )
    atomic_write_text(work / "config.toml", config.to_toml())
    atomic_write_text(work / "metrics.jsonl", "")

    started_at = datetime.now().astimezone().isoformat(timespec="seconds")
    t0 = time.perf_counter()
    status, error, exc_caught = "ok", None, None
    logger.info("running %r (experiment %r, seed %d) in %s", config.name, experiment.name, config.seed, out)
    try:
        experiment.run(ctx, config.params)
    except KeyboardInterrupt as exc:
        status, error, exc_caught = "interrupted", "interrupted (KeyboardInterrupt)", exc
        logger.info("run %r interrupted; writing a partial report", config.name)
    except Exception as exc:
        status, error, exc_caught = "failed", _one_line(exc), exc
        log_path = out / "error.log"
        atomic_write_text(log_path, "".join(traceback.format_exception(exc)))
        # INFO, not ERROR: the exception is re-raised or returned, and the caller reports it
        logger.info("run %r failed: %s (traceback in %s)", config.name, error, log_path)
    wall = time.perf_counter() - t0

    figures = ctx.figures
    if protected:
        renamed = _promote(work, out, status)
        figures = [renamed.get(f, f) for f in figures]
    if status == "ok" and not ctx.rows:
        logger.warning("run %r finished without recording any rows", config.name)

    report: dict[str, Any] = {
        "experiment": config.name,
        "runner": experiment.name,
        "kind": experiment.kind,
        "status": status,
        "seed": config.seed,
        "quick": config.quick,
        "config": config.to_dict(),
        "overrides": list(config.overrides),
        "device": device,
        "executor": executor,
        "data_dir": str(data_dir) if data_dir is not None else None,
        "versions": collect_versions(),
        "platform": _platform_info(),
        "started_at": started_at,
        "wall_time_s": round(wall, 3),
        "rows": ctx.rows,
        "figures": figures,
        "notes": ctx.notes,
        "paper": [dict(row) for row in experiment.paper],
        "error": error,
    }
    report_path = write_report(out, report)
    result = RunResult(
        status=status,
        out_dir=out,
        config=config,
        report=report,
        report_path=report_path,
        error=error,
        exception=exc_caught,
    )
    if exc_caught is not None and raise_on_error:
        raise exc_caught
    return result
