"""Model kinds of QP-SBGD (Krahn et al., "Projected Stochastic Gradient Descent with Quantum
Annealed Binary Gradients", arXiv 2310.15128, BMVC 2024): the networks QP-SBGD and its
BinaryConnect / ProxQuant baselines train, saved, restored and deployed.

- ``binary-mlp``: :class:`~hybridqnn.nn.BinaryMLP` (and its ``binary=False`` reference).
- ``binary-logreg``: :class:`~hybridqnn.nn.BinaryLogisticRegression`.
- ``binary-sequential``: any plain ``nn.Sequential`` of the layers in :data:`LAYERS` (a user's
  binary CNN: ``BinaryConv2d``, ``BinaryLinear``, ``nn.Conv2d``, ``nn.Linear``, sign, scale,
  flatten, adaptive pooling, ReLU, tanh). Its config lists the layers by whitelisted type name
  and constructor arguments, so restoring never executes a name from the file.
- ``binary-gcn``: :class:`~hybridqnn.nn.BinaryGCN` (graph input; no ONNX).

**The deployed network.** A binary layer computes x sign(W)ᵀ with sign(0) = +1
(:func:`hybridqnn.nn.binarize`), so its weight is the 1-bit uniform tensor sign(W)
(:func:`~hybridqnn.deploy.graph.sign_param`: code 0 is −1, code 1 is +1); real layers keep
float weights. A :class:`~hybridqnn.nn.Scale` c > 0 right before a sign is left out
(sign(c x) = sign(x)); every other scale is kept. The logistic regression's logit scale c is
folded into its 1-bit weight (values ±c, still one bit per weight): logit = x (c sign(w)) + b.
Outputs of width 1 are binary decisions (class 1 where the output is >= 0, as
:func:`hybridqnn.train.bce_metrics` scores them); wider outputs take the first argmax.

**Ties in the GCN.** With 0/1 node features and ±1 weights, x sign(W)ᵀ is an integer, so a
hidden pre-activation Â x sign(W)ᵀ is often exactly 0 (186 of Cora's 2708 × 16 after a few
QP-SBGD steps), and two logits can be exactly equal. Their float32 value then depends on the
order of the additions. The torch layer (:func:`hybridqnn.nn.binary_graph.aggregate`) and the
deployed ``graph_conv`` both compute the integer first and add each row's terms in ascending
column order, one rounding per product, so they agree bit for bit (tested on Cora and the
karate club) and ``hybridqnn predict`` gives the labels the report scored.

**Training problem.** QP-SBGD solves, per step and per binary layer, one least-squares QUBO per
output neuron, min over g in {±1}^n of ‖v_j − X g‖², with n the layer's fan-in (the row size of
``weight.view(out, -1)``) and couplings 2XᵀX, dense for ±1 inputs: n spins and n(n − 1)/2
couplers per solve (:func:`qpsbgd_training_problem`, the largest layer).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from hybridqnn.deploy.graph import Graph, NotExportableError, Param, float_param, sign_param
from hybridqnn.deploy.inputs import register_input
from hybridqnn.deploy.kinds import ModelKind, register_kind
from hybridqnn.deploy.kinds.torch_state import build_checked
from hybridqnn.nn import (
    BinaryConv2d,
    BinaryGCN,
    BinaryGCNConv,
    BinaryLinear,
    BinaryLogisticRegression,
    BinaryMLP,
    Scale,
    SignActivation,
)
from hybridqnn.nn.binary import BinaryLayer
from hybridqnn.nn.functional import sign

__all__ = [
    "LAYERS",
    "GraphInputs",
    "qpsbgd_training_problem",
    "sequential_config",
    "sequential_from_config",
]


class GraphInputs(NamedTuple):
    """What a ``binary-gcn`` model predicts on: node features ``x`` (N, F), the normalised
    adjacency Â (N, N; a torch tensor, sparse or dense) and the nodes to classify (None: all)."""

    x: torch.Tensor
    adjacency: torch.Tensor
    nodes: torch.Tensor | None = None


# --------------------------------------------------------------------------- state


def _tensors(model: nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def _load(model: nn.Module, tensors: dict[str, np.ndarray]) -> nn.Module:
    """Load ``tensors`` into ``model`` (names and shapes already checked by
    :func:`~hybridqnn.deploy.kinds.torch_state.build_checked`), in eval mode."""
    state = {name: torch.as_tensor(np.asarray(tensors[name]), dtype=ref.dtype)
             for name, ref in model.state_dict().items()}
    model.load_state_dict(state)
    return model.eval()


def _decide(out: torch.Tensor) -> np.ndarray:
    """Class indices of a batch of outputs: 1[out >= 0] for width 1, else the first argmax."""
    out = out.reshape(len(out), -1)
    pred = (out[:, 0] >= 0).long() if out.shape[1] == 1 else out.argmax(dim=1)
    return pred.cpu().numpy().astype(np.int64)


def _as_tensor(inputs: Any, model: nn.Module) -> torch.Tensor:
    """``inputs`` (array or tensor) in the dtype and on the device of ``model``'s parameters."""
    x = inputs if torch.is_tensor(inputs) else torch.as_tensor(np.asarray(inputs))
    p = next(model.parameters(), None)
    return x.float() if p is None else x.to(dtype=p.dtype, device=p.device)


def _predict_tensor(model: nn.Module, inputs: Any) -> np.ndarray:
    with torch.no_grad():
        return _decide(model(_as_tensor(inputs, model)))


# --------------------------------------------------------------------------- layers -> graph


def _weight(layer: nn.Module) -> Param:
    """sign(W) as a 1-bit tensor for a binary layer, W as floats otherwise."""
    w = layer.weight.detach().cpu()
    if isinstance(layer, BinaryLayer):
        return sign_param(sign(w).double().numpy())
    return float_param(w.double().numpy())


def _bias(layer: nn.Module) -> Param | None:
    b = getattr(layer, "bias", None)
    return None if b is None else float_param(b.detach().cpu().double().numpy())


def _square(value: Any, what: str, layer: nn.Module) -> int:
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if isinstance(value, str) or len(set(values)) != 1:
        raise NotExportableError(
            f"{type(layer).__name__} with {what}={value!r} cannot be expressed in the deployed "
            "graph: it needs one integer for both sides"
        )
    return int(values[0])


def _conv(g: Graph, layer: nn.Conv2d) -> None:
    if layer.groups != 1 or tuple(layer.dilation) != (1, 1) or layer.padding_mode != "zeros":
        raise NotExportableError(
            f"{type(layer).__name__} with groups={layer.groups}, dilation={layer.dilation}, "
            f"padding_mode={layer.padding_mode!r} cannot be expressed in the deployed graph: "
            "it needs groups=1, dilation=1 and zero padding"
        )
    g.conv2d(
        _weight(layer),
        _bias(layer),
        stride=_square(layer.stride, "stride", layer),
        padding=_square(layer.padding, "padding", layer),
    )


def _emit_one(g: Graph, m: nn.Module, nxt: nn.Module | None) -> None:
    if isinstance(m, Scale):
        if not (m.c > 0 and isinstance(nxt, SignActivation)):
            g.scale(m.c)
    elif isinstance(m, nn.Linear):
        g.linear(_weight(m), _bias(m))
    elif isinstance(m, nn.Conv2d):
        _conv(g, m)
    elif isinstance(m, SignActivation):
        g.sign(1.0)
    elif isinstance(m, nn.Flatten):
        if (m.start_dim, m.end_dim) != (1, -1):
            raise NotExportableError(
                f"nn.Flatten(start_dim={m.start_dim}, end_dim={m.end_dim}) cannot be expressed "
                "in the deployed graph: it needs start_dim=1, end_dim=-1"
            )
        g.flatten()
    elif isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        mode = "avg" if isinstance(m, nn.AdaptiveAvgPool2d) else "max"
        g.pool2d(mode, _square(m.output_size, "output_size", m))
    elif isinstance(m, nn.ReLU):
        g.relu()
    elif isinstance(m, nn.Tanh):
        g.tanh()
    elif not isinstance(m, nn.Identity):
        raise NotExportableError(
            f"layer {type(m).__name__} cannot be expressed in the deployed graph"
        )
    if isinstance(m, BinaryLayer) and m.binary_activation:
        g.sign(1.0)


def emit_layers(g: Graph, layers: Sequence[nn.Module]) -> Graph:
    """Append the ops of ``layers`` (applied in order) to ``g``; returns ``g``."""
    layers = [m for m in layers if not isinstance(m, nn.Identity)]
    for i, m in enumerate(layers):
        _emit_one(g, m, layers[i + 1] if i + 1 < len(layers) else None)
    return g


def _output_graph(input_shape: Sequence[int], width: int) -> Graph:
    """An empty graph for ``input_shape`` with the decision of an output of ``width``."""
    if width == 1:
        return Graph(tuple(input_shape), [0, 1], decision="threshold")
    return Graph(tuple(input_shape), list(range(width)), decision="argmax")


# --------------------------------------------------------------------------- training problem


def qpsbgd_training_problem(model: nn.Module) -> dict[str, Any] | None:
    """The size of QP-SBGD's least-squares solves for ``model`` (module docstring), or None for
    a model without binary layers.

    Returns:
        ``projection`` ("least-squares"), ``spins_per_solve`` n = the largest fan-in,
        ``couplers_per_solve`` n(n − 1)/2, ``solves_per_step`` (output neurons over all binary
        layers) and ``largest_layer`` (the index of that layer among the binary layers).
    """
    layers = [m for m in model.modules() if isinstance(m, BinaryLayer)]
    if not layers:
        return None
    fan_in = [m.weight[0].numel() for m in layers]
    n = max(fan_in)
    return {
        "projection": "least-squares",
        "spins_per_solve": n,
        "couplers_per_solve": n * (n - 1) // 2,
        "solves_per_step": int(sum(m.weight.shape[0] for m in layers)),
        "largest_layer": fan_in.index(n),
    }


def _register(
    name: str,
    description: str,
    handles: Callable[[Any], bool],
    state: Callable[[Any], tuple[dict[str, np.ndarray], dict[str, Any]]],
    restore: Callable[[dict[str, np.ndarray], dict[str, Any]], Any],
    graph: Callable[[Any, bool], Graph],
    predict: Callable[[Any, Any], np.ndarray] = _predict_tensor,
) -> ModelKind:
    """Register a QP-SBGD kind (its training problem: :func:`qpsbgd_training_problem`)."""
    return register_kind(
        ModelKind(
            name=name,
            description=description,
            handles=handles,
            state=state,
            restore=restore,
            predict=predict,
            graph=graph,
            training_problem=qpsbgd_training_problem,
        )
    )


# --------------------------------------------------------------------------- binary-mlp


def _mlp_config(model: BinaryMLP) -> dict[str, Any]:
    layers = list(model)
    last = layers[-1]
    config = {
        "sizes": list(model.sizes),
        "binary": isinstance(layers[0], BinaryLinear),
        "scaled_ste": any(isinstance(m, Scale) for m in layers[:-1]),
        "final_sign": isinstance(last, SignActivation)
        or (isinstance(last, BinaryLinear) and last.binary_activation),
    }
    with torch.device("meta"), torch.random.fork_rng(devices=[]):  # shapes only, no memory
        as_constructed = repr(BinaryMLP(**config))
    if as_constructed != repr(model):
        raise ValueError(
            "'model' must be a BinaryMLP as constructed (its layers were changed); save it as an "
            "nn.Sequential (kind binary-sequential) instead"
        )
    return config


def _mlp_state(model: BinaryMLP) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    return _tensors(model), _mlp_config(model)


def _mlp_restore(tensors: dict[str, np.ndarray], config: dict[str, Any]) -> BinaryMLP:
    return _load(build_checked(BinaryMLP, tensors, **config), tensors)


def _mlp_graph(model: BinaryMLP, deterministic: bool) -> Graph:
    g = _output_graph((model.sizes[0],), model.sizes[-1])
    return emit_layers(g, list(model))


_register(
    "binary-mlp",
    "QP-SBGD binary MLP: bias-free ±1 layers with sign activations (arXiv 2310.15128)",
    lambda m: type(m) is BinaryMLP,
    _mlp_state,
    _mlp_restore,
    _mlp_graph,
)


# --------------------------------------------------------------------------- binary-logreg


def _logreg_state(model: BinaryLogisticRegression) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    config = {
        "num_features": int(model.lin.in_features),
        "binary": isinstance(model.lin, BinaryLinear),
        "bias": model.bias is not None,
        "scale": float(model.scale),
    }
    return _tensors(model), config


def _logreg_restore(
    tensors: dict[str, np.ndarray], config: dict[str, Any]
) -> BinaryLogisticRegression:
    return _load(build_checked(BinaryLogisticRegression, tensors, **config), tensors)


def _logreg_graph(model: BinaryLogisticRegression, deterministic: bool) -> Graph:
    """logit = x (c sign(w))ᵀ + b: the scale folded into the 1-bit weight (values ±c)."""
    w = model.lin.weight.detach().cpu().double()
    c = float(model.scale)
    if isinstance(model.lin, BinaryLayer):
        weight = sign_param(c * sign(w).numpy())
    else:
        weight = float_param(c * w.numpy())
    bias = None if model.bias is None else float_param(model.bias.detach().cpu().double().numpy())
    return _output_graph((model.lin.in_features,), 1).linear(weight, bias)


_register(
    "binary-logreg",
    "Binary logistic regression: p(y=1|x) = σ(c sign(w)ᵀx + b) (arXiv 2310.15128)",
    lambda m: type(m) is BinaryLogisticRegression,
    _logreg_state,
    _logreg_restore,
    _logreg_graph,
)


# --------------------------------------------------------------------------- binary-sequential


def _conv_args(m: nn.Conv2d) -> dict[str, Any]:
    return {
        "in_channels": m.in_channels,
        "out_channels": m.out_channels,
        "kernel_size": list(m.kernel_size),
        "stride": list(m.stride),
        "padding": m.padding if isinstance(m.padding, str) else list(m.padding),
        "dilation": list(m.dilation),
        "groups": m.groups,
        "bias": m.bias is not None,
        "padding_mode": m.padding_mode,
    }


def _linear_args(m: nn.Linear) -> dict[str, Any]:
    return {"in_features": m.in_features, "out_features": m.out_features, "bias": m.bias is not None}


def _pool_args(m: nn.Module) -> dict[str, Any]:
    size = m.output_size
    return {"output_size": list(size) if isinstance(size, (tuple, list)) else size}


def _no_args(m: nn.Module) -> dict[str, Any]:
    return {}


def _tuples(args: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}


#: The layer types a ``binary-sequential`` model may hold: name -> (type, the constructor
#: arguments of an instance as JSON). Restoring builds ``type(**arguments)`` from this table only.
LAYERS: dict[str, tuple[type[nn.Module], Callable[[Any], dict[str, Any]]]] = {
    "BinaryConv2d": (
        BinaryConv2d,
        lambda m: {**_conv_args(m), "binary_activation": m.binary_activation},
    ),
    "BinaryLinear": (
        BinaryLinear,
        lambda m: {**_linear_args(m), "binary_activation": m.binary_activation},
    ),
    "Conv2d": (nn.Conv2d, _conv_args),
    "Linear": (nn.Linear, _linear_args),
    "SignActivation": (SignActivation, _no_args),
    "Scale": (Scale, lambda m: {"c": float(m.c)}),
    "Flatten": (nn.Flatten, lambda m: {"start_dim": m.start_dim, "end_dim": m.end_dim}),
    "Identity": (nn.Identity, _no_args),
    "AdaptiveAvgPool2d": (nn.AdaptiveAvgPool2d, _pool_args),
    "AdaptiveMaxPool2d": (nn.AdaptiveMaxPool2d, _pool_args),
    "ReLU": (nn.ReLU, _no_args),
    "Tanh": (nn.Tanh, _no_args),
}
_NAME_OF = {cls: name for name, (cls, _) in LAYERS.items()}


def _handles_sequential(model: Any) -> bool:
    return (
        type(model) is nn.Sequential
        and len(model) > 0
        and all(type(m) in _NAME_OF for m in model)
        and not any(isinstance(m, nn.AdaptiveMaxPool2d) and m.return_indices for m in model)
    )


def sequential_config(model: nn.Sequential) -> dict[str, Any]:
    """The JSON config of a ``binary-sequential`` model: ``layers`` = [{"type", "args"}, ...]
    and ``input_shape`` (the model's ``input_shape`` attribute as a list, or None)."""
    if not _handles_sequential(model):
        names = ", ".join(LAYERS)
        raise TypeError(
            f"'model' must be an nn.Sequential of the layers {names}, got "
            f"{type(model).__name__}({', '.join(type(m).__name__ for m in model.children())})"
        )
    shape = getattr(model, "input_shape", None)
    return {
        "layers": [{"type": _NAME_OF[type(m)], "args": LAYERS[_NAME_OF[type(m)]][1](m)} for m in model],
        "input_shape": None if shape is None else [int(s) for s in shape],
    }


def sequential_from_config(config: dict[str, Any]) -> nn.Sequential:
    """The (untrained) ``nn.Sequential`` of :func:`sequential_config`'s ``config``: each layer
    built from :data:`LAYERS` by name (an unknown name is a ValueError listing the known ones)."""
    layers = config.get("layers")
    if not isinstance(layers, list) or not layers:
        raise ValueError(f"config 'layers' must be a non-empty list, got {layers!r}")
    modules = []
    for i, spec in enumerate(layers):
        name = spec.get("type") if isinstance(spec, dict) else None
        if name not in LAYERS or not isinstance(spec.get("args"), dict):
            raise ValueError(
                f"config 'layers'[{i}] must be {{'type': one of {', '.join(LAYERS)}, 'args': {{...}}}}, "
                f"got {spec!r}"
            )
        modules.append(LAYERS[name][0](**_tuples(spec["args"])))
    model = nn.Sequential(*modules)
    if config.get("input_shape") is not None:
        model.input_shape = tuple(int(s) for s in config["input_shape"])
    return model


def _sequential_state(model: nn.Sequential) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    return _tensors(model), sequential_config(model)


def _sequential_restore(tensors: dict[str, np.ndarray], config: dict[str, Any]) -> nn.Sequential:
    return _load(build_checked(sequential_from_config, tensors, config), tensors)


def _sequential_input_shape(model: nn.Sequential) -> tuple[int, ...]:
    shape = getattr(model, "input_shape", None)
    if shape is not None:
        return tuple(int(s) for s in shape)
    first = next((m for m in model if not isinstance(m, nn.Identity)), None)
    if isinstance(first, nn.Linear):
        return (first.in_features,)
    raise NotExportableError(
        f"an nn.Sequential starting with {type(first).__name__} cannot be expressed as a graph "
        "without its input shape: set model.input_shape = (C, H, W) before saving"
    )


def _sequential_graph(model: nn.Sequential, deterministic: bool) -> Graph:
    shape = _sequential_input_shape(model)
    with torch.no_grad():
        width = int(model(_as_tensor(np.zeros((1, *shape)), model)).reshape(1, -1).shape[1])
    return emit_layers(_output_graph(shape, width), list(model))


_register(
    "binary-sequential",
    "nn.Sequential of binary/real conv and linear layers, e.g. a binary CNN (QP-SBGD, BinaryConnect)",
    _handles_sequential,
    _sequential_state,
    _sequential_restore,
    _sequential_graph,
)


# --------------------------------------------------------------------------- binary-gcn


def _gcn_state(model: BinaryGCN) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    act = model.act
    config = {
        "in_channels": int(model.conv1.lin.in_features),
        "hidden_channels": int(model.conv1.lin.out_features),
        "num_classes": int(model.conv2.lin.out_features),
        "binary": isinstance(model.conv1, BinaryGCNConv),
        "scaled_ste": isinstance(act, nn.Sequential) and isinstance(act[0], Scale),
    }
    return _tensors(model), config


def _gcn_restore(tensors: dict[str, np.ndarray], config: dict[str, Any]) -> BinaryGCN:
    return _load(build_checked(BinaryGCN, tensors, **config), tensors)


def _gcn_predict(model: BinaryGCN, inputs: GraphInputs) -> np.ndarray:
    if not isinstance(inputs, GraphInputs):
        raise TypeError(
            f"'inputs' of a binary-gcn model must be a GraphInputs(x, adjacency, nodes), got {type(inputs).__name__}"
        )
    x = _as_tensor(inputs.x, model)
    width = model.conv1.lin.in_features
    if x.ndim != 2 or x.shape[1] != width:
        raise ValueError(
            f"the binary-gcn model takes {width} features per node, got node features of shape "
            f"{tuple(x.shape)}"
        )
    with torch.no_grad():
        out = model(x, inputs.adjacency.to(dtype=x.dtype, device=x.device))
    if inputs.nodes is not None:
        out = out[torch.as_tensor(inputs.nodes, device=out.device)]
    return _decide(out)


def _gcn_graph(model: BinaryGCN, deterministic: bool) -> Graph:
    """logits = Â sign(Â X W1ᵀ) W2ᵀ / √hidden, with ``graph_conv`` ops (y = Â (x Wᵀ))."""
    g = Graph(
        (model.conv1.lin.in_features,),
        list(range(model.conv2.lin.out_features)),
        decision="argmax",
        graph_input=True,
    )
    g.graph_conv(_weight(model.conv1.lin))
    if isinstance(model.conv1.lin, BinaryLayer) and model.conv1.lin.binary_activation:
        g.sign(1.0)
    emit_layers(g, list(model.act) if isinstance(model.act, nn.Sequential) else [model.act])
    g.graph_conv(_weight(model.conv2.lin))
    return g.scale(float(model.out_scale))


_register(
    "binary-gcn",
    "QP-SBGD two-layer binary GCN, logits = Â sign(Â X W1ᵀ) W2ᵀ/√hidden (graph input)",
    lambda m: type(m) is BinaryGCN,
    _gcn_state,
    _gcn_restore,
    _gcn_graph,
    predict=_gcn_predict,
)


# --------------------------------------------------------------------------- inputs


def _labels(y: Any) -> np.ndarray:
    return np.asarray(y.cpu() if torch.is_tensor(y) else y).astype(np.int64)


def a1a_spins_input(
    dataset: str, data_dir: Any, *, features: list[int] | None = None, test_size: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The a1a test rows as the MLP experiments feed them: spins 2x − 1 of ``features`` (None:
    all 123 columns), the first ``test_size`` rows (:func:`hybridqnn.data.a1a_spins`)."""
    from hybridqnn.data import a1a_spins, load_dataset

    ds = load_dataset(dataset, data_dir=data_dir)
    if ds.x_train.ndim != 2:
        raise ValueError(
            f"input 'a1a-spins' needs a data set of 0/1 feature rows (a1a ... a9a), got {dataset!r} "
            f"with inputs of shape {tuple(ds.x_train.shape[1:])} per sample"
        )
    _, _, xt, yt = a1a_spins(ds, features=features)
    if test_size is not None:
        xt, yt = xt[:test_size], yt[:test_size]
    return xt.numpy(), _labels(yt)


def raw_features_input(dataset: str, data_dir: Any) -> tuple[np.ndarray, np.ndarray]:
    """A data set's test split as given (``load_dataset(dataset).x_test``, ``y_test``)."""
    from hybridqnn.data import load_dataset

    ds = load_dataset(dataset, data_dir=data_dir)
    return np.asarray(ds.x_test, dtype=np.float32), _labels(ds.y_test)


def planted_logistic_input(
    dataset: str,
    data_dir: Any,
    *,
    num_features: int,
    num_train: int,
    num_test: int,
    noise: float,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The test samples of :func:`hybridqnn.data.planted_logistic` (``dataset`` "synthetic")."""
    from hybridqnn.data import planted_logistic

    _, _, xt, yt = planted_logistic(num_features, num_train, num_test, noise, seed)
    return xt.astype(np.float32), _labels(yt)


def pooled_pair_input(
    dataset: str,
    data_dir: Any,
    *,
    pair: list[int],
    grid: int,
    train_size: int,
    test_size: int | None,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The test images of the digit ``pair`` (a -> 0, b -> 1) as pooled spin features, with the
    training medians of the same draw (:func:`hybridqnn.data.pooled_pair_features`)."""
    from hybridqnn.data import class_pair, load_dataset, pooled_pair_features

    ds = class_pair(load_dataset(dataset, data_dir=data_dir), *pair)
    _, _, xt, yt = pooled_pair_features(ds, grid, train_size, test_size, seed)
    return xt.numpy(), _labels(yt)


def graph_nodes_input(
    dataset: str, data_dir: Any, *, split: str = "test"
) -> tuple[GraphInputs, np.ndarray]:
    """A graph data set's node features, its normalised adjacency Â and the nodes of ``split``
    ("train", "val" or "test"; :func:`hybridqnn.data.load_graph_dataset`)."""
    from hybridqnn._checks import check_choice
    from hybridqnn.data import load_graph_dataset

    check_choice("split", split, ("train", "val", "test"))
    g = load_graph_dataset(dataset, data_dir=data_dir)
    nodes = torch.nonzero(getattr(g, f"{split}_mask")).reshape(-1)
    return GraphInputs(g.x, g.adjacency(), nodes), _labels(g.y[nodes])


register_input("a1a-spins", a1a_spins_input)
register_input("raw-features", raw_features_input)
register_input("planted-logistic", planted_logistic_input)
register_input("pooled-pair-spins", pooled_pair_input)
register_input("graph-nodes", graph_nodes_input)
