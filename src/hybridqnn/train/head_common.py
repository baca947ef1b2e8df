"""Shared pieces of the classifier-head trainers: input checks, the loss and the torch head."""

from __future__ import annotations

import math

import numpy as np
import torch

from hybridqnn._checks import FLOAT64_MAX, check_finite, check_int


def check_features(name: str, x: object) -> np.ndarray:
    """Return ``x`` as a finite float64 (N, d) array whose sum of squares is a finite float64
    (it bounds every entry of the Gram matrix X^T X and of every product the heads form; above
    it the fits would overflow to NaN weights or fail deep inside a factorisation), or raise a
    one-line error."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name!r} must be a numeric array of shape (n_samples, n_features), got {type(x).__name__}") from None
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name!r} must have shape (n_samples, n_features) with both > 0, got shape {arr.shape}")
    check_finite(name, arr)
    flat = arr.ravel()
    with np.errstate(over="ignore"):
        squares = float(flat @ flat)
    if not math.isfinite(squares):
        raise ValueError(
            f"{name!r} must have a sum of squares at most {FLOAT64_MAX:.4g} (X^T X overflows float64 otherwise), "
            f"got values up to {float(np.abs(flat).max()):.3g}"
        )
    return arr


def check_labels(name: str, y: object, n_samples: int, num_classes: int | None = None) -> tuple[np.ndarray, int]:
    """Return integer labels in 0..C-1 and C; C defaults to max(y) + 1 and must be >= 2."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name!r} must be 1-D, got shape {arr.shape}")
    if arr.shape[0] != n_samples:
        raise ValueError(f"{name!r} must have one label per sample ({n_samples}), got {arr.shape[0]}")
    if not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"{name!r} must hold integer class indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if num_classes is None:
        num_classes = int(arr.max()) + 1 if arr.size else 0
    num_classes = check_int("num_classes", num_classes, 2)
    if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
        raise ValueError(f"{name!r} must be in 0..{num_classes - 1}, got values in [{arr.min()}, {arr.max()}]")
    present = np.unique(arr)
    if present.size < 2:
        raise ValueError(f"{name!r} must contain at least 2 classes, got only one class: {present.tolist()}")
    return arr, num_classes


def with_bias_column(x: np.ndarray) -> np.ndarray:
    """[x, 1]: the feature matrix Phi with a constant column for the bias."""
    return np.hstack([x, np.ones((x.shape[0], 1), dtype=x.dtype)])


def softmax_partial_sums(weights: np.ndarray, phi: np.ndarray, grad: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """The sums over the rows of ``phi`` that the loss and its gradient need, for a stack of
    heads ``weights`` (F, C, d+1): sum_n logsumexp_c (W_f phi_n)_c, shape (F,), and with
    ``grad`` (F = 1) sum_n softmax(W phi_n) phi_n^T, shape (C, d+1). Both add up over row
    blocks of Phi, so a caller may split the rows (and run the blocks in threads).

    The logits are formed class-major, W Phi^T (F, C, N), so the reductions over the C classes
    run along contiguous rows.
    """
    f, c, d = weights.shape
    logits = (weights.reshape(f * c, d) @ phi.T).reshape(f, c, -1)
    top = logits.max(axis=1)
    expd = np.exp(logits - top[:, None])
    total = expd.sum(axis=1)
    lse = (np.log(total) + top).sum(axis=1)
    return lse, (expd[0] / total[0]) @ phi if grad else None


def softmax_losses_from_sums(weights: np.ndarray, lse: np.ndarray, n: int, target: np.ndarray, l2: float) -> np.ndarray:
    """The losses of the heads ``weights`` (F, C, d+1) from their summed log-sum-exps ``lse``
    (:func:`softmax_partial_sums` over all ``n`` rows) and Y^T Phi (``target``, (C, d+1)): the
    true-class term is sum_n (W phi_n)_{y_n} = <W, Y^T Phi>."""
    fit = (lse - np.einsum("fcd,cd->f", weights, target)) / n
    return fit + 0.5 * l2 * np.einsum("fcd,fcd->f", weights, weights)


def softmax_loss_grad(
    weights: np.ndarray, phi: np.ndarray, onehot: np.ndarray, l2: float, *, target: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy plus (l2/2)||W||^2, and its gradient (C, d+1).

    L(W) = -(1/N) sum_n log softmax(W phi_n)_{y_n} + (l2/2) ||W||_F^2,
    dL/dW = (1/N) (P - Y)^T Phi + l2 W,

    from :func:`softmax_partial_sums` over all rows (``target``: Y^T Phi, (C, d+1), if the
    caller keeps it across calls).
    """
    n = phi.shape[0]
    target = onehot.T @ phi if target is None else target
    lse, probs_phi = softmax_partial_sums(weights[None], phi, grad=True)
    loss = float(softmax_losses_from_sums(weights[None], lse, n, target, l2)[0])
    return loss, (probs_phi - target) / n + l2 * weights


def softmax_losses(
    weights: np.ndarray, phi: np.ndarray, onehot: np.ndarray, l2: float, *, target: np.ndarray | None = None
) -> np.ndarray:
    """The loss of :func:`softmax_loss_grad` for each head of a stack ``weights`` (F, C, d+1),
    from one product with Phi (in ``phi``'s dtype; ``target`` as there): (F,)."""
    target = onehot.T @ phi if target is None else target
    lse, _ = softmax_partial_sums(weights, phi)
    return softmax_losses_from_sums(weights, lse, phi.shape[0], target, l2)


def softmax_loss(weights: np.ndarray, phi: np.ndarray, onehot: np.ndarray, l2: float) -> float:
    """The loss of :func:`softmax_loss_grad` alone."""
    return float(softmax_losses(weights[None], phi, onehot, l2)[0])


def linear_head_module(weights: np.ndarray, dtype: torch.dtype = torch.float32) -> torch.nn.Linear:
    """``nn.Linear(d, C)`` holding W[:, :d] as weight and W[:, d] as bias."""
    c, d1 = weights.shape
    layer = torch.nn.Linear(d1 - 1, c, dtype=dtype)  # created in dtype: no float32 round trip
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(weights[:, :-1], dtype=dtype))
        layer.bias.copy_(torch.as_tensor(weights[:, -1], dtype=dtype))
    return layer
