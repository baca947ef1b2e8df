"""Declared rules of the experiments' params dataclasses, checked in one place.

Every ``int``/``float`` field and every enum-like ``str`` field of an experiment's params
dataclass declares its rule with :func:`param` (or :func:`list_field`)::

    rho: float = param(0.3, help="PH penalty", low=0.0, low_open=True)
    solver: str = param("dense-sa", help="...", choices=solver_names)   # lazy choices
    bits: list[int] = list_field(10, low=1, high=32, nonempty=True)

A rule applies to the value itself, element by element for ``list[X]``/``tuple[X, ...]`` and
value by value for ``dict[str, X]``; None is skipped for ``X | None``. Floats must be finite
unless a field says ``finite=False``. A field whose values need a check of their own (a task
name such as ``"0-1"``) passes ``check=fn``, called as ``fn(label, element)``; a field that
truly takes any value says ``free=True``. The root params classes call :func:`check_declared`
from ``__post_init__``, so ``QCBOParams(rho=-1)`` fails exactly as ``--set rho=-1`` does;
``__post_init__`` keeps only the rules that involve several fields. The config loader checks each
value with :func:`check_field` as it reads it, so the message also names the table or the
``--set`` item.

Bounds shared by many fields: :data:`MAX_COUNT` (iterations, epochs, repeats, samples) and
:data:`MAX_WIDTH` (layer widths, features, filters): larger values cannot finish or allocate.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from hybridqnn._checks import NumberRule, check_choice

__all__ = [
    "COUNT",
    "MAX_COUNT",
    "MAX_WIDTH",
    "POSITIVE",
    "Rule",
    "check_declared",
    "check_field",
    "field_rule",
    "list_field",
    "param",
    "solver_choices",
    "solver_field",
    "solver_kwargs_fields",
]

#: Most iterations, epochs, repeats or samples a count field accepts.
MAX_COUNT = 10**9
#: Most units of a layer, features or filters a width field accepts.
MAX_WIDTH = 2**20

#: ``param(..., **COUNT)``: an integer in [1, MAX_COUNT] (iterations, epochs, repeats, samples).
COUNT: dict[str, Any] = {"low": 1, "high": MAX_COUNT}
#: ``param(..., **POSITIVE)``: a float > 0 (rates, seconds, ranges).
POSITIVE: dict[str, Any] = {"low": 0.0, "low_open": True}

_MISSING = dataclasses.MISSING


@dataclass(frozen=True)
class Rule:
    """The declared rule of one field (see the module docstring).

    Attributes:
        low, high, low_open, high_open: Range of a number (bounds included unless ``*_open``).
        choices: Valid strings: a tuple, or a zero-argument callable returning them (so that
            listing them stays lazy, e.g. :func:`hybridqnn.solvers.solver_names`).
        finite: Floats must be finite (NaN is never accepted).
        nonempty: A list or table must hold at least one entry.
        check: ``check(label, element)`` raising ``TypeError``/``ValueError``, for values with
            a syntax of their own.
        free: The field takes any value of its type (declared explicitly).
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] | Callable[[], Iterable[str]] | None = None
    finite: bool = True
    nonempty: bool = False
    check: Callable[[str, Any], Any] | None = None
    free: bool = False

    def choice_list(self) -> tuple[str, ...]:
        """The valid strings (calls a lazy ``choices``)."""
        choices = self.choices() if callable(self.choices) else self.choices
        return tuple(choices or ())

    def number(self, kind: type) -> NumberRule:
        """The :class:`~hybridqnn._checks.NumberRule` of an ``int`` or ``float`` element."""
        return NumberRule(kind is int, self.low, self.high, self.low_open, self.high_open, self.finite)

    def describe(self, kind: type | None) -> str:
        """The rule in words for ``params_help``, e.g. ``an integer in [1, 32]``."""
        parts = []
        if kind in (int, float):
            parts.append(self.number(kind).describe())
        if self.choices is not None:
            parts.append("one of " + ", ".join(self.choice_list()))
        if self.nonempty:
            parts.append("at least one entry")
        if self.check is not None and self.check.__doc__:
            parts.append(self.check.__doc__.strip().splitlines()[0].rstrip("."))
        if self.free and not parts:
            parts.append("any value")
        return "; ".join(parts)

    def check_element(self, label: str, value: Any, kind: type | None) -> None:
        """Check one element (the value itself for a scalar field)."""
        if kind in (int, float):
            self.number(kind).check(repr(label), value)
        if self.choices is not None:
            check_choice(label, value, self.choice_list())
        if self.check is not None:
            self.check(label, value)


def param(
    default: Any = _MISSING,
    *,
    default_factory: Any = _MISSING,
    help: str = "",
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    choices: tuple[str, ...] | Callable[[], Iterable[str]] | None = None,
    finite: bool = True,
    nonempty: bool = False,
    check: Callable[[str, Any], Any] | None = None,
    free: bool = False,
) -> Any:
    """A dataclass field with help text and a declared :class:`Rule` (module docstring)."""
    rule = Rule(low, high, low_open, high_open, choices, finite, nonempty, check, free)
    metadata = {"help": help, "rule": rule}
    if default_factory is not _MISSING:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def list_field(*values: Any, help: str = "", **rule: Any) -> Any:
    """:func:`param` whose default is a fresh list of ``values``."""
    return param(default_factory=lambda: list(values), help=help, **rule)


def field_rule(f: dataclasses.Field) -> Rule | None:
    """The :class:`Rule` a field declares, or None."""
    return f.metadata.get("rule")


@functools.cache
def _fields(cls: type) -> dict[str, tuple[Any, Rule | None]]:
    """name -> (annotation, rule) of the init fields of the dataclass ``cls``."""
    hints = typing.get_type_hints(cls)
    return {f.name: (hints.get(f.name, Any), field_rule(f)) for f in dataclasses.fields(cls) if f.init}


def element_kind(hint: Any) -> tuple[str, type | None]:
    """(container, scalar type) of an annotation: container ``""``, ``"list"`` or ``"dict"``;
    the scalar type ``int``, ``float``, ``str`` or None (bool, Literal, Any, nested tables),
    with ``X | None`` read as ``X``."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, type(int | None)) and len(args) == 1:
        return element_kind(args[0])
    origin = typing.get_origin(hint)
    if origin in (list, tuple):
        return "list", _scalar(args[0])
    if origin is dict:
        return "dict", _scalar(args[1])
    return "", _scalar(hint)


def _scalar(hint: Any) -> type | None:
    return hint if hint in (int, float, str) else None


def check_field(cls: type, name: str, value: Any) -> None:
    """Check ``value`` of field ``name`` of the params dataclass ``cls`` against its declared
    rule (nothing if it declares none); errors name the field as the user wrote it."""
    hint, rule = _fields(cls)[name]
    if rule is None or value is None:
        return
    container, kind = element_kind(hint)
    if container == "list":
        if rule.nonempty and not value:
            raise ValueError(f"{name!r} must list at least one entry, got []")
        for item in value:
            rule.check_element(name, item, kind)
    elif container == "dict":
        if rule.nonempty and not value:
            raise ValueError(f"{name!r} must have at least one entry, got {{}}")
        for key, item in value.items():
            rule.check_element(f"{name}[{key}]", item, kind)
    else:
        rule.check_element(name, value, kind)


def check_declared(obj: Any) -> None:
    """Check every field of the params instance ``obj``: its type against the annotation
    (:func:`hybridqnn.experiments.schema.coerce`) and its value against the declared rule
    (:func:`check_field`). Called by the root params classes' ``__post_init__``."""
    from hybridqnn.experiments.schema import coerce

    cls = type(obj)
    for name, (hint, _) in _fields(cls).items():
        value = getattr(obj, name)
        coerce(repr(name), value, hint)
        check_field(cls, name, value)


def solver_choices(*excluded: str) -> Callable[[], tuple[str, ...]]:
    """Lazy ``choices``: the registered solver names but ``excluded``."""

    def names() -> tuple[str, ...]:
        from hybridqnn.solvers import solver_names

        return tuple(n for n in solver_names() if n not in excluded)

    return names


def solver_field(default: str, *, help: str, kwargs: str = "sample_kwargs", excluded: tuple[str, ...] = ()) -> Any:
    """A registry solver name (one of :func:`solver_choices` but ``excluded``) whose sampler
    keywords are the dict field ``kwargs`` of the same params class.

    The pair tells the config loader that ``kwargs`` belong to this solver: a config layer
    (``[params]``, ``[quick]``, the ``--set`` items) that changes the solver without setting
    ``kwargs`` gives the new solver its own defaults, the empty table (its sampler's defaults),
    instead of keywords written for another solver (:func:`hybridqnn.experiments.config.load_config`).
    """
    f = param(default, help=help, choices=solver_choices(*excluded))
    return field(default=default, metadata={**f.metadata, "sample_kwargs": kwargs})


def solver_kwargs_fields(cls: type) -> dict[str, str]:
    """``{solver field: its sample_kwargs field}`` of the params dataclass ``cls``
    (the fields declared with :func:`solver_field`)."""
    return {
        f.name: f.metadata["sample_kwargs"]
        for f in dataclasses.fields(cls)
        if f.init and "sample_kwargs" in f.metadata
    }


def is_declared(hint: Any, f: dataclasses.Field) -> bool:
    """Whether a field satisfies the "every field declares its rule" convention: numbers and
    strings (also inside lists and tables) need a :class:`Rule`; bool, Literal (its annotation
    is the rule) and Any do not."""
    if field_rule(f) is not None:
        return True
    if typing.get_origin(hint) is Literal:
        return True
    container, kind = element_kind(hint)
    if container == "dict" and kind is None:
        inner = typing.get_args(hint)[1]
        return inner is Any or inner is bool
    return kind is None
