"""Model kinds of the QCBO experiments (Li et al., "Quantum-Classical Hybrid Quantized Neural
Network", arXiv 2506.18240; :mod:`hybridqnn.train.qcbo`).

``qcbo-network``: the quantized spline network (:class:`QCBOResult` of ``fit_qcbo`` and
``fit_greedy_moves``, :class:`QATResult` with ``network``), loaded as a
:class:`~hybridqnn.train.qcbo.QuantizedSplineModel`. For an input x (n_0 features):

    a^0 = round_q(clip(x, box)),   z^l = W^l [a^{l-1}; 1],
    a^l_j = Q_j(s^l_j(z^l_j))  (l < L),   logits z^L,

with round_q the input grid (integer-exact networks only), s^l_j neuron j's linear spline on its
FIP knots and Q_j the K-bit grid A_j + step_j i, step_j = (B_j - A_j) / (2^K - 1), numpy's
round half to even (:class:`hybridqnn.problems.qcbo.QuantizedSplineNetwork`). Saved: the weights
(float64 levels, as trained), the FIP grids (per layer the pre-activation bounds, per hidden
neuron its knots and spline values, the activation range [A_j, B_j], the layer units), the
weight codes with their scales, the activation bits, the loss and its segments, the input box
and the input grid. The network is rebuilt from these arrays, not by re-running FIP, so a saved
model does not change when the FIP code does.

``qcbo-relu-mlp``: :class:`QATResult` without ``network`` (the ``qat-ste-adam`` and
``full-precision`` baselines): ReLU hidden layers, K-bit or float weights, loaded as a
:class:`~hybridqnn.train.qcbo.ReLUNetworkModel`.

Deployed (:func:`spline_graph`, :func:`relu_graph`): dtype float64, but float32 for the
full-precision ReLU network, whose weights :func:`~hybridqnn.train.qcbo.fit_qat` trains in
float32 (stored exactly; its logits then differ from the float64 model's by rounding, measured
at most 9.1e-7 on qcbo-fmnist test sets, and no label moved); weights as uniform codes of
their :class:`~hybridqnn.problems.qcbo.WeightCode` (binary {-s, s}: offset -s, step 2s, 1 bit;
ternary {-s, 0, s}: offset -s, step s, 3 levels in 2 bits; K-bit s{-(2^K - 1), ..., 2^K - 1}:
offset -(2^K - 1) s, step 2s, K bits), the bias column as the linear op's bias (same code). One
output decides by ``threshold`` (class 1, label +1, where z >= 0), several by ``argmax``. The
spline network's output layer is a ``tie_linear`` op: ``QuantizedSplineNetwork.predict`` counts
logits within 1e-12 (relative) of a tie as tied, and exact ties are common (e.g. all hidden
activations at the bottom of their grids); with a plain ``linear``, onnxruntime's summation order
turned such zeros into -1e-17 and changed 347 of the 120,000 test predictions of 60 spline
networks (qcbo-fmnist, quick sizes, 3 tasks x 4 settings, 2,000 test images each), while NumPy
happened to agree.

Where the deployed network is not the model: :func:`~hybridqnn.train.qcbo.fit_qat` returns the
straight-through value V + (q - V) computed in float32, which is off the code's grid q by a
float32 rounding (3e-8 for a weight of 0.47); the graph snaps it to the grid. That moves no
prediction where the model's logits are apart, but decides exact ties the other way: in the
measurement above, 242 of 2,000 test labels of one network (10 classes, 2-bit, QAT on the
quantized-activation network, whose logits tie in exact arithmetic) and none of the other 74.

Input preparation ``qcbo-block-means`` (``qcbo-fmnist``): the task's stratified test subset
(:func:`hybridqnn.data.task_subset`) as block means (:func:`hybridqnn.data.block_means`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hybridqnn.deploy.inputs import register_input
from hybridqnn.deploy.kinds import ModelKind, register_kind
from hybridqnn.problems.fip import FIPResult, LayerBounds
from hybridqnn.problems.qcbo import QuantizedSplineNetwork, WeightCode
from hybridqnn.problems.splines import LinearSpline
from hybridqnn.train.qcbo.results import (
    QATResult,
    QCBOResult,
    QuantizedSplineModel,
    ReLUNetworkModel,
)

__all__ = ["block_mean_inputs", "relu_graph", "spline_graph", "training_problem"]


# ---------------------------------------------------------------------------------- shared


def _tensor(tensors: dict[str, np.ndarray], name: str, shape: tuple[int, ...]) -> np.ndarray:
    """``tensors[name]`` as float64 of exactly ``shape`` (ValueError naming it otherwise)."""
    if name not in tensors:
        raise ValueError(f"tensor {name!r} is missing")
    a = np.asarray(tensors[name])
    if a.shape != tuple(shape):
        raise ValueError(f"tensor {name!r} must have shape {tuple(shape)}, got {a.shape}")
    return a.astype(np.float64)


def _code_config(code: WeightCode) -> dict[str, Any]:
    return {"kind": code.kind, "bits": int(code.bits), "scale": float(code.scale)}


def _code(config: dict[str, Any]) -> WeightCode:
    return WeightCode(str(config["kind"]), int(config["bits"]), float(config["scale"]))


def _weight_shapes(sizes: list[int], bias: bool) -> list[tuple[int, int]]:
    return [(sizes[li], sizes[li - 1] + int(bias)) for li in range(1, len(sizes))]


def _weights(
    tensors: dict[str, np.ndarray], sizes: list[int], bias: bool
) -> tuple[np.ndarray, ...]:
    return tuple(
        _tensor(tensors, f"weight.{li}", shape)
        for li, shape in enumerate(_weight_shapes(sizes, bias))
    )


def _class_indices(labels: np.ndarray, n_outputs: int) -> np.ndarray:
    """Labels as class indices: +-1 -> 1 / 0 for one output, unchanged otherwise."""
    labels = np.asarray(labels)
    return (labels > 0).astype(np.int64) if n_outputs == 1 else labels.astype(np.int64)


def _weight_param(values: np.ndarray, code: WeightCode | None) -> Any:
    """A weight tensor as deployed: uniform codes of ``code`` (module docstring), float without."""
    from hybridqnn.deploy.graph import float_param, uniform_param

    if code is None:
        return float_param(values)
    return uniform_param(
        values,
        bits=code.num_bits,
        offset=code.scale * code.offset,
        step=code.scale * float(code.coefficients[0]),
        levels=int(code.levels.size),
    )


def _linear(
    graph: Any, W: np.ndarray, bias: bool, code: WeightCode | None, ties: bool = False
) -> None:
    """y = x W^T (+ the bias column W[:, -1] as the op's bias); with ``ties``, the ``tie_linear``
    op of :meth:`QuantizedSplineNetwork.predict`'s tie rule (relative tolerance 1e-12)."""
    w, b = (W[:, :-1], W[:, -1]) if bias else (W, None)
    args = (_weight_param(w, code), None if b is None else _weight_param(b, code))
    if ties:
        graph.tie_linear(*args, rel=1e-12)
    else:
        graph.linear(*args)


def _new_graph(n_inputs: int, n_outputs: int, dtype: str = "float64") -> Any:
    """A graph on n_inputs features whose classes are the class indices (a saved model's export
    relabels them with its ``model.json`` classes)."""
    from hybridqnn.deploy.graph import Graph

    decision = "threshold" if n_outputs == 1 else "argmax"
    return Graph((n_inputs,), list(range(max(n_outputs, 2))), decision=decision, dtype=dtype)


# ------------------------------------------------------------------ qcbo-network (splines)


def _ready(model: Any) -> Any:
    """The trained network a result predicts with (its ``model``), or ``model`` itself."""
    return model if isinstance(model, (QuantizedSplineModel, ReLUNetworkModel)) else model.model


def _predict(model: Any, inputs: Any) -> np.ndarray:
    m = _ready(model)
    return _class_indices(m.predict(inputs), m.n_outputs)


def _handles_spline(model: Any) -> bool:
    return isinstance(model, (QCBOResult, QuantizedSplineModel)) or (
        isinstance(model, QATResult) and model.network is not None
    )


def _spline_state(model: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The weights, input box and FIP grids as tensors; sizes, codes, units and the rest as
    config (module docstring)."""
    m = _ready(model)
    net, fip = m.network, m.network.fip
    tensors = {f"weight.{li}": np.asarray(W, dtype=np.float64) for li, W in enumerate(m.weights)}
    tensors["input_box.low"], tensors["input_box.high"] = (
        np.asarray(b, dtype=np.float64) for b in m.input_box
    )
    tensors["fip.input_low"], tensors["fip.input_high"] = fip.input_low, fip.input_high
    for li, lb in enumerate(fip.layers):
        for name in ("low", "high", "act_low", "act_high"):
            tensors[f"layer.{li}.{name}"] = np.asarray(getattr(lb, name), dtype=np.float64)
        if li < len(fip.layers) - 1:
            knots, values, constant = _spline_arrays(lb.splines, fip.segments[li])
            tensors[f"layer.{li}.knots"], tensors[f"layer.{li}.values"] = knots, values
            tensors[f"layer.{li}.constant"] = constant
    config = {
        "sizes": list(net.sizes),
        "bias": bool(fip.bias),
        "codes": [_code_config(c) for c in net.codes],
        "activations": list(fip.activations),
        "segments": [int(s) for s in fip.segments],
        "activation_bits": [int(k) for k in net.activation_bits],
        "loss": net.loss,
        "loss_segments": int(net.loss_splines[0].segments),
        "input_unit": fip.input_unit,
        "weight_ranges": [[float(a), float(b)] for a, b in fip.weight_ranges],
        "units": [[lb.unit, lb.act_unit] for lb in fip.layers],
    }
    return tensors, config


def _spline_arrays(
    splines: tuple[LinearSpline | None, ...], segments: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per neuron its knots and spline values, (n, M + 1); rows of zeros and ``constant`` 1
    for a constant neuron (no spline)."""
    n = len(splines)
    knots, values = np.zeros((n, segments + 1)), np.zeros((n, segments + 1))
    constant = np.zeros(n, dtype=np.uint8)
    for j, sp in enumerate(splines):
        if sp is None:
            constant[j] = 1
            continue
        if sp.knots.size != segments + 1:
            raise ValueError(f"neuron {j}'s spline has {sp.segments} segments, not {segments}")
        knots[j], values[j] = sp.knots, sp.values
    return knots, values, constant


def _spline_restore(tensors: dict[str, np.ndarray], config: dict[str, Any]) -> QuantizedSplineModel:
    """The :class:`QuantizedSplineModel` of ``_spline_state``'s tensors and config."""
    sizes = [int(n) for n in config["sizes"]]
    bias = bool(config["bias"])
    codes = [_code(c) for c in config["codes"]]
    L = len(sizes) - 1
    if len(codes) != L or len(config["units"]) != L:
        raise ValueError(f"the config must give one weight code and unit pair per layer ({L})")
    layers = []
    for li in range(L):
        n = sizes[li + 1]
        arr = {
            k: _tensor(tensors, f"layer.{li}.{k}", (n,))
            for k in ("low", "high", "act_low", "act_high")
        }
        unit, act_unit = config["units"][li]
        splines: tuple[LinearSpline | None, ...] = (None,) * n
        if li < L - 1:
            splines = _splines(tensors, li, n, int(config["segments"][li]))
        layers.append(
            LayerBounds(
                li + 1,
                arr["low"],
                arr["high"],
                splines,
                arr["act_low"],
                arr["act_high"],
                unit,
                act_unit,
            )
        )
    fip = FIPResult(
        _tensor(tensors, "fip.input_low", (sizes[0],)),
        _tensor(tensors, "fip.input_high", (sizes[0],)),
        tuple((float(a), float(b)) for a, b in config["weight_ranges"]),
        tuple(config["activations"]),
        tuple(int(s) for s in config["segments"]),
        bias,
        tuple(layers),
        input_unit=config["input_unit"],
    )
    net = QuantizedSplineNetwork.from_fip(
        fip,
        codes,
        [int(k) for k in config["activation_bits"]],
        config["loss"],
        int(config["loss_segments"]),
    )
    box = (
        _tensor(tensors, "input_box.low", (sizes[0],)),
        _tensor(tensors, "input_box.high", (sizes[0],)),
    )
    return QuantizedSplineModel(net, _weights(tensors, sizes, bias), box)


def _splines(
    tensors: dict[str, np.ndarray], li: int, n: int, segments: int
) -> tuple[LinearSpline | None, ...]:
    knots = _tensor(tensors, f"layer.{li}.knots", (n, segments + 1))
    values = _tensor(tensors, f"layer.{li}.values", (n, segments + 1))
    constant = _tensor(tensors, f"layer.{li}.constant", (n,))
    return tuple(
        None if constant[j] else LinearSpline(knots[j].copy(), values[j].copy()) for j in range(n)
    )


def spline_graph(model: Any, deterministic: bool = False) -> Any:
    """The deployed quantized spline network (module docstring): clip to the input box, round
    to the input grid (if any), then per layer linear (uniform weights and bias) and, for hidden
    layers, the spline and the K-bit quantization of each neuron; float64."""
    from hybridqnn.deploy.graph import float_param

    m = _ready(model)
    net, fip = m.network, m.network.fip
    g = _new_graph(net.sizes[0], net.sizes[-1])
    g.clip(float_param(m.input_box[0]), float_param(m.input_box[1]))
    if fip.input_unit is not None:
        g.round_to_unit(float(fip.input_unit))
    last = len(fip.layers) - 1
    for li, (W, code, lb) in enumerate(zip(m.weights, net.codes, fip.layers, strict=True)):
        _linear(g, np.asarray(W, dtype=np.float64), fip.bias, code, ties=li == last)
        if li == last:
            break
        knots, slopes, intercepts = _spline_op_arrays(lb, fip.segments[li])
        g.spline(float_param(knots), float_param(slopes), float_param(intercepts))
        g.quantize(float_param(lb.act_low), float_param(lb.act_high), int(net.activation_bits[li]))
    return g


def _spline_op_arrays(lb: LayerBounds, segments: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``spline`` op's knots (n, M + 1), slopes and intercepts (n, M) of a hidden layer:
    each neuron's :class:`LinearSpline`, a constant neuron as slope 0 and intercept A_j on
    knots 0..M (the quantization then gives A_j)."""
    n = lb.size
    knots = np.tile(np.arange(segments + 1, dtype=np.float64), (n, 1))
    slopes, intercepts = np.zeros((n, segments)), np.zeros((n, segments))
    for j, sp in enumerate(lb.splines):
        if sp is None:
            intercepts[j] = lb.act_low[j]
        else:
            knots[j], slopes[j], intercepts[j] = sp.knots, sp.slopes, sp.intercepts
    return knots, slopes, intercepts


def training_problem(model: Any) -> dict[str, Any] | None:
    """Spins per subproblem solve (the largest), of the monolithic model, CQM variables per
    solve and the number of subproblems, from :attr:`QCBOResult.spins`; None when the model
    was not trained by solving (QAT, the line-search control). Couplers are not recorded by
    :func:`~hybridqnn.train.qcbo.fit_qcbo`."""
    spins = getattr(model, "spins", None) if isinstance(model, QCBOResult) else None
    if not spins:
        return None
    keys = {
        "spins_per_solve": "subproblem_spins_max",
        "monolithic_spins": "monolithic_spins",
        "cqm_variables_per_solve": "subproblem_cqm_variables_max",
        "num_subproblems": "num_subproblems",
    }
    return {out: spins.get(key) for out, key in keys.items()}


# ------------------------------------------------------------------- qcbo-relu-mlp (QAT)


def _handles_relu(model: Any) -> bool:
    return isinstance(model, ReLUNetworkModel) or (
        isinstance(model, QATResult) and model.network is None
    )


def _relu_state(model: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    m = _ready(model)
    tensors = {f"weight.{li}": np.asarray(W, dtype=np.float64) for li, W in enumerate(m.weights)}
    sizes = [int(m.weights[0].shape[1]) - int(m.bias)] + [int(W.shape[0]) for W in m.weights]
    codes = None if m.codes is None else [_code_config(c) for c in m.codes]
    return tensors, {"sizes": sizes, "bias": bool(m.bias), "codes": codes}


def _relu_restore(tensors: dict[str, np.ndarray], config: dict[str, Any]) -> ReLUNetworkModel:
    sizes, bias = [int(n) for n in config["sizes"]], bool(config["bias"])
    codes = None if config["codes"] is None else tuple(_code(c) for c in config["codes"])
    if codes is not None and len(codes) != len(sizes) - 1:
        raise ValueError(f"the config must give one weight code per layer ({len(sizes) - 1})")
    return ReLUNetworkModel(_weights(tensors, sizes, bias), bias, codes)


def relu_graph(model: Any, deterministic: bool = False) -> Any:
    """The deployed ReLU network: linear (uniform weights with codes, else float), ReLU
    between layers; float64 with codes, float32 in full precision (module docstring)."""
    m = _ready(model)
    dtype = "float64" if m.codes is not None else "float32"
    g = _new_graph(int(m.weights[0].shape[1]) - int(m.bias), m.n_outputs, dtype)
    for li, W in enumerate(m.weights):
        _linear(
            g, np.asarray(W, dtype=np.float64), m.bias, None if m.codes is None else m.codes[li]
        )
        if li < len(m.weights) - 1:
            g.relu()
    return g


# --------------------------------------------------------------------------------- inputs


def block_mean_inputs(
    dataset: str,
    data_dir: Path | None,
    *,
    task: str,
    pool_side: int,
    train_size: int,
    test_size: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``qcbo-fmnist``'s test inputs: the block means (``pool_side``) of the test split of
    :func:`hybridqnn.data.task_subset` (``task``, sizes, ``seed``), labels as class indices."""
    from hybridqnn.data import block_means, load_dataset, task_subset

    ds = task_subset(load_dataset(dataset, data_dir=data_dir), task, train_size, test_size, seed)
    return block_means(ds.x_test, pool_side), ds.y_test.astype(np.int64)


register_input("qcbo-block-means", block_mean_inputs)

register_kind(
    ModelKind(
        name="qcbo-network",
        description="QCBO quantized spline network: low-bit weights, K-bit spline activations on FIP grids",
        handles=_handles_spline,
        state=_spline_state,
        restore=_spline_restore,
        predict=_predict,
        graph=spline_graph,
        training_problem=training_problem,
    )
)

register_kind(
    ModelKind(
        name="qcbo-relu-mlp",
        description="QCBO experiments' QAT / full-precision baseline: ReLU MLP, K-bit or float weights",
        handles=_handles_relu,
        state=_relu_state,
        restore=_relu_restore,
        predict=_predict,
        graph=relu_graph,
    )
)


# ------------------------------------------------------------- qcbo-classifier (the estimator)

#: The QCBOClassifier parameters kept in ``model.json``; ``weights`` (WeightCodes), ``sampler``
#: and ``fit_kwargs`` hold objects JSON cannot hold and come back as None (listed in the config).
_CLASSIFIER_PARAMS = ("hidden", "method", "batch_size", "ph_iterations", "rho", "seed")


def _handles_classifier(model: Any) -> bool:
    from hybridqnn.train.qcbo import QCBOClassifier

    return isinstance(model, QCBOClassifier) and hasattr(model, "result_")


def _classifier_state(model: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    tensors, network = _spline_state(model.result_)
    params = {k: getattr(model, k) for k in _CLASSIFIER_PARAMS}
    params["hidden"] = list(params["hidden"])
    return tensors, {
        "network": network,
        "classes": model.classes_.tolist(),
        "classes_dtype": str(model.classes_.dtype),
        "params": params,
        "not_saved": ["weights", "sampler", "fit_kwargs"],
    }


def _classifier_restore(tensors: dict[str, np.ndarray], config: dict[str, Any]) -> Any:
    from hybridqnn.train.qcbo import QCBOClassifier

    params = dict(config["params"])
    unknown = sorted(set(params) - set(_CLASSIFIER_PARAMS))
    if unknown:
        raise ValueError(f"'params' holds unknown QCBOClassifier parameters {unknown}")
    params["hidden"] = tuple(params["hidden"])
    clf = QCBOClassifier(**params)
    clf.result_ = _spline_restore(tensors, config["network"])
    clf.classes_ = np.asarray(config["classes"], dtype=np.dtype(config["classes_dtype"]))
    clf.n_features_in_ = int(clf.result_.input_box[0].size)
    clf.weights_ = list(clf.result_.weights)
    clf.history_ = []
    return clf


def _classifier_predict(model: Any, inputs: Any) -> np.ndarray:
    return np.searchsorted(model.classes_, model.predict(inputs)).astype(np.int64)


def _classifier_graph(model: Any, deterministic: bool = False) -> Any:
    return spline_graph(model.result_).with_classes(model.classes_.tolist())


register_kind(
    ModelKind(
        name="qcbo-classifier",
        description="QCBOClassifier: the scikit-learn style QCBO estimator and its quantized spline network",
        handles=_handles_classifier,
        state=_classifier_state,
        restore=_classifier_restore,
        predict=_classifier_predict,
        graph=_classifier_graph,
        training_problem=lambda model: training_problem(model.result_),
    )
)
