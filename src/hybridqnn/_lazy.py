"""Names a package loads on first use (PEP 562), so that importing it stays light: the package
declares ``name -> defining module`` and this module builds its ``__getattr__`` and ``__dir__``.

A subpackage declares its names once, as the imports of an ``if TYPE_CHECKING:`` block, which
type checkers and the API reference (griffe) read as ordinary imports;
:func:`type_checking_imports` reads the same block into the table (as ``lazy_loader`` reads a
``.pyi`` stub).

``hybridqnn``, ``hybridqnn.solvers`` and ``hybridqnn.optim`` use it, so ``hybridqnn list``,
``validate`` and ``--dry-run`` import no torch, numba or dimod.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable, Mapping

__all__ = ["attach", "type_checking_imports"]


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


def type_checking_imports(path: str) -> dict[str, str]:
    """``{name: module}`` of the absolute ``from module import name`` statements in the
    top-level ``if TYPE_CHECKING:`` blocks of the Python file at ``path``."""
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), path)
    api: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom) and stmt.module and not stmt.level:
                    api.update((a.asname or a.name, stmt.module) for a in stmt.names)
    return api
