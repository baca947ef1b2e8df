"""Dependencies point one way (DESIGN.md): problems and solvers never import nn, optim or train."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("package", ["hybridqnn.problems", "hybridqnn.solvers"])
def test_builders_and_solvers_do_not_import_the_methods(package: str) -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for m in pkgutil.iter_modules(pkg.__path__):\n"
        "    importlib.import_module(pkg.__name__ + '.' + m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[:2] in (['hybridqnn', 'nn'], ['hybridqnn', 'optim'], ['hybridqnn', 'train']))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"{package} imports {out}"
