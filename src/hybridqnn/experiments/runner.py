"""Run an experiment into a run directory.

A run directory holds ``config.toml`` (the resolved config, with the seed actually used),
``metrics.jsonl`` (one JSON object per :meth:`RunContext.log` call), ``report.json``,
``report.md``, ``rows.csv`` (the report's rows), PNG figures, ``models/`` (one directory per trained model,
:mod:`hybridqnn.deploy.store`) and, when the run failed, ``error.log`` with the traceback.

A run becomes visible whole or not at all. It writes everything, its report included, into a
hidden staging directory beside the run directory (``.<name>.pending-<host>-<pid>-<ms>``), which then
replaces the run directory in one step (:func:`hybridqnn._files.replace_directory`): a kill -9
at any point leaves the old run or the new one, never a mix. A failed or interrupted run never
replaces a good one: when the run directory holds an ok ``report.json``, it is kept, whole, in
``<run dir>/failed/`` or ``<run dir>/interrupted/`` instead (replacing the earlier one there).
The next run into the same place deletes what killed runs left (:func:`hybridqnn._files.clean_stale`).

Replacing a directory deletes what it held, so the runner refuses, before the run starts, a
non-empty run directory that holds no earlier run (no ``report.json`` or ``metrics.jsonl``, e.g.
a folder of the user's own PNG files) or that holds anything a run does not write
(:data:`RUN_OUTPUTS`, e.g. ``--out .`` in a project), and a run directory that cannot be renamed
onto (a mount point, such as a container's volume). Should the final rename still fail, the
finished run is kept beside the run directory (``<name>.finished``, named in the error), never
deleted.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import platform
import re
import shutil
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hybridqnn._files import (
    clean_stale,
    clean_stale_in,
    free_path,
    is_stale,
    replace_directory,
    staging_dir,
)
from hybridqnn.experiments.config import ResolvedConfig
from hybridqnn.experiments.context import RunContext, check_device
from hybridqnn.experiments.progress import logs_above_bars
from hybridqnn.experiments.report import (
    atomic_write_text,
    has_ok_report,
    quick_headline,
    write_report,
)

__all__ = ["BROWSER_FILES", "RUN_OUTPUTS", "RunResult", "collect_versions", "run_experiment"]

logger = logging.getLogger(__name__)

#: What a run writes in its run directory (``fnmatch`` patterns): the files above, the natural
#: experiments' ``progress-<i>.jsonl``, the ``failed``/``interrupted`` runs kept beside a good
#: one (and their ``.failed.pending-*``/``.failed.old-*`` while being replaced), and what
#: earlier versions left (``report.failed.json``, ``models.interrupted``..., ``.pending-*``
#: staging, ``.*.tmp`` of atomic writes), and the metadata files of file browsers
#: (:data:`BROWSER_FILES`). A run directory holding anything else is not replaced.
RUN_OUTPUTS: tuple[str, ...] = (
    "config.toml", "metrics.jsonl", "report.json", "report.md", "rows.csv", "error.log", "*.png", "models",
    "progress-*.jsonl", "failed", "interrupted", ".failed.*", ".interrupted.*",
    "*.failed", "*.failed.*", "*.interrupted", "*.interrupted.*", ".pending-*", ".*.tmp",
)

#: What macOS Finder and Windows Explorer leave in a folder they show (metadata, never a
#: user's data): no reason to refuse a run directory, deleted with it.
BROWSER_FILES: tuple[str, ...] = (".DS_Store", "Thumbs.db", "desktop.ini")

_VERSION_PACKAGES = ("hybridqnn", "numpy", "torch", "dimod", "dwave-samplers", "scikit-learn")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= 500 else text[:497] + "..."


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
        out_dir: The directory holding this run: the run directory, or its ``failed/`` or
            ``interrupted/`` when the run directory kept an earlier ok run (for a dry run:
            the run directory that would be used, not created).
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
    return free_path(Path(root) / f"{name}-{stamp}")


def _make_default_out_dir(name: str) -> Path:
    while True:
        path = default_out_dir(name)
        try:
            path.mkdir(parents=True, exist_ok=False)
        except FileExistsError:  # another run took it between the check and mkdir
            continue
        return path


def _checked_run_args(
    config: Any, device: Any, data_dir: Any, executor: Any
) -> tuple[str, Path | None]:
    """Validate run_experiment's arguments before anything is created."""
    if not isinstance(config, ResolvedConfig):
        raise TypeError(f"'config' must be a ResolvedConfig, got {type(config).__name__}")
    device = check_device(device)
    if data_dir is not None:
        data_dir = Path(data_dir).expanduser()
        if not data_dir.is_dir():
            raise ValueError(f"'data_dir' must be an existing directory, got {str(data_dir)!r}")
    if executor is not None:
        from hybridqnn.parallel import parse_executor_spec

        parse_executor_spec(executor)  # 'bogus' or a bad dask:// address fails before the run
    _check_device_available(device)
    return device, data_dir


def _foreign_entries(out: Path) -> list[str]:
    """The names in ``out`` that are not run outputs (:data:`RUN_OUTPUTS`), and the PNG files
    and ``models/`` entries that its ``report.json`` does not list (:func:`_unlisted_outputs`)."""
    if not out.is_dir():
        return []
    return sorted(
        [p.name for p in out.iterdir()
         if p.name not in BROWSER_FILES
         and not any(fnmatch.fnmatchcase(p.name, pattern) for pattern in RUN_OUTPUTS)]
        + _unlisted_outputs(out)
    )


def _unlisted_outputs(out: Path) -> list[str]:
    """The ``*.png`` files and ``models/`` entries of the run directory ``out`` that its
    ``report.json`` does not list among its figures and models: a user's own (an export saved
    beside the models, a picture dropped in), which replacing ``out`` would delete. Nothing
    when the report is unreadable; earlier versions' ``*.failed.png`` are not checked."""
    try:
        report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(report, dict):
        return []
    listed = set(report.get("figures") or [])
    listed |= {m.get("path") for m in report.get("models") or [] if isinstance(m, dict)}
    names = [p.name for p in out.glob("*.png") if not re.search(r"\.(failed|interrupted)\.", p.name)]
    if (out / "models").is_dir():
        names += [f"models/{p.name}" for p in (out / "models").iterdir()]
    return [name for name in names if name not in listed]


#: Files only a run writes: a non-empty run directory holding neither holds no earlier run.
_RUN_MARKERS: tuple[str, ...] = ("report.json", "metrics.jsonl")


def _check_replaceable(out: Path, real: Path) -> None:
    """Refuse, before anything is created, a run directory that a finished run could not
    replace without deleting a user's files or at all (see the module docstring)."""
    if not real.is_dir():
        return
    foreign = _foreign_entries(real)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise ValueError(
            f"'out_dir' {str(out)!r} holds entries a run does not write ({shown}); a run "
            "replaces its run directory as a whole, so choose a new or empty directory"
        )
    names = [p.name for p in real.iterdir() if p.name not in BROWSER_FILES]
    if names and not any((real / marker).is_file() for marker in _RUN_MARKERS):
        raise ValueError(
            f"'out_dir' {str(out)!r} is not empty and holds no earlier run (no "
            f"{' or '.join(_RUN_MARKERS)}); a run replaces its run directory as a whole, so "
            "choose a new or empty directory"
        )
    if os.path.ismount(real):
        raise ValueError(
            f"'out_dir' {str(out)!r} is a mount point; a run is written beside its run directory "
            "and renamed onto it, so choose a directory inside it"
        )


def _clean_stale_runs(real: Path) -> None:
    """Delete what killed runs into ``real`` left (restoring ``real`` first if a run died while
    swapping it), and earlier versions' ``.pending-*`` staging directories inside it."""
    clean_stale(real)
    for kept in ("failed", "interrupted"):
        clean_stale(real / kept)
    for legacy in real.glob(".pending-*") if real.is_dir() else ():
        if is_stale(legacy):
            logger.info("deleting %s (left by a killed run)", legacy)
            shutil.rmtree(legacy, ignore_errors=True)


def _real_out_dir(out: Path) -> Path:
    """The real path of the run directory ``out``, which must not be a file, the current
    directory or one holding it (checks that change nothing on disk)."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"'out_dir' {str(out)!r} exists and is not a directory")
    parent = next((p for p in out.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise ValueError(f"'out_dir' {str(out)!r} is inside {str(parent)!r}, which is not a directory")
    real = Path(os.path.realpath(out))
    cwd = Path(os.path.realpath(os.getcwd()))
    if cwd == real or real in cwd.parents:
        raise ValueError(
            f"'out_dir' {str(out)!r} must not be the current directory or hold it (a run "
            "replaces its run directory as a whole); choose a new or empty directory"
        )
    return real


def _run_directories(config: ResolvedConfig, out_dir: Any) -> tuple[Path, Path, Path]:
    """The run directory as given, its real path, and the new staging directory beside it
    (:func:`hybridqnn._files.staging_dir`) this run writes to."""
    if out_dir is None:
        out = _make_default_out_dir(config.name)  # reserves the name (an empty directory)
        clean_stale_in(out.parent)  # killed default runs never come back to their own name
    else:
        out = Path(out_dir).expanduser()
    real = _real_out_dir(out)
    _clean_stale_runs(real)
    _check_replaceable(out, real)
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
        work = staging_dir(real)
    except OSError as exc:
        raise ValueError(
            f"'out_dir' {str(out)!r} must be in a directory this process can write to: a run is "
            f"written beside it, in {str(real.parent)!r}, which failed ({exc.strerror or exc})"
        ) from None
    logger.info("writing the run into %s; it becomes %s when the run ends", work, out)
    return out, real, work


def _promote(work: Path, real: Path, status: str) -> Path:
    """Make the finished run in ``work`` visible in one step; return where it is now.

    An ok run, or any run when ``real`` holds no ok report, replaces ``real``; a failed or
    interrupted run beside an ok report replaces ``real/<status>`` instead.
    """
    dest = real / status if status != "ok" and has_ok_report(real) else real
    try:
        replace_directory(work, dest)
    except OSError as exc:  # work still holds the whole finished run: keep it, visibly
        kept = free_path(real.with_name(f"{real.name}.finished"))
        try:
            os.rename(work, kept)
        except OSError:
            kept = work
        raise OSError(
            f"could not move the finished run into {str(dest)!r} ({exc.strerror or exc}); "
            f"it is kept, whole, in {str(kept)!r}"
        ) from exc
    return dest


def _call(
    config: ResolvedConfig, ctx: RunContext
) -> tuple[str, str | None, BaseException | None]:
    """Run the experiment; return (status, one-line error, the exception caught). A failure's
    traceback goes to ``error.log`` in the run's directory."""
    logger.info("running %r (experiment %r, seed %d)", config.name, config.experiment.name,
                config.seed)
    try:
        _check_required_data(config, ctx)
        with logs_above_bars(ctx.show_progress):
            config.experiment.run(ctx, config.params)
    except KeyboardInterrupt as exc:
        logger.info("run %r interrupted; writing a partial report", config.name)
        return "interrupted", "interrupted (KeyboardInterrupt)", exc
    except Exception as exc:
        atomic_write_text(ctx.out_dir / "error.log", "".join(traceback.format_exception(exc)))
        return "failed", _one_line(exc), exc
    finally:
        ctx.close_phases()
    return "ok", None, None


def _check_required_data(config: ResolvedConfig, ctx: RunContext) -> None:
    """Every data set the run needs is present and verified (or downloaded) before it starts:
    a missing one fails the run with one line, before any training."""
    required = config.experiment.required_data
    if required is None:
        return
    from hybridqnn.data import ensure_dataset

    for name in dict.fromkeys(required(config.params)):
        ensure_dataset(name, data_dir=ctx.data_dir)


def _headline(config: ResolvedConfig, rows: list[dict[str, Any]]) -> str | None:
    """The experiment's headline of ``rows`` (:func:`quick_headline` in a quick run), or None
    without rows or a headline function. A headline that fails (say, on an interrupted run's
    partial rows) is logged and left out: it must not cost the run its report."""
    headline = config.experiment.headline
    if headline is None or not rows:
        return None
    try:
        text = " ".join(str(headline(rows, config.params)).split())
        return quick_headline(text, config.quick, bench=config.experiment.kind == "bench")
    except Exception as exc:
        logger.warning("the headline of %r failed: %s", config.name, _one_line(exc))
        return None


def _report(
    config: ResolvedConfig, ctx: RunContext, status: str, error: str | None,
    started_at: str, wall: float,
) -> dict[str, Any]:
    """The report dict of a finished run (paths of figures and models relative to its
    directory)."""
    if status == "ok" and not ctx.rows:
        logger.warning("run %r finished without recording any rows", config.name)
    return {
        "experiment": config.name,
        "runner": config.experiment.name,
        "kind": config.experiment.kind,
        "status": status,
        "seed": config.seed,
        "quick": config.quick,
        "config": config.to_dict(),
        "overrides": list(config.overrides),
        "device": ctx.device,
        "executor": ctx.executor,
        "data_dir": str(ctx.data_dir) if ctx.data_dir is not None else None,
        "versions": collect_versions(),
        "platform": _platform_info(),
        "started_at": started_at,
        "wall_time_s": round(wall, 3),
        "headline": _headline(config, ctx.rows),
        "key_columns": list(config.experiment.key_columns),
        "rows": ctx.rows,
        "figures": ctx.figures,
        "models": ctx.models,
        "notes": ctx.notes,
        "paper": [dict(row) for row in config.experiment.paper],
        "error": error,
    }


def run_experiment(
    config: ResolvedConfig,
    out_dir: str | os.PathLike[str] | None = None,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    device: str = "cpu",
    executor: str | None = None,
    progress: bool = False,
    save_models: bool = True,
    dry_run: bool = False,
    raise_on_error: bool = True,
) -> RunResult:
    """Run ``config``'s experiment and write its run directory.

    Args:
        config: A config from :func:`~hybridqnn.experiments.config.load_config`.
        out_dir: Run directory (created if missing; may hold an earlier run, which an ok
            run replaces whole). Default: ``runs/<config-name>-<YYYYmmdd-HHMMSS>`` under the
            current directory.
        data_dir: Data directory handed to the experiment (must exist), or None.
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``; CUDA must be available.
        executor: Executor spec handed to the experiment, e.g. ``"dask://host:8786"``.
        progress: Show progress bars (on stderr) in :meth:`RunContext.progress`.
        save_models: Let the experiment save its trained models under ``models/``
            (:meth:`RunContext.save_model`); the report lists them and their cost.
        dry_run: Validate and resolve everything (``out_dir`` included), log the resolved
            config and return a ``"dry-run"`` result without creating anything or calling
            ``run``.
        raise_on_error: After writing the failed/interrupted report, re-raise the exception
            (``KeyboardInterrupt`` included). With False the result carries it instead.

    Returns:
        The :class:`RunResult`.

    Raises:
        ValueError: For an invalid device, a missing ``data_dir``, an unavailable CUDA
            device, or an ``out_dir`` holding entries a run does not write (or the current
            directory), before anything is created.
    """
    device, data_dir = _checked_run_args(config, device, data_dir, executor)
    if dry_run:
        target = Path(out_dir) if out_dir is not None else default_out_dir(config.name)
        if out_dir is not None:  # what a run would refuse, a dry run refuses (creating nothing)
            _check_replaceable(target, _real_out_dir(target.expanduser()))
        logger.info(
            "dry run: would run experiment %r (config %r) into %s with:\n%s",
            config.experiment.name, config.name, target, config.to_toml(),
        )
        return RunResult(status="dry-run", out_dir=target, config=config)

    out, real, work = _run_directories(config, out_dir)
    try:
        ctx = RunContext(
            config, work, data_dir=data_dir, device=device, executor=executor,
            progress=progress, save_models=save_models,
        )
        atomic_write_text(work / "config.toml", config.to_toml())
        atomic_write_text(work / "metrics.jsonl", "")
        started_at = datetime.now().astimezone().isoformat(timespec="seconds")
        t0 = time.perf_counter()
        status, error, exc_caught = _call(config, ctx)
        report = _report(config, ctx, status, error, started_at, time.perf_counter() - t0)
        write_report(work, report)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    dest = _promote(work, real, status)
    run_dir = out if dest == real else out / status
    if status != "ok":
        logger.info("run %r %s: %s (files in %s)", config.name, status, error, run_dir)
    result = RunResult(
        status=status, out_dir=run_dir, config=config, report=report,
        report_path=run_dir / "report.json", error=error, exception=exc_caught,
    )
    if exc_caught is not None and raise_on_error:
        raise exc_caught
    return result
