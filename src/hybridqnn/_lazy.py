"""Names a package loads on first use (PEP 562), so that importing it stays light: the package
declares ``name -> defining module`` and this module builds its ``__getattr__`` and ``__dir__``.

``hybridqnn``, ``hybridqnn.solvers`` and ``hybridqnn.optim`` use it, so ``hybridqnn list``,
``validate`` and ``--dry-run`` import no torch, numba or dimod.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping

__all__ = ["attach"]


def attach(package: str, api: Mapping[str, str]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for the module ``package``: an ``api`` name is imported from its
    module on first access and then kept in the package's namespace; any other name is an
    ``AttributeError``."""

    def __getattr__(name: str) -> object:
        module = api.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(api))

    return __getattr__, __dir__
