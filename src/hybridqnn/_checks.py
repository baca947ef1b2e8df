"""Argument validation shared by the whole package.

Every check raises ``TypeError`` for a wrong type and ``ValueError`` for a wrong value, with a
one-line message that names the parameter, the rule and what was received, for example
``'bits' must be an integer in [1, 32], got 0``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def did_you_mean(name: Any, valid: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the valid name closest to ``name`` (difflib), or ``""``:
    the hint every unknown-name message gives."""
    import difflib

    hint = difflib.get_close_matches(str(name), list(valid), n=1)
    return f" (did you mean {hint[0]!r}?)" if hint else ""


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


def check_finite(name: str, values: Any) -> None:
    """Raise ``'name' must be finite, got K NaN or inf values`` unless every entry of ``values``
    (an array, a number, or a torch tensor, checked on its own device) is finite."""
    if not bool(_all_finite(values)):
        bad = values.detach().isfinite().logical_not().sum() if _is_tensor(values) else np.count_nonzero(~np.isfinite(values))
        raise ValueError(f"{name!r} must be finite, got {int(bad)} NaN or inf values")


def check_finite_step(owner: str, loss: Any, values: Iterable[tuple[str, Any]]) -> None:
    """An optimizer's check before it changes any parameter: ``loss`` (None when there was no
    closure) and every named array of ``values`` (gradients, recorded layer data) finite, else
    ``<owner>.step: 'grad of param_groups[0] parameter 1' must be finite, got K NaN or inf
    values; no parameter was changed``. Tensors are tested on their device, all before the
    first result is read (one wait for a GPU, not one per tensor)."""
    named = ([("loss", loss)] if loss is not None else []) + list(values)
    flags = [_all_finite(value) for _, value in named]
    for (name, value), ok in zip(named, flags, strict=True):
        if not bool(ok):
            try:
                check_finite(name, value)
            except ValueError as exc:
                raise ValueError(f"{owner}.step: {exc}; no parameter was changed") from None


def _is_tensor(values: Any) -> bool:
    return hasattr(values, "detach") and hasattr(values, "isfinite")


def _all_finite(values: Any) -> Any:
    """Whether every entry is finite: a bool, or a 0-d bool tensor on the values' device."""
    if _is_tensor(values):
        return values.detach().isfinite().all()
    arr = np.asarray(values)
    return arr.dtype.kind not in "fc" or bool(np.all(np.isfinite(arr)))


#: The largest float64; the magnitudes of a model's coefficients must sum to at most this.
FLOAT64_MAX = float(np.finfo(np.float64).max)


def check_finite_biases(
    name: str,
    linear: np.ndarray,
    quadratic: np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray],
    offset: float,
    labels: Sequence[Any] | None = None,
) -> None:
    """The one check that a quadratic model's coefficients are usable numbers, before sampling.

    The model is E(x) = offset + sum_i h_i x_i + sum_{i<j} J_ij x_i x_j over bits or spins, given
    by ``linear`` h, ``quadratic`` J (a (row, col, values) triple as ``to_numpy_vectors`` gives,
    or a dense symmetric (n, n) matrix holding each J_ij twice) and ``offset``. Two rules:

    - every coefficient is finite (no NaN, +inf or -inf, which dwave-samplers' tabu search, for
      one, aborts the process on);
    - |offset| + sum_i |h_i| + sum_{i<j} |J_ij| <= 1.8e308 (:data:`FLOAT64_MAX`), which bounds
      |E(x)| at every state and every local field, so no energy overflows float64.

    Raises:
        ValueError: one line naming ``name``, the rule, the first offending variable or
            interaction (by its label in ``labels``, default its index) and its value.
    """
    lin = np.asarray(linear, dtype=np.float64)
    dense = not isinstance(quadratic, tuple)
    if dense:
        quad = np.asarray(quadratic, dtype=np.float64)
    else:
        row, col, quad = (np.asarray(a) for a in quadratic)
        quad = quad.astype(np.float64, copy=False)
    offset = float(offset)
    if _magnitude_bound(lin, quad, offset, dense) <= FLOAT64_MAX:  # False for NaN
        return
    if np.all(np.isfinite(lin)) and np.all(np.isfinite(quad)) and math.isfinite(offset):
        where, value = _largest(lin, quad, offset, dense, None if dense else (row, col), labels)
        raise ValueError(
            f"{name!r} must have coefficients whose magnitudes sum to at most {FLOAT64_MAX:.4g} (else energies "
            f"overflow float64), got a larger sum; the largest is {where} ({value!r})"
        )
    bad_lin = np.flatnonzero(~np.isfinite(lin))
    if dense:
        bad = np.argwhere(~np.isfinite(np.triu(quad, 1)))
        row, col, quad = bad[:, 0], bad[:, 1], quad[bad[:, 0], bad[:, 1]]
    bad_quad = np.flatnonzero(~np.isfinite(quad))
    count = bad_lin.size + bad_quad.size + (0 if math.isfinite(offset) else 1)
    label = _labeller(labels)
    if bad_lin.size:
        where = f"the linear bias of variable {_shown(label(bad_lin[0]))} is {float(lin[bad_lin[0]])!r}"
    elif bad_quad.size:
        k = bad_quad[0]
        where = f"the quadratic bias of interaction ({_shown(label(row[k]))}, {_shown(label(col[k]))}) is {float(quad[k])!r}"
    else:
        where = f"the offset is {offset!r}"
    more = f" ({count} NaN or infinite values in all)" if count > 1 else ""
    raise ValueError(f"{name!r} must have finite coefficients, got NaN or infinite: {where}{more}")


def check_finite_model(name: str, model: Any) -> None:
    """:func:`check_finite_biases` on a dimod ``BinaryQuadraticModel`` or ``QuadraticModel``
    (the objective or a constraint of a CQM), naming variables by their labels."""
    labels = list(model.variables)
    if hasattr(model, "to_numpy_vectors"):
        lin, quadratic, offset = model.to_numpy_vectors(labels)
    else:
        index = {v: i for i, v in enumerate(labels)}
        terms = list(model.iter_quadratic())
        lin = np.fromiter((model.get_linear(v) for v in labels), dtype=np.float64, count=len(labels))
        quadratic = (
            np.fromiter((index[u] for u, _, _ in terms), dtype=np.int64, count=len(terms)),
            np.fromiter((index[v] for _, v, _ in terms), dtype=np.int64, count=len(terms)),
            np.fromiter((b for *_, b in terms), dtype=np.float64, count=len(terms)),
        )
        offset = model.offset
    check_finite_biases(name, lin, quadratic, offset, labels)


def _magnitude_bound(lin: np.ndarray, quad: np.ndarray, offset: float, dense: bool) -> float:
    """An upper bound of |offset| + sum |h| + sum_{i<j} |J| (exact only when the cheap bound,
    the largest magnitude times the number of terms, is too large); NaN if any value is NaN.
    Two passes over a dense J, no copy of it."""
    terms = lin.size + (quad.size // 2 if dense else quad.size) + 1
    extremes = [abs(offset), np.max(np.abs(lin), initial=0.0), np.max(quad, initial=0.0), -np.min(quad, initial=0.0)]
    big = float(np.max(extremes))  # np.max propagates NaN, the builtin max would not
    if not big * terms > FLOAT64_MAX:
        return big * terms
    with np.errstate(over="ignore", invalid="ignore"):
        return abs(offset) + float(np.sum(np.abs(lin))) + float(np.sum(np.abs(quad))) / (2.0 if dense else 1.0)


def _labeller(labels: Sequence[Any] | None) -> Any:
    """Variable index -> its label (the index itself without ``labels``)."""
    return (lambda i: int(i)) if labels is None else (lambda i: labels[int(i)])


def _largest(
    lin: np.ndarray, quad: np.ndarray, offset: float, dense: bool, pairs: tuple[np.ndarray, np.ndarray] | None, labels: Sequence[Any] | None
) -> tuple[str, float]:
    """Where the largest coefficient magnitude sits, and its value."""
    label = _labeller(labels)
    candidates = [(abs(offset), "the offset", offset)]
    if lin.size:
        i = int(np.argmax(np.abs(lin)))
        candidates.append((abs(float(lin[i])), f"the linear bias of variable {_shown(label(i))}", float(lin[i])))
    if quad.size:
        k = int(np.argmax(np.abs(quad)))
        u, v = divmod(k, quad.shape[0]) if dense else (pairs[0][k], pairs[1][k])
        candidates.append((abs(float(quad.flat[k])), f"the quadratic bias of interaction ({_shown(label(u))}, {_shown(label(v))})", float(quad.flat[k])))
    _, where, value = max(candidates, key=lambda c: c[0])
    return where, value


def _range(low: float | None, high: float | None, low_open: bool = False) -> str:
    if low is None and high is None:
        return ""
    if high is None:
        return f" {'>' if low_open else '>='} {low}"
    if low is None:
        return f" <= {high}"
    return f" in {'(' if low_open else '['}{low}, {high}]"


@dataclass(frozen=True)
class NumberRule:
    """A number's rule: an integer or a float, in a range (bounds included unless ``*_open``),
    finite unless ``finite`` is False (NaN is never accepted). The one wording of such rules:
    ``an integer in [1, 32]``, ``a float > 0``, ``a finite float``."""

    integer: bool
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    finite: bool = True

    def describe(self) -> str:
        """The rule in words."""
        low, high = self.low, self.high
        bounded = low is not None or high is not None
        what = "an integer" if self.integer else ("a finite float" if self.finite and not bounded else "a float")
        if low is not None and high is not None:
            return f"{what} in {'(' if self.low_open else '['}{_num(low)}, {_num(high)}{')' if self.high_open else ']'}"
        if low is not None:
            return f"{what} {'>' if self.low_open else '>='} {_num(low)}"
        if high is not None:
            return f"{what} {'<' if self.high_open else '<='} {_num(high)}"
        return what

    def check(self, name: str, value: Any, suffix: str = "") -> int | float:
        """Return ``value`` as an int or float if it keeps the rule; else ``TypeError`` or
        ``ValueError``: ``<name> must be <rule><suffix>, got <value>``, e.g. ``'rho' must be a
        float > 0, got -1.0`` (``name`` as it should appear, quotes included)."""
        rule = self.describe()
        ok_type = isinstance(value, numbers.Integral) if self.integer else isinstance(value, numbers.Real)
        if isinstance(value, bool) or not ok_type:
            raise TypeError(f"{name} must be {rule}{suffix}, got {_shown(value)}")
        value = int(value) if self.integer else float(value)
        bad = not self.integer and (math.isnan(value) or (self.finite and math.isinf(value)))
        if self.low is not None:
            bad = bad or (value <= self.low if self.low_open else value < self.low)
        if self.high is not None:
            bad = bad or (value >= self.high if self.high_open else value > self.high)
        if bad:
            if self.finite and not self.integer and not math.isfinite(value) and rule.startswith("a float"):
                rule = "a finite" + rule[1:]
            raise ValueError(f"{name} must be {rule}{suffix}, got {_shown(value)}")
        return value


def _num(x: float) -> str:
    """A bound as written in a rule: 10^9 and 2^32 - 1 for the large round ones."""
    if isinstance(x, int) and x >= 10**4:
        for base in (10, 2):
            for delta, tail in ((0, ""), (1, " - 1")):
                k = round(math.log(x + delta, base))
                if base**k == x + delta:
                    return f"{base}^{k}{tail}"
    return f"{x:g}" if isinstance(x, float) else str(x)
