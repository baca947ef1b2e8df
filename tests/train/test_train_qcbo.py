"""QCBO training: decomposition + progressive hedging, the bit-scale step, spin counts, baselines."""

from __future__ import annotations

import dimod
import numpy as np
import pytest
from dwave.samplers import SimulatedAnnealingSampler

from hybridqnn.problems.fip import forward_interval_propagation
from hybridqnn.problems.qcbo import WeightCode, build_qcbo
from hybridqnn.solvers import MILPSolver, get_sampler
from hybridqnn.train.qcbo import (
    QCBOClassifier,
    bits_per_weight,
    declared_limit,
    fit_greedy_moves,
    fit_qat,
    fit_qcbo,
    ising_spins,
    spin_counts,
    spin_formula,
)
from hybridqnn.train.qcbo.baselines import _qat_rank, _quantized_spline_activation
from hybridqnn.train.qcbo.moves import _apply_moves, _line_search, _votes
from hybridqnn.train.qcbo.network import _Architecture, _bit_scales

SIZES = (3, 2, 1)


def _toy(n: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Linearly separable points in [0, 1]^3: y = sign(x0 - x1)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, size=(n, 3))
    y = np.where(X[:, 0] > X[:, 1], 1, -1)
    return X, y


BOX = {"input_low": np.zeros(3), "input_high": np.ones(3)}
SMALL = {"segments": 2, "activation_bits": 1, "loss_segments": 2, **BOX}


def test_monolithic_spins_equal_weights_plus_per_sample_parts() -> None:
    X, y = _toy(4)
    codes = [WeightCode("binary"), WeightCode("binary")]
    fip = forward_interval_propagation(
        np.zeros(3), np.ones(3), SIZES, [c.levels for c in codes], "relu", 2, bias=True
    )
    kw = {"activation_bits": [2], "loss": "logistic", "loss_segments": 3}
    counts = spin_counts(X, y, SIZES, codes, fip=fip, **kw)
    mono = build_qcbo(X, y, SIZES, codes, fip=fip, **kw)
    assert counts["monolithic_spins"] == ising_spins(mono, 3)
    assert counts["monolithic_cqm_variables"] == mono.counts["total"]
    assert (
        counts["num_subproblems"] == 4
        and counts["weight_spins"] == mono.counts["weights"] == 2 * 4 + 1 * 3
    )
    bound = spin_formula(
        SIZES, codes, segments=2, activation_bits=2, loss_segments=3, bias=True, num_samples=4
    )
    assert bound["weights"] == counts["weight_spins"]
    assert counts["monolithic_spins"] <= bound["monolithic"]
    assert counts["subproblem_spins_max"] <= bound["subproblem"]
    # mini-batches of two: two subproblems, same monolithic total
    half = spin_counts(X, y, SIZES, codes, fip=fip, batch_size=2, **kw)
    assert half["num_subproblems"] == 2 and half["monolithic_spins"] == counts["monolithic_spins"]


def test_bits_per_weight_is_exact() -> None:
    codes = [WeightCode("binary"), WeightCode("kbit", bits=3)]
    assert bits_per_weight((16, 4, 1), codes, bias=False) == pytest.approx((64 + 3 * 4) / 68)
    assert bits_per_weight((3, 2, 1), [WeightCode("ternary")] * 2, True) == pytest.approx(
        np.log2(3)
    )


def test_fit_with_exact_subproblems_is_deterministic_and_returns_levels() -> None:
    X, y = _toy(6)
    kw = {
        "sampler": MILPSolver(),
        "method": "cqm",
        "ph_iterations": 2,
        "seed": 3,
        "executor": "serial",
        **SMALL,
    }
    a = fit_qcbo(X, y, SIZES, **kw)
    b = fit_qcbo(X, y, SIZES, **kw)
    assert len(a.history) == 2
    for wa, wb, code in zip(a.weights, b.weights, a.codes, strict=True):
        np.testing.assert_array_equal(wa, wb)
        assert set(np.round(np.unique(wa) / code.scale, 9)) <= {-1.0, 1.0}
    assert a.spins["num_subproblems"] == 6 and a.spins["spin_ratio"] > 1
    assert 0.0 <= a.initial["train_accuracy"] <= 1.0 and a.initial["train_loss"] > 0
    assert a.timing["oracle_calls"] == 12
    # the returned network is the best consensus over the iterations (select="accuracy")
    accs = [h["train_accuracy"] for h in a.history]
    assert a.history[a.best_iteration]["train_accuracy"] == max(accs)
    assert a.accuracy(X, y) == pytest.approx(max(accs))
    c = fit_qcbo(X, y, SIZES, **{**kw, "select": "loss"})
    losses = [h["train_loss"] for h in c.history]
    assert c.history[c.best_iteration]["train_loss"] == min(losses)
    pred = a.predict(X)
    assert set(np.unique(pred)) <= {-1, 1} and 0.0 <= a.accuracy(X, y) <= 1.0


def test_votes_rank_one_level_moves_and_the_line_search_combines_improving_ones() -> None:
    binary, ternary = WeightCode("binary", scale=0.5), WeightCode("ternary", scale=2.0)
    center = [np.array([[0.5, -0.5, 0.5]]), np.array([0.0, 2.0, -2.0])]
    # binary votes: 0.6, 0 (no move), 0.1; ternary: 0.25 up, none (top level), 0.9 up
    mean = [np.array([[0.5 - 0.6, -0.5, 0.5 - 0.1]]), np.array([0.5, 3.0, -2.0 + 1.8])]
    moves = _votes(center, mean, [binary, ternary])
    assert [(round(v, 9), li, i, t) for v, li, i, t in moves] == [
        (0.9, 1, 2, 0.0),
        (0.6, 0, 0, -0.5),
        (0.25, 1, 0, 2.0),
        (0.1, 0, 2, -0.5),
    ]
    assert _votes(center, center, [binary, ternary]) == []
    # a score that rewards exactly the 0.25 and 0.1 moves: no prefix of the ranking has both
    # without the others, so the line search must combine the improving single moves
    wanted = _apply_moves(center, [moves[2], moves[3]])

    def score(cand: list[np.ndarray]) -> float:
        return sum(float(np.sum(np.abs(c - w))) for c, w in zip(cand, wanted, strict=True))

    moved, best = _line_search(center, moves, score)
    assert moved == 2
    for b, w in zip(best, wanted, strict=True):
        np.testing.assert_array_equal(b, w)
    # with nothing better than the centre, it stays
    moved, best = _line_search(center, moves, lambda cand: 0.0)
    assert moved == 0


def test_line_search_consensus_learns_where_the_mean_does_not() -> None:
    """On separable toy data, sample-wise exact subproblems: the ranked-vote line search raises
    the training accuracy above the random start; textbook PH (mean) leaves it there."""
    X, y = _toy(40, seed=1)
    kw = {
        "sampler": MILPSolver(),
        "method": "cqm",
        "ph_iterations": 3,
        "rho": 0.3,
        "seed": 0,
        "executor": "serial",
        **SMALL,
    }
    ls = fit_qcbo(X, y, SIZES, **kw)
    mean = fit_qcbo(X, y, SIZES, **{**kw, "consensus": "mean"})
    start = ls.initial["train_accuracy"]
    assert mean.initial["train_accuracy"] == start
    assert ls.accuracy(X, y) > start
    assert any(h["moved_weights"] for h in ls.history)
    assert all(h["moved_weights"] is None for h in mean.history)


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


def test_greedy_moves_network_keywords_are_fit_qcbos() -> None:
    """fit_greedy_moves takes fit_qcbo's network keywords with fit_qcbo's defaults."""
    import inspect

    from hybridqnn.train.qcbo.network import NETWORK_DEFAULTS

    params = inspect.signature(fit_qcbo).parameters
    assert {k: params[k].default for k in NETWORK_DEFAULTS} == dict(NETWORK_DEFAULTS)


def _assert_best_of(multi, singles) -> None:
    """``multi`` is the single run whose returned network has the highest training accuracy,
    then the lowest spline loss."""

    def rank(r):
        h = r.history[r.best_iteration]
        return (-h["train_accuracy"], h["train_loss"])

    best = min(singles, key=rank)
    assert rank(multi) == rank(best) and multi.initial == best.initial
    for w, v in zip(multi.weights, best.weights, strict=True):
        np.testing.assert_array_equal(w, v)


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


def test_qph_restarts_keep_the_best_start() -> None:
    X, y = _toy(8)
    kw = {
        "sampler": get_sampler("dense-sa"),
        "ph_iterations": 2,
        "qcgd_iterations": 2,
        "sample_kwargs": {"num_reads": 1, "num_sweeps": 20},
        "executor": "serial",
        **SMALL,
    }
    multi = fit_qcbo(X, y, SIZES, seed=3, restarts=2, **kw)
    singles = [
        fit_qcbo(X, y, SIZES, seed=int(sq.generate_state(1)[0]) % 2**31, **kw)
        for sq in np.random.SeedSequence(3).spawn(2)
    ]
    _assert_best_of(multi, singles)
    assert multi.timing["oracle_calls"] == sum(r.timing["oracle_calls"] for r in singles)
    with pytest.raises(ValueError, match="'restarts' must be an integer >= 1, got 0"):
        fit_qcbo(X, y, SIZES, restarts=0, **kw)


def test_thread_pool_gives_the_serial_result() -> None:
    X, y = _toy(4)
    kw = {
        "sampler": get_sampler("dense-sa"),
        "ph_iterations": 1,
        "seed": 1,
        "qcgd_iterations": 2,
        "sample_kwargs": {"num_reads": 1, "num_sweeps": 20},
        **SMALL,
    }
    a = fit_qcbo(X, y, SIZES, executor="serial", **kw)
    b = fit_qcbo(X, y, SIZES, executor="thread", max_workers=2, **kw)
    for wa, wb in zip(a.weights, b.weights, strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_one_subproblem_is_the_monolithic_model_and_consensus_is_its_answer() -> None:
    X, y = _toy(3)
    res = fit_qcbo(
        X,
        y,
        SIZES,
        sampler=MILPSolver(),
        method="cqm",
        batch_size=3,
        ph_iterations=1,
        rho=1e-6,
        consensus="mean",
        bit_scale=False,
        seed=0,
        executor="serial",
        count_spins=True,
        **SMALL,
    )
    h = res.history[0]
    assert h["residual"] == pytest.approx(0.0) and h["disagreement"] == 0.0
    assert res.spins["num_subproblems"] == 1 and res.spins["spin_ratio"] == pytest.approx(1.0)
    # the exact monolithic optimum equals brute force over the weights (rho ~ 0, ties: best)
    model = build_qcbo(
        X, y, SIZES, res.codes, fip=res.network.fip, activation_bits=[1], loss_segments=2
    )
    best = min(
        model.loss_of_weights([np.array(w0).reshape(2, 4), np.array(w1).reshape(1, 3)])
        for w0 in np.array(np.meshgrid(*[[-1.0, 1.0]] * 8)).T.reshape(-1, 8)
        for w1 in np.array(np.meshgrid(*[[-1.0, 1.0]] * 3)).T.reshape(-1, 3)
    )
    assert model.loss_of_weights(res.weights) == pytest.approx(best, abs=1e-6)


def test_bit_scale_step_is_the_closed_form() -> None:
    X, y = _toy(8, seed=2)
    rng = np.random.default_rng(0)
    units = [rng.choice([-1.0, 1.0], size=(2, 4)), rng.choice([-1.0, 1.0], size=(1, 3))]
    codes = [WeightCode("binary"), WeightCode("binary", scale=1.0)]
    arch = _Architecture(SIZES, (np.zeros(3), np.ones(3)), "relu", (2,), True, (2,), "logistic", 3)
    new = _bit_scales(units, codes, X, y, arch, 1.5, hidden=True)
    a0 = np.concatenate([X, np.ones((8, 1))], axis=1)
    assert new[0].scale == pytest.approx(1 / np.sqrt(np.mean(np.sum(a0**2, axis=1))))
    net = arch.network(new)
    a1 = net.layer_inputs([u * c.scale for u, c in zip(units, new, strict=True)], X)[1]
    g = (a1 @ units[1].T)[:, 0]
    ls = 1.5 * np.sum(y * g) / np.sum(g * g)
    if ls > 0:
        assert new[1].scale == pytest.approx(np.clip(ls, 0.5, 2.0))
    else:
        assert new[1].scale == 1.0
    # between solves only the output scale moves: the same fit, the hidden scale kept
    between = _bit_scales(units, codes, X, y, arch, 1.5, hidden=False)
    assert between[0].scale == codes[0].scale
    a1 = arch.network(codes).layer_inputs(
        [u * c.scale for u, c in zip(units, codes, strict=True)], X
    )[1]
    g = (a1 @ units[1].T)[:, 0]
    ls = 1.5 * np.sum(y * g) / np.sum(g * g)
    assert between[1].scale == (pytest.approx(np.clip(ls, 0.5, 2.0)) if ls > 0 else 1.0)


def test_declared_limit_and_too_large_subproblem() -> None:
    structured = dimod.StructureComposite(SimulatedAnnealingSampler(), list(range(10)), [(0, 1)])
    assert declared_limit(structured) == (10, "nodelist")

    class Limited(dimod.Sampler):
        parameters = {"num_reads": []}
        properties = {"max_variables": 12}

        def sample(self, bqm, num_reads=1):  # a real sampler: exact enumeration
            return dimod.ExactSolver().sample(bqm).truncate(num_reads)

    assert declared_limit(Limited()) == (12, "properties['max_variables']")
    assert declared_limit(get_sampler("dense-sa")) is None
    X, y = _toy(2)
    with pytest.raises(ValueError, match=r"spins, more than the sampler's declared limit 12"):
        fit_qcbo(X, y, SIZES, sampler=Limited(), ph_iterations=1, executor="serial", **SMALL)
    with pytest.raises(
        ValueError, match=r"; layer [12] \(\d+ -> \d+\) alone puts \d+ spins"
    ) as info:
        fit_qcbo(X, y, SIZES, sampler=Limited(), ph_iterations=1, executor="serial", **SMALL)
    assert "\n" not in str(info.value)


def test_spins_by_layer_counts_every_spin() -> None:
    from hybridqnn.problems.penalty import penalty_parts
    from hybridqnn.problems.qcbo import build_qcbo
    from hybridqnn.train.qcbo import spins_by_layer

    X, y = _toy(1)
    model = build_qcbo(X, y, SIZES, segments=2, activation_bits=2, bias=True)
    variables = penalty_parts(model.cqm).variables
    per_layer = spins_by_layer(variables)
    assert sum(per_layer.values()) == len(variables)
    assert set(per_layer) == {1, 2}
    assert per_layer[1] >= model.counts["weights"] // 2


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"segments": 0}, r"'segments' must be an integer >= 1"),
        ({"input_low": np.array([0.0, 2.0, 0.0])}, r"input interval of feature 1 is empty"),
        ({"ph_iterations": 0}, r"'ph_iterations' must be an integer >= 1"),
        ({"rho": 0.0}, r"'rho' must be"),
        ({"method": "anneal"}, r"'method' must be one of"),
        ({"sample_kwargs": {"seed": 1}}, r"must not contain 'seed'"),
        ({"sample_kwargs": {"bogus": 1}}, r"does not take: 'bogus'"),
        ({"batch_size": 99}, r"'batch_size' must be an integer in \[1, 4\]"),
    ],
)
def test_bad_settings_are_one_line_errors(change: dict, match: str) -> None:
    X, y = _toy(4)
    kw = {"sampler": get_sampler("dense-sa"), **SMALL, **change}
    with pytest.raises(ValueError, match=match) as info:
        fit_qcbo(X, y, SIZES, **kw)
    assert "\n" not in str(info.value)


def test_bad_data_is_rejected() -> None:
    X, y = _toy(4)
    bad = X.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"'X' must be finite, got 1 NaN"):
        fit_qcbo(bad, y, SIZES, sampler=get_sampler("dense-sa"))
    with pytest.raises(ValueError, match=r"'y' must hold labels"):
        fit_qcbo(X, np.array([0, 1, 2, 1]), SIZES, sampler=get_sampler("dense-sa"))
    with pytest.raises(ValueError, match=r"'sizes' must start with the number of features 3"):
        fit_qcbo(X, y, (4, 2, 1), sampler=get_sampler("dense-sa"))
    with pytest.raises(TypeError, match=r"'sampler' must have sample_cqm"):
        fit_qcbo(X, y, SIZES, sampler=get_sampler("dense-sa"), method="cqm")
    with pytest.raises(ValueError, match=r"inside the input box"):
        fit_qcbo(X * 3, y, SIZES, sampler=get_sampler("dense-sa"), **BOX)


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


def test_ten_class_labels_and_estimator() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(6, 3))
    y = np.array([0, 1, 2, 0, 1, 2])
    res = fit_qcbo(
        X,
        y,
        (3, 2, 3),
        sampler=MILPSolver(),
        method="cqm",
        ph_iterations=1,
        seed=0,
        executor="serial",
        sample_kwargs={"time_limit": 5.0},
        **SMALL,
    )
    assert set(np.unique(res.predict(X))) <= {0, 1, 2}
    clf = QCBOClassifier(
        hidden=(2,),
        sampler=MILPSolver(),
        method="cqm",
        ph_iterations=1,
        seed=0,
        fit_kwargs={"executor": "serial", **SMALL},
    )
    labels = np.array(["a", "b"])[(X[:, 0] > 0.5).astype(int)]
    assert clf.fit(X, labels) is clf
    assert set(clf.predict(X)) <= {"a", "b"} and 0.0 <= clf.score(X, labels) <= 1.0
    assert len(clf.weights_) == 2 and len(clf.history_) == 1


def test_keep_incumbent_never_makes_a_subproblem_worse_than_the_start() -> None:
    X, y = _toy(6, seed=4)
    kw = {
        "sampler": get_sampler("dense-sa"),
        "ph_iterations": 1,
        "seed": 2,
        "qcgd_iterations": 1,
        "sample_kwargs": {"num_reads": 1, "num_sweeps": 5},
        "executor": "serial",
        **SMALL,
    }
    kept = fit_qcbo(X, y, SIZES, keep_incumbent=True, **kw)
    # lambda = 0 and the prox term vanishes at w_bar, so staying scores the start's loss
    # (ties "best" <= the plain forward pass)
    assert kept.history[0]["subproblem_objective"] <= kept.initial["train_loss"] + 1e-9
    raw = fit_qcbo(X, y, SIZES, keep_incumbent=False, **kw)
    assert raw.history[0]["incumbent_kept"] == 0


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


def _qat_on_the_qcbo_network(X: np.ndarray, y: np.ndarray, **kw) -> object:
    """QAT of SIZES with SMALL's quantized spline network (1 activation bit, 2 segments)."""
    return fit_qat(
        X,
        y,
        SIZES,
        WeightCode("binary"),
        epochs=4,
        seed=11,
        activation_bits=1,
        segments=2,
        **BOX,
        **kw,
    )


def test_warm_start_starts_from_the_given_network() -> None:
    X, y = _toy(16, seed=2)
    qat = _qat_on_the_qcbo_network(X, y)
    control = fit_greedy_moves(X, y, SIZES, iterations=2, warm_start=qat, **SMALL)
    assert control.initial["train_accuracy"] == qat.accuracy(X, y)
    qph = fit_qcbo(
        X,
        y,
        SIZES,
        sampler=get_sampler("dense-sa"),
        ph_iterations=1,
        qcgd_iterations=2,
        sample_kwargs={"num_reads": 1, "num_sweeps": 20},
        executor="serial",
        seed=1,
        warm_start=qat,
        **SMALL,
    )
    assert qph.initial == control.initial
    # the hidden scale is the start's, so the line search never loses the start's training
    # accuracy (re-normalising it changed the network outside the search)
    for run in (control, qph):
        assert run.codes[0].scale == qat.codes[0].scale
        assert all(h["train_accuracy"] >= run.initial["train_accuracy"] for h in run.history)
    # the start is that network whatever the seed (no random levels are drawn)
    again = fit_greedy_moves(X, y, SIZES, iterations=2, warm_start=qat, seed=99, **SMALL)
    assert again.initial == control.initial
    # a QCBOResult continues from its returned network
    more = fit_greedy_moves(X, y, SIZES, iterations=1, warm_start=control, **SMALL)
    assert (
        more.initial["train_accuracy"] == control.history[control.best_iteration]["train_accuracy"]
    )
    assert more.initial["train_loss"] == pytest.approx(
        control.history[control.best_iteration]["train_loss"]
    )


def test_warm_start_bad_input() -> None:
    X, y = _toy(8)
    qat = _qat_on_the_qcbo_network(X, y)
    with pytest.raises(
        TypeError, match="'warm_start' must be a QCBOResult or a quantized QATResult"
    ):
        fit_greedy_moves(X, y, SIZES, warm_start=qat.weights, **SMALL)
    full = fit_qat(X, y, SIZES, None, epochs=1, seed=0)
    with pytest.raises(TypeError, match=r"quantized QATResult \(codes not None\), got QATResult"):
        fit_greedy_moves(X, y, SIZES, warm_start=full, **SMALL)
    with pytest.raises(ValueError, match="'warm_start' must have 3 layers, got 2"):
        fit_greedy_moves(X, y, (3, 2, 2, 1), warm_start=qat, **SMALL)
    with pytest.raises(
        ValueError, match=r"'warm_start' layer 1 must have shape \(3, 4\), got \(2, 4\)"
    ):
        fit_greedy_moves(X, y, (3, 3, 1), warm_start=qat, **SMALL)
    with pytest.raises(
        ValueError, match="'warm_start' layer 1 must use ternary 2-bit weights, got binary 1-bit"
    ):
        fit_greedy_moves(X, y, SIZES, WeightCode("ternary"), warm_start=qat, **SMALL)
    qat.weights[0][0, 0] *= 0.5
    with pytest.raises(
        ValueError, match="'warm_start' layer 1 has weights that are not levels of its code"
    ):
        fit_qcbo(X, y, SIZES, sampler=get_sampler("dense-sa"), warm_start=qat, **SMALL)


def test_ph_state_steps_multipliers_track_the_centre_and_rho_the_scale() -> None:
    """lambda_b += rho_l (w_b - q) with q the next centre, so sum_b n_b lambda_b =
    n rho (w_bar - q) after one iteration; rho_l follows (s_l(0) / s_l(t))^2; the history
    reports the improving solves."""
    from hybridqnn.train.qcbo.ph import _ph_setup, _ph_start, _pool, ph_iteration

    X, y = _toy(6)
    kw = dict(
        sampler=MILPSolver(),
        method="cqm",
        batch_size=2,
        activations="relu",
        segments=2,
        activation_bits=1,
        loss="logistic",
        loss_segments=2,
        bias=True,
        ph_iterations=2,
        rho=0.5,
        rho_growth=1.0,
        bit_scale=True,
        scale_target=1.0,
        qcgd_iterations=1,
        beta0=1.0,
        slack_bits=3,
        penalty_scale=1.0,
        sample_kwargs=None,
        repair=True,
        keep_incumbent=True,
        max_candidates=8,
        consensus="line-search",
        select="accuracy",
        count_spins=False,
        seed=2,
        moves=(),
        input_low=BOX["input_low"],
        input_high=BOX["input_high"],
        input_unit=None,
    )
    setup = _ph_setup(X, y, SIZES, None, **kw)
    state = _ph_start(setup, None)
    scales0 = [c.scale for c in state.codes]
    with _pool("serial", None) as pool:
        ph_iteration(setup, state, 0, pool)
        ratio = [c.scale / s for c, s in zip(state.codes, scales0, strict=True)]
        for li in range(2):
            total = sum(len(b) * lam[li] for b, lam in zip(setup.batches, state.lam, strict=True))
            # lambda, the incumbents w_b and the centre q were all rescaled after the hedge
            spread = sum(
                len(b) * (inc[li] - state.center[li])
                for b, inc in zip(setup.batches, state.inc, strict=True)
            )
            np.testing.assert_allclose(total, 0.5 * spread / ratio[li] ** 2, atol=1e-12)
        assert state.rho_scale == pytest.approx([1 / r**2 for r in ratio])
        ph_iteration(setup, state, 1, pool)
    rec = state.history[-1]
    assert rec["rho_layers"] == pytest.approx([0.5 / r**2 for r in ratio])
    assert rec["solves"] == 3 and 0 <= rec["improving_solves"] <= 3
    assert rec["improving_solve_fraction"] == rec["improving_solves"] / 3


def test_improving_solve_fraction_and_the_qubo_move() -> None:
    X, y = _toy(8, seed=2)
    res = fit_qcbo(
        X,
        y,
        SIZES,
        sampler=get_sampler("dense-sa"),
        method="qcgd",
        ph_iterations=2,
        seed=1,
        executor="serial",
        qcgd_iterations=2,
        sample_kwargs={"num_reads": 2, "num_sweeps": 50},
        moves=["qubo"],
        **SMALL,
    )
    frac = res.improving_solve_fraction
    assert frac is not None and 0.0 <= frac <= 1.0
    rec = res.history[0]
    assert rec["qubo_candidates"] > 0 and rec["qubo_pairs"] > 0
    # an applied move lowered the training loss; the training score never falls
    for h in res.history:
        assert h["qubo_loss_gain"] <= 0.0
    accs = [res.initial["train_accuracy"]] + [h["train_accuracy"] for h in res.history]
    assert all(b >= a - 1e-12 for a, b in zip(accs, accs[1:], strict=False))
    assert fit_greedy_moves(X, y, SIZES, iterations=1, **SMALL).improving_solve_fraction is None
    with pytest.raises(ValueError, match="'moves' must be one of"):
        fit_qcbo(X, y, SIZES, sampler=get_sampler("dense-sa"), moves=["bogus"], **SMALL)


def test_qubo_move_model_is_exact_on_single_and_pair_moves() -> None:
    from hybridqnn.train.qcbo.moves import MoveContext, _adjacent_levels, _apply_moves, move_qubo
    from hybridqnn.train.qcbo.network import _Architecture

    X, y = _toy(6, seed=4)
    arch = _Architecture(
        SIZES, (BOX["input_low"], BOX["input_high"]), "relu", (2,), True, (2,), "logistic", 2
    )
    codes = [WeightCode("binary", scale=0.5), WeightCode("binary", scale=1.0)]
    net = arch.network(codes)
    rng = np.random.default_rng(0)
    ws = [rng.choice(c.levels, size=s) for c, s in zip(codes, net.weight_shapes(), strict=True)]
    ypm = np.where(y > 0, 1, -1)

    class Recorder(dimod.ExactSolver):
        def sample(self, bqm, **kw):
            self.bqm = bqm
            return dimod.ExactSolver().sample(bqm).truncate(4)

    rec = Recorder()
    ctx = MoveContext(net, codes, X, ypm, ypm, "accuracy", rec, {}, 0)
    out, info = move_qubo(ctx, ws)
    moves = [
        (li, i, v)
        for li, (w, c) in enumerate(zip(ws, codes, strict=True))
        for i, cc in enumerate(w.ravel())
        for v in _adjacent_levels(c.levels, cc)
    ]
    base = net.loss_value(ws, X, ypm, ties="nearest")
    for k, l_ in [(0, 1), (2, 5), (3, len(moves) - 1)]:
        both = net.loss_value(
            _apply_moves(ws, [(1.0, *moves[k]), (1.0, *moves[l_])]), X, ypm, ties="nearest"
        )
        model = rec.bqm.energy({v: int(v in (k, l_)) for v in rec.bqm.variables})
        assert model == pytest.approx(both - base, abs=1e-9)
    new_loss = net.loss_value(out, X, ypm, ties="nearest")
    assert new_loss <= base + 1e-12
    assert info["applied"] == (new_loss < base)


def test_integer_grid_training_keeps_power_of_two_scales() -> None:
    X, y = _toy(8, seed=3)
    kw = {**SMALL, "input_unit": 2**-4}
    res = fit_qcbo(
        X,
        y,
        SIZES,
        sampler=MILPSolver(),
        method="cqm",
        ph_iterations=2,
        seed=0,
        executor="serial",
        **kw,
    )
    assert res.network.fip.input_unit == 2**-4
    for h in res.history:
        assert all(np.log2(s) == np.round(np.log2(s)) for s in h["scales"])
    qat = fit_qat(X, y, SIZES, WeightCode(), epochs=3, seed=0, activation_bits=1, segments=2, **BOX)
    warm = fit_greedy_moves(X, y, SIZES, iterations=1, warm_start=qat, **kw)
    for c in warm.codes:
        assert np.log2(c.scale) == np.round(np.log2(c.scale))
    with pytest.raises(ValueError, match="'input_unit' must be a power of two"):
        fit_qcbo(X, y, SIZES, sampler=MILPSolver(), method="cqm", **{**kw, "input_unit": 0.1})
