"""Whole models of QP-SBGD (Krahn et al., "Projected Stochastic Gradient Descent with Quantum
Annealed Binary Gradients", arXiv 2310.15128, BMVC 2024; code github mk2510/QPSBGD).

- :class:`BinaryMLP`: the notebooks' bias-free binary MLP with sign activations,
  y = sign(sign(W_L) ... sign(sign(W_1) x)), trained with BCE on the ±1 output;
- :class:`BinaryLogisticRegression`: p(y = 1 | x) = σ(c sign(w)ᵀx + b);
- :class:`BinaryGCN`: two binary graph convolutions (Kipf & Welling) with a sign between them,
  logits = Â sign(Â X sign(W_1)ᵀ) sign(W_2)ᵀ / √hidden;
- :class:`RealGCNConv`, :class:`Scale` and :func:`uniform_init_`, their building blocks.

Every model takes ``binary=False`` for the full-precision reference with the same architecture
(real weights, ``nn.Linear``), and ``seed``: the latent weights are drawn from a
``torch.Generator`` seeded with it (the global torch RNG plays no part in the draw), so the same
seed gives the same model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from hybridqnn._checks import check_bool, check_float, check_int
from hybridqnn.nn.binary import BinaryLinear, SignActivation
from hybridqnn.nn.binary_graph import BinaryGCNConv

__all__ = [
    "BinaryGCN",
    "BinaryLogisticRegression",
    "BinaryMLP",
    "RealGCNConv",
    "Scale",
    "uniform_init_",
]


class Scale(nn.Module):
    """Multiply by a constant c: y = c x.

    Before a sign activation, sign(c x) = sign(x) in the forward pass, but the hardtanh
    straight-through window |c x| <= 1 becomes |x| <= 1/c: with c = 1/√fan_in the gradient
    passes wherever |x| <= √fan_in (our best-effort networks' "scaled STE").
    """

    def __init__(self, c: float) -> None:
        super().__init__()
        self.c = check_float("c", c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.c

    def extra_repr(self) -> str:
        return f"c={self.c:.4g}"


def uniform_init_(weight: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Fill ``weight`` in place with U(−s, s), s = √(1.5 / (fan_in + fan_out)), drawn from
    ``generator`` (the QP-SBGD notebooks' init; Glorot's uniform init with gain 1/2).

    fan_out = ``weight.shape[0]``, fan_in = the number of entries of one row. Returns ``weight``.
    """
    fan_out, fan_in = weight.shape[0], weight[0].numel()
    s = math.sqrt(1.5 / (fan_in + fan_out))
    with torch.no_grad():
        weight.copy_(torch.rand(weight.shape, generator=generator, dtype=weight.dtype) * 2 * s - s)
    return weight


def _check_model_args(binary: bool, seed: int) -> None:
    check_bool("binary", binary)
    check_int("seed", seed, 0, 2**63 - 1)


class BinaryMLP(nn.Sequential):
    """The QP-SBGD notebooks' binary MLP: bias-free layers with sign activations.

    With sizes (n_0, ..., n_L) the forward pass is a_0 = x, a_l = sign(sign(W_l) a_{l−1})
    (``BinaryLinear``, latent weights W_l ∈ R^{n_l × n_{l−1}}, sign(0) = +1, hardtanh
    straight-through gradients). The last layer's output goes through the sign too when
    ``final_sign`` (the notebooks feed the ±1 output into ``BCEWithLogitsLoss``); otherwise it is
    scaled by 1/√n_{L−1} so the logits are O(1).

    With ``scaled_ste`` the pre-activation is multiplied by 1/√fan_in before each sign
    (:class:`Scale`), which widens the straight-through window to |x| <= √fan_in; QP-SBGD then
    reads the gradient at the binary layer's output before the scale. Without it the sign is the
    layer's own (``binary_activation``), so QP-SBGD reads the gradient after the sign, the
    notebooks' Y. ``binary=False`` gives the full-precision reference: ``nn.Linear`` layers
    followed by a separate :class:`~hybridqnn.nn.SignActivation`.

    Args:
        sizes: layer widths, input first, at least two entries.
        binary: binary weights (True) or the real-valued reference (False).
        scaled_ste: widen the straight-through window to √fan_in.
        final_sign: apply the sign to the output too.
        seed: seed of the latent-weight init (:func:`uniform_init_`, layer by layer).

    Example::

        model = BinaryMLP([9, 5, 1], seed=0)   # 9 -> 5 -> 1, the 2-layer D-Wave network
    """

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        binary: bool = True,
        scaled_ste: bool = False,
        final_sign: bool = True,
        seed: int = 0,
    ) -> None:
        sizes = [check_int("sizes", s, 1) for s in sizes]
        if len(sizes) < 2:
            raise ValueError(f"'sizes' must list at least 2 widths, got {len(sizes)}")
        _check_model_args(binary, seed)
        check_bool("scaled_ste", scaled_ste)
        check_bool("final_sign", final_sign)
        gen = torch.Generator().manual_seed(int(seed))
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            last = i == len(sizes) - 2
            act = final_sign or not last
            if binary:
                layer: nn.Module = BinaryLinear(
                    a, b, bias=False, binary_activation=act and not scaled_ste
                )
            else:
                layer = nn.Linear(a, b, bias=False)
            uniform_init_(layer.weight, gen)
            layers.append(layer)
            if act and (scaled_ste or not binary):
                layers += [
                    Scale(1.0 / math.sqrt(a)) if scaled_ste else nn.Identity(),
                    SignActivation(),
                ]
            elif last and not act:
                layers.append(Scale(1.0 / math.sqrt(a)))
        super().__init__(*layers)
        self.sizes = tuple(sizes)


class BinaryLogisticRegression(nn.Module):
    """Binary logistic regression: logit(x) = c sign(w)ᵀx + b, p(y = 1 | x) = σ(logit).

    One ``BinaryLinear(d, 1)`` without bias (latent weights :func:`uniform_init_`), a fixed logit
    scale c (e.g. 1/√(mean ‖x‖²) of the training set, so logits are O(1)) and an optional real
    bias b, initialised to 0 (train it with a second optimizer, e.g. Adam, next to QP-SBGD).
    QP-SBGD's layer-local problem is one neuron: X = the batch, V = dL/d(logit).

    Args:
        num_features: d.
        binary: binary weights (True) or the real-valued reference (False).
        bias: add the real bias b.
        scale: c > 0.
        seed: seed of the latent-weight init.
    """

    def __init__(
        self,
        num_features: int,
        *,
        binary: bool = True,
        bias: bool = True,
        scale: float = 1.0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        d = check_int("num_features", num_features, 1)
        _check_model_args(binary, seed)
        check_bool("bias", bias)
        self.lin = BinaryLinear(d, 1, bias=False) if binary else nn.Linear(d, 1, bias=False)
        uniform_init_(self.lin.weight, torch.Generator().manual_seed(int(seed)))
        self.bias = nn.Parameter(torch.zeros(1)) if bias else None
        self.scale = check_float("scale", scale, 0.0, low_open=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.lin(x) * self.scale
        return out + self.bias if self.bias is not None else out


class RealGCNConv(nn.Module):
    """The full-precision counterpart of :class:`~hybridqnn.nn.BinaryGCNConv`: H' = (Â H) Wᵀ,
    with Â a sparse normalised adjacency (or M of its rows) and no bias."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.lin = nn.Linear(
            check_int("in_channels", in_channels, 1),
            check_int("out_channels", out_channels, 1),
            bias=False,
        )

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        return self.lin(torch.sparse.mm(adj, x))


class BinaryGCN(nn.Module):
    """A two-layer binary GCN (the QP-SBGD paper's graph experiments; its code is not public).

    logits = Â · sign(Â X sign(W_1)ᵀ) · sign(W_2)ᵀ / √hidden, with Â = D̃^{−1/2}(A + I)D̃^{−1/2}
    (:func:`hybridqnn.data.gcn_adjacency`), two :class:`~hybridqnn.nn.BinaryGCNConv` layers
    (F → ``hidden_channels`` → ``num_classes``, no bias; hidden 16 as in the Bi-GCN reference in
    the authors' repository) and the sign activation (hardtanh STE) after the first. The logit
    scale 1/√hidden keeps the cross-entropy's inputs O(1). QP-SBGD sees X = ÂH as each layer's
    input. ``scaled_ste`` widens the first sign's straight-through window to √F (:class:`Scale`);
    ``binary=False`` gives the full-precision reference (:class:`RealGCNConv`).

    Args:
        in_channels: F, the node-feature width.
        hidden_channels: width of the hidden layer.
        num_classes: number of classes.
        binary: binary weights (True) or the real-valued reference (False).
        scaled_ste: widen the hidden sign's straight-through window.
        seed: seed of the latent-weight init (conv1, then conv2).
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        num_classes: int,
        *,
        binary: bool = True,
        scaled_ste: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        f = check_int("in_channels", in_channels, 1)
        hidden = check_int("hidden_channels", hidden_channels, 1)
        classes = check_int("num_classes", num_classes, 1)
        _check_model_args(binary, seed)
        check_bool("scaled_ste", scaled_ste)
        gen = torch.Generator().manual_seed(int(seed))
        if binary:
            self.conv1: nn.Module = BinaryGCNConv(f, hidden, binary_activation=not scaled_ste)
            self.conv2: nn.Module = BinaryGCNConv(hidden, classes)
        else:
            self.conv1, self.conv2 = RealGCNConv(f, hidden), RealGCNConv(hidden, classes)
        uniform_init_(self.conv1.lin.weight, gen)
        uniform_init_(self.conv2.lin.weight, gen)
        self.act = (
            nn.Sequential(
                Scale(1.0 / math.sqrt(f)) if scaled_ste else nn.Identity(), SignActivation()
            )
            if (scaled_ste or not binary)
            else nn.Identity()
        )
        self.out_scale = 1.0 / math.sqrt(hidden)

    def forward(
        self, x: torch.Tensor, adj: torch.Tensor, adj2: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Logits of every node (``adj2`` None), or, with ``adj`` = Â[N1, :] and ``adj2`` =
        Â[T, N1] (:func:`hybridqnn.data.training_receptive_field`), the logits of the nodes T
        only (N1: the nodes T depends on)."""
        return (
            self.conv2(self.act(self.conv1(x, adj)), adj if adj2 is None else adj2) * self.out_scale
        )
