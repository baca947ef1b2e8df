"""Binary layers for binary neural networks (BNNs), as trained by QP-SBGD and BinaryConnect.

The layers keep *latent* real-valued weights W (an ordinary ``nn.Parameter``) and use
sign(W) in the forward pass, with sign(0) = +1, as in BinaryConnect (Courbariaux et al. 2015) and
in the QP-SBGD notebooks (Krahn et al., "Projected Stochastic Gradient Descent with Quantum
Annealed Binary Gradients", arXiv 2310.15128, BMVC 2024, code github mk2510/QPSBGD):

- :func:`binarize`: b = sign(w) with sign(0) = +1. Its gradient is the identity (the
  straight-through estimator of BinaryConnect), so ``weight.grad`` is dL/d sign(W).
- :class:`SignActivation`: y = sign(x) with sign(0) = +1; backward dL/dx = dL/dy * 1[|x| <= 1]
  (the hardtanh straight-through estimator). The notebooks clip at 1.001 instead of 1; on
  integer pre-activations of +-1 layers both masks are the same.

Both estimators (and ``sign``) are defined in :mod:`hybridqnn.nn.functional`, the one module of
straight-through estimators; they are re-exported here.
- :class:`BinaryLinear` and :class:`BinaryConv2d`: ``nn.Linear`` / ``nn.Conv2d`` with binarised
  weights and, with ``binary_activation=True``, the sign activation on the output.

**What QP-SBGD reads.** Every binary layer (any subclass of :class:`BinaryLayer`) records, for
the last forward pass that ran with gradients enabled, its input and, during the following
backward pass, the gradient at its output: both before the sign activation (``pre``) and after
it (``post``; the same tensor when there is no sign activation). Recording keeps references to
tensors autograd keeps anyway plus two tensor hooks, so the overhead is negligible.
:meth:`BinaryLayer.qpsbgd_data` turns them into the layer-local problem data: per group a pair
(X, V) with X the inputs as rows (B x n_in; for convolutions the unfolded patches, one row per
output position) and V the output gradients (B x n_out), and the weight rows they belong to in
``weight.view(out, -1)``. If a layer is called several times in one forward pass (shared
weights), the last call is recorded.

Third-party binary layers plug into :class:`hybridqnn.optim.QPSBGD` by subclassing
:class:`BinaryLayer`: call :meth:`BinaryLayer._record` in ``forward`` and implement
:meth:`BinaryLayer._layer_data`.
"""

from __future__ import annotations

import math
import weakref
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from hybridqnn._checks import check_bool, check_choice
from hybridqnn.nn.functional import binarize, sign, sign_binaryconnect

__all__ = [
    "OUTPUT_GRADIENTS",
    "BinaryConv2d",
    "BinaryLayer",
    "BinaryLinear",
    "LayerData",
    "SignActivation",
    "binarize",
    "binary_layer_of",
    "sign",
]

#: Which output gradient :meth:`BinaryLayer.qpsbgd_data` returns.
OUTPUT_GRADIENTS = ("post-activation", "pre-activation")

_LAYER_ATTR = "_hybridqnn_binary_layer"


class SignActivation(nn.Module):
    """y = sign(x) with sign(0) = +1; backward dL/dx = dL/dy * 1[|x| <= 1] (BinaryConnect's
    hardtanh STE, :func:`hybridqnn.nn.functional.sign_binaryconnect`)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sign_binaryconnect(x)


class LayerData(NamedTuple):
    """One layer-local problem: inputs ``x`` (B, n_in), output gradients ``v`` (B, n_rows) and
    the rows of ``weight.view(out, -1)`` they belong to."""

    x: torch.Tensor
    v: torch.Tensor
    rows: slice


class _LayerLink:
    """A weak link from a weight to its layer. Copies and pickles of it are dead links (a weakref
    cannot be pickled); the copied layer re-links its weight in ``__setstate__``."""

    __slots__ = ("ref",)

    def __init__(self, layer: Any = None) -> None:
        self.ref = weakref.ref(layer) if layer is not None else None

    def __call__(self) -> Any:
        return self.ref() if self.ref is not None else None

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (_LayerLink, ())

    def __deepcopy__(self, memo: dict[int, Any]) -> _LayerLink:
        return _LayerLink()


def binary_layer_of(param: Any) -> BinaryLayer | None:
    """The binary layer whose ``weight`` is ``param``, or None."""
    link = getattr(param, _LAYER_ATTR, None)
    layer = link() if isinstance(link, _LayerLink) else None
    if layer is None or getattr(layer, "weight", None) is not param:
        return None
    return layer


class BinaryLayer(nn.Module):
    """Mixin of the binary layers: the sign activation option, recording of the input and the
    output gradients, and the link from ``weight`` back to the layer (see the module docstring)."""

    binary_activation: bool

    def _init_binary(self, binary_activation: bool) -> None:
        self.binary_activation = check_bool("binary_activation", binary_activation)
        self.activation = SignActivation() if self.binary_activation else None
        self._clear_record()
        self._tag()

    def _tag(self) -> None:
        weight = self.__dict__.get("_parameters", {}).get("weight")
        if weight is not None:
            setattr(weight, _LAYER_ATTR, _LayerLink(self))

    def __setstate__(self, state: dict[str, Any]) -> None:
        # copy.deepcopy and pickling build new Parameters without the link: restore it
        super().__setstate__(state)
        self._tag()

    def _clear_record(self) -> None:
        self._qp_input: torch.Tensor | None = None
        self._qp_grad_pre: torch.Tensor | None = None
        self._qp_grad_post: torch.Tensor | None = None

    def _record(self, x: torch.Tensor, pre: torch.Tensor) -> torch.Tensor:
        """Apply the optional sign activation to ``pre`` and record the input ``x`` and the
        gradients at ``pre`` and at the returned output (when autograd will compute them)."""
        out = self.activation(pre) if self.activation is not None else pre
        if not (torch.is_grad_enabled() and pre.requires_grad):
            return out
        self._tag()
        self._qp_input = x.detach()
        self._qp_grad_pre = self._qp_grad_post = None
        ref = weakref.ref(self)

        def store_pre(grad: torch.Tensor) -> None:
            layer = ref()
            if layer is not None:
                layer._qp_grad_pre = grad.detach()

        def store_post(grad: torch.Tensor) -> None:
            layer = ref()
            if layer is not None:
                layer._qp_grad_post = grad.detach()

        pre.register_hook(store_pre)
        if out is not pre:
            out.register_hook(store_post)
        return out

    def has_record(self) -> bool:
        """Whether a forward and backward pass have been recorded."""
        return self._qp_input is not None and self._qp_grad_pre is not None

    def qpsbgd_data(self, output_gradient: str = "post-activation") -> list[LayerData]:
        """The layer-local problems of the last recorded forward/backward pass.

        Args:
            output_gradient: ``"post-activation"`` (the gradient at the layer's output after the
                sign activation, the paper code's Y) or ``"pre-activation"`` (before it; this is
                the V with dL/dW = V^T X).

        Raises:
            RuntimeError: If no forward pass with gradients followed by a backward pass was
                recorded.
        """
        check_choice("output_gradient", output_gradient, OUTPUT_GRADIENTS)
        if not self.has_record():
            raise RuntimeError(
                f"{type(self).__name__} has no recorded forward and backward pass: run the forward pass "
                "with gradients enabled and call loss.backward() before optimizer.step()"
            )
        grad = self._qp_grad_pre
        if output_gradient == "post-activation" and self._qp_grad_post is not None:
            grad = self._qp_grad_post
        assert self._qp_input is not None and grad is not None
        return self._layer_data(self._qp_input, grad)

    def _layer_data(self, x: torch.Tensor, grad: torch.Tensor) -> list[LayerData]:
        raise NotImplementedError


def _init_uniform(weight: torch.Tensor, fan_in: int, fan_out: int) -> None:
    # U(-s, s), s = sqrt(1.5 / (fan_in + fan_out)), as in the QP-SBGD notebooks
    bound = math.sqrt(1.5 / (fan_in + fan_out))
    with torch.no_grad():
        weight.uniform_(-bound, bound)


class BinaryLinear(nn.Linear, BinaryLayer):
    """``nn.Linear`` with weights sign(W) of latent real weights W (sign(0) = +1).

    y = x sign(W)^T + b, then y <- sign(y) (hardtanh STE) if ``binary_activation``. The latent
    weights start U(-s, s) with s = sqrt(1.5 / (in + out)) (the QP-SBGD notebooks' init); the bias,
    if any, is real-valued and initialised as in ``nn.Linear``. The bias is not a binary parameter:
    train it with a second optimizer (e.g. Adam) next to QP-SBGD.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        binary_activation: bool = False,
    ) -> None:
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        _init_uniform(self.weight, in_features, out_features)
        self._init_binary(binary_activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._record(x, F.linear(x, binarize(self.weight), self.bias))

    def _layer_data(self, x: torch.Tensor, grad: torch.Tensor) -> list[LayerData]:
        return [
            LayerData(
                x.reshape(-1, self.in_features),
                grad.reshape(-1, self.out_features),
                slice(0, self.out_features),
            )
        ]

    def extra_repr(self) -> str:
        return super().extra_repr() + f", binary_activation={self.binary_activation}"


class BinaryConv2d(nn.Conv2d, BinaryLayer):
    """``nn.Conv2d`` with weights sign(W) of latent real weights W (sign(0) = +1).

    The signature is ``nn.Conv2d``'s plus ``binary_activation``. For QP-SBGD the layer-local
    problem of group g has as rows of X the unfolded input patches (after the layer's own
    padding, in any ``padding_mode``), one per (sample, output position), with columns in the
    order of ``weight.view(out, -1)`` (channel, kernel row, kernel column), and as V the matching
    output gradients, so dL/dW_g = V_g^T X_g.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
        *,
        binary_activation: bool = False,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            bias=bias,
            padding_mode=padding_mode,
            device=device,
            dtype=dtype,
        )
        k = self.kernel_size[0] * self.kernel_size[1]
        _init_uniform(self.weight, in_channels // groups * k, out_channels // groups * k)
        self._init_binary(binary_activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._record(x, self._conv_forward(x, binarize(self.weight), self.bias))

    def _layer_data(self, x: torch.Tensor, grad: torch.Tensor) -> list[LayerData]:
        if x.dim() == 3:
            x, grad = x.unsqueeze(0), grad.unsqueeze(0)
        pad = self._reversed_padding_repeated_twice
        if any(pad):
            mode = "constant" if self.padding_mode == "zeros" else self.padding_mode
            x = F.pad(x, pad, mode=mode)
        patches = F.unfold(
            x, self.kernel_size, dilation=self.dilation, stride=self.stride
        )  # (N, C k k, L)
        c_in, c_out = self.in_channels // self.groups, self.out_channels // self.groups
        k = self.kernel_size[0] * self.kernel_size[1]
        rows_x = patches.transpose(1, 2).reshape(-1, self.in_channels * k)
        rows_v = grad.flatten(2).transpose(1, 2).reshape(-1, self.out_channels)
        return [
            LayerData(
                rows_x[:, g * c_in * k : (g + 1) * c_in * k],
                rows_v[:, g * c_out : (g + 1) * c_out],
                slice(g * c_out, (g + 1) * c_out),
            )
            for g in range(self.groups)
        ]

    def extra_repr(self) -> str:
        return super().extra_repr() + f", binary_activation={self.binary_activation}"
