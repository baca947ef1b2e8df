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
    from hybridqnn.deploy.kinds import kind_of

    if not isinstance(deterministic, bool):
        raise TypeError(f"'deterministic' must be a bool, got {deterministic!r}")
    if isinstance(model, (str, os.PathLike)):
        from hybridqnn.deploy.store import open_model

        meta, kind, obj = open_model(model)
        classes = meta["classes"]
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
        from hybridqnn.deploy.graph import NotExportableError
        from hybridqnn.deploy.onnx_export import write_onnx

        try:
            write_onnx(graph, out)
        except NotExportableError as exc:
            raise NotExportableError(
                f"this model cannot be exported as onnx: {exc} (--format packed can: "
                "hybridqnn.deploy.reference runs it with NumPy)"
            ) from None
    return out


def check_export(
    path: str | os.PathLike[str],
    exported: str | os.PathLike[str],
    *,
    format: str,
    data_dir: str | os.PathLike[str] | None = None,
    limit: int = 1000,
) -> dict[str, Any]:
    """Run the file ``exported`` in ``format`` (packed: the NumPy reference; onnx: onnxruntime) on the first
    ``limit`` test inputs the saved model at ``path`` records (its data set and input
    preparation) and compare its labels with the trained model's (for a stochastic kind, whose
    export is its deterministic mode: with that mode's labels, computed from the loaded model).

    Returns:
        ``{"samples", "agree", "dataset", "format"}``: how many labels agree out of how many.

    Raises:
        ValueError: the model records no input preparation, or takes a graph input.
    """
    import numpy as np

    from hybridqnn._checks import check_choice, check_int
    from hybridqnn.deploy.inputs import load_inputs
    from hybridqnn.deploy.store import open_model

    limit = check_int("limit", limit, 1)
    check_choice("format", format, FORMATS)
    meta, kind, model = open_model(path)
    data = meta["data"] or {}
    if "input" not in data or not isinstance(data.get("dataset"), str):
        raise ValueError(f"cannot check the export: the model at {str(path)!r} records no data set "
                         "and input preparation ('data')")
    inputs, _ = load_inputs(data["input"], data["dataset"], data_dir)
    if not isinstance(inputs, np.ndarray):
        raise ValueError(f"cannot check the export of a {kind.name} model: its inputs are not one "
                         "array (a graph input); its tests compare the packed reference instead")
    x = inputs[:limit]
    if kind.stochastic:  # the export is the deterministic mode: compare with it, from the model
        from hybridqnn.deploy.reference import predict as reference_predict

        expected = reference_predict(kind.graph(model, True), x)
    else:
        expected = np.asarray(kind.predict(model, x))
    if format == "onnx":
        from hybridqnn.deploy.onnx_export import run_onnx

        got = run_onnx(exported, x)
    else:
        from hybridqnn.deploy.graph import read_packed
        from hybridqnn.deploy.reference import predict

        got = predict(read_packed(exported), x)
    return {"samples": int(x.shape[0]), "agree": int(np.sum(got == expected)),
            "dataset": data["dataset"], "format": format}
