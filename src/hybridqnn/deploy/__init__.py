"""Keep, inspect and deploy trained models.

- :func:`save_model` / :func:`load_model`: a model directory with ``model.json`` and
  ``weights.safetensors`` (:mod:`hybridqnn.deploy.store`), for every kind the library trains
  (:mod:`hybridqnn.deploy.kinds`);
- :func:`export_model`: the network as it runs at inference, with its weights bit-packed
  (:mod:`hybridqnn.deploy.graph`, :mod:`hybridqnn.deploy.packing`) or as ONNX
  (:mod:`hybridqnn.deploy.onnx_export`); :mod:`hybridqnn.deploy.reference` runs the packed format
  with NumPy alone;
- :func:`summary`: per layer, parameters, bits, memory as trained and as deployed, and
  multiply-accumulates (:mod:`hybridqnn.deploy.summaries`).

The top-level ``hybridqnn`` package exports ``save_model``, ``load_model``, ``export_model`` and
``summary``. Importing this package imports nothing else (the NumPy reference must not pull in
torch).
"""
