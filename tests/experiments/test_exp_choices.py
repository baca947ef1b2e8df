"""The copied vocabularies of hybridqnn.experiments.choices equal their sources, so that the
light tables the config loader checks against cannot drift from what the library accepts."""

from __future__ import annotations

import pytest

from hybridqnn.experiments import choices

SOURCES = {
    "NONLINEARITIES": "hybridqnn.nn.features:NONLINEARITIES",
    "POOLS": "hybridqnn.nn.features:POOLS",
    "HEAD_OPTIMIZERS": "hybridqnn.train.sgd_head:OPTIMIZERS",
    "LOSSES": "hybridqnn.problems.splines:LOSSES",
    "MOVES": "hybridqnn.train.qcbo.moves:MOVES",
    "GRAPH_DATASETS": "hybridqnn.data.graphs:GRAPH_DATASETS",
}


@pytest.mark.parametrize(("copy", "source"), SOURCES.items())
def test_each_table_equals_its_source(copy: str, source: str) -> None:
    import importlib

    module, _, name = source.partition(":")
    assert getattr(choices, copy) == tuple(getattr(importlib.import_module(module), name))


def test_every_table_is_checked() -> None:
    assert set(SOURCES) == set(choices.__all__)


def test_natural_backends_equal_the_library_s() -> None:
    from hybridqnn.experiments.benchmarks.natural import _backends
    from hybridqnn.nn.natural import BACKENDS

    assert _backends() == BACKENDS
