"""Natural quantization, models: the classical limit, sampled distributions against the closed
forms and the enumeration, shapes, seeds, votes, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from hybridqnn.nn.natural.layers import NaturalActivation
from hybridqnn.nn.natural.models import NaturalQuantizedMLP, SignMLP, majority_vote
from hybridqnn.nn.natural.physics import expected_activation, strong_measurement_probability
from hybridqnn.quantum.circuits import exact_hidden_distribution

BACKENDS = ["torch", "numba"]
ALPHA = 1e-4  # family-wise significance level of the statistical tests


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_batched_votes_reuse_buffers_without_mixing_batches() -> None:
    """vote_counts keeps its kernel outputs from batch to batch: its counts must equal those of
    separate passes over the same batches with the same generator stream."""
    x = torch.rand(23, 784, generator=_gen(2))
    model = NaturalQuantizedMLP(a=0.3, g=0.9, width=24, hidden_layers=3, seed=1)
    counts = model.vote_counts(x, shots=5, generator=_gen(8), batch_size=10)
    gen = _gen(8)
    expected = []
    for start in range(0, 23, 10):
        preds = model(x[start : start + 10], generator=gen, shots=5).argmax(-1)
        expected.append(torch.nn.functional.one_hot(preds, 10).sum(0))
    assert torch.equal(counts, torch.cat(expected))


# --------------------------------------------------------------------------- modules


@pytest.mark.parametrize("backend", BACKENDS)
def test_classical_limit_is_the_sign_network_bit_for_bit(backend: str) -> None:
    x = torch.rand(300, 784, generator=_gen(2))
    nat = NaturalQuantizedMLP(a=0.0, g=math.pi / 2, width=96, backend=backend, seed=5)
    sign = SignMLP(width=96, seed=5)
    assert torch.equal(nat(x, generator=_gen(3)), sign(x))
    assert torch.equal(nat(x, generator=_gen(4), shots=4), sign(x, shots=4))
    assert torch.equal(nat.predict(x, shots=15, generator=_gen(5)), sign(x).argmax(1))
    # and the gradients are the same straight-through ones
    for model in (nat, sign):
        torch.nn.functional.cross_entropy(
            model(x[:64], generator=_gen(6)), torch.arange(64) % 10
        ).backward()
    for p_nat, p_sign in zip(nat.parameters(), sign.parameters(), strict=True):
        assert torch.equal(p_nat.grad, p_sign.grad)


def test_a_weak_network_is_not_the_sign_network() -> None:
    x = torch.rand(64, 784, generator=_gen(2))
    nat = NaturalQuantizedMLP(a=0.3, g=0.8, width=32, seed=5)
    assert not torch.equal(nat(x, generator=_gen(3)), SignMLP(width=32, seed=5)(x))


@pytest.mark.parametrize("backend", BACKENDS)
def test_first_layer_frequencies_match_the_closed_form(backend: str) -> None:
    a = 0.4
    model = NaturalQuantizedMLP(20, 16, 1, 3, a=a, backend=backend, seed=1)
    x = torch.rand(3, 20, generator=_gen(7))
    shots = 4000
    d = model.sample_activations(x, shots=shots, generator=_gen(8))[0]
    plus = (d > 0).sum(0).flatten().tolist()
    p = strong_measurement_probability(model.layers[0](x).detach().double(), a).flatten().tolist()
    pvals = [stats.binomtest(k, shots, q).pvalue for k, q in zip(plus, p, strict=True)]
    assert min(pvals) > ALPHA / len(pvals)
    # power: the same counts against the wrong stretch are rejected
    wrong = (
        strong_measurement_probability(model.layers[0](x).detach().double(), 4 * a)
        .flatten()
        .tolist()
    )
    assert (
        min(stats.binomtest(k, shots, q).pvalue for k, q in zip(plus, wrong, strict=True)) < ALPHA
    )


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("update", ["paper", "exact"])
def test_two_weak_layers_match_the_enumerated_distribution(
    backend: str, update: str, chi2_pvalue
) -> None:
    model = NaturalQuantizedMLP(
        8, 3, 3, 2, a=0.5, g=0.5, last_g=0.9, update=update, backend=backend, seed=11
    )
    x = torch.rand(8, generator=_gen(9))
    shots = 20000
    d = model.sample_activations(x[None], shots=shots, generator=_gen(10))[-1][:, 0, :]
    observed: dict = {}
    for row in d.to(torch.int64).tolist():
        observed[tuple(row)] = observed.get(tuple(row), 0) + 1
    assert chi2_pvalue(observed, exact_hidden_distribution(model, x), shots) > ALPHA
    other = "exact" if update == "paper" else "paper"
    exact_other = exact_hidden_distribution(model, x, update=other)
    if max(abs(exact_other[k] - v) for k, v in exact_hidden_distribution(model, x).items()) > 0.02:
        assert chi2_pvalue(observed, exact_other, shots) < ALPHA


def test_expected_activations_estimate_the_closed_form() -> None:
    model = NaturalQuantizedMLP(30, 12, 2, 4, a=0.7, g=1.0, seed=2)
    x = torch.rand(5, 30, generator=_gen(1))
    shots = 6000
    est = model.expected_activations(x, shots=shots, generator=_gen(2))
    assert [e.shape for e in est] == [(5, 12), (5, 12)]
    # first layer: E[m] = sin(g) * E_strong[d]
    exact = math.sin(1.0) * expected_activation(model.layers[0](x).detach(), 0.7)
    assert (est[0] - exact).abs().max() < 5 / math.sqrt(shots)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shots", [None, 1, 3])
def test_output_shapes(backend: str, shots: int | None) -> None:
    model = NaturalQuantizedMLP(50, 16, 2, 10, a=0.3, g=0.6, backend=backend, seed=0)
    x = torch.rand(20, 50, generator=_gen(0))
    out = model(x, generator=_gen(1), shots=shots)
    assert out.shape == ((20, 10) if shots is None else (shots, 20, 10))
    assert [d.shape for d in model.sample_activations(x, shots or 1, _gen(2))] == [
        (shots or 1, 20, 16)
    ] * 2
    pred = model.predict(x, shots=shots or 1, generator=_gen(3))
    assert pred.shape == (20,) and pred.dtype == torch.int64


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_generator_seed_same_samples(backend: str) -> None:
    model = NaturalQuantizedMLP(50, 16, 2, 10, a=0.3, g=0.6, backend=backend, seed=0)
    x = torch.rand(20, 50, generator=_gen(0))
    assert torch.equal(model(x, generator=_gen(1)), model(x, generator=_gen(1)))
    assert not torch.equal(model(x, generator=_gen(1)), model(x, generator=_gen(2)))
    assert torch.equal(model.predict(x, 7, _gen(3)), model.predict(x, 7, _gen(3)))


def test_majority_vote_fresh_shots_and_ties() -> None:
    assert majority_vote(torch.tensor([[2, 1], [1, 1], [2, 0]]), 3).tolist() == [2, 1]
    assert majority_vote(torch.tensor([[3], [1]]), 4).tolist() == [1]  # tie: smallest class
    model = NaturalQuantizedMLP(40, 32, 2, 10, a=0.3, g=0.4, seed=0)
    x = torch.rand(200, 40, generator=_gen(0))
    counts = model.vote_counts(x, shots=15, generator=_gen(1), batch_size=64)
    assert counts.shape == (200, 10) and (counts.sum(1) == 15).all()
    # shots are fresh samples, not 15 copies of one (the authors' library bug)
    assert (counts.max(1).values < 15).any()


def test_state_dict_is_interchangeable_and_init_is_kaiming() -> None:
    nat = NaturalQuantizedMLP(seed=3)
    sign = SignMLP()
    sign.load_state_dict(nat.state_dict())
    assert [tuple(w.shape) for w in nat.state_dict().values()] == [
        (512, 784),
        (512, 512),
        (512, 512),
        (10, 512),
    ]
    std = nat.layers[0].weight.std().item()
    assert abs(std - 1 / math.sqrt(784)) < 0.02 / math.sqrt(784)
    assert all(layer.bias is None for layer in nat.layers)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "error", "text"),
    [
        ({"a": -0.1}, ValueError, "'a' must be a finite number >= 0.0, got -0.1"),
        (
            {"g": 1.6},
            ValueError,
            "'g' must be a finite number in [0.0, 1.5707963267948966], got 1.6",
        ),
        ({"g": -0.01}, ValueError, "'g' must be a finite number in [0.0"),
        ({"width": 0}, ValueError, "'width' must be an integer >= 1, got 0"),
        ({"hidden_layers": 0}, ValueError, "'hidden_layers' must be an integer >= 1, got 0"),
        ({"update": "nope"}, ValueError, "'update' must be one of paper, exact"),
        ({"backend": "gpu"}, ValueError, "'backend' must be one of auto, torch, numba"),
        ({"a": "big"}, TypeError, "'a' must be a real number"),
    ],
)
def test_bad_hyperparameters(kwargs: dict, error: type, text: str) -> None:
    with pytest.raises(error) as info:
        NaturalQuantizedMLP(**kwargs)
    assert text in str(info.value) and "\n" not in str(info.value)


def test_bad_shots_and_inputs() -> None:
    model = NaturalQuantizedMLP(784, 8, 1, 10)
    x = torch.rand(4, 784)
    for call in (
        lambda: model.predict(x, shots=0),
        lambda: model(x, shots=0),
        lambda: model.expected_activations(x, shots=0),
    ):
        with pytest.raises(ValueError, match=r"'shots' must be an integer >= 1, got 0"):
            call()
    with pytest.raises(
        ValueError, match=r"'x' must have 784 features per sample .* got shape \(4, 783\)"
    ):
        model(torch.rand(4, 783))
    model(torch.rand(4, 1, 28, 28))  # images flatten to 784
    with pytest.raises(TypeError, match="'x' must be a floating-point tensor"):
        model(torch.ones(4, 784, dtype=torch.int64))
    with pytest.raises(TypeError, match="'x' must be a torch.Tensor"):
        model(np.ones((4, 784), dtype=np.float32))
    with pytest.raises(ValueError, match="'backend' 'numba' needs float32 CPU tensors"):
        NaturalActivation(backend="numba")(torch.rand(3, dtype=torch.float64))


def test_models_move_and_cast_with_to() -> None:
    """``.to()`` reaches every submodule (the measurement once shadowed nn.Module._apply)."""
    x = torch.rand(20, 784, dtype=torch.float64)
    nat = NaturalQuantizedMLP(width=16, seed=1).to("cpu").to(torch.float64)
    assert all(layer.weight.dtype == torch.float64 for layer in nat.layers)
    assert torch.equal(nat(x, generator=_gen()), SignMLP(width=16, seed=1).double()(x))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_the_sign_network() -> None:
    x = torch.rand(100, 784, device="cuda")
    nat = NaturalQuantizedMLP(width=64, seed=1, device="cuda")
    gen = torch.Generator(device="cuda").manual_seed(0)
    assert torch.equal(nat(x, generator=gen), SignMLP(width=64, seed=1, device="cuda")(x))
