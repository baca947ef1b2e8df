"""fit_sgd_head: the SGD/Adam baseline on the same objective."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize

from hybridqnn.train import fit_sgd_head
from hybridqnn.train.head_common import softmax_loss_grad, with_bias_column


def toy(seed: int = 0, n: int = 60, d: int = 4, c: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(c, d)) * 3
    y = np.arange(n) % c
    x = centers[y] + rng.normal(size=(n, d)) * 0.5
    return (x - x.mean(0)) / x.std(0), y


def accuracy(weights: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(with_bias_column(x) @ weights.T, axis=1) == y))


@pytest.mark.parametrize(("optimizer", "lr"), [("adam", 0.05), ("sgd", 0.2)])
def test_reaches_high_accuracy(optimizer: str, lr: float) -> None:
    x, y = toy()
    result = fit_sgd_head(x, y, 3, optimizer=optimizer, lr=lr, batch_size=16, epochs=30)
    assert result.weights.shape == (3, 5)
    assert accuracy(result.weights, x, y) > 0.9
    assert len(result.history) == 30
    assert result.history[-1]["loss"] < result.history[0]["loss"]
    # no eval set: no eval bookkeeping
    assert result.best_epoch is None and result.time_to_best_s is None
    assert "eval_accuracy" not in result.history[0]


def test_eval_set_records_accuracy_and_time_to_best() -> None:
    x, y = toy()
    ex, ey = toy(seed=0, n=30)  # same centres (same seed), fresh noise draws for n=30
    seen: list[dict] = []
    result = fit_sgd_head(
        x, y, 3, lr=0.05, batch_size=16, epochs=12, eval_set=(ex, ey), callback=seen.append
    )
    assert seen == result.history
    accs = [r["eval_accuracy"] for r in result.history]
    assert all(0.0 <= a <= 1.0 for a in accs)
    assert result.best_eval_accuracy == max(accs)
    assert result.best_epoch == accs.index(max(accs))  # the first epoch reaching the best
    assert result.time_to_best_s == result.history[result.best_epoch]["train_time_s"]
    times = [r["train_time_s"] for r in result.history]
    assert all(b >= a for a, b in zip(times, times[1:], strict=False))
    assert result.train_time_s == times[-1]
    assert result.best_eval_accuracy > 0.9


def test_minimises_the_same_objective_as_the_qubo_head() -> None:
    """Full-batch Adam converges to the minimiser of mean CE + (l2/2)||W||^2 (bias included)."""
    x, y = toy(n=30)
    l2 = 0.1
    phi, onehot = with_bias_column(x), np.eye(3)[y]

    def fun(flat: np.ndarray) -> tuple[float, np.ndarray]:
        loss, grad = softmax_loss_grad(flat.reshape(3, 5), phi, onehot, l2)
        return loss, grad.ravel()

    opt = scipy.optimize.minimize(
        fun, np.zeros(15), jac=True, method="L-BFGS-B", options={"gtol": 1e-10}
    )
    result = fit_sgd_head(x, y, 3, optimizer="adam", lr=0.05, batch_size=30, epochs=400, l2=l2)
    np.testing.assert_allclose(result.weights, opt.x.reshape(3, 5), atol=2e-3)
    assert result.history[-1]["loss"] == pytest.approx(opt.fun, abs=1e-4)


def test_seed_reproducible() -> None:
    x, y = toy()
    a = fit_sgd_head(x, y, 3, batch_size=8, epochs=3, seed=4)
    b = fit_sgd_head(x, y, 3, batch_size=8, epochs=3, seed=4)
    c = fit_sgd_head(x, y, 3, batch_size=8, epochs=3, seed=5)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert not np.array_equal(a.weights, c.weights)


def test_bad_optimizer_lists_valid_ones() -> None:
    x, y = toy()
    with pytest.raises(ValueError) as info:
        fit_sgd_head(x, y, 3, optimizer="rmsprop")
    msg = str(info.value)
    assert (
        "'optimizer' must be one of" in msg
        and "sgd" in msg
        and "adam" in msg
        and "'rmsprop'" in msg
    )


def test_invalid_inputs() -> None:
    x, y = toy()
    bad = x.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="'features' must be finite"):
        fit_sgd_head(bad, y, 3)
    with pytest.raises(ValueError, match="one label per sample"):
        fit_sgd_head(x, y[:10], 3)
    with pytest.raises(ValueError, match="'lr' must be"):
        fit_sgd_head(x, y, 3, lr=0.0)
    with pytest.raises(ValueError, match="'epochs' must be"):
        fit_sgd_head(x, y, 3, epochs=0)
    with pytest.raises(ValueError, match="'eval_set' features must have 4 columns, got 3"):
        fit_sgd_head(x, y, 3, eval_set=(x[:, :3], y))
    with pytest.raises(ValueError, match="'eval_set labels' must be in"):
        fit_sgd_head(x, y, 3, eval_set=(x, y + 1))
