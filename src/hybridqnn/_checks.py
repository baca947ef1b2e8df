"""Argument validation shared by the whole package.

Every check raises ``TypeError`` for a wrong type and ``ValueError`` for a wrong value, with a
one-line message that names the parameter, the rule and what was received, for example
``'bits' must be an integer in [1, 32], got 0``.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_int(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an ``int`` if it is an integer in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name!r} must be an integer{_range(low, high)}, got {_shown(value)}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name!r} must be an integer{_range(low, high)}, got {value}")
    return value


def check_float(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` in ``[low, high]`` (``(low, high]`` if ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name!r} must be a real number{_range(low, high, low_open)}, got {_shown(value)}")
    value = float(value)
    bad = not np.isfinite(value)
    if low is not None:
        bad = bad or (value <= low if low_open else value < low)
    if high is not None:
        bad = bad or value > high
    if bad:
        raise ValueError(f"{name!r} must be a finite number{_range(low, high, low_open)}, got {value!r}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a bool (numpy bools accepted)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name!r} must be a bool, got {_shown(value)}")
    return bool(value)


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``; the error lists the valid ones."""
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name!r} must be one of {', '.join(choices)}; got {_shown(value)}")
    return value


def _range(low: float | None, high: float | None, low_open: bool = False) -> str:
    if low is None and high is None:
        return ""
    if high is None:
        return f" {'>' if low_open else '>='} {low}"
    if low is None:
        return f" <= {high}"
    return f" in {'(' if low_open else '['}{low}, {high}]"
