"""A binary graph-convolution layer for the QP-SBGD GCN experiments.

:class:`BinaryGCNConv` is Kipf & Welling's graph convolution (ICLR 2017) with binary weights:

    H' = Â · H · sign(W)^T (+ b),    Â = D̃^{-1/2} (A + I) D̃^{-1/2},

optionally followed by the sign activation (hardtanh straight-through backward,
:func:`hybridqnn.nn.functional.sign_binaryconnect`). The paper
(Krahn et al., "Projected Stochastic Gradient Descent with Quantum Annealed Binary Gradients",
arXiv 2310.15128, BMVC 2024) trains binary GCNs with QP-SBGD but its GCN code is not public, so
how QP-SBGD is applied to a graph convolution is our choice:

**QP-SBGD sees the propagated input.** The inner :class:`~hybridqnn.nn.binary.BinaryLinear`
records X = ÂH as *its* input and V = dL/dH' as the gradient at its output, so QP-SBGD's
layer-local problem is exactly the Jacobian of H' with respect to the weights:
dL/dW = Vᵀ(ÂH), and the least-squares projection per output channel j is
min over g in {±1}^{n_in} of ‖v_j − (ÂH) g‖². Every optimizer that handles
``BinaryLinear`` (QP-SBGD, BinaryConnect, ProxQuant) therefore handles this layer unchanged;
``conv.lin.weight`` is the (only) binary parameter.

**The output is computed weights first, summed in a fixed order:** H' = Â (H sign(W)ᵀ), with
:func:`aggregate` adding each node's neighbour terms one by one in ascending column order. The
product is associative, so this is the same H' as (ÂH) sign(W)ᵀ, but the two orders round
differently, and with binary weights the difference decides outputs: on integer features
(one-hot karate, 0/1 Cora) H sign(W)ᵀ is exact, and many pre-activations are exactly 0 (or two
logits exactly equal) in exact arithmetic. A BLAS or sparse kernel picks its summation order
(and whether it fuses multiply-adds) by the CPU's instruction set, so those ties broke
differently from one CPU to another and so did the whole training run after the first flipped
sign (the same seed gave karate a training loss of 0.291 on one CPU and 0.339 on another).
Summed in a fixed order with one rounding per product, the forward pass is bit-identical on
every CPU, and equal logits stay equal (``argmax`` then takes the first). Recording ÂH costs
one extra sparse product per training step, only while autograd records. (On features that
are not integers, H sign(W)ᵀ itself is a BLAS product and rounds by the CPU; ties are then
coincidences, not structure.)

The normalised adjacency Â is computed with torch_geometric's ``gcn_norm`` (see
:func:`hybridqnn.data.graphs.gcn_adjacency`). ``forward`` takes either Â itself (a sparse or
dense ``(N, N)`` float tensor, the fast path: compute it once per graph; or M of its rows,
``(M, N)``, to compute only those nodes' outputs, e.g. the nodes a loss depends on) or an ``edge_index``
(``int64``, shape ``(2, E)``), which is normalised on the fly (and cached with ``cached=True``,
as in torch_geometric's ``GCNConv``; the cache assumes one fixed graph).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from hybridqnn._checks import check_bool, check_int
from hybridqnn.nn.binary import BinaryLinear
from hybridqnn.nn.functional import binarize

__all__ = ["BinaryGCNConv", "aggregate"]


def aggregate(adj: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Return Â·M summed in a fixed order: (Â·M)_i = Σ_j Â_ij M_j over the stored entries of row i
    in ascending j, each product Â_ij M_j rounded once before it is added.

    ``adj`` is Â (``(N_out, N_in)``, sparse or dense: a dense one is converted, its zeros
    dropped) and ``m`` is ``(N_in, C)``. On a CPU the result is bit-identical on every
    instruction set (``index_add_`` adds rows one at a time), unlike ``torch.sparse.mm``; on
    CUDA the additions are atomic and their order is not fixed. Differentiable in ``m`` and in
    the values of ``adj``.
    """
    a = (adj if adj.is_sparse else adj.to_sparse()).coalesce()
    row, col = a.indices()
    terms = a.values().to(m.dtype).unsqueeze(1) * m.index_select(0, col)
    return m.new_zeros(a.shape[0], m.shape[1]).index_add_(0, row, terms)


def _matmul(a: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.sparse.mm(a, x) if a.is_sparse else a @ x


class BinaryGCNConv(nn.Module):
    """Graph convolution H' = Â H sign(W)^T (+ b) with binary weights (module docstring).

    Args:
        in_channels: Node feature size n_in.
        out_channels: Output size n_out.
        bias: Add a real-valued bias (not a binary parameter; train it with a second
            optimizer). Default False, as in the QP-SBGD notebooks' binary layers.
        device: Device of the parameters.
        dtype: Floating dtype of the parameters.
        binary_activation: Apply the sign activation (sign(0) = +1, hardtanh STE) to the output.
        cached: With an ``edge_index`` input, normalise it once and reuse Â on later calls.
        add_self_loops: Add self-loops before normalising (GCN default True).
        improved: Self-loops of weight 2 instead of 1.

    Attributes:
        lin: The inner :class:`~hybridqnn.nn.binary.BinaryLinear`; ``lin.weight`` holds the
            latent real weights W of shape ``(out_channels, in_channels)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        bias: bool = False,
        device: Any = None,
        dtype: Any = None,
        *,
        binary_activation: bool = False,
        cached: bool = False,
        add_self_loops: bool = True,
        improved: bool = False,
    ) -> None:
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, 1)
        self.out_channels = check_int("out_channels", out_channels, 1)
        bias = check_bool("bias", bias)
        self.cached = check_bool("cached", cached)
        self.add_self_loops = check_bool("add_self_loops", add_self_loops)
        self.improved = check_bool("improved", improved)
        self.lin = BinaryLinear(
            self.in_channels,
            self.out_channels,
            bias=bias,
            device=device,
            dtype=dtype,
            binary_activation=binary_activation,
        )
        self._cached_adj: torch.Tensor | None = None

    @property
    def weight(self) -> torch.Tensor:
        """The latent real weights W (``lin.weight``)."""
        return self.lin.weight

    @property
    def binary_activation(self) -> bool:
        """Whether the sign activation is applied to the output."""
        return self.lin.binary_activation

    def reset_cache(self) -> None:
        """Forget the cached normalised adjacency."""
        self._cached_adj = None

    def _adjacency(self, adj: torch.Tensor, num_nodes: int) -> torch.Tensor:
        if adj.dtype == torch.int64:
            if self.cached and self._cached_adj is not None:
                return self._cached_adj
            from hybridqnn.data.graphs import gcn_adjacency

            norm = gcn_adjacency(
                adj, num_nodes, add_self_loops=self.add_self_loops, improved=self.improved
            )
            if self.cached:
                self._cached_adj = norm
            return norm
        if not adj.is_floating_point():
            raise TypeError(
                "'adj' must be a float (N, N) normalised adjacency or an int64 (2, E) edge_index, "
                f"got dtype {adj.dtype}"
            )
        if adj.ndim != 2 or adj.shape[1] != num_nodes:
            raise ValueError(
                f"'adj' must have shape (M, {num_nodes}) for {num_nodes} input nodes, "
                f"got {tuple(adj.shape)}"
            )
        return adj

    def _checked(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        """Check ``x`` and ``adj`` and return Â (given, or built from an edge_index) on x's
        device and dtype."""
        if not isinstance(x, torch.Tensor) or x.ndim != 2:
            raise ValueError(
                f"'x' must be a (N, {self.in_channels}) tensor, got "
                f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}"
            )
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"'x' must have in_channels={self.in_channels} columns, got {x.shape[1]}"
            )
        if not isinstance(adj, torch.Tensor):
            raise TypeError(f"'adj' must be a torch.Tensor, got {type(adj).__name__}")
        if adj.dtype == torch.int64 and (adj.ndim != 2 or adj.shape[0] != 2):
            raise ValueError(
                f"'adj' as an edge_index must have shape (2, E), got {tuple(adj.shape)}"
            )
        return self._adjacency(adj, x.shape[0]).to(dtype=x.dtype, device=x.device)

    def propagate(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        """Return Â·X, the input the inner layer records for QP-SBGD."""
        return _matmul(self._checked(x, adj), x)

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        """H' = Â (x sign(W)ᵀ) (+ b), summed by :func:`aggregate`: ``x`` (N, in_channels),
        ``adj`` Â (M, N) or an edge_index (2, E).

        A rectangular ``adj`` (rows of Â for M output nodes, e.g. ``Â[rows]``) computes the
        outputs of those nodes only; the inner layer then records only their rows of ÂH.
        """
        a = self._checked(x, adj)
        pre = aggregate(a, F.linear(x, binarize(self.lin.weight)))
        if self.lin.bias is not None:
            pre = pre + self.lin.bias
        if not (torch.is_grad_enabled() and pre.requires_grad):
            return self.lin._record(x, pre)  # not recording: the input is not kept
        with torch.no_grad():  # the record is a detached copy: no graph for ÂH
            inputs = _matmul(a, x)
        return self.lin._record(inputs, pre)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, bias={self.lin.bias is not None}, "
            f"binary_activation={self.binary_activation}, cached={self.cached}"
        )
