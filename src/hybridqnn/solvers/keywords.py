"""The keyword arguments each registered solver's ``sample()`` takes, with their type and range,
so that a config's ``sample_kwargs`` is checked when it loads, not when the first solve starts.

:data:`SOLVER_KEYWORDS` declares, for every name of :func:`hybridqnn.solvers.solver_names`, the
keywords of that sampler's ``sample()`` (the names its ``parameters`` property lists; a test
keeps the two equal). The ranges are those the samplers themselves enforce (dwave-samplers'
``SimulatedAnnealingSampler``, ``TabuSampler`` and ``SteepestDescentSolver``; our
:mod:`~hybridqnn.solvers.annealing`, :mod:`~hybridqnn.solvers.bifurcation`,
:mod:`~hybridqnn.solvers.cim` and :mod:`~hybridqnn.solvers.milp`), which still check them again
at run time for callers that pass kwargs directly. ``exact`` takes none.

``qpu`` and ``hybrid`` depend on the solver in the cloud, whose parameter list is known only
with a token: their common keywords (``num_reads``, ``annealing_time``, ``time_limit``, ...) are
checked and any other name is let through (:data:`OPEN_SOLVERS`).

This module imports no sampler (no numba, torch or dwave-samplers), so the config loader can use
it cheaply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from hybridqnn._checks import NumberRule, did_you_mean

__all__ = ["EXACT_MAX_VARIABLES", "MAX_READS", "MAX_SWEEPS", "OPEN_SOLVERS", "SOLVER_KEYWORDS", "Keyword", "check_sample_kwargs", "solver_keywords"]

_SEED_MAX = 2**32 - 1
#: dwave-samplers' SA takes seeds below 2^31 (its message says 2^32 - 1; its check is < 2^31).
_SA_SEED_MAX = 2**31 - 1
#: tabu's integers are C ``int`` arguments: a larger value is a bare ``OverflowError``.
_C_INT_MAX = 2**31 - 1
#: Most reads per call: every read keeps its n spins and n local fields (float64), so 2^16 reads
#: of a 1,000-variable problem already hold about 0.5 GB (D-Wave's QPUs take at most 10,000).
MAX_READS = 2**16
#: Most sweeps or integration steps per read: the samplers hold one schedule entry per sweep
#: (8 bytes each; ``num_sweeps = 2**31`` asked dense SA for 16 GB), and 10^7 sweeps of a
#: 1,000-variable problem already take hours.
MAX_SWEEPS = 10**7
#: Most variables the ``exact`` solver takes: it enumerates all 2^n states (2^24 energies are
#: 128 MB).
EXACT_MAX_VARIABLES = 24


@dataclass(frozen=True)
class Keyword:
    """One keyword of a sampler's ``sample()``.

    Attributes:
        kind: ``"int"``, ``"float"``, ``"bool"``, ``"str"``, ``"pair"`` (two floats, each in the
            range) or ``"any"`` (arrays, callables: not checked here).
        low, high, low_open, high_open: The range of a number (or of both entries of a pair).
        choices: The valid strings of a ``"str"`` keyword.
        nullable: Whether None (the sampler's default) is accepted.
    """

    kind: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()
    nullable: bool = False

    def number(self) -> NumberRule:
        """The :class:`~hybridqnn._checks.NumberRule` of a number (or of each entry of a pair)."""
        return NumberRule(self.kind == "int", self.low, self.high, self.low_open, self.high_open)

    def rule(self) -> str:
        """The rule in words, as the error message gives it."""
        if self.kind in ("int", "float"):
            return self.number().describe()
        if self.kind == "pair":
            return f"a pair of which each is {self.number().describe()}"
        if self.kind == "str":
            return "one of " + ", ".join(self.choices)
        return {"bool": "a bool", "any": "any value"}[self.kind]

    def check(self, label: str, value: Any, suffix: str) -> None:
        """Raise ``TypeError``/``ValueError`` (``<label> must be <rule><suffix>, got ...``)."""
        if value is None and self.nullable or self.kind == "any":
            return
        if self.kind in ("int", "float"):
            self.number().check(label, value, suffix)
        elif self.kind == "pair":
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise TypeError(f"{label} must be {self.rule()}{suffix}, got {value!r}")
            for v in value:
                try:
                    self.number().check(label, v)
                except (TypeError, ValueError):
                    raise ValueError(f"{label} must be {self.rule()}{suffix}, got {value!r}") from None
        elif self.kind == "bool":
            if not isinstance(value, bool):
                raise TypeError(f"{label} must be a bool{suffix}, got {value!r}")
        elif value not in self.choices:
            raise ValueError(f"{label} must be one of {', '.join(self.choices)}{suffix}, got {value!r}")


_INT1 = Keyword("int", 1)
_SWEEPS = Keyword("int", 1, MAX_SWEEPS)
_POS = Keyword("float", 0.0, low_open=True)
_POS_OR_NONE = Keyword("float", 0.0, low_open=True, nullable=True)
_NONNEG = Keyword("float", 0.0)
_BOOL = Keyword("bool")
_ANY = Keyword("any")
_COMMON = {
    "num_reads": Keyword("int", 1, MAX_READS, nullable=True),
    "seed": Keyword("int", 0, _SEED_MAX, nullable=True),
    "initial_states": _ANY,
}
_GENERATOR = Keyword("str", choices=("none", "tile", "random"))
_BETA_RANGE = Keyword("pair", 0.0, low_open=True, nullable=True)
_TABU_INT0 = Keyword("int", 0, _C_INT_MAX)
_TABU_OPTIONAL_INT0 = Keyword("int", 0, _C_INT_MAX, nullable=True)


def _table(**keywords: Keyword) -> Mapping[str, Keyword]:
    return MappingProxyType(dict(sorted(keywords.items())))


#: solver name -> keyword name -> :class:`Keyword`.
SOLVER_KEYWORDS: Mapping[str, Mapping[str, Keyword]] = MappingProxyType(
    {
        "sa": _table(
            **{**_COMMON, "seed": Keyword("int", 0, _SA_SEED_MAX, nullable=True)},
            beta_range=_BETA_RANGE,
            num_sweeps=Keyword("int", 0, MAX_SWEEPS, nullable=True),
            num_sweeps_per_beta=_INT1,
            beta_schedule_type=Keyword("str", choices=("linear", "geometric", "custom")),
            beta_schedule=_ANY,
            interrupt_function=_ANY,
            initial_states_generator=_GENERATOR,
            randomize_order=_BOOL,
            proposal_acceptance_criteria=Keyword("str", choices=("Metropolis", "Gibbs")),
        ),
        "tabu": _table(
            **_COMMON,
            initial_states_generator=_GENERATOR,
            tenure=_TABU_OPTIONAL_INT0,
            timeout=_TABU_INT0,
            num_restarts=_TABU_INT0,
            energy_threshold=Keyword("float", nullable=True),
            coefficient_z_first=_TABU_OPTIONAL_INT0,
            coefficient_z_restart=_TABU_OPTIONAL_INT0,
            lower_bound_z=Keyword("int", high=_C_INT_MAX, nullable=True),
        ),
        "steepest": _table(**_COMMON, initial_states_generator=_GENERATOR, large_sparse_opt=_BOOL),
        "dense-sa": _table(
            **_COMMON,
            num_sweeps=_SWEEPS,
            beta_range=_BETA_RANGE,
            beta_schedule_type=Keyword("str", choices=("geometric", "linear")),
            fixed_point_bits=Keyword("int", 1, 32, nullable=True),
        ),
        "exact": _table(),
        "milp": _table(time_limit=_POS_OR_NONE, seed=_COMMON["seed"], squares=_ANY),
        "sb": _table(
            **_COMMON,
            mode=Keyword("str", choices=("ballistic", "discrete")),
            num_steps=_SWEEPS,
            dt=_POS_OR_NONE,
            c0=_POS_OR_NONE,
            heated=_BOOL,
            heat_coefficient=_NONNEG,
            early_stopping=_BOOL,
            stop_window=_INT1,
            check_every=_INT1,
        ),
        "cim": _table(
            **_COMMON,
            num_steps=_SWEEPS,
            dt=_POS,
            pump_range=Keyword("pair"),
            noise=_NONNEG,
            feedback_scale=_POS_OR_NONE,
            amplitude_control=_BOOL,
            target_amplitude=_POS,
            error_rate=_NONNEG,
            check_every=_INT1,
        ),
        "qpu": _table(
            num_reads=Keyword("int", 1, MAX_READS),
            annealing_time=_POS,
            chain_strength=_POS,
            auto_scale=_BOOL,
            answer_mode=Keyword("str", choices=("raw", "histogram")),
            label=_ANY,
        ),
        "hybrid": _table(time_limit=_POS, label=_ANY),
    }
)

#: Solvers whose ``sample()`` also takes keywords not declared here (they depend on the solver in
#: the cloud); unknown names are let through, declared ones are checked.
OPEN_SOLVERS: tuple[str, ...] = ("qpu", "hybrid")


def solver_keywords(solver: str) -> Mapping[str, Keyword]:
    """The declared keywords of ``solver`` (a registry name).

    Raises:
        ValueError: If ``solver`` is not declared; the message lists the declared names.
    """
    if not isinstance(solver, str) or solver not in SOLVER_KEYWORDS:
        raise ValueError(f"'solver' must be one of {', '.join(SOLVER_KEYWORDS)}; got {solver!r}")
    return SOLVER_KEYWORDS[solver]


def check_sample_kwargs(solver: str, kwargs: Any, key: str = "sample_kwargs") -> dict[str, Any]:
    """Return ``kwargs`` as a dict if ``solver``'s ``sample()`` takes every keyword in it with a
    value in its range; else one line naming ``key``, the keyword, the rule and the solver::

        'sample_kwargs' num_reads must be an integer in [1, 2^16] for solver 'sa', got -5
        'sample_kwargs' has unknown keyword 'num_sweep' for solver 'sa' (did you mean
        'num_sweeps'?); valid: beta_range, ...

    Raises:
        TypeError: If ``kwargs`` is not a table with string keys, or a value has the wrong type.
        ValueError: For an unknown keyword (not for :data:`OPEN_SOLVERS`) or a value out of range.
    """
    declared = solver_keywords(solver)
    if not isinstance(kwargs, Mapping):
        raise TypeError(f"{key!r} must be a table of keyword arguments, got {type(kwargs).__name__}")
    suffix = f" for solver {solver!r}"
    for name, value in kwargs.items():
        if not isinstance(name, str):
            raise TypeError(f"{key!r} keys must be strings, got {name!r}")
        if name not in declared:
            if solver in OPEN_SOLVERS:
                continue
            valid = list(declared)
            raise ValueError(
                f"{key!r} has unknown keyword {name!r}{suffix}{did_you_mean(name, valid)}"
                + f"; valid: {', '.join(valid) or '(none: it takes no keyword arguments)'}"
            )
        declared[name].check(f"{key!r} {name}", value, suffix)
    return dict(kwargs)
