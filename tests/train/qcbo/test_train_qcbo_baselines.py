"""QCBO training, baselines: the greedy-moves control and QAT."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from qcbo_toys import BOX, SIZES, SMALL, _assert_best_of, _toy

from hybridqnn.problems.fip import forward_interval_propagation
from hybridqnn.problems.qcbo import WeightCode
from hybridqnn.solvers import MILPSolver
from hybridqnn.train.qcbo import (
    fit_greedy_moves,
    fit_qat,
    fit_qcbo,
)
from hybridqnn.train.qcbo.baselines import _qat_rank, _quantized_spline_activation


def test_greedy_control_starts_where_qph_starts_and_learns_without_subproblems() -> None:
    X, y = _toy(40, seed=1)
    qph = fit_qcbo(
        X,
        y,
        SIZES,
        sampler=MILPSolver(),
        method="cqm",
        ph_iterations=1,
        seed=4,
        executor="serial",
        **SMALL,
    )
    greedy = fit_greedy_moves(X, y, SIZES, iterations=4, seed=4, **SMALL)
    assert greedy.initial == qph.initial
    assert greedy.accuracy(X, y) > greedy.initial["train_accuracy"]
    assert greedy.timing["oracle_calls"] == 0 and greedy.spins == {}
    for w, code in zip(greedy.weights, greedy.codes, strict=True):
        assert set(np.round(np.unique(w) / code.scale, 9)) <= {-1.0, 1.0}
    best = greedy.history[greedy.best_iteration]
    assert best["train_accuracy"] == max(h["train_accuracy"] for h in greedy.history)
    with pytest.raises(ValueError, match="'iterations' must be an integer >= 1, got 0"):
        fit_greedy_moves(X, y, SIZES, iterations=0, **SMALL)
    with pytest.raises(TypeError, match="fit_greedy_moves got unexpected keyword\\(s\\) 'rho'"):
        fit_greedy_moves(X, y, SIZES, rho=0.3, **SMALL)


def test_greedy_control_takes_the_pair_move_and_no_move_that_needs_a_sampler() -> None:
    """moves=["pair"]: after each line search the exact best single or pair move, kept only if
    it lowers the training errors (select="accuracy": errors, then loss); the record is in the
    history with the move's prefix. "qubo" needs a sampler: one clear line."""
    X, y = _toy(40, seed=1)
    plain = fit_greedy_moves(X, y, SIZES, iterations=3, seed=4, **SMALL)
    pairs = fit_greedy_moves(X, y, SIZES, iterations=3, seed=4, moves=["pair"], **SMALL)
    assert pairs.initial == plain.initial
    assert "pair_applied" not in plain.history[0]
    for h in pairs.history:
        assert h["pair_applied"] == (h["pair_source"] == "pair")
        assert h["pair_error_gain"] <= 0 if h["pair_applied"] else h["pair_error_gain"] == 0
    assert any(h["pair_applied"] for h in pairs.history)
    assert pairs.accuracy(X, y) >= plain.initial["train_accuracy"]
    with pytest.raises(ValueError, match="'moves' must be one of pair; got 'qubo'"):
        fit_greedy_moves(X, y, SIZES, moves=["qubo"], **SMALL)


def test_greedy_moves_network_keywords_are_fit_qcbos() -> None:
    """fit_greedy_moves takes fit_qcbo's network keywords with fit_qcbo's defaults."""
    import inspect

    from hybridqnn.train.qcbo.network import NETWORK_DEFAULTS

    params = inspect.signature(fit_qcbo).parameters
    assert {k: params[k].default for k in NETWORK_DEFAULTS} == dict(NETWORK_DEFAULTS)


def test_greedy_moves_restarts_keep_the_best_start() -> None:
    X, y = _toy(16)
    multi = fit_greedy_moves(X, y, SIZES, iterations=3, seed=5, restarts=3, **SMALL)
    singles = [
        fit_greedy_moves(
            X, y, SIZES, iterations=3, seed=int(sq.generate_state(1)[0]) % 2**31, **SMALL
        )
        for sq in np.random.SeedSequence(5).spawn(3)
    ]
    _assert_best_of(multi, singles)
    with pytest.raises(ValueError, match="'restarts' must be an integer >= 1, got 0"):
        fit_greedy_moves(X, y, SIZES, restarts=0, **SMALL)


def test_qat_keeps_quantized_levels_and_full_precision_learns() -> None:
    X, y = _toy(64, seed=5)
    for code in (WeightCode("binary"), WeightCode("ternary"), WeightCode("kbit", bits=2)):
        res = fit_qat(X, y, SIZES, code, epochs=3, seed=0)
        for W, c in zip(res.weights, res.codes, strict=True):
            assert set(np.round(np.unique(W) / c.scale, 6)) <= set(
                np.round(code.levels / code.scale, 6)
            )
    fp = fit_qat(X, y, (3, 8, 1), None, epochs=200, lr=3e-2, seed=0)
    assert fp.codes is None and fp.accuracy(X, y) >= 0.9
    a = fit_qat(X, y, SIZES, WeightCode("binary"), epochs=3, seed=7)
    b = fit_qat(X, y, SIZES, WeightCode("binary"), epochs=3, seed=7)
    np.testing.assert_array_equal(a.weights[0], b.weights[0])


def test_torch_quantized_spline_activation_matches_the_network() -> None:
    """The QAT forward on the QCBO's network equals QuantizedSplineNetwork's hidden layer:
    spline on the FIP knots (M = 3, so the ReLU spline is not exact), then the K-bit grid."""
    import torch

    from hybridqnn.problems.fip import quantize_activation

    fip = forward_interval_propagation(
        np.zeros(3), np.ones(3), (3, 4, 1), [[-0.7, 0.7], [-1.0, 1.0]], "relu", 3, bias=True
    )
    layer = fip.layers[0]
    rng = np.random.default_rng(3)
    z = rng.uniform(layer.low, layer.high, size=(200, 4))
    for bits in (1, 2, 3):
        expect = np.column_stack([sp(z[:, j]) for j, sp in enumerate(layer.splines)])
        expect = quantize_activation(expect, layer.act_low, layer.act_high, bits)
        zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
        got = _quantized_spline_activation(zt, layer, bits)
        # rounding ties may go either way; away from them the grids agree exactly
        step = (layer.act_high - layer.act_low) / (2**bits - 1)
        np.testing.assert_allclose(got.detach().numpy(), expect, atol=1e-9 + 1e-6 * step.max())
        # straight-through: the gradient is the spline's slope, not zero
        got.sum().backward()
        slopes = np.column_stack(
            [
                sp.slopes[np.clip(np.searchsorted(sp.knots, z[:, j]) - 1, 0, 2)]
                for j, sp in enumerate(layer.splines)
            ]
        )
        np.testing.assert_allclose(zt.grad.numpy(), slopes)


def test_qat_on_the_qcbo_network_predicts_with_it() -> None:
    X, y = _toy(48, seed=9)
    res = fit_qat(X, y, SIZES, WeightCode("binary"), epochs=8, seed=1, activation_bits=2, **BOX)
    assert res.network is not None and res.network.activation_bits == (2,)
    ypm = np.where(y > 0, 1, -1)
    np.testing.assert_array_equal(res.predict(X), res.network.predict(res.weights, X))
    assert res.accuracy(X, y) == pytest.approx(
        res.history[res.best_epoch]["train_accuracy"], abs=1.5 / 48
    )
    assert res.accuracy(X, y) == np.mean(res.predict(X) == ypm)
    plain = fit_qat(X, y, SIZES, WeightCode("binary"), epochs=8, seed=1)
    assert plain.network is None and plain.input_box is None
    with pytest.raises(ValueError, match=r"'activation_bits' needs quantized weights"):
        fit_qat(X, y, SIZES, None, activation_bits=2)
    with pytest.raises(ValueError, match=r"inside the input box"):
        fit_qat(X * 3, y, SIZES, WeightCode("binary"), activation_bits=2, **BOX)
    with pytest.raises(ValueError, match=r"'segments' must be an integer >= 1, got 0"):
        fit_qat(X, y, SIZES, WeightCode("binary"), activation_bits=2, segments=0)


def test_qat_returns_its_best_epoch_and_restarts_their_best_run() -> None:
    X, y = _toy(32, seed=6)
    best = fit_qat(X, y, SIZES, WeightCode("binary"), epochs=6, seed=11, restarts=3)
    children = np.random.SeedSequence(11).spawn(3)
    runs = [
        fit_qat(
            X, y, SIZES, WeightCode("binary"), epochs=6, seed=int(c.generate_state(1)[0]) % 2**31
        )
        for c in children
    ]
    assert _qat_rank(best) == min(_qat_rank(r) for r in runs)
    for r in runs:
        h = r.history[r.best_epoch]
        assert h["train_accuracy"] == max(e["train_accuracy"] for e in r.history)
        assert h["loss"] == min(
            e["loss"] for e in r.history if e["train_accuracy"] == h["train_accuracy"]
        )
        # the returned weights are that epoch's (float64 here, float32 in training)
        assert r.accuracy(X, y) == pytest.approx(h["train_accuracy"], abs=1.5 / 32)
    with pytest.raises(ValueError, match=r"'restarts' must be an integer >= 1, got 0"):
        fit_qat(X, y, SIZES, WeightCode("binary"), restarts=0)


def _scripted(scores):
    """Steps that return the scripted (accuracy, loss) per call, the weights tagged with t."""

    def step(setup, ws, codes, t):
        acc, loss = scores[t]
        ws = [np.full_like(w, float(t)) for w in ws]
        return ws, codes, {"iteration": t, "train_accuracy": acc, "train_loss": loss}

    return step


@pytest.mark.parametrize(
    ("select", "best"),
    [("accuracy", 2), ("loss", 1)],  # accuracy: 2 and 3 tie, the earliest wins; loss: 1
)
def test_greedy_search_keeps_the_best_iteration_and_reports_progress(
    monkeypatch: pytest.MonkeyPatch, select: str, best: int
) -> None:
    from types import SimpleNamespace

    from hybridqnn.train.qcbo import baselines

    scores = [(0.5, 0.9), (0.6, 0.3), (0.8, 0.5), (0.8, 0.5), (0.7, 0.4)]
    monkeypatch.setattr(baselines, "_greedy_step", _scripted(scores))
    setup = SimpleNamespace(iterations=len(scores), select=select)
    calls: list[tuple[int, int]] = []
    ws = [np.zeros((2, 3))]
    history, (t, best_w, codes) = baselines._greedy_search(
        setup, ws, ["c"], lambda i, n: calls.append((i, n))
    )
    assert [h["iteration"] for h in history] == list(range(5)) and calls == [(i, 5) for i in range(1, 6)]
    assert t == best
    np.testing.assert_array_equal(best_w[0], np.full((2, 3), float(best)))
    assert codes == ["c"] and ws[0].sum() == 0  # the start is not changed


@given(
    labels=st.lists(st.integers(0, 4), min_size=1, max_size=12),
    n_out=st.sampled_from([1, 5]),
)
def test_qat_tensors_signs_and_labels(labels: list[int], n_out: int) -> None:
    # one output: sign +1 exactly for the labels > 0, and the same +-1 as the accuracy target;
    # several: +1 exactly at the label's own output (one-vs-rest), the target the label itself
    import torch

    from hybridqnn.train.qcbo.baselines import _qat_tensors

    y = np.array(labels)
    X = np.arange(2.0 * y.size).reshape(-1, 2)
    Xt, signs, target = _qat_tensors(X, y, n_out, torch.device("cpu"))
    assert Xt.dtype == signs.dtype == torch.float32 and signs.shape == (y.size, n_out)
    np.testing.assert_array_equal(Xt.numpy(), X)
    if n_out == 1:
        expected = np.where(y > 0, 1, -1)
        np.testing.assert_array_equal(signs[:, 0].numpy(), expected)
    else:
        expected = y
        np.testing.assert_array_equal(signs.numpy(), np.where(np.arange(n_out) == y[:, None], 1, -1))
    np.testing.assert_array_equal(target.numpy(), expected)
