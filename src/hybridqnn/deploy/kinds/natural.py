"""Model kinds of natural quantization (Barney, Lakhdar-Hamina & Galitski, arXiv 2503.15482):
``natural-mlp`` (:class:`~hybridqnn.nn.NaturalQuantizedMLP`) and ``sign-mlp``
(:class:`~hybridqnn.nn.SignMLP`), and the input ``natural-flat`` of the natural experiments.

Both networks are ``in_features -> width x hidden_layers -> out_features`` bias-free linear
layers with real (float) weights and +/-1 hidden activations; the logits are ``W_out d_L``.
The saved state is the weights (``layers.<i>.weight``) and the constructor arguments.

**Prediction** (:attr:`ModelKind.predict`). ``sign-mlp`` is deterministic: the argmax of one
pass. ``natural-mlp`` predicts as the experiments report it (and as the paper evaluates): the
majority vote of :data:`VOTE_SHOTS` = 15 fresh stochastic passes
(:meth:`NaturalQuantizedMLP.predict`), drawn from a generator seeded :data:`VOTE_SEED` = 0 on
the model's device, so that the same model and inputs always give the same labels.

**Deterministic mode.** The hidden neuron of a natural network rotates its qubit by ``theta =
(pi/2)(d_prev - tanh(z/a))`` and measures it with strength ``g``. In the classical limit ``a = 0``,
``g = pi/2`` a qubit sits at ``|0>`` or ``|1>`` matching ``d_prev``; the rotation by ``(pi/2)(d_prev
- sign z)`` takes it to ``|0>`` when ``z > 0`` and to ``|1>`` when ``z < 0``, and the projective
measurement returns ``d = sign z`` with probability 1. Only ``z = 0`` is random: the qubit is
left at ``phi = pi/2`` and ``d`` is a fair coin, whose mean is ``0``. The paper's deterministic
network (the authors' ``Det_MLP``, here :class:`~hybridqnn.nn.SignMLP`) is exactly this limit:
``d = sign z`` with ``sign 0 = 0`` (``E[d] = sin((pi/2) sign z)``). For any ``a`` and ``g`` it is also
the first layer's most probable outcome (``P(d = +1) = (1 + sin g cos theta)/2 > 1/2`` iff
``z > 0``). The **deterministic mode** of a natural network is therefore its weights run as the
sign network: every hidden activation replaced by ``sign z`` (``sign 0 = 0``), whatever ``a`` and
``g`` it was trained with. For ``a = 0, g = last_g = pi/2`` (the ``classical`` setting) it equals
the stochastic network bit for bit except where a pre-activation is exactly 0; for ``a > 0`` or
``g < pi/2`` it is a different (deterministic) predictor of the same weights, whose accuracy the
experiments' tests measure against the vote.

**Deployed graph** (:func:`sign_graph`): ``linear(W_0) -> sign(zero=0) -> linear(W_1) -> ... ->
sign(zero=0) -> linear(W_out)``, float weights (the networks' weights are real), ``argmax``.
``natural-mlp`` gives it only with ``deterministic=True``; without, its qubit neurons cannot be
expressed (:class:`~hybridqnn.deploy.graph.NotExportableError`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from hybridqnn.deploy.graph import Graph, NotExportableError, float_param
from hybridqnn.deploy.inputs import register_input
from hybridqnn.deploy.kinds import ModelKind, register_kind
from hybridqnn.deploy.kinds.torch_state import build_checked
from hybridqnn.nn.natural.models import NaturalQuantizedMLP, SignMLP

__all__ = ["NATURAL_INPUT", "VOTE_SEED", "VOTE_SHOTS", "natural_test_inputs", "sign_graph"]

#: Stochastic passes voted per ``natural-mlp`` prediction (the paper's 15-shot vote).
VOTE_SHOTS = 15
#: Seed of the generator that draws those passes.
VOTE_SEED = 0
#: The registered input of the natural experiments (see :func:`natural_test_inputs`).
NATURAL_INPUT = "natural-flat"

_DTYPES = {torch.float32: "float32", torch.float64: "float64"}
_Model = NaturalQuantizedMLP | SignMLP


# --------------------------------------------------------------------------- state


def _layout(model: _Model) -> dict[str, Any]:
    """The constructor arguments both networks share, and the weights' dtype."""
    dtype = model.layers[0].weight.dtype
    if dtype not in _DTYPES:
        raise ValueError(f"the model's weights must be float32 or float64, got {dtype}")
    return {
        "in_features": model.in_features,
        "width": model.width,
        "hidden_layers": model.hidden_layers,
        "out_features": model.out_features,
        "dtype": _DTYPES[dtype],
    }


def _weights(model: _Model) -> dict[str, np.ndarray]:
    return {
        f"layers.{i}.weight": layer.weight.detach().cpu().numpy().copy()
        for i, layer in enumerate(model.layers)
    }


def _load_weights(model: _Model, tensors: dict[str, np.ndarray]) -> _Model:
    """Copy ``tensors`` into ``model``'s layers (names and shapes already checked by
    :func:`~hybridqnn.deploy.kinds.torch_state.build_checked`)."""
    with torch.no_grad():
        for i, layer in enumerate(model.layers):
            array = np.asarray(tensors[f"layers.{i}.weight"])
            layer.weight.copy_(torch.as_tensor(array, dtype=layer.weight.dtype))
    return model


def _config(config: dict[str, Any], keys: tuple[str, ...]) -> list[Any]:
    missing = [k for k in keys if k not in config]
    if missing:
        raise ValueError(f"the model's config must give {missing[0]!r}, got keys {sorted(config)}")
    return [config[k] for k in keys]


def _layout_args(config: dict[str, Any]) -> tuple[list[int], torch.dtype]:
    """The sizes (positional constructor arguments) and the torch dtype of a saved config."""
    sizes = _config(config, ("in_features", "width", "hidden_layers", "out_features"))
    (name,) = _config(config, ("dtype",))
    dtype = {v: k for k, v in _DTYPES.items()}.get(name)
    if dtype is None:
        raise ValueError(f"'dtype' must be 'float32' or 'float64', got {name!r}")
    return sizes, dtype


def _natural_state(model: NaturalQuantizedMLP) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    config = _layout(model)
    config.update(a=model.a, g=model.g, last_g=model.last_g, update=model.update)
    config["backend"] = model.activations[0].backend
    return _weights(model), config


def _natural_restore(tensors: dict[str, np.ndarray], config: dict[str, Any]) -> NaturalQuantizedMLP:
    sizes, dtype = _layout_args(config)
    keys = ("a", "g", "last_g", "update", "backend")
    options = dict(zip(keys, _config(config, keys), strict=True))
    return _load_weights(build_checked(NaturalQuantizedMLP, tensors, *sizes, **options, dtype=dtype), tensors).eval()


def _sign_state(model: SignMLP) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    return _weights(model), _layout(model)


def _sign_restore(tensors: dict[str, np.ndarray], config: dict[str, Any]) -> SignMLP:
    sizes, dtype = _layout_args(config)
    return _load_weights(build_checked(SignMLP, tensors, *sizes, dtype=dtype), tensors).eval()


# --------------------------------------------------------------------------- prediction


def _as_input(model: _Model, inputs: Any) -> torch.Tensor:
    weight = model.layers[0].weight
    return torch.as_tensor(np.asarray(inputs), dtype=weight.dtype).to(weight.device)


def _natural_predict(model: NaturalQuantizedMLP, inputs: Any) -> np.ndarray:
    """The :data:`VOTE_SHOTS`-shot majority vote, drawn from a generator seeded :data:`VOTE_SEED`."""
    x = _as_input(model, inputs)
    generator = torch.Generator(device=x.device).manual_seed(VOTE_SEED)
    labels = model.predict(x, shots=VOTE_SHOTS, generator=generator)
    return labels.cpu().numpy().astype(np.int64)


def _sign_predict(model: SignMLP, inputs: Any) -> np.ndarray:
    return model.predict(_as_input(model, inputs), shots=1).cpu().numpy().astype(np.int64)


# --------------------------------------------------------------------------- graph


def sign_graph(model: _Model) -> Graph:
    """The sign network of ``model``'s weights as a :class:`~hybridqnn.deploy.graph.Graph`:
    ``linear(W_0) -> sign(zero=0) -> ... -> linear(W_out)``, float weights, argmax over
    ``out_features`` classes ``0 .. out_features - 1``. For a :class:`SignMLP` this is the
    network; for a :class:`NaturalQuantizedMLP` it is its deterministic mode (module docstring)."""
    dtype = _layout(model)["dtype"]
    graph = Graph((model.in_features,), list(range(model.out_features)), dtype=dtype)
    for i, layer in enumerate(model.layers):
        if i > 0:
            graph.sign(zero=0.0)
        graph.linear(float_param(layer.weight.detach().cpu().numpy().astype(np.float64)))
    return graph


def _natural_graph(model: NaturalQuantizedMLP, deterministic: bool) -> Graph:
    if not deterministic:
        raise NotExportableError(
            f"a natural-mlp (a={model.a:g}, g={model.g:.4g}) cannot be exported as trained: its "
            "qubit neurons are stochastic (each prediction samples weak measurements); use "
            "--deterministic to export its deterministic mode, the sign network of the same "
            "weights (d = sign z)"
        )
    return sign_graph(model)


def _sign_graph(model: SignMLP, deterministic: bool) -> Graph:
    return sign_graph(model)


# --------------------------------------------------------------------------- input


def natural_test_inputs(
    dataset: str, data_dir: Path | None = None, *, test_size: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The test split as the natural experiments feed it (:func:`hybridqnn.train.natural.
    load_natural_data`): the first ``test_size`` test images (None: all) flattened to float32
    rows in [0, 1], and their int64 labels."""
    from hybridqnn.train.natural import load_natural_data

    _, _, x_test, y_test = load_natural_data(dataset, 1, test_size, data_dir)
    return x_test.numpy(), y_test.numpy()


register_input(NATURAL_INPUT, natural_test_inputs)

register_kind(
    ModelKind(
        name="natural-mlp",
        description="natural-quantization MLP: real weights, stochastic qubit-neuron activations "
        "(arXiv 2503.15482); predicts by a 15-shot vote",
        handles=lambda m: type(m) is NaturalQuantizedMLP,
        state=_natural_state,
        restore=_natural_restore,
        predict=_natural_predict,
        graph=_natural_graph,
        stochastic=True,
    )
)

register_kind(
    ModelKind(
        name="sign-mlp",
        description="sign MLP: real weights, sign activations (the deterministic network of "
        "arXiv 2503.15482)",
        handles=lambda m: type(m) is SignMLP,
        state=_sign_state,
        restore=_sign_restore,
        predict=_sign_predict,
        graph=_sign_graph,
    )
)
