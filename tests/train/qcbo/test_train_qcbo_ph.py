"""QCBO training, progressive hedging (fit_qcbo): exact subproblems, consensus, restarts, pools, settings, warm starts, the PH state, the integer grid."""

from __future__ import annotations

import dimod
import numpy as np
import pytest
from qcbo_toys import BOX, SIZES, SMALL, _assert_best_of, _qat_on_the_qcbo_network, _toy

from hybridqnn.problems.qcbo import WeightCode, build_qcbo
from hybridqnn.solvers import MILPSolver, get_sampler
from hybridqnn.train.qcbo import (
    fit_greedy_moves,
    fit_qat,
    fit_qcbo,
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


def _exact_line_search() -> dict:
    """fit_qcbo keywords: exact (MILP) subproblems, 3 iterations, the line search, serial."""
    return {
        "sampler": MILPSolver(),
        "method": "cqm",
        "ph_iterations": 3,
        "rho": 0.3,
        "seed": 0,
        "executor": "serial",
        **SMALL,
    }


def test_line_search_consensus_learns_where_the_mean_does_not() -> None:
    """On separable toy data, sample-wise exact subproblems: the ranked-vote line search raises
    the training accuracy above the random start; textbook PH (mean) leaves it there."""
    X, y = _toy(40, seed=1)
    kw = _exact_line_search()
    ls = fit_qcbo(X, y, SIZES, **kw)
    mean = fit_qcbo(X, y, SIZES, **{**kw, "consensus": "mean"})
    start = ls.initial["train_accuracy"]
    assert mean.initial["train_accuracy"] == start
    assert ls.accuracy(X, y) > start
    assert any(h["moved_weights"] for h in ls.history)
    assert all(h["moved_weights"] is None for h in mean.history)


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


def _exact_ph_kwargs(**change: object) -> dict:
    """``_ph_setup`` keywords of a small exact (MILP) QPH: 3 subproblems of 2 samples."""
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
    return {**kw, **change}


def test_ph_state_steps_multipliers_track_the_centre_and_rho_the_scale() -> None:
    """lambda_b += rho_l (w_b - q) with q the next centre, so sum_b n_b lambda_b =
    n rho (w_bar - q) after one iteration; rho_l follows (s_l(0) / s_l(t))^2; the history
    reports the improving solves."""
    from hybridqnn.train.qcbo.ph import _ph_setup, _ph_start, _pool, ph_iteration

    X, y = _toy(6)
    kw = _exact_ph_kwargs()
    setup = _ph_setup(X, y, SIZES, None, **kw)
    state = _ph_start(setup, None)
    scales0 = [c.scale for c in state.codes]
    with _pool("serial", None, setup.how) as pool:
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


def test_a_solve_that_returns_the_centre_does_not_count_as_improving() -> None:
    """An improving solve is one whose answer beats the centre (the consensus it was handed),
    not the subproblem's own last answer: with a stale incumbent and a rho so large that the
    exact answer is the centre, no solve improves (counted against the incumbent, all 3
    would: each stale incumbent pays the proximal term)."""
    from hybridqnn.train.qcbo.ph import _ph_setup, _ph_start, _pool, ph_iteration

    X, y = _toy(6)
    setup = _ph_setup(X, y, SIZES, None, **_exact_ph_kwargs(rho=1e4, bit_scale=False))
    state = _ph_start(setup, None)
    for inc in state.inc:  # a stale incumbent: the centre with its first weight flipped
        inc[0].flat[0] = -inc[0].flat[0]
    with _pool("serial", None, setup.how) as pool:
        centre = [w.copy() for w in state.center]
        ph_iteration(setup, state, 0, pool)
    rec = state.history[-1]
    assert rec["residual"] == 0.0 and rec["moved_weights"] == 0  # every answer is the centre
    for w, c in zip(state.inc[0], centre, strict=True):
        np.testing.assert_array_equal(w, c)
    assert rec["improving_solves"] == 0 and rec["improving_solve_fraction"] == 0.0


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


def test_progress_counts_iterations_and_restarts_share_one_count() -> None:
    """fit_qcbo, fit_greedy_moves and fit_qat call progress(k, n) once per PH iteration,
    iteration or epoch; with restarts the runs fill one count (hybridqnn.train.progress)."""
    X, y = _toy(6)

    def calls_of(fit, *args, **kw) -> list[tuple[int, int]]:
        calls: list[tuple[int, int]] = []
        fit(X, y, SIZES, *args, progress=lambda k, n: calls.append((k, n)), **kw)
        return calls

    kw = {"sampler": MILPSolver(), "method": "cqm", "ph_iterations": 2, "seed": 3, "executor": "serial", **SMALL}
    assert calls_of(fit_qcbo, **kw) == [(1, 2), (2, 2)]
    assert calls_of(fit_qcbo, restarts=2, **kw) == [(k, 4) for k in range(1, 5)]
    greedy = calls_of(fit_greedy_moves, iterations=3, seed=0, restarts=2, **SMALL)
    assert greedy == [(k, 6) for k in range(1, 7)]
    assert calls_of(fit_qat, None, epochs=3, seed=0, restarts=2) == [(k, 6) for k in range(1, 7)]


def test_a_spin_budget_solves_blocks_within_it_and_still_learns() -> None:
    """max_spins: every solve within the budget (history and result), several blocks per
    iteration, the training accuracy above the random start as without blocks; a row over the
    budget is one line before any solve."""
    X, y = _toy(40, seed=1)
    kw = _exact_line_search()
    whole = fit_qcbo(X, y, SIZES, **kw)
    res = fit_qcbo(X, y, SIZES, max_spins=40, **kw)
    assert res.spins["subproblem_spins_max"] <= 40 < whole.spins["subproblem_spins_max"]
    assert res.spins["max_spins"] == 40 and res.spins["num_blocks"] >= 2
    assert all(h["blocks"] == res.spins["num_blocks"] for h in res.history)
    assert all(h["spins_max"] <= 40 for h in res.history)
    assert res.history[0]["solves"] == 40 * res.spins["num_blocks"]
    assert res.initial == whole.initial
    assert res.accuracy(X, y) > res.initial["train_accuracy"]
    assert all(h["blocks"] == 1 for h in whole.history)

    class Counting(MILPSolver):
        calls = 0

        def sample_cqm(self, cqm, **kwargs):
            Counting.calls += 1
            return super().sample_cqm(cqm, **kwargs)

    with pytest.raises(ValueError, match=r"^'max_spins' is 20, but row 0 of layer 1 \(3 -> 2\) alone needs \d+ spins"):
        fit_qcbo(X, y, SIZES, **{**kw, "sampler": Counting(), "max_spins": 20})
    assert Counting.calls == 0
    with pytest.raises(ValueError, match="'max_spins' must be an integer"):
        fit_qcbo(X, y, SIZES, **{**kw, "max_spins": 0})


def test_blocks_give_the_same_network_in_worker_processes() -> None:
    """Block subproblems (their WeightBlock and fixed weights) travel to worker processes and
    come back as in a serial run: the same network, history and spins."""
    X, y = _toy(24, seed=2)
    kw = {**_exact_line_search(), "ph_iterations": 1, "max_spins": 40}
    serial = fit_qcbo(X, y, SIZES, **{**kw, "executor": "serial"})
    procs = fit_qcbo(X, y, SIZES, **{**kw, "executor": "process"})
    assert serial.spins["num_blocks"] >= 2 and procs.spins == serial.spins
    for a, b in zip(serial.weights, procs.weights, strict=True):
        np.testing.assert_array_equal(a, b)
    assert [h["train_loss"] for h in procs.history] == [h["train_loss"] for h in serial.history]


def test_a_block_that_outgrows_the_budget_during_training_is_halved_or_named() -> None:
    """When a later grid makes a planned block's subproblem exceed the budget, the block is
    halved; a single row gets the same one-line error as at planning time (layer, row, spins,
    samples, budget)."""
    from types import SimpleNamespace

    from hybridqnn.problems.qcbo import WeightBlock
    from hybridqnn.train.qcbo.ph import _split_over_budget

    setup = SimpleNamespace(max_spins=40, sizes=(3, 4, 1))
    over = {"over_budget": 57, "ids": [5, 6]}
    assert _split_over_budget(setup, WeightBlock(1, 0, 4), over) == [
        WeightBlock(1, 0, 2),
        WeightBlock(1, 2, 4),
    ]
    assert _split_over_budget(setup, None, over) == [WeightBlock(1, 0, 4), WeightBlock(2, 0, 1)]
    with pytest.raises(
        ValueError,
        match=r"^'max_spins' is 40, but row 2 of layer 1 \(3 -> 4\) alone needs 57 spins per "
        r"solve \(samples \[5, 6\]\): raise max_spins or use a narrower layer$",
    ):
        _split_over_budget(setup, WeightBlock(1, 2, 3), over)


class _LockedSampler(dimod.Sampler):
    """A sampler that cannot be pickled (it holds a lock, as a QPU client holds a connection)."""

    properties: dict = {}

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.child = get_sampler("dense-sa")

    @property
    def parameters(self) -> dict:
        return dict(self.child.parameters)

    def sample(self, bqm, **kwargs):
        with self.lock:
            return self.child.sample(bqm, **kwargs)


def test_runs_given_no_executor_use_processes_unless_the_solver_cannot_be_pickled(monkeypatch) -> None:
    """With no executor and no HYBRIDQNN_EXECUTOR, QPH's subproblems run in a process pool (they
    are Python code that holds the GIL); in threads when the solver cannot be pickled or there is
    one worker; and such a run trains without a pickling error."""
    from hybridqnn.train.qcbo.ph import _default_executor, _ph_setup

    monkeypatch.delenv("HYBRIDQNN_EXECUTOR", raising=False)
    X, y = _toy(6)
    setup = _ph_setup(X, y, SIZES, None, **_exact_ph_kwargs())
    assert _default_executor(setup.how, 2) == "process"
    assert _default_executor(setup.how, 1) == "thread"
    locked = _ph_setup(X, y, SIZES, None, **_exact_ph_kwargs(sampler=_LockedSampler(), method="qcgd"))
    assert _default_executor(locked.how, 2) == "thread"
    result = fit_qcbo(
        X, y, SIZES, sampler=_LockedSampler(), ph_iterations=1, qcgd_iterations=1,
        sample_kwargs={"num_reads": 1, "num_sweeps": 20}, max_workers=2, seed=0,
    )
    assert result.timing["oracle_calls"] > 0
