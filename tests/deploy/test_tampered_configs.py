"""A model.json whose config was edited to ask for a huge network is refused from the saved
tensors' shapes before anything of that size is built (torch kinds build on the meta device
first: hybridqnn.deploy.kinds.torch_state)."""

from __future__ import annotations

import json

import pytest

from hybridqnn.deploy.store import load_model, save_model
from hybridqnn.errors import InputFileError
from hybridqnn.nn import BinaryMLP
from hybridqnn.nn.natural.models import SignMLP


def _tamper(path, **config):
    meta = json.loads((path / "model.json").read_text())
    meta["config"].update(config)
    (path / "model.json").write_text(json.dumps(meta))


@pytest.mark.parametrize(
    ("model", "config", "tensor"),
    [
        (BinaryMLP([9, 5, 1], seed=0), {"sizes": [200_000, 200_000, 1]}, "'0.weight' must have shape (200000, 200000)"),
        (SignMLP(12, 4, 1, 3, seed=0), {"width": 200_000}, "'layers.0.weight' must have shape (200000, 12)"),
    ],
)
def test_config_asking_for_160_gb_is_refused_without_allocating(tmp_path, model, config, tensor):
    path = save_model(model, tmp_path / "m")
    _tamper(path, **config)
    with pytest.raises(InputFileError, match="cannot rebuild") as err:
        load_model(path)
    assert tensor in str(err.value) and "for this config" in str(err.value)
