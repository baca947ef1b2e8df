"""Keep, inspect and deploy trained models (issue: trained models users keep).

- :func:`save_model` / :func:`load_model`: a model directory with ``model.json`` and
  ``weights.safetensors`` (:mod:`hybridqnn.deploy.store`), for every kind the library trains
  (:mod:`hybridqnn.deploy.kinds`);
- :func:`export_model`: the network as it runs at inference, with its weights bit-packed
  (:mod:`hybridqnn.deploy.graph`, :mod:`hybridqnn.deploy.packing`) or as ONNX
  (:mod:`hybridqnn.deploy.onnx_export`); :mod:`hybridqnn.deploy.reference` runs the packed format
  with NumPy alone;
- :func:`summary`: per layer, parameters, bits, memory as trained and as deployed, and
  multiply-accumulates (:mod:`hybridqnn.deploy.summaries`).

Names load on first use: importing this package imports neither torch nor onnx.
"""

from __future__ import annotations

import importlib

_API: dict[str, str] = {
    "save_model": "hybridqnn.deploy.store",
    "load_model": "hybridqnn.deploy.store",
    "read_metadata": "hybridqnn.deploy.store",
    "export_model": "hybridqnn.deploy.export",
    "summary": "hybridqnn.deploy.summaries",
    "ModelSummary": "hybridqnn.deploy.summaries",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> object:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'hybridqnn.deploy' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
