"""The experiment registry: named runners that shipped TOML configs point at.

An :class:`Experiment` couples a parameter dataclass (whose fields are the keys a config's
``[params]`` table may set) with a ``run(ctx, params)`` function. Modules register their
experiments at import time with :func:`register`; :func:`load_builtin_experiments` imports the
modules listed in :data:`BUILTIN_MODULES`.

The registry dict is the only module-level mutable state in the package.
"""

from __future__ import annotations

import dataclasses
import importlib
import numbers
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hybridqnn._checks import did_you_mean
from hybridqnn.experiments.schema import check_params_type

if TYPE_CHECKING:
    from hybridqnn.experiments.context import RunContext

__all__ = [
    "BUILTIN_MODULES",
    "KINDS",
    "Experiment",
    "get_experiment",
    "list_experiments",
    "load_builtin_experiments",
    "register",
]

#: Modules that register the experiments shipped with hybridqnn.
BUILTIN_MODULES: tuple[str, ...] = (
    "hybridqnn.experiments.qubo_head",
    "hybridqnn.experiments.qpsbgd.rosenbrock",
    "hybridqnn.experiments.qpsbgd.logreg",
    "hybridqnn.experiments.qpsbgd.a1a_10layer",
    "hybridqnn.experiments.qpsbgd.a1a_2layer",
    "hybridqnn.experiments.qpsbgd.mnist_pairs",
    "hybridqnn.experiments.qpsbgd.gcn",
    "hybridqnn.experiments.natural",
    "hybridqnn.experiments.qcbo",
    "hybridqnn.experiments.benchmarks.qubo_head",
    "hybridqnn.experiments.benchmarks.solvers",
    "hybridqnn.experiments.benchmarks.natural",
    "hybridqnn.experiments.benchmarks.qpsbgd",
)

#: Valid values of :attr:`Experiment.kind`.
KINDS: tuple[str, ...] = ("experiment", "bench")

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")

_REGISTRY: dict[str, Experiment] = {}


@dataclass(frozen=True)
class Experiment:
    """A named experiment (or benchmark) runner.

    Attributes:
        name: Registry name, lower case, e.g. ``"qubo-head"``. Configs refer to it with their
            top-level ``experiment`` key.
        params: A dataclass type. Its init fields are the keys a config's ``[params]`` and
            ``[quick]`` tables may set; the field annotations are used to type-check values and
            :func:`hybridqnn.experiments.params.param` declares each field's help text and rule
            (range, choices; ``field(metadata={"help": ...})`` for help alone). Supported annotations: ``int``,
            ``float``, ``bool``, ``str``, ``Literal[...]``, ``list[X]``, ``tuple[X, ...]``,
            ``dict[str, X]``, ``X | None`` and ``Any``. ``__post_init__`` may raise
            ``ValueError``/``TypeError`` for cross-field validation.
        run: ``run(ctx, params)``, called with a :class:`~hybridqnn.experiments.context.RunContext`
            and an instance of ``params``. It records results through ``ctx`` and returns None.
        description: One-line description shown by ``hybridqnn list``.
        kind: ``"experiment"`` or ``"bench"``. Bench rows must carry ``case``, ``impl``,
            ``seconds``, ``baseline`` and ``speedup_vs_baseline``.
        paper: The paper's reported numbers as flat rows (dicts of str/int/float/bool/None),
            rendered in ``report.md`` beside the measured rows.
        largest_problem: ``largest_problem(params, data_dir, seed) -> dimod.BinaryQuadraticModel``,
            the largest binary problem a run of this config would build; ``hybridqnn hardware``
            estimates its hardware figures. None if the experiment builds no binary problem.
        headline: ``headline(rows, params) -> str``, the one line a reader wants first (printed
            above the table and at the top of ``report.md``), e.g. ``"QUBO head K=20: 0.971 vs
            SGD 0.971; paper: matches SGD"``. It gets the run's rows (possibly partial, for an
            interrupted run) and its params. A paper comparison goes last, after ``"; paper: "``:
            a quick run replaces it with ``"quick: not comparable"``, and a quick benchmark's
            headline ends with that label (:func:`hybridqnn.experiments.report.quick_headline`).
            None: no headline (every
            shipped experiment has one; a test checks).
        key_columns: The few columns that matter, shown after the identity columns (``method``,
            ``dataset``, ``setting``; ``case``, ``impl`` for a bench) in the compact table of
            the terminal and of ``report.md``.
        required_data: ``required_data(params) -> names``, the data sets (of
            :data:`hybridqnn.data.DATASETS`) a run of these params cannot do without. The runner
            checks each with :func:`hybridqnn.data.ensure_dataset` before ``run`` starts, so a
            missing one is one line before any training. None: nothing to check up front.
    """

    name: str
    params: type
    run: Callable[[RunContext, Any], None]
    description: str
    kind: str = "experiment"
    paper: tuple[dict, ...] = ()
    largest_problem: Callable[[Any, Any, int], Any] | None = None
    headline: Callable[[list[dict[str, Any]], Any], str] | None = None
    key_columns: tuple[str, ...] = ()
    required_data: Callable[[Any], Sequence[str]] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name):
            raise ValueError(
                "'name' must be a lower-case identifier of letters, digits, '.', '_' and '-', "
                f"got {self.name!r}"
            )
        if not (isinstance(self.params, type) and dataclasses.is_dataclass(self.params)):
            raise TypeError(
                f"'params' of experiment {self.name!r} must be a dataclass type, got {self.params!r}"
            )
        if not callable(self.run):
            raise TypeError(f"'run' of experiment {self.name!r} must be callable, got {self.run!r}")
        if not isinstance(self.description, str):
            raise TypeError(
                f"'description' of experiment {self.name!r} must be a str, got {self.description!r}"
            )
        if self.kind not in KINDS:
            raise ValueError(
                f"'kind' of experiment {self.name!r} must be one of {', '.join(KINDS)}; "
                f"got {self.kind!r}"
            )
        if isinstance(self.paper, dict) or not isinstance(self.paper, (tuple, list)):
            raise TypeError(
                f"'paper' of experiment {self.name!r} must be a tuple of dicts, got {self.paper!r}"
            )
        for i, row in enumerate(self.paper):
            _check_flat_row(f"paper[{i}] of experiment {self.name!r}", row)
        object.__setattr__(self, "paper", tuple(dict(row) for row in self.paper))
        if self.headline is not None and not callable(self.headline):
            raise TypeError(
                f"'headline' of experiment {self.name!r} must be callable or None, got {self.headline!r}"
            )
        if isinstance(self.key_columns, str) or not all(isinstance(c, str) for c in self.key_columns):
            raise TypeError(
                f"'key_columns' of experiment {self.name!r} must be a tuple of str, got {self.key_columns!r}"
            )
        object.__setattr__(self, "key_columns", tuple(self.key_columns))


def _check_flat_row(where: str, row: Any) -> None:
    if not isinstance(row, dict):
        raise TypeError(f"{where} must be a dict, got {type(row).__name__}")
    for key, value in row.items():
        if not isinstance(key, str):
            raise TypeError(f"{where} keys must be str, got {key!r}")
        if value is not None and not isinstance(value, (str, numbers.Real)):
            raise ValueError(
                f"{where}[{key!r}] must be a str, number, bool or None, got "
                f"{type(value).__name__}"
            )


def register(exp: Experiment) -> Experiment:
    """Add ``exp`` to the registry and return it.

    Registering the same experiment again (same name, same ``run`` function by module and
    qualified name, as after a module reload) replaces the entry.

    Args:
        exp: The experiment.

    Returns:
        ``exp``, so the call can be used in an assignment.

    Raises:
        TypeError: If ``exp`` is not an :class:`Experiment` or its params dataclass uses an
            unsupported field annotation.
        ValueError: If another experiment is already registered under ``exp.name``.
    """
    if not isinstance(exp, Experiment):
        raise TypeError(f"'exp' must be an Experiment, got {type(exp).__name__}")

    check_params_type(exp.params, where=f"experiment {exp.name!r}")
    old = _REGISTRY.get(exp.name)
    if old is not None and old is not exp and _origin(old.run) != _origin(exp.run):
        raise ValueError(
            f"experiment name {exp.name!r} is already registered by "
            f"{_origin(old.run)[0]}.{_origin(old.run)[1]}"
        )
    _REGISTRY[exp.name] = exp
    return exp


def _origin(fn: Any) -> tuple[str, str]:
    return (getattr(fn, "__module__", "?"), getattr(fn, "__qualname__", repr(fn)))


def load_builtin_experiments() -> None:
    """Import the modules in :data:`BUILTIN_MODULES` so that their experiments register.

    Importing is idempotent, so this is cheap to call repeatedly. A missing module raises
    ``ImportError``.
    """
    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def get_experiment(name: str) -> Experiment:
    """Return the registered experiment called ``name``.

    The built-in experiments are loaded first if ``name`` is not registered yet.

    Raises:
        ValueError: If no experiment has that name; the message lists the valid names.
    """
    if not isinstance(name, str):
        raise TypeError(f"'experiment' must be a str, got {name!r}")
    if name not in _REGISTRY:
        load_builtin_experiments()
    try:
        return _REGISTRY[name]
    except KeyError:
        valid = sorted(_REGISTRY)
        raise ValueError(
            f"unknown experiment {name!r}{did_you_mean(name, valid)}"
            + f"; valid experiments: {', '.join(valid) or '(none registered)'}"
        ) from None


def list_experiments(kind: str | None = None) -> list[Experiment]:
    """Return the registered experiments sorted by name, optionally only those of ``kind``.

    The built-in experiments are loaded first.

    Args:
        kind: ``"experiment"``, ``"bench"`` or None for all.
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"'kind' must be one of {', '.join(KINDS)} or None; got {kind!r}")
    load_builtin_experiments()
    return [
        exp
        for name, exp in sorted(_REGISTRY.items())
        if kind is None or exp.kind == kind
    ]
