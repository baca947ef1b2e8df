"""Whole networks of natural quantization: :class:`NaturalQuantizedMLP` (qubit neurons) and
:class:`SignMLP` (the deterministic sign network of the same layout), and :func:`majority_vote`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from hybridqnn._checks import check_choice, check_int
from hybridqnn.nn.functional import sign_natural
from hybridqnn.nn.natural.kernels import OutputBuffers, _fresh
from hybridqnn.nn.natural.layers import BACKENDS, NaturalActivation
from hybridqnn.nn.natural.physics import HALF_PI, UPDATES, QubitState, _check_a, _check_g

__all__ = ["NaturalQuantizedMLP", "SignMLP", "majority_vote"]

_Gen = torch.Generator | None
_Work = dict[tuple[int, str], Tensor]
"""Kernel output buffers kept across the batches of one evaluation, by (layer, role)."""


def majority_vote(predictions: Tensor, num_classes: int) -> Tensor:
    """The most frequent class along the first axis of ``predictions`` (shots, ...); ties go to
    the smallest class (as ``scipy.stats.mode``)."""
    num_classes = check_int("num_classes", num_classes, 1)
    counts = torch.nn.functional.one_hot(predictions, num_classes).sum(0)
    return counts.argmax(-1)


def _kaiming(layers: Sequence[nn.Linear], generator: torch.Generator | None) -> None:
    # kaiming_normal_(nonlinearity='linear'): std = 1/sqrt(fan_in)
    with torch.no_grad():
        for layer in layers:
            fan_in = layer.weight.shape[1]
            w = torch.randn(layer.weight.shape, generator=generator, dtype=torch.float32)
            layer.weight.copy_(w / math.sqrt(fan_in))


def _pass_buffers(layer: int, state: QubitState | None, workspace: _Work | None) -> OutputBuffers:
    """The kernel outputs of hidden layer ``layer`` in one forward pass. The pass owns its
    register, so the new amplitudes overwrite the previous layer's where the shapes agree; the
    rest come from ``workspace`` (kept across the batches of one evaluation, whose activations
    nobody keeps) or are fresh."""

    def out(role: str, shape: torch.Size) -> Tensor:
        if role != "m" and state is not None and state.alpha.shape == shape:
            own = state.alpha if role == "alpha" else state.beta
            if own.is_contiguous() and own.dtype == torch.float32:
                return own
        if workspace is None:
            return _fresh(role, shape)
        buf = workspace.get((layer, role))
        if buf is None or buf.shape != shape:
            buf = workspace[(layer, role)] = _fresh(role, shape)
        return buf

    return out


class _BinaryMLPBase(nn.Module):
    """The layout both networks share: ``in_features -> width x hidden_layers -> out_features``
    bias-free linear layers, Kaiming-normal initialised, and the shot-voting prediction."""

    def __init__(
        self,
        in_features: int = 784,
        width: int = 512,
        hidden_layers: int = 3,
        out_features: int = 10,
        *,
        seed: int | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.in_features = check_int("in_features", in_features, 1)
        self.width = check_int("width", width, 1)
        self.hidden_layers = check_int("hidden_layers", hidden_layers, 1)
        self.out_features = check_int("out_features", out_features, 1)
        if seed is not None:
            check_int("seed", seed, 0)
        sizes = [self.in_features] + [self.width] * self.hidden_layers + [self.out_features]
        self.layers = nn.ModuleList(
            nn.Linear(sizes[i], sizes[i + 1], bias=False) for i in range(len(sizes) - 1)
        )
        gen = None if seed is None else torch.Generator().manual_seed(seed)
        _kaiming(list(self.layers), gen)
        self.to(device=device, dtype=dtype)

    def _flatten(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"'x' must be a torch.Tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"'x' must be a floating-point tensor, got dtype {x.dtype}")
        if x.dim() < 2 or math.prod(x.shape[1:]) != self.in_features:
            raise ValueError(
                f"'x' must have {self.in_features} features per sample (shape (N, {self.in_features}) "
                f"or (N, ...) flattening to it), got shape {tuple(x.shape)}"
            )
        return x.reshape(x.shape[0], self.in_features)

    def _vote_logits(self, h: Tensor, generator: _Gen, shots: int, workspace: _Work) -> Tensor:
        """Logits ``(shots, N, out)`` of one batch of :meth:`vote_counts`; ``workspace`` may keep
        buffers for the next batch."""
        return self(h, generator=generator, shots=shots)

    @torch.no_grad()
    def vote_counts(
        self,
        x: Tensor,
        shots: int = 15,
        generator: torch.Generator | None = None,
        batch_size: int | None = 2048,
    ) -> Tensor:
        """How many of ``shots`` fresh stochastic passes predict each class: ``(N, out_features)``.

        Args:
            x: Inputs.
            shots: Number of passes, ``>= 1``.
            generator: Randomness source.
            batch_size: Samples per batched computation (memory ``~ shots * batch_size * width``);
                None: all at once.
        """
        shots = check_int("shots", shots, 1)
        if batch_size is not None:
            batch_size = check_int("batch_size", batch_size, 1)
        h = self._flatten(x)
        step = batch_size or max(1, h.shape[0])
        workspace: _Work = {}  # buffers reused from batch to batch
        out = []
        for start in range(0, h.shape[0], step):
            logits = self._vote_logits(h[start : start + step], generator, shots, workspace)
            preds = logits.argmax(-1)
            out.append(torch.nn.functional.one_hot(preds, self.out_features).sum(0))
        return torch.cat(out) if out else torch.zeros(0, self.out_features, dtype=torch.long)

    @torch.no_grad()
    def predict(self, x: Tensor, *vote: Any, **vote_kw: Any) -> Tensor:
        """Class predictions: the most voted class of :meth:`vote_counts` (same arguments:
        ``shots=15, generator=None, batch_size=2048``), i.e. single-shot (``shots=1``) or the
        majority vote over ``shots`` fresh passes (the paper uses 15); ties go to the smallest
        class."""
        return self.vote_counts(x, *vote, **vote_kw).argmax(-1)


class NaturalQuantizedMLP(_BinaryMLPBase):
    """The naturally quantized MLP: real weights, no biases, qubit-neuron hidden activations.

    ``in_features -> width x hidden_layers -> out_features``; hidden layer ``l`` computes
    ``z = W_l d_{l-1}`` (``d_0 = x``), then rotates (stretch ``a``) and weakly measures (angle
    ``g``; the last hidden layer uses ``last_g``), carrying the register's angles from layer to
    layer (see the module docstring). Output: logits ``W_out d_L``. Weights are Kaiming-normal
    (``nonlinearity='linear'``: ``N(0, 1/fan_in)``), as in the authors' code.

    The paper's network is ``NaturalQuantizedMLP(784, 512, 3, 10, a=..., g=...)``.

    Args:
        in_features: Input features (784 for MNIST).
        width: Qubits per register (hidden width), ``>= 1``.
        hidden_layers: Number of hidden layers, ``>= 1``.
        out_features: Number of logits.
        a: Stretch of the rotation, ``a >= 0`` (``0``: classical sign rotation).
        g: Entangling angle of the weak measurements, in ``[0, pi/2]``.
        last_g: Angle of the last hidden layer's measurement (the authors' code: ``pi/2``).
            None uses ``g``.
        update: Post-measurement update, ``"paper"`` or ``"exact"``.
        backend: ``"auto"``, ``"torch"`` or ``"numba"`` (see :class:`NaturalActivation`).
        seed: Seed of the weight initialisation (None: torch's default generator).
        device: Device of the parameters.
        dtype: Floating dtype of the parameters (default float32).
    """

    def __init__(
        self,
        in_features: int = 784,
        width: int = 512,
        hidden_layers: int = 3,
        out_features: int = 10,
        *,
        a: float = 0.0,
        g: float = HALF_PI,
        last_g: float | None = HALF_PI,
        update: str = "paper",
        backend: str = "auto",
        seed: int | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        a = _check_a(a)
        g = _check_g(g)
        last_g = g if last_g is None else _check_g(last_g, "last_g")
        check_choice("update", update, UPDATES)
        check_choice("backend", backend, BACKENDS)
        super().__init__(
            in_features, width, hidden_layers, out_features, seed=seed, device=device, dtype=dtype
        )
        self.a, self.g, self.last_g, self.update = a, g, last_g, update
        self.activations = nn.ModuleList(
            NaturalActivation(a, last_g if i == hidden_layers - 1 else g, update, backend)
            for i in range(hidden_layers)
        )

    def forward(
        self, x: Tensor, generator: torch.Generator | None = None, shots: int | None = None
    ) -> Tensor:
        """Stochastic forward pass(es).

        Args:
            x: Inputs, ``(N, in_features)`` or ``(N, ...)`` flattening to it.
            generator: Randomness source on the model's device (None: torch's default).
            shots: None for one pass, giving logits ``(N, out_features)``; an integer ``k >= 1``
                for ``k`` independent passes in one batched computation, giving
                ``(k, N, out_features)``.

        Returns:
            The logits.
        """
        logits, _ = self._run(x, generator, shots, keep_activations=False)
        return logits

    def _run(
        self,
        x: Tensor,
        generator: torch.Generator | None,
        shots: int | None,
        keep_activations: bool,
        workspace: _Work | None = None,
    ) -> tuple[Tensor, list[Tensor]]:
        if shots is not None:
            shots = check_int("shots", shots, 1)
        h = self._flatten(x)
        acts: list[Tensor] = []
        state: QubitState | None = None
        z = self.layers[0](h)
        last = len(self.activations) - 1
        for i, act in enumerate(self.activations):
            if i > 0:
                z = self.layers[i](h)
            # the first layer is deterministic: draw the shot axis at its measurement only
            out = _pass_buffers(i, state, workspace)
            d, state = act(z, state, generator, shots if i == 0 else None, i < last, out)
            h = d
            if keep_activations:
                acts.append(d)
        return self.layers[-1](h), acts

    def _vote_logits(self, h: Tensor, generator: _Gen, shots: int, workspace: _Work) -> Tensor:
        return self._run(h, generator, shots, False, workspace)[0]

    @torch.no_grad()
    def sample_activations(
        self, x: Tensor, shots: int = 1, generator: torch.Generator | None = None
    ) -> list[Tensor]:
        """The hidden activations of ``shots`` independent passes: one ``(shots, N, width)``
        tensor of +/-1 per hidden layer."""
        shots = check_int("shots", shots, 1)
        _, acts = self._run(x, generator, shots, keep_activations=True)
        return acts

    @torch.no_grad()
    def expected_activations(
        self, x: Tensor, shots: int = 100, generator: torch.Generator | None = None
    ) -> list[Tensor]:
        """Monte Carlo estimate of ``E[d]`` per hidden layer: the mean of ``shots`` passes, a list
        of ``(N, width)`` tensors (standard error ``<= 1/sqrt(shots)``). For the first layer the
        closed form is :func:`expected_activation` when ``g = pi/2`` (or ``hidden_layers == 1``)."""
        return [d.mean(0) for d in self.sample_activations(x, shots, generator)]

    def extra_repr(self) -> str:
        return f"a={self.a:g}, g={self.g:.6g}, last_g={self.last_g:.6g}, update={self.update!r}"


class SignMLP(_BinaryMLPBase):
    """The deterministic sign network with the same layout as :class:`NaturalQuantizedMLP`:
    ``d = sign(z)`` with the straight-through gradient ``1{|z| < 1}`` (the authors'
    ``Det_MLP``). Its ``state_dict`` is interchangeable with the natural network's.

    ``forward(x, generator=None, shots=None)`` has the natural network's signature; the
    generator is ignored and ``shots=k`` repeats the (identical) pass ``k`` times in one batched
    computation, so that timings compare like with like.

    Args:
        in_features: Input features (784 for MNIST).
        width: Hidden width, ``>= 1``.
        hidden_layers: Number of hidden layers, ``>= 1``.
        out_features: Number of logits.
        seed: Seed of the weight initialisation (None: torch's default generator).
        device: Device of the parameters.
        dtype: Floating dtype of the parameters (default float32).
    """

    def forward(
        self, x: Tensor, generator: torch.Generator | None = None, shots: int | None = None
    ) -> Tensor:
        """Logits ``(N, out)``, or ``(shots, N, out)`` when ``shots`` is given."""
        if shots is not None:
            shots = check_int("shots", shots, 1)
        h = self._flatten(x)
        z = self.layers[0](h)
        if shots is not None:
            z = z.expand(shots, *z.shape)
        for i in range(1, len(self.layers)):
            h = sign_natural(z)
            z = self.layers[i](h)
        return z
