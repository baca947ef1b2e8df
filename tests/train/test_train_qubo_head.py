"""fit_qubo_head on small problems: descent, accuracy, the K-bit grid, bookkeeping, errors."""

from __future__ import annotations

import dimod
import numpy as np
import pytest
from dwave.samplers import SimulatedAnnealingSampler, SteepestDescentSolver, TabuSampler
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridqnn.solvers import get_sampler
from hybridqnn.train import fit_qubo_head, head_encoding
from hybridqnn.train.head_common import softmax_loss_grad, with_bias_column


def toy_problem(
    seed: int = 0, n: int = 60, d: int = 4, c: int = 3, noise: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Linearly separable Gaussian blobs, standardised."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(c, d)) * 3
    y = np.arange(n) % c
    x = centers[y] + rng.normal(size=(n, d)) * noise
    return (x - x.mean(0)) / x.std(0), y


def accuracy(weights: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(with_bias_column(x) @ weights.T, axis=1) == y))


SAMPLERS = {
    "steepest": (lambda: get_sampler("steepest"), None),
    "sa": (lambda: get_sampler("sa"), {"num_sweeps": 50}),
    "tabu-object": (lambda: TabuSampler(), {"timeout": 5}),
}


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return toy_problem()


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_fit_on_separable_problem(name: str, data) -> None:
    x, y = data
    make, kwargs = SAMPLERS[name]
    bits, weight_range, bias_range = 8, 2.0, 4.0
    records: list[dict] = []
    result = fit_qubo_head(
        x,
        y,
        3,
        make(),
        bits=bits,
        weight_range=weight_range,
        bias_range=bias_range,
        max_iter=10,
        sample_kwargs=kwargs,
        executor="serial",
        seed=1,
        callback=records.append,
    )
    d = x.shape[1]
    w = result.weights
    assert w.shape == (3, d + 1)
    # the loss history never goes up; accepted steps lower it to the candidate's loss
    losses = np.array([r["loss"] for r in result.history])
    assert np.all(np.diff(losses) <= 0)
    for r in result.history:
        if r["accepted"]:
            assert r["loss"] == r["candidate_loss"]
        else:
            assert r["candidate_loss"] >= r["loss"]
    assert [r["iteration"] for r in result.history] == list(range(len(result.history)))
    assert 1 <= len(result.history) <= 10
    assert records == result.history
    # the final weights have the last recorded loss
    onehot = np.eye(3)[y]
    assert softmax_loss_grad(w, with_bias_column(x), onehot, 1e-4)[0] == pytest.approx(
        losses[-1], rel=1e-12
    )
    assert accuracy(w, x, y) > 0.9
    # weights lie on the K-bit grid
    enc = head_encoding(d, bits, weight_range, bias_range)
    for row in w:
        np.testing.assert_allclose(enc.round(row), row, rtol=0, atol=1e-12)
    assert np.all(np.abs(w[:, :-1]) <= weight_range + 1e-12) and np.all(
        np.abs(w[:, -1]) <= bias_range + 1e-12
    )
    # the QUBO size
    nv = (d + 1) * bits
    assert result.problem["num_variables"] == nv
    assert result.problem["num_interactions"] == nv * (nv - 1) // 2  # dense curvature
    assert result.problem["fits_advantage"] is True
    # timing phases add up to the total
    t = result.timing
    for key in ("build_s", "reference_s", "solve_s", "other_s", "total_s"):
        assert t[key] >= 0
    assert t["build_s"] + t["reference_s"] + t["solve_s"] + t["other_s"] == pytest.approx(
        t["total_s"], abs=1e-6
    )


def test_head_encoding_layout() -> None:
    enc = head_encoding(3, 5, 1.5, 3.0)
    assert enc.size == 4 and enc.bits == 5
    np.testing.assert_allclose(enc.low, [-1.5, -1.5, -1.5, -3.0])
    np.testing.assert_allclose(enc.high, [1.5, 1.5, 1.5, 3.0])


def test_steepest_warm_start_returns_the_reference(data) -> None:
    """Steepest descent started at the (already polished) reference cannot move."""
    x, y = data
    result = fit_qubo_head(x, y, 3, SteepestDescentSolver(), bits=6, max_iter=4, executor="serial")
    for r in result.history:
        assert r["solver_energy"] == pytest.approx(r["reference_energy"], abs=1e-9)


def test_solver_energy_is_the_surrogate_decrease(data) -> None:
    """One iteration, checked independently: the summed QUBO energy of the returned weights is
    sum_c G_c'(w_c - w0_c) + 1/2 (w_c - w0_c)' H (w_c - w0_c) with H = alpha Phi'Phi/(2N) + l2 I."""
    x, y = data
    bits, l2 = 6, 1e-3
    result = fit_qubo_head(
        x,
        y,
        3,
        get_sampler("sa"),
        bits=bits,
        l2=l2,
        max_iter=1,
        sample_kwargs={"num_sweeps": 50},
        executor="serial",
    )
    (record,) = result.history
    assert record["accepted"]
    phi = with_bias_column(x)
    n, d1 = phi.shape
    enc = head_encoding(d1 - 1, bits, 2.0, 4.0)
    w0 = np.tile(enc.round(np.zeros(d1)), (3, 1))
    _, grad = softmax_loss_grad(w0, phi, np.eye(3)[y], l2)
    hess = record["alpha"] * phi.T @ phi / (2 * n) + l2 * np.eye(d1)
    step = result.weights - w0
    predicted = np.sum(grad * step) + 0.5 * np.einsum("ci,ij,cj->", step, hess, step)
    assert record["solver_energy"] == pytest.approx(predicted, rel=1e-9, abs=1e-12)
    assert record["changed_weights"] == np.count_nonzero(step)


def test_exact_solver_is_never_worse_than_reference() -> None:
    x, y = toy_problem(n=30, d=2)
    result = fit_qubo_head(x, y, 3, dimod.ExactSolver(), bits=2, max_iter=3, executor="serial")
    for r in result.history:
        assert r["solver_energy"] <= r["reference_energy"] + 1e-9


@pytest.mark.parametrize("executor", ["serial", "thread"])
def test_seed_reproducible_with_sa(data, executor: str) -> None:
    x, y = data
    kwargs = {"num_sweeps": 30, "num_reads": 2}

    def run(seed: int):
        return fit_qubo_head(
            x,
            y,
            3,
            SimulatedAnnealingSampler(),
            bits=8,
            max_iter=3,
            sample_kwargs=kwargs,
            seed=seed,
            executor=executor,
        )

    a, b = run(5), run(5)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert [r["loss"] for r in a.history] == [r["loss"] for r in b.history]
    assert [r["solver_energy"] for r in a.history] == [r["solver_energy"] for r in b.history]


def test_cold_start_comparison_is_recorded(data) -> None:
    x, y = data
    result = fit_qubo_head(
        x,
        y,
        3,
        get_sampler("sa"),
        bits=6,
        max_iter=2,
        sample_kwargs={"num_sweeps": 50},
        warm_start=False,
        compare_cold_start=True,
        executor="serial",
        patience=5,
    )
    assert "cold_start_energy" in result.history[0]
    assert all("cold_start_energy" not in r for r in result.history[1:])
    assert result.timing["cold_start_s"] > 0
    t = result.timing
    assert t["build_s"] + t["reference_s"] + t["solve_s"] + t["other_s"] == pytest.approx(
        t["total_s"], abs=1e-6
    )


def test_bits_one_gives_binary_weights(data) -> None:
    x, y = data
    result = fit_qubo_head(
        x,
        y,
        3,
        get_sampler("steepest"),
        bits=1,
        weight_range=0.5,
        bias_range=1.0,
        max_iter=3,
        executor="serial",
    )
    assert set(np.unique(np.abs(result.weights[:, :-1]))) == {0.5}
    assert set(np.unique(np.abs(result.weights[:, -1]))) == {1.0}
    assert result.problem["num_variables"] == x.shape[1] + 1


def test_stops_when_stalled(data) -> None:
    x, y = data
    # a tolerance no step can meet: stop after `patience` iterations
    result = fit_qubo_head(
        x,
        y,
        3,
        get_sampler("steepest"),
        bits=4,
        max_iter=20,
        tol=10.0,
        patience=2,
        executor="serial",
    )
    assert len(result.history) == 2


# --- argument errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [0, 33])
def test_bits_out_of_range(data, bits: int) -> None:
    x, y = data
    with pytest.raises(ValueError, match=rf"'bits' must be an integer in \[1, 32\], got {bits}"):
        fit_qubo_head(x, y, 3, get_sampler("steepest"), bits=bits)


def test_invalid_inputs_raise(data) -> None:
    x, y = data
    s = get_sampler("steepest")
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="'features' must be finite"):
        fit_qubo_head(bad, y, 3, s)
    with pytest.raises(ValueError, match="'labels' must have one label per sample"):
        fit_qubo_head(x, y[:-1], 3, s)
    y_bad = y.copy()
    y_bad[0] = 3
    with pytest.raises(ValueError, match=r"'labels' must be in 0\.\.2"):
        fit_qubo_head(x, y_bad, 3, s)
    with pytest.raises(ValueError, match="'l2' must be"):
        fit_qubo_head(x, y, 3, s, l2=0.0)
    with pytest.raises(ValueError, match="'weight_range' must be"):
        fit_qubo_head(x, y, 3, s, weight_range=-1.0)
    with pytest.raises(ValueError, match="'max_iter' must be"):
        fit_qubo_head(x, y, 3, s, max_iter=0)
    with pytest.raises(ValueError, match="'num_sweeps'"):
        fit_qubo_head(x, y, 3, s, sample_kwargs={"num_sweeps": 10}, max_iter=1, executor="serial")


# --- scheduling, rejection and the trust region ------------------------------------------------


def test_executors_give_identical_results(data) -> None:
    """Per-class child seeds make the result independent of how the solves are scheduled
    (and every task must pickle for the process pool)."""
    x, y = data
    runs = {
        ex: fit_qubo_head(
            x,
            y,
            3,
            SimulatedAnnealingSampler(),
            bits=6,
            max_iter=2,
            sample_kwargs={"num_sweeps": 30},
            seed=9,
            executor=ex,
            compare_cold_start=True,
        )
        for ex in ("serial", "thread", "process")
    }
    for ex in ("thread", "process"):
        np.testing.assert_array_equal(runs[ex].weights, runs["serial"].weights)
        assert [r["solver_energy"] for r in runs[ex].history] == [
            r["solver_energy"] for r in runs["serial"].history
        ]
        assert (
            runs[ex].history[0]["cold_start_energy"]
            == runs["serial"].history[0]["cold_start_energy"]
        )


def test_rejected_steps_keep_the_weights() -> None:
    """On random labels some candidates are worse; they must be rejected and the loss kept."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 5))
    y = rng.integers(0, 3, 80)
    result = fit_qubo_head(
        x, y, 3, get_sampler("steepest"), bits=6, max_iter=6, patience=6, executor="serial"
    )
    assert any(not r["accepted"] for r in result.history), (
        "the test problem must produce a rejected step"
    )
    losses = np.array([r["loss"] for r in result.history])
    assert np.all(np.diff(losses) <= 0)
    for prev, r in zip(result.history, result.history[1:], strict=False):
        if not r["accepted"]:
            assert r["loss"] == prev["loss"] and r["candidate_loss"] >= prev["loss"]
    final = softmax_loss_grad(result.weights, with_bias_column(x), np.eye(3)[y], 1e-4)[0]
    assert final == pytest.approx(losses[-1], rel=1e-12)


def test_rejected_step_shrinks_the_trust_region() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 5))
    y = rng.integers(0, 3, 80)  # random labels: steps get rejected
    result = fit_qubo_head(
        x, y, 3, get_sampler("steepest"), bits=6, max_iter=8, patience=8, executor="serial"
    )
    rejected = [i for i, r in enumerate(result.history[:-1]) if not r["accepted"]]
    assert rejected, "the test problem must produce a rejected step"
    for i in rejected:
        assert result.history[i + 1]["alpha"] > result.history[i]["alpha"]


# ------------------------------------------------------------------ one set of hardware limits


@given(
    n=st.integers(1, 5), bits=st.integers(1, 3), density=st.floats(0.0, 1.0), qubits=st.integers(1, 12),
    couplers=st.integers(0, 40), seed=st.integers(0, 99),
)
@settings(max_examples=60, deadline=None)
def test_head_fit_check_agrees_with_check_fits(n: int, bits: int, density: float, qubits: int, couplers: int, seed: int) -> None:
    """The head's ``fits_advantage`` and ``check_fits`` are the same test on the same limits
    (the head counts the couplings of its grid problems without building the bit model)."""
    from hybridqnn.problems import FixedPointEncoding, FixedPointQuadratic
    from hybridqnn.solvers.dwave import check_fits
    from hybridqnn.train.qubo_head import _problem_size

    rng = np.random.default_rng(seed)
    mask = rng.random((n, n)) < density
    hess = rng.normal(size=(n, n)) * (mask | mask.T)
    model = FixedPointQuadratic(hess + hess.T, rng.normal(size=n), FixedPointEncoding.symmetric(bits, 1.0, size=n))
    limits = {"num_qubits": qubits, "num_couplers": couplers}
    try:
        check_fits(model.to_bqm(), limits)
        fits = True
    except ValueError:
        fits = False
    assert _problem_size(model, limits)["fits_advantage"] is fits
    assert _problem_size(model, limits)["num_interactions"] == model.to_bqm().num_interactions


def test_head_uses_the_advantage_limits_of_solvers_hardware() -> None:
    import hybridqnn.train.qubo_head as qubo_head
    from hybridqnn.solvers.hardware import ADVANTAGE_LIMITS

    assert not hasattr(qubo_head, "ADVANTAGE_QUBITS") and not hasattr(qubo_head, "ADVANTAGE_COUPLERS")
    assert qubo_head._problem_size.__defaults__ == (ADVANTAGE_LIMITS,)


def test_a_third_party_sampler_on_the_dense_path_is_used_without_editing_the_head(data) -> None:
    """fit_qubo_head knows no sampler class: a sampler advertising the dense path in
    ``properties`` gets the dense models (its ``sample`` would fail the test)."""
    from hybridqnn.testing.conformance import EnumeratingDenseSampler

    x, y = data
    sampler = EnumeratingDenseSampler()
    result = fit_qubo_head(x[:, :2], y, 3, sampler, bits=3, max_iter=2, executor="serial", seed=0)
    assert sampler.calls["dense"] == 3 * len(result.history) and result.history[0]["accepted"]


def test_fixed_point_path_trains_the_head_the_dense_path_trains(data) -> None:
    """dense-sa solves the class QUBOs on the grid (no n x n couplings are built); with the
    fixed-point path hidden it gets the dense models: the same heads, iteration by iteration."""
    from hybridqnn.solvers.annealing import DenseSimulatedAnnealingSampler

    class DenseOnly(DenseSimulatedAnnealingSampler):
        @property
        def properties(self) -> dict:
            props = super().properties
            return {**props, "fast_paths": {k: v for k, v in props["fast_paths"].items() if k != "fixed_point"}}

    x, y = data
    kwargs = {"num_sweeps": 40, "num_reads": 2}
    runs = [
        fit_qubo_head(x, y, 3, sampler, bits=8, max_iter=4, sample_kwargs=kwargs, seed=3, executor="thread", compare_cold_start=True)
        for sampler in (get_sampler("dense-sa"), DenseOnly())
    ]
    np.testing.assert_array_equal(runs[0].weights, runs[1].weights)
    for key in ("solver_energy", "reference_energy", "cold_start_energy"):
        np.testing.assert_allclose([r.get(key, 0.0) for r in runs[0].history], [r.get(key, 0.0) for r in runs[1].history], rtol=1e-9)
    assert runs[0].problem == runs[1].problem


def test_row_blocks_give_the_loss_and_gradient_whatever_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The blocked sums equal the one-pass loss and gradient, and are bit-identical with and
    without threads (the blocks are fixed and added in order)."""
    from concurrent.futures import ThreadPoolExecutor

    import hybridqnn.train.qubo_head as qubo_head
    from hybridqnn.train.head_common import softmax_losses

    monkeypatch.setattr(qubo_head, "ROWS_PER_BLOCK", 7)
    x, y = toy_problem(n=50, d=3)
    phi, onehot = with_bias_column(x), np.eye(3)[y]
    w = np.random.default_rng(0).normal(size=(3, 4))
    serial = qubo_head._Rows(phi, onehot, 0.1)
    assert len(serial.blocks) == 8
    with ThreadPoolExecutor(2) as pool:
        threaded = qubo_head._Rows(phi, onehot, 0.1, pool)
        loss, grad = threaded.loss_grad(w)
        heads = np.stack([w, 2 * w])
        assert threaded.losses(heads).tolist() == serial.losses(heads).tolist()
    assert (loss, grad.tolist()) == (serial.loss_grad(w)[0], serial.loss_grad(w)[1].tolist())
    ref_loss, ref_grad = softmax_loss_grad(w, phi, onehot, 0.1)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(serial.losses(heads), softmax_losses(heads, phi, onehot, 0.1), rtol=1e-5)
