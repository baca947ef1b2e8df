"""What an experiment gets: :class:`RunContext`, its config, run directory, seeds and the ways
to record rows, metrics, notes and figures. The runner (:mod:`hybridqnn.experiments.runner`)
makes one per run."""

from __future__ import annotations

import numbers
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence, Sized
from pathlib import Path
from typing import Any

from hybridqnn.experiments.config import ResolvedConfig
from hybridqnn.experiments.progress import Phase
from hybridqnn.experiments.report import check_bench_row, to_json

__all__ = ["RunContext"]

_DEVICE_RE = re.compile(r"^(cpu|cuda(:\d+)?)$")
_FIGURE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


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
        out_dir: Directory this run writes its files to: a hidden staging directory beside
            the run directory, which replaces the run directory in one step when the run ends
            (:mod:`hybridqnn.experiments.runner`). Experiments may write extra files here; name
            them in :data:`~hybridqnn.experiments.runner.RUN_OUTPUTS` so that a later run may
            replace the directory.
        seed: Master seed of the run.
        data_dir: Data directory from ``--data-dir``, or None to let loaders resolve their
            environment variable or cache.
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        executor: Executor spec from ``--executor`` (e.g. ``"dask://host:8786"``) or None.
        quick: Whether this is a ``--quick`` run.
        show_progress: Whether :meth:`phase` and :meth:`progress` draw progress bars.
        save_models: Whether :meth:`save_model` writes models (``--no-save-models`` turns it off).
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
        save_models: bool = True,
    ) -> None:
        if not isinstance(config, ResolvedConfig):
            raise TypeError(f"'config' must be a ResolvedConfig, got {type(config).__name__}")
        self.config = config
        self.out_dir = Path(out_dir)
        self.seed: int = config.seed
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.device = check_device(device)
        self.executor = executor
        self.quick: bool = config.quick
        self.show_progress = bool(progress)
        if not isinstance(save_models, bool):
            raise TypeError(f"'save_models' must be a bool, got {save_models!r}")
        self.save_models = save_models
        self._models: list[dict[str, Any]] = []
        self._rows: list[dict[str, Any]] = []
        self._notes: list[str] = []
        self._figures: list[str] = []
        self._phases: list[Phase] = []

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

    @property
    def models(self) -> list[dict[str, Any]]:
        """One record per model saved so far: ``path`` (relative to :attr:`out_dir`), ``kind``,
        ``row`` (the index of its report row), ``bytes`` and ``seconds`` (the cost of saving),
        the summary's totals (``params``, ``layer_bits``, ``float32_bytes``, ``deployed_bytes``,
        ``compression``; :mod:`hybridqnn.deploy.summaries`) and ``spins_per_solve``."""
        return [dict(m) for m in self._models]

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

    def save_model(
        self,
        model: Any,
        row: Mapping[str, Any],
        *,
        classes: Sequence[Any] | None = None,
        data: Mapping[str, Any] | None = None,
        training: Mapping[str, Any] | None = None,
    ) -> Path | None:
        """Save a trained model under ``out_dir/models/<method>-<dataset>[-<task>]-<setting>``
        (named from ``row``; ``-2``, ``-3``... when taken) with :func:`hybridqnn.deploy.save_model`, and
        record its cost. Call it right after :meth:`add_row` with the same row. Returns the model
        directory, or None when the run does not save models (``--no-save-models``).

        Args:
            model: The trained model (a kind ``hybridqnn summary`` knows).
            row: Its report row (must name ``method``, ``dataset`` and ``setting``).
            classes: The label of each class index.
            data: The data set and input preparation (:mod:`hybridqnn.deploy.inputs`).
            training: The size of one training solve (default: the kind's own figure).
        """
        if not self.save_models:
            return None
        import time

        from hybridqnn._files import free_path
        from hybridqnn.deploy.graph import NotExportableError
        from hybridqnn.deploy.kinds import kind_of
        from hybridqnn.deploy.store import save_model
        from hybridqnn.deploy.summaries import summary

        clean = {key: _flat_value("row", key, value) for key, value in row.items()}
        missing = [k for k in ("method", "dataset", "setting") if k not in clean]
        if missing:
            raise ValueError(f"save_model: 'row' must name {missing} (it names the model directory)")
        stem = _slug("-".join(str(clean[k]) for k in _NAME_KEYS if clean.get(k) is not None))
        path = free_path(self.out_dir / "models" / stem)
        t0 = time.perf_counter()  # the cost stated in the report: saving and summarising
        kind = kind_of(model)
        if training is None:
            training = kind.training_problem(model)
        save_model(model, path, classes=classes, data=data, row=clean, training=training)
        try:
            totals = summary(model).totals
        except NotExportableError:  # saved, but its kind cannot express it as a deployed network
            totals = {}
        index = next((j for j in range(len(self._rows) - 1, -1, -1) if self._rows[j] == clean), None)
        self._models.append({
            "path": path.relative_to(self.out_dir).as_posix(),
            "kind": kind.name,
            "row": index,
            "bytes": sum(f.stat().st_size for f in path.iterdir()),
            "seconds": round(time.perf_counter() - t0, 4),
            **{k: totals.get(k) for k in ("params", "layer_bits", "float32_bytes", "deployed_bytes", "compression")},
            "spins_per_solve": (training or {}).get("spins_per_solve"),
        })
        return path

    def phase(self, name: str, total: int, unit: str = "step") -> Phase:
        """A named phase of ``total`` steps on a progress bar (stderr, with an ETA) when progress
        is enabled and stderr is a terminal; otherwise INFO log lines of its step, at most once
        a minute (:mod:`hybridqnn.experiments.progress`). Use it as a context manager;
        it is also the library's ``progress=`` callback (:mod:`hybridqnn.experiments.progress`)::

            with ctx.phase(f"SGD baseline ({name})", p.sgd_epochs, "epoch") as bar:
                fit_sgd_head(..., progress=bar)
        """
        phase = Phase(name, total, unit, enabled=self.show_progress)
        if self.show_progress:
            self._phases = [ph for ph in self._phases if not ph.closed] + [phase]
        return phase

    def close_phases(self) -> None:
        """Clear every bar still open, innermost first (the runner calls it when ``run`` returns
        or raises, so an outer phase needs no ``with`` block)."""
        for phase in reversed(self._phases):
            phase.close()
        self._phases = []

    def progress(
        self, iterable: Iterable[Any], total: int | None = None, desc: str | None = None, unit: str = "step"
    ) -> Iterable[Any]:
        """Iterate over ``iterable`` as :meth:`phase` ``desc`` (``total``: default its length),
        one step per item; ``iterable`` itself when progress is disabled."""
        if not self.show_progress:
            return iterable
        if total is None:
            total = len(iterable) if isinstance(iterable, Sized) else 0
        return _stepped(self.phase(desc or "progress", total, unit), iterable)

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


#: The row keys that name a saved model's directory, in order (``task`` where a row has one).
_NAME_KEYS = ("method", "dataset", "task", "setting")


def _slug(text: str) -> str:
    """``text`` as a file name: runs of characters other than letters, digits, ``.``, ``_`` and
    ``-`` become one ``-``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "model"


def _stepped(phase: Phase, iterable: Iterable[Any]) -> Iterator[Any]:
    """The items of ``iterable``, advancing ``phase`` as each is done; the bar closes at the end."""
    with phase:
        for item in iterable:
            yield item
            phase.advance()


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


def check_device(device: Any) -> str:
    if not isinstance(device, str) or not _DEVICE_RE.match(device):
        raise ValueError(f"'device' must be cpu, cuda or cuda:N; got {device!r}")
    return device
