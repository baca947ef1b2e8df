"""Export a trained model as it runs at inference: the bit-packed file or ONNX.

``packed``: one safetensors file with the network's ops in its metadata and each coded weight
tensor bit-packed (:mod:`hybridqnn.deploy.graph`, :mod:`hybridqnn.deploy.packing`);
:mod:`hybridqnn.deploy.reference` runs it with NumPy alone. ``onnx``: the same network as an ONNX
model (:mod:`hybridqnn.deploy.onnx_export`) for any ONNX runtime. Kinds that cannot be expressed
(the graph convolution in ONNX, stochastic qubit neurons unless their deterministic mode is asked
for) raise :class:`~hybridqnn.deploy.graph.NotExportableError` with one line saying why.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["FORMATS", "export_model", "deployed_graph"]

FORMATS = ("packed", "onnx")


def deployed_graph(model: Any, *, deterministic: bool = False) -> Any:
    """The :class:`~hybridqnn.deploy.graph.Graph` of a trained model, or of the model saved at a
    path (then with the class labels recorded in its ``model.json``)."""
    from hybridqnn.deploy.kinds import get_kind, kind_of

    if not isinstance(deterministic, bool):
        raise TypeError(f"'deterministic' must be a bool, got {deterministic!r}")
    if isinstance(model, (str, os.PathLike)):
        from hybridqnn.deploy.store import load_model, read_metadata

        meta = read_metadata(model)
        kind, obj, classes = get_kind(meta["kind"]), load_model(model), meta["classes"]
    else:
        kind, obj, classes = kind_of(model), model, None
    graph = kind.graph(obj, deterministic)
    if classes is not None:
        graph = graph.with_classes(classes)
    return graph


def export_model(
    model: Any, out: str | os.PathLike[str], *, format: str = "packed", deterministic: bool = False
) -> Path:
    """Write ``model`` (a trained model or a saved model's path) to ``out`` as ``format``
    (``packed`` or ``onnx``); ``deterministic`` exports a stochastic model's deterministic mode.
    Returns the path written."""
    from hybridqnn._checks import check_choice

    check_choice("format", format, FORMATS)
    graph = deployed_graph(model, deterministic=deterministic)
    out = Path(out)
    if out.exists() and out.is_dir():
        raise ValueError(f"'out' {str(out)!r} is a directory; give a file name")
    out.parent.mkdir(parents=True, exist_ok=True)
    if format == "packed":
        from hybridqnn.deploy.graph import write_packed

        write_packed(graph, out)
    else:
        from hybridqnn.deploy.onnx_export import write_onnx

        write_onnx(graph, out)
    return out
