"""hybridqnn._lazy.attach: names a package loads on first use."""

from __future__ import annotations

import sys
import types

import pytest

from hybridqnn._lazy import attach


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
