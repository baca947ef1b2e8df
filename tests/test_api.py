"""The top-level public API: a small set of names, loaded lazily."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import hybridqnn


def test_every_public_name_is_the_subpackage_object() -> None:
    names = [n for n in hybridqnn.__all__ if n != "__version__"]
    assert 15 <= len(names) <= 30
    for name in names:
        module = importlib.import_module(hybridqnn._API[name])
        assert getattr(hybridqnn, name) is getattr(module, name), name
    assert set(names) <= set(dir(hybridqnn))


def test_summary_is_the_function_even_after_its_module_is_imported() -> None:
    import hybridqnn.deploy.summaries  # noqa: F401

    assert callable(hybridqnn.summary) and hybridqnn.summary.__name__ == "summary"


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'fit_everything'"):
        hybridqnn.fit_everything  # noqa: B018


def test_import_is_light() -> None:
    code = "import sys, hybridqnn; print('torch' in sys.modules, 'hybridqnn.solvers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_the_docstring_example_runs() -> None:
    hq = hybridqnn
    ds = hq.load_dataset("digits")
    features = hq.RandomConvFeatures.for_images(ds.image_shape, seed=0)
    features.fit(ds.x_train)
    clf = hq.QUBOHeadClassifier(bits=10, sampler=hq.get_sampler("dense-sa"), max_iter=2)
    clf.fit(features.transform(ds.x_train), ds.y_train)
    assert clf.score(features.transform(ds.x_test), ds.y_test) > 0.8
