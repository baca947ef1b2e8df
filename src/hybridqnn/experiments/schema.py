"""The params schema: which annotations an experiment's params dataclass may use, and how a
TOML or ``--set`` value is checked and coerced against them.

Supported annotations: ``int``, ``float``, ``bool``, ``str``, ``Literal[...]``, ``list[X]``,
``tuple[X, ...]``, ``dict[str, X]``, ``X | None`` and ``Any``. The registry checks a params
class once when an experiment registers; the config loader coerces every value.
"""

from __future__ import annotations

import dataclasses
import numbers
import types
import typing
from collections.abc import Sequence
from typing import Any, Literal

__all__ = [
    "accepts_str",
    "check_params_type",
    "coerce",
    "field_hints",
    "init_fields",
    "is_required",
    "type_name",
]


def init_fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls) if f.init}


def is_required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def field_hints(cls: type) -> dict[str, Any]:
    try:
        hints = typing.get_type_hints(cls)
    except Exception as exc:  # NameError etc. from unresolvable string annotations
        raise TypeError(f"cannot resolve the annotations of {cls.__qualname__}: {exc}") from None
    return {name: hints.get(name, Any) for name in init_fields(cls)}


def check_params_type(cls: type, where: str = "params") -> None:
    """Raise ``TypeError`` if a field of the dataclass ``cls`` has an unsupported annotation."""
    for name, hint in field_hints(cls).items():
        try:
            _check_supported(hint)
        except TypeError as exc:
            raise TypeError(f"{where}: field {name!r} of {cls.__qualname__}: {exc}") from None


_UNION_TYPES: tuple[Any, ...] = (typing.Union, types.UnionType)
_SCALARS = (int, float, bool, str)


def _check_supported(hint: Any) -> None:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any or hint in _SCALARS:
        return
    if origin in _UNION_TYPES:
        for arg in args:
            if arg is not type(None):
                _check_supported(arg)
        return
    if origin is Literal:
        return
    if origin in (list, Sequence) and len(args) == 1:
        _check_supported(args[0])
        return
    if origin is tuple and args:
        for arg in args:
            if arg is not Ellipsis:
                _check_supported(arg)
        return
    if origin is dict and len(args) == 2 and args[0] is str:
        _check_supported(args[1])
        return
    raise TypeError(
        f"unsupported annotation {hint!r}; use int, float, bool, str, Literal[...], list[X], "
        "tuple[X, ...], dict[str, X], X | None or Any"
    )


def type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return "any"
    if hint is type(None):
        return "None"
    if origin in _UNION_TYPES:
        return " | ".join(type_name(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (list, Sequence):
        return f"list[{type_name(args[0])}]"
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"list[{type_name(args[0])}]"
        return f"list of {len(args)} ({', '.join(type_name(a) for a in args)})"
    if origin is dict:
        return f"table of {type_name(args[1])}"
    return getattr(hint, "__name__", repr(hint))


def accepts_str(hint: Any) -> bool:
    if hint is str or hint is Any:
        return True
    if typing.get_origin(hint) in _UNION_TYPES:
        return any(accepts_str(a) for a in typing.get_args(hint))
    if typing.get_origin(hint) is Literal:
        return any(isinstance(a, str) for a in typing.get_args(hint))
    return False


def _shown(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def coerce(where: str, value: Any, hint: Any) -> Any:
    """Check ``value`` against ``hint`` and return it in the annotated form."""
    ok, result = _trycoerce(value, hint)
    if ok:
        return result
    if isinstance(result, str):  # a nested element failed; result names it
        raise TypeError(f"{where}{result}")
    raise TypeError(f"{where} must be {type_name(hint)}, got {_shown(value)}")


def _trycoerce(value: Any, hint: Any) -> tuple[bool, Any]:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return True, value
    if hint is type(None):
        return value is None, None
    if hint is bool:
        return (True, value) if isinstance(value, bool) else (False, None)
    if hint is int:
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return True, int(value)
        return False, None
    if hint is float:
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return True, float(value)
        return False, None
    if hint is str:
        return (True, value) if isinstance(value, str) else (False, None)
    if origin in _UNION_TYPES:
        non_none = [a for a in args if a is not type(None)]
        if value is None and len(non_none) < len(args):
            return True, None
        # "none"/"null" strings (from --set) mean None where a str is not acceptable
        if (
            isinstance(value, str)
            and value.lower() in ("none", "null")
            and len(non_none) < len(args)
            and not any(accepts_str(a) for a in non_none)
        ):
            return True, None
        for arg in non_none:
            ok, result = _trycoerce(value, arg)
            if ok:
                return True, result
        return False, None
    if origin is Literal:
        for choice in args:
            if value == choice and type(value) is type(choice):
                return True, value
        return False, None
    if origin in (list, Sequence, tuple):
        if not isinstance(value, (list, tuple)):
            return False, None
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                return False, None
            elem_hints = list(args)
        else:
            elem_hints = [args[0]] * len(value)
        out = []
        for i, (item, elem_hint) in enumerate(zip(value, elem_hints, strict=True)):
            ok, result = _trycoerce(item, elem_hint)
            if not ok:
                return False, (
                    f"[{i}] must be {type_name(elem_hint)}, got {_shown(item)}"
                    if not isinstance(result, str)
                    else f"[{i}]{result}"
                )
            out.append(result)
        return True, (tuple(out) if origin is tuple else out)
    if origin is dict:
        if not isinstance(value, dict):
            return False, None
        out_d = {}
        for key, item in value.items():
            ok, result = _trycoerce(item, args[1])
            if not ok:
                return False, (
                    f"[{key!r}] must be {type_name(args[1])}, got {_shown(item)}"
                    if not isinstance(result, str)
                    else f"[{key!r}]{result}"
                )
            out_d[key] = result
        return True, out_d
    if isinstance(hint, type) and isinstance(value, hint):
        return True, value
    return False, None
