"""Shared head pieces: input checks, the softmax loss and its gradient, the torch head."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn.train.head_common import (
    check_features,
    check_labels,
    linear_head_module,
    softmax_loss,
    softmax_loss_grad,
    with_bias_column,
)


def _problem(n: int, d: int, c: int, seed: int, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    phi = with_bias_column(rng.normal(size=(n, d)))
    y = rng.integers(0, c, size=n)
    onehot = np.eye(c)[y]
    w = rng.normal(size=(c, d + 1)) * scale
    return w, phi, onehot, y


@given(
    st.integers(1, 12),
    st.integers(1, 5),
    st.integers(2, 5),
    st.floats(0, 1),
    st.integers(0, 2**32 - 1),
)
def test_loss_and_gradient_match_torch_autograd(
    n: int, d: int, c: int, l2: float, seed: int
) -> None:
    w, phi, onehot, y = _problem(n, d, c, seed, scale=2.0)
    loss, grad = softmax_loss_grad(w, phi, onehot, l2)
    assert grad.shape == w.shape
    wt = torch.tensor(w, requires_grad=True)
    ref = (
        torch.nn.functional.cross_entropy(torch.tensor(phi) @ wt.T, torch.tensor(y))
        + 0.5 * l2 * (wt**2).sum()
    )
    ref.backward()
    assert loss == pytest.approx(float(ref.detach()), rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(grad, wt.grad.numpy(), rtol=1e-9, atol=1e-12)
    assert softmax_loss(w, phi, onehot, l2) == pytest.approx(loss, rel=1e-12, abs=1e-14)


def test_gradient_matches_finite_differences() -> None:
    w, phi, onehot, _ = _problem(20, 3, 4, 0)
    l2 = 0.3
    _, grad = softmax_loss_grad(w, phi, onehot, l2)
    eps = 1e-6
    fd = np.zeros_like(w)
    for idx in np.ndindex(*w.shape):
        e = np.zeros_like(w)
        e[idx] = eps
        fd[idx] = (softmax_loss(w + e, phi, onehot, l2) - softmax_loss(w - e, phi, onehot, l2)) / (
            2 * eps
        )
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-8)


def test_loss_is_stable_for_huge_logits() -> None:
    w, phi, onehot, y = _problem(10, 2, 3, 1, scale=1e4)
    loss, grad = softmax_loss_grad(w, phi, onehot, 0.0)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    ref = torch.nn.functional.cross_entropy(torch.tensor(phi @ w.T), torch.tensor(y))
    assert loss == pytest.approx(float(ref), rel=1e-9)


def test_loss_does_not_modify_inputs() -> None:
    w, phi, onehot, _ = _problem(6, 2, 3, 2)
    copies = (w.copy(), phi.copy(), onehot.copy())
    softmax_loss_grad(w, phi, onehot, 0.1)
    softmax_loss(w, phi, onehot, 0.1)
    for a, b in zip((w, phi, onehot), copies, strict=True):
        np.testing.assert_array_equal(a, b)


def test_with_bias_column() -> None:
    x = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(with_bias_column(x), [[0, 1, 1], [2, 3, 1], [4, 5, 1]])


def test_linear_head_module() -> None:
    w = np.arange(12.0).reshape(3, 4) / 7
    layer = linear_head_module(w)
    assert isinstance(layer, torch.nn.Linear)
    assert (layer.in_features, layer.out_features) == (3, 3)
    x = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_allclose(
        layer(torch.tensor(x, dtype=torch.float32)).detach().numpy(),
        with_bias_column(x) @ w.T,
        rtol=1e-5,
        atol=1e-5,
    )
    layer64 = linear_head_module(w, torch.float64)
    assert layer64.weight.dtype == torch.float64 and layer64.bias.dtype == torch.float64
    # full float64 precision (regression: the weights used to pass through float32)
    np.testing.assert_array_equal(layer64.weight.detach().numpy(), w[:, :-1])
    np.testing.assert_array_equal(layer64.bias.detach().numpy(), w[:, -1])
    np.testing.assert_allclose(
        layer64(torch.tensor(x)).detach().numpy(), with_bias_column(x) @ w.T, rtol=1e-12
    )


# --- checks ----------------------------------------------------------------------------------


def test_check_features_accepts_and_converts() -> None:
    out = check_features("features", [[1, 2], [3, 4]])
    assert out.dtype == np.float64 and out.shape == (2, 2)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_check_features_rejects_non_finite(bad: float) -> None:
    x = np.zeros((3, 2))
    x[1, 1] = bad
    with pytest.raises(ValueError, match="'features' must be finite, got 1 NaN or inf values"):
        check_features("features", x)


def test_check_features_rejects_features_whose_squares_overflow() -> None:
    check_features("features", np.full((4, 3), 1e150))
    with pytest.raises(ValueError, match=r"^'features' must have a sum of squares at most 1.798e\+308 .*got values up to 1e\+200$"):
        check_features("features", np.full((4, 3), 1e200))


@pytest.mark.parametrize("fit", ["qubo", "sgd"])
@pytest.mark.parametrize("case", ["nan", "inf", "1e200"])
def test_head_fits_give_one_line_for_non_finite_or_overflowing_features(fit: str, case: str) -> None:
    """On the landed code 1e200 features failed inside scipy's Cholesky ('array must not
    contain infs or NaNs', qubo head) or returned NaN weights (SGD head)."""
    from hybridqnn.solvers import get_sampler
    from hybridqnn.train.qubo_head import fit_qubo_head
    from hybridqnn.train.sgd_head import fit_sgd_head

    x = np.random.default_rng(0).normal(size=(20, 3))
    y = (x[:, 0] > 0).astype(int)
    if case == "1e200":
        x = x * 1e200
    else:
        x[4, 2] = float(case)
    with pytest.raises(ValueError, match="^'features' must (be finite|have a sum of squares)"):
        if fit == "qubo":
            fit_qubo_head(x, y, 2, get_sampler("dense-sa"), bits=3, max_iter=1, executor="serial")
        else:
            fit_sgd_head(x, y, 2, epochs=1)


@pytest.mark.parametrize("shape", [(3,), (2, 3, 4), (0, 3), (3, 0), ()])
def test_check_features_rejects_wrong_shape(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"'X' must have shape \(n_samples, n_features\)"):
        check_features("X", np.zeros(shape))


def test_check_features_rejects_non_numeric() -> None:
    with pytest.raises(TypeError, match="'features' must be a numeric array"):
        check_features("features", [["a", "b"]])


def test_check_labels_ok() -> None:
    y, c = check_labels("labels", [0, 2, 1, 2], 4)
    assert c == 3 and y.dtype == np.int64
    y, c = check_labels("labels", np.array([0.0, 1.0, 1.0]), 3, num_classes=5)
    assert c == 5
    np.testing.assert_array_equal(y, [0, 1, 1])


def test_check_labels_errors() -> None:
    with pytest.raises(ValueError, match="one label per sample \\(4\\), got 3"):
        check_labels("labels", [0, 1, 1], 4)
    with pytest.raises(ValueError, match="'labels' must be 1-D"):
        check_labels("labels", [[0, 1]], 1)
    with pytest.raises(ValueError, match=r"'labels' must be in 0\.\.2, got values in \[0, 3\]"):
        check_labels("labels", [0, 1, 3], 3, num_classes=3)
    with pytest.raises(ValueError, match=r"must be in 0\.\.2"):
        check_labels("labels", [0, -1, 2], 3, num_classes=3)
    with pytest.raises(ValueError, match="at least 2 classes"):
        check_labels("labels", [1, 1, 1], 3, num_classes=3)
    with pytest.raises(ValueError, match="'num_classes' must be an integer >= 2"):
        check_labels("labels", [0, 0], 2)
    with pytest.raises(
        TypeError, match="'labels' must hold integer class indices, got dtype float64"
    ):
        check_labels("labels", [0.0, 1.5], 2)
    with pytest.raises(TypeError, match="integer class indices"):
        check_labels("labels", [0.0, np.nan], 2)
    with pytest.raises(TypeError, match="integer class indices"):
        check_labels("labels", ["a", "b"], 2)
