"""QPSBGD: conformance, the three projections against enumeration, the closed form, errors."""

from __future__ import annotations

import itertools
import math
import re

import dimod
import numpy as np
import pytest
import torch
from dwave.samplers import SimulatedAnnealingSampler, TabuSampler
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridqnn.nn.binary import BinaryConv2d, BinaryLinear
from hybridqnn.optim import QPSBGD
from hybridqnn.optim.qpsbgd import least_squares_directions
from hybridqnn.problems.binary_gradient import sign_matching_objective, xnor_threshold_objective
from hybridqnn.solvers import DenseSimulatedAnnealingSampler
from hybridqnn.solvers.ocean import ExactSolver
from hybridqnn.testing.optimizers import binary_weights, check_optimizer, tiny_problem


def _spins(n: int) -> np.ndarray:
    return np.array(list(itertools.product([-1.0, 1.0], repeat=n)))


def _scaled(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """v_j / alpha_j of scale='auto' (rows)."""
    grad = v.T @ x
    g0 = np.where(grad >= 0, 1.0, -1.0)
    xg = g0 @ x.T
    return v.T / (np.abs(grad).sum(axis=1) / (xg * xg).sum(axis=1))[:, None]


CONFIGS = {
    "least-squares": dict(lr=0.1),
    "least-squares-projected": dict(lr=1.5, update="projected"),
    "least-squares-blocks": dict(lr=0.1, max_block_size=2),
    "least-squares-sa": dict(
        lr=0.1, sampler=SimulatedAnnealingSampler(), sample_kwargs={"num_sweeps": 50}
    ),
    "sign-matching-milp": dict(lr=0.1, projection="sign-matching", sampler="milp"),
    "sign-matching-penalty": dict(
        lr=0.1,
        projection="sign-matching",
        sampler=SimulatedAnnealingSampler(),
        sample_kwargs={"num_sweeps": 50},
    ),
    "xnor": dict(
        lr=0.1,
        projection="xnor-threshold",
        sampler=SimulatedAnnealingSampler(),
        sample_kwargs={"num_sweeps": 50},
    ),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_conformance(name: str) -> None:
    from hybridqnn.solvers.milp import MILPSolver

    kwargs = dict(CONFIGS[name])
    if kwargs.get("sampler") == "milp":
        kwargs["sampler"] = MILPSolver()
    lr = kwargs.pop("lr")
    make_model, batches, loss_fn = tiny_problem(
        seed=1, in_features=4, hidden=3, batch_size=6, num_batches=3
    )
    check_optimizer(
        make_model, lambda m: QPSBGD(binary_weights(m), lr, seed=3, **kwargs), batches, loss_fn
    )


def test_conformance_checks_can_fail() -> None:
    """A different seed per optimizer makes the seed check fail (dwave SA is stochastic)."""
    make_model, batches, loss_fn = tiny_problem(seed=1, num_batches=4)
    counter = itertools.count()
    with pytest.raises(AssertionError, match="seed"):
        check_optimizer(
            make_model,
            lambda m: QPSBGD(
                binary_weights(m),
                0.5,
                seed=next(counter),
                sampler=SimulatedAnnealingSampler(),
                sample_kwargs={"num_sweeps": 5},
            ),
            batches,
            loss_fn,
            checks=["seed"],
        )


def test_step_returns_closure_loss_and_updates_continuously() -> None:
    torch.manual_seed(0)
    layer = BinaryLinear(5, 3, bias=False)
    before = layer.weight.detach().clone()
    opt = QPSBGD([layer.weight], 0.25, seed=0)
    x = torch.randn(4, 5)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = layer(x).pow(2).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert torch.is_tensor(loss)
    step = (before - layer.weight.detach()) / 0.25
    assert torch.allclose(step.abs(), torch.ones_like(step))  # W - lr G with G in {-1, +1}
    stats = opt.stats[-1]
    assert (
        stats["step"] == 0
        and stats["layer"] == 0
        and stats["num_problems"] == 3
        and stats["qubo_size"] == 5
    )
    assert (
        stats["energy"] <= stats["start_energy"] + 1e-9 and 0.0 <= stats["codirectionality"] <= 1.0
    )


@settings(max_examples=15)
@given(seed=st.integers(0, 10_000), b=st.integers(1, 5), n=st.integers(2, 7))
def test_least_squares_paths_reach_the_enumerated_minimum(seed: int, b: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    x, v = rng.choice([-1.0, 1.0], size=(b, n)), rng.normal(size=(b, 3))
    target = _scaled(x, v)
    allg = _spins(n)
    best = ((target[:, None, :] - (allg @ x.T)[None]) ** 2).sum(-1).min(axis=1)
    for sampler, kwargs in (
        (DenseSimulatedAnnealingSampler(), {"num_sweeps": 200, "num_reads": 4}),
        (ExactSolver(), {}),
    ):
        g, stats = least_squares_directions(
            x, v, sampler, sample_kwargs=kwargs, seed=seed, closed_form=False
        )
        energies = ((target - g @ x.T) ** 2).sum(axis=1)
        assert np.allclose(energies, best), (type(sampler).__name__, energies - best)
        assert stats["energy"] == pytest.approx(energies.sum())


def test_qubo_path_agrees_with_closed_form_when_separable() -> None:
    rng = np.random.default_rng(1)
    hadamard = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]], dtype=float)
    x = hadamard[:, :3]  # orthogonal columns: X^T X diagonal
    v = rng.normal(size=(4, 5))
    closed, stats = least_squares_directions(x, v, DenseSimulatedAnnealingSampler(), seed=0)
    assert stats["path"] == "closed-form"
    assert np.array_equal(closed, np.where(v.T @ x >= 0, 1.0, -1.0))  # signSGD
    for sampler in (DenseSimulatedAnnealingSampler(), ExactSolver(), TabuSampler()):
        qubo, stats = least_squares_directions(x, v, sampler, seed=0, closed_form=False)
        assert stats["path"] != "closed-form"
        assert np.array_equal(qubo, closed), type(sampler).__name__
    # scale='none' solves the literal problem; it separates too
    literal, _ = least_squares_directions(x, v, ExactSolver(), scale="none", closed_form=False)
    assert np.array_equal(literal, closed)


def test_non_separable_problem_differs_from_signsgd_and_lowers_energy() -> None:
    rng = np.random.default_rng(2)
    x, v = rng.choice([-1.0, 1.0], size=(4, 10)), rng.normal(size=(4, 6))
    g, stats = least_squares_directions(x, v, ExactSolver(), seed=0)
    assert stats["path"] == "bqm" and stats["energy"] < stats["start_energy"]
    assert not np.array_equal(g, np.where(v.T @ x >= 0, 1.0, -1.0))


def test_blocks_bound_the_qubo_size_and_never_raise_the_energy() -> None:
    rng = np.random.default_rng(3)
    x, v = rng.choice([-1.0, 1.0], size=(5, 11)), rng.normal(size=(5, 4))
    for sampler in (DenseSimulatedAnnealingSampler(), SimulatedAnnealingSampler()):
        g, stats = least_squares_directions(
            x, v, sampler, max_block_size=4, seed=0, sample_kwargs={"num_sweeps": 100}
        )
        assert stats["qubo_size"] == 4 and stats["energy"] <= stats["start_energy"] + 1e-9
        assert set(np.unique(g)) <= {-1.0, 1.0}


def test_zero_gradient_neurons_do_not_move() -> None:
    x = np.array([[1.0, -1.0, 1.0], [1.0, 1.0, -1.0]])
    v = np.array([[0.5, 0.0], [-0.2, 0.0]])
    g, stats = least_squares_directions(x, v, ExactSolver(), closed_form=False)
    assert stats["num_problems"] == 1 and np.all(g[1] == 0) and np.all(np.abs(g[0]) == 1)


def test_sign_matching_with_milp_is_exact_and_penalty_path_matches_it() -> None:
    from hybridqnn.solvers.milp import MILPSolver

    torch.manual_seed(4)
    x = torch.where(torch.rand(2, 3) < 0.5, -1.0, 1.0)
    results = {}
    # MILPSolver has sample_cqm (the CQM path); ExactSolver has not (the penalty BQM path)
    for name, sampler in (("cqm", MILPSolver()), ("bqm", ExactSolver())):
        torch.manual_seed(8)
        layer = BinaryLinear(3, 2, bias=False, binary_activation=True)
        opt = QPSBGD([layer.weight], 0.1, projection="sign-matching", sampler=sampler, seed=0)
        layer(x).mul(torch.tensor([1.0, -2.0])).sum().backward()
        data = layer.qpsbgd_data()[0]
        before = layer.weight.detach().clone()
        opt.step()
        g = ((before - layer.weight.detach()) / 0.1).numpy().astype(float)
        xs, vs = data.x.numpy().astype(float), data.v.numpy().astype(float)
        for j in range(2):
            best = min(float(sign_matching_objective(xs, vs[:, j], s[None])) for s in _spins(3))
            assert float(
                sign_matching_objective(xs, vs[:, j], np.round(g[j])[None])
            ) == pytest.approx(best)
        assert opt.stats[-1]["path"] == name
        results[name] = opt.stats[-1]["energy"]
    assert results["cqm"] == pytest.approx(results["bqm"])


def test_xnor_threshold_is_exact_with_an_exact_solver() -> None:
    torch.manual_seed(5)
    layer = BinaryLinear(2, 2, bias=False, binary_activation=True)
    opt = QPSBGD([layer.weight], 0.5, projection="xnor-threshold", sampler=ExactSolver(), seed=0)
    x = torch.tensor([[1.0, -1.0], [-1.0, -1.0]])
    layer(x).mul(torch.tensor([0.7, -0.4])).sum().backward()
    v = layer.qpsbgd_data()[0].v.numpy().astype(float)
    before = layer.weight.detach().clone()
    opt.step()
    g = ((before - layer.weight.detach()) / 0.5).numpy()
    for j in range(2):
        w = (1.0 - np.round(g[j])) / 2.0  # G = 1 - 2 w
        best = min(
            float(xnor_threshold_objective(x.numpy(), -v[:, j], np.array(b)))
            for b in itertools.product([0, 1], repeat=2)
        )
        assert float(xnor_threshold_objective(x.numpy(), -v[:, j], w)) == pytest.approx(best)


def test_conv_layers_and_column_scaling() -> None:
    torch.manual_seed(6)
    conv = BinaryConv2d(2, 4, 2, groups=2, bias=False)
    opt = QPSBGD(
        [conv.weight], 0.1, seed=0, input_scaling="column-sq-norm", output_gradient="pre-activation"
    )
    conv(torch.randn(2, 2, 4, 4)).pow(2).sum().backward()
    before = conv.weight.detach().clone()
    opt.step()
    assert torch.allclose((before - conv.weight.detach()).abs(), torch.full_like(before, 0.1))
    assert opt.stats[-1]["num_problems"] == 4 and opt.stats[-1]["qubo_size"] == 4


def test_same_seed_same_stats_and_state_dict_has_steps() -> None:
    make_model, batches, loss_fn = tiny_problem(seed=2)
    runs = []
    for _ in range(2):
        model = make_model()
        opt = QPSBGD(
            binary_weights(model),
            0.3,
            seed=11,
            sampler=SimulatedAnnealingSampler(),
            sample_kwargs={"num_sweeps": 20},
        )
        for x, y in batches[:2]:
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
        runs.append([(s["energy"], s["codirectionality"]) for s in opt.stats])
        assert all(st["step"] == 2 for st in opt.state_dict()["state"].values())
        assert opt.seed == 11 and opt.state_dict()["param_groups"][0]["seed"] == 11
    assert runs[0] == runs[1]


def test_bad_input_errors() -> None:
    layer = BinaryLinear(3, 2)
    with pytest.raises(
        ValueError, match=r"binary layers.*second optimizer, such as torch.optim.Adam"
    ):
        QPSBGD(layer.parameters(), 0.1)  # the bias is not a binary weight
    with pytest.raises(ValueError, match=r"second optimizer"):
        QPSBGD(torch.nn.Linear(2, 2).parameters(), 0.1)
    for lr in (0.0, -1.0):
        with pytest.raises(ValueError, match=r"'lr' must be a finite number > 0"):
            QPSBGD([layer.weight], lr)
    with pytest.raises(TypeError, match="'lr'"):
        QPSBGD([layer.weight], "0.1")
    with pytest.raises(ValueError, match=r"'max_block_size' must be an integer >= 1, got 0"):
        QPSBGD([layer.weight], 0.1, max_block_size=0)
    with pytest.raises(ValueError, match="'projection' must be one of"):
        QPSBGD([layer.weight], 0.1, projection="qubo")
    with pytest.raises(ValueError, match="'update' must be one of"):
        QPSBGD([layer.weight], 0.1, update="sometimes")
    with pytest.raises(ValueError, match="'sample_kwargs' must not set 'seed'"):
        QPSBGD([layer.weight], 0.1, sample_kwargs={"seed": 1})
    with pytest.raises(TypeError, match="get_sampler"):
        QPSBGD([layer.weight], 0.1, sampler="sa")
    wide = BinaryLinear(16, 2)
    with pytest.raises(ValueError, match="fan-in of at most 15"):
        QPSBGD([wide.weight], 0.1, projection="xnor-threshold")


class _EmptySampler(dimod.Sampler):
    """A sampler that returns an empty sample set."""

    parameters: dict = {}
    properties: dict = {}

    def sample(self, bqm: dimod.BinaryQuadraticModel, **kwargs: object) -> dimod.SampleSet:
        return dimod.SampleSet.from_samples(
            ([], list(bqm.variables)), vartype=bqm.vartype, energy=[]
        )


@pytest.mark.parametrize("projection", ["least-squares", "sign-matching", "xnor-threshold"])
def test_sampler_returning_no_samples_is_an_error(projection: str) -> None:
    torch.manual_seed(7)
    layer = BinaryLinear(3, 2, bias=False)
    opt = QPSBGD([layer.weight], 0.1, sampler=_EmptySampler(), projection=projection)
    layer(torch.tensor([[1.0, -1.0, 1.0], [1.0, 1.0, -1.0]])).sum().backward()
    with pytest.raises(ValueError, match="returned no samples"):
        opt.step()


def test_step_without_backward_is_a_clear_error() -> None:
    layer = BinaryLinear(3, 2, bias=False)
    opt = QPSBGD([layer.weight], 0.1)
    layer.weight.grad = torch.zeros_like(layer.weight)
    with pytest.raises(RuntimeError, match="no recorded forward and backward pass"):
        opt.step()


def test_codirectionality_is_nan_without_gradient_signal() -> None:
    layer = BinaryLinear(3, 2, bias=False)
    opt = QPSBGD([layer.weight], 0.1)
    layer(torch.ones(2, 3)).sum().mul(0.0).backward()
    opt.step()
    assert math.isnan(opt.stats[-1]["codirectionality"]) and opt.stats[-1]["num_problems"] == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_parameters() -> None:
    layer = BinaryLinear(6, 4, bias=False, device="cuda")
    opt = QPSBGD([layer.weight], 0.1, seed=0)
    layer(torch.randn(5, 6, device="cuda")).pow(2).sum().backward()
    opt.step()
    assert layer.weight.device.type == "cuda" and opt.stats[-1]["num_problems"] == 4


def test_batched_kernel_threads_blocks_and_reads() -> None:
    from hybridqnn.solvers.batched import solve_least_squares_batch

    rng = np.random.default_rng(9)
    x, v = rng.choice([-1.0, 1.0], size=(6, 12)), rng.normal(size=(20, 6)) * 4
    g0 = np.where(v @ x >= 0, 1.0, -1.0)
    one, e1 = solve_least_squares_batch(x, v, g0, num_sweeps=20, seed=5, workers=1)
    two, e2 = solve_least_squares_batch(x, v, g0, num_sweeps=20, seed=5, workers=2)
    assert np.array_equal(one, two) and np.array_equal(e1, e2)  # independent of the thread split
    assert np.allclose(e1, ((v - one @ x.T) ** 2).sum(axis=1))
    assert np.all(e1 <= ((v - g0 @ x.T) ** 2).sum(axis=1) + 1e-9)
    idx = np.array([0, 3, 5])
    blk, _ = solve_least_squares_batch(x, v, g0, num_sweeps=20, seed=5, var_index=idx)
    frozen = np.setdiff1d(np.arange(12), idx)
    assert np.array_equal(blk[:, frozen], g0[:, frozen])
    many, em = solve_least_squares_batch(x, v, g0, num_sweeps=20, seed=5, num_reads=3)
    assert np.all(em <= e1 + 1e-9)  # the first read is the one-read run; the best of three is kept
    assert np.allclose(em, ((v - many @ x.T) ** 2).sum(axis=1))


@pytest.mark.parametrize("projection", ["least-squares", "sign-matching"])
def test_results_do_not_depend_on_the_executor(projection: str) -> None:
    directions = []
    for executor in ("serial", "thread"):
        torch.manual_seed(10)
        layer = BinaryLinear(5, 6, bias=False)
        opt = QPSBGD(
            [layer.weight],
            0.1,
            seed=4,
            projection=projection,
            sampler=SimulatedAnnealingSampler(),
            sample_kwargs={"num_sweeps": 10},
            executor=executor,
        )
        layer(torch.where(torch.rand(4, 5) < 0.5, -1.0, 1.0)).pow(2).sum().backward()
        before = layer.weight.detach().clone()
        opt.step()
        directions.append(before - layer.weight.detach())
    assert torch.equal(directions[0], directions[1])
    with pytest.raises(TypeError, match="'executor'"):
        QPSBGD([layer.weight], 0.1, executor=2)


# ------------------------------------------------------------------ fast paths of any sampler


def test_a_third_party_sampler_on_the_fast_paths_is_used_without_editing_qpsbgd() -> None:
    """QPSBGD knows no sampler class: whatever advertises a fast path in ``properties`` gets it."""
    from hybridqnn.testing.conformance import EnumeratingDenseSampler

    rng = np.random.default_rng(2)
    x, v = rng.choice([-1.0, 1.0], size=(4, 10)), rng.normal(size=(4, 6))
    exact, _ = least_squares_directions(x, v, ExactSolver(), seed=0)
    batched = EnumeratingDenseSampler()
    g, stats = least_squares_directions(x, v, batched, seed=0)
    assert stats["path"] == "batched" and batched.calls == {"dense": 0, "least_squares": 1}
    dense = EnumeratingDenseSampler()
    g2, stats2 = least_squares_directions(x, v, dense, seed=0, sample_kwargs={"num_reads": 2})
    assert stats2["path"] == "dense" and dense.calls == {"dense": 6, "least_squares": 0}
    target = _scaled(x, v)
    for found in (g, g2):
        assert np.allclose(((target - found @ x.T) ** 2).sum(axis=1), ((target - exact @ x.T) ** 2).sum(axis=1))
    # through the optimizer: one step of a binary layer takes the dense path
    torch.manual_seed(0)
    layer = BinaryLinear(6, 3)
    opt = QPSBGD([layer.weight], lr=0.1, sampler=EnumeratingDenseSampler(), seed=0, sample_kwargs={"num_reads": 1})
    layer(torch.randn(5, 6)).sum().backward()
    opt.step()
    assert opt.stats[-1]["path"] in ("dense", "closed-form") and opt.sampler.calls["least_squares"] == 0


def test_limited_precision_over_dense_sa_keeps_its_rounding() -> None:
    """A composite over dense SA does not take the child's fast paths (they would skip the
    rounding): its problems go through ``sample(bqm)``, as before."""
    from hybridqnn.solvers import LimitedPrecisionComposite

    rng = np.random.default_rng(2)
    x, v = rng.choice([-1.0, 1.0], size=(4, 10)), rng.normal(size=(4, 6))
    _, stats = least_squares_directions(x, v, LimitedPrecisionComposite(DenseSimulatedAnnealingSampler(), bits=4), seed=0)
    assert stats["path"] == "bqm"


NON_FINITE_CASES = ["loss nan", "loss inf", "loss -inf", "grad nan", "grad inf", "input X nan", "output gradient V inf"]


@pytest.mark.parametrize("case", NON_FINITE_CASES)
@pytest.mark.parametrize(
    "projection, sampler",
    [
        ("least-squares", "dense-sa"),
        ("least-squares", "sa"),
        ("least-squares", "tabu"),
        ("least-squares", "milp"),
        ("least-squares", "sb"),
        ("sign-matching", "milp"),
        ("sign-matching", "sa"),
        ("xnor-threshold", "dense-sa"),
        ("xnor-threshold", "steepest"),
    ],
)
def test_non_finite_loss_grad_or_layer_data_is_one_error_for_every_sampler(projection: str, sampler: str, case: str) -> None:
    """Whatever the projection and the sampler, a NaN or infinite loss, gradient or recorded
    layer datum is the same ValueError before any weight or step count changes (on the landed
    code dense-SA stepped from a NaN loss while sa and milp raised)."""
    from hybridqnn.solvers import get_sampler

    make_model, batches, loss_fn = tiny_problem(seed=2, in_features=4, hidden=3, batch_size=6, num_batches=2)
    model = make_model()
    opt = QPSBGD(binary_weights(model), 0.5, sampler=get_sampler(sampler), projection=projection, seed=0, executor="serial")
    x, y = batches[0]
    bad = float(case.split()[-1])

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        if case.startswith("grad"):
            model[1].weight.grad[0, 1] = bad
        elif case.startswith("input"):
            model[1]._qp_input[2, 0] = bad
        elif case.startswith("output"):
            model[0]._qp_grad_post[1, 1] = bad
        return loss.detach() + bad if case.startswith("loss") else loss

    before = [p.detach().clone() for p in model.parameters()]
    named = {"loss": "'loss'", "grad": "'grad of param_groups[0] parameter 1'", "input": "'recorded layer input X of param_groups[0] parameter 1 (part 0)'", "output": "'recorded output gradient V of param_groups[0] parameter 0 (part 0)'"}[case.split()[0]]
    with pytest.raises(ValueError, match=rf"^QPSBGD\.step: {re.escape(named)} must be finite, got 1 NaN or inf values; no parameter was changed$"):
        opt.step(closure)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert not opt.stats and all("step" not in opt.state[p] for p in binary_weights(model))
