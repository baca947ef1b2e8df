"""What an experiment gets: :class:`RunContext`, its config, run directory, seeds and the ways
to record rows, metrics, notes and figures. The runner (:mod:`hybridqnn.experiments.runner`)
makes one per run."""

from __future__ import annotations

import numbers
import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from hybridqnn.experiments.config import ResolvedConfig
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
        self.device = check_device(device)
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


def check_device(device: Any) -> str:
    if not isinstance(device, str) or not _DEVICE_RE.match(device):
        raise ValueError(f"'device' must be cpu, cuda or cuda:N; got {device!r}")
    return device
