"""Small helpers shared by the experiments' params dataclasses."""

from __future__ import annotations

from dataclasses import field
from typing import Any


def list_field(*values: Any, help: str = "") -> Any:
    """A dataclass field whose default is a fresh list of ``values`` (with optional help text)."""
    metadata = {"help": help} if help else {}
    return field(default_factory=lambda: list(values), metadata=metadata)


def check_solvers(key: str, *names: str) -> None:
    """One-line error unless every name is a registered solver (:func:`hybridqnn.solvers.solver_names`)."""
    from hybridqnn._checks import check_choice
    from hybridqnn.solvers import solver_names

    for name in names:
        check_choice(key, name, solver_names())
