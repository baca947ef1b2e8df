"""hybridqnn._lazy.attach: names a package loads on first use."""

from __future__ import annotations

import sys
import types

import pytest

from hybridqnn._lazy import attach, type_checking_imports


def test_a_name_is_imported_on_first_access_and_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    package = types.ModuleType("fake_pkg")
    monkeypatch.setitem(sys.modules, "fake_pkg", package)
    package.__getattr__, package.__dir__ = attach("fake_pkg", {"sqrt": "math", "dumps": "json"})
    assert "sqrt" not in vars(package)
    import math

    assert package.sqrt is math.sqrt
    assert vars(package)["sqrt"] is math.sqrt
    assert {"sqrt", "dumps"} <= set(dir(package))
    with pytest.raises(AttributeError, match="module 'fake_pkg' has no attribute 'nope'"):
        package.nope  # noqa: B018


@pytest.mark.parametrize("package", ["hybridqnn", "hybridqnn.solvers", "hybridqnn.optim"])
def test_each_lazy_package_exports_exactly_its_type_checking_imports(package: str) -> None:
    import importlib

    module = importlib.import_module(package)
    assert module._API == type_checking_imports(module.__file__)
    assert set(module.__all__) - {"__version__"} == set(module._API)
    for name, source in module._API.items():
        assert getattr(module, name) is getattr(importlib.import_module(source), name), name


def test_type_checking_imports_reads_only_the_guarded_absolute_imports(tmp_path) -> None:
    path = tmp_path / "mod.py"
    path.write_text(
        "import os\nfrom json import dumps\nfrom typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from math import sqrt, pi as PI\n    from . import sibling\n    import re\n"
        "if other:\n    from math import tau\n"
    )
    assert type_checking_imports(str(path)) == {"sqrt": "math", "PI": "math"}
