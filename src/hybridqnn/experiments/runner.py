"""Run an experiment into a run directory.

A run directory holds ``config.toml`` (the resolved config, with the seed actually used),
``metrics.jsonl`` (one JSON object per :meth:`RunContext.log` call), ``report.json``,
``report.md``, PNG figures, ``models/`` (one directory per trained model,
:mod:`hybridqnn.deploy.store`) and, when the run failed, ``error.log`` with the traceback.

A failed or interrupted run never overwrites a good result. If the directory already holds an
ok ``report.json``, the new run writes into a hidden staging directory; at the end an ok run
moves its files over the old ones, while a failed or interrupted run keeps them under tagged
names (``report.failed.json``, ``metrics.failed.jsonl``, ``loss.failed.png``...).
"""

from __future__ import annotations

import logging
import os
import platform
import shutil
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hybridqnn._files import free_path
from hybridqnn.experiments.config import ResolvedConfig
from hybridqnn.experiments.context import RunContext, check_device
from hybridqnn.experiments.report import (
    atomic_write_text,
    has_ok_report,
    write_report,
)

__all__ = ["RunResult", "collect_versions", "run_experiment"]

logger = logging.getLogger(__name__)

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
    return free_path(Path(root) / f"{name}-{stamp}")


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


def _promoted_models(models: list[dict[str, Any]], renamed: dict[str, str]) -> list[dict[str, Any]]:
    """The saved models' records with the paths they have after :func:`_promote` (a failed run's
    ``models`` directory becomes ``models.failed``)."""
    moved = renamed.get("models", "models")
    return [{**m, "path": moved + m["path"][len("models"):]} for m in models]


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


def _run_directories(config: ResolvedConfig, out_dir: Any) -> tuple[Path, Path]:
    """The run directory and the directory this run writes to: the same, unless the run
    directory already holds a good report, which is protected by staging the new run's files
    in a hidden directory (promoted by :func:`_promote` at the end)."""
    if out_dir is None:
        out = _make_default_out_dir(config.name)
    else:
        out = Path(out_dir)
        if out.exists() and not out.is_dir():
            raise ValueError(f"'out_dir' {str(out)!r} exists and is not a directory")
        out.mkdir(parents=True, exist_ok=True)
    if not has_ok_report(out):
        return out, out
    work = out / f".pending-{os.getpid()}-{int(time.time() * 1e3)}"
    work.mkdir()
    logger.info("%s holds an ok report; staging this run in %s", out, work.name)
    return out, work


def _call(
    config: ResolvedConfig, ctx: RunContext, out: Path
) -> tuple[str, str | None, BaseException | None]:
    """Run the experiment; return (status, one-line error, the exception caught). A failure's
    traceback goes to ``out/error.log``."""
    logger.info("running %r (experiment %r, seed %d) in %s", config.name, config.experiment.name,
                config.seed, out)
    try:
        config.experiment.run(ctx, config.params)
    except KeyboardInterrupt as exc:
        logger.info("run %r interrupted; writing a partial report", config.name)
        return "interrupted", "interrupted (KeyboardInterrupt)", exc
    except Exception as exc:
        error = _one_line(exc)
        log_path = out / "error.log"
        atomic_write_text(log_path, "".join(traceback.format_exception(exc)))
        # INFO, not ERROR: the exception is re-raised or returned, and the caller reports it
        logger.info("run %r failed: %s (traceback in %s)", config.name, error, log_path)
        return "failed", error, exc
    return "ok", None, None


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
        out_dir: Run directory (created if missing; may already hold an earlier run). Default:
            ``runs/<config-name>-<YYYYmmdd-HHMMSS>`` under the current directory.
        data_dir: Data directory handed to the experiment (must exist), or None.
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``; CUDA must be available.
        executor: Executor spec handed to the experiment, e.g. ``"dask://host:8786"``.
        progress: Show progress bars (on stderr) in :meth:`RunContext.progress`.
        save_models: Let the experiment save its trained models under ``models/``
            (:meth:`RunContext.save_model`); the report lists them and their cost.
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
    device, data_dir = _checked_run_args(config, device, data_dir, executor)
    if dry_run:
        target = Path(out_dir) if out_dir is not None else default_out_dir(config.name)
        logger.info(
            "dry run: would run experiment %r (config %r) into %s with:\n%s",
            config.experiment.name, config.name, target, config.to_toml(),
        )
        return RunResult(status="dry-run", out_dir=target, config=config)

    out, work = _run_directories(config, out_dir)
    ctx = RunContext(
        config, work, data_dir=data_dir, device=device, executor=executor, progress=progress,
        save_models=save_models,
    )
    atomic_write_text(work / "config.toml", config.to_toml())
    atomic_write_text(work / "metrics.jsonl", "")
    started_at = datetime.now().astimezone().isoformat(timespec="seconds")
    t0 = time.perf_counter()
    status, error, exc_caught = _call(config, ctx, out)
    wall = time.perf_counter() - t0

    figures, renamed = ctx.figures, {}
    if work != out:
        renamed = _promote(work, out, status)
        figures = [renamed.get(f, f) for f in figures]
    if status == "ok" and not ctx.rows:
        logger.warning("run %r finished without recording any rows", config.name)
    report: dict[str, Any] = {
        "experiment": config.name,
        "runner": config.experiment.name,
        "kind": config.experiment.kind,
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
        "models": _promoted_models(ctx.models, renamed),
        "notes": ctx.notes,
        "paper": [dict(row) for row in config.experiment.paper],
        "error": error,
    }
    report_path = write_report(out, report)
    result = RunResult(
        status=status, out_dir=out, config=config, report=report, report_path=report_path,
        error=error, exception=exc_caught,
    )
    if exc_caught is not None and raise_on_error:
        raise exc_caught
    return result
