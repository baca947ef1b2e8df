"""Natural quantization modules: closed forms, the classical limit, both backends, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from hybridqnn.nn.natural import (
    NaturalActivation,
    NaturalQuantizedMLP,
    QubitRotation,
    QubitState,
    SignMLP,
    WeakMeasurement,
    _measure,
    _run_kernel,
    _tanh32,
    _uniforms,
    expected_activation,
    majority_vote,
    measurement_probability,
    post_measurement_angle,
    rotation_angle,
    strong_measurement_probability,
)
from hybridqnn.quantum.circuits import exact_hidden_distribution

BACKENDS = ["torch", "numba"]
ALPHA = 1e-4  # family-wise significance level of the statistical tests


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _chi2_pvalue(observed: dict, expected: dict, n: int) -> float:
    """Chi-square goodness of fit, pooling cells with expected count < 5 into one."""
    obs, exp, pool_o, pool_e = [], [], 0.0, 0.0
    for key, p in expected.items():
        if p * n < 5:
            pool_o += observed.get(key, 0)
            pool_e += p * n
        else:
            obs.append(observed.get(key, 0))
            exp.append(p * n)
    assert not set(observed) - set(expected), "an outcome of probability 0 was sampled"
    if pool_e > 0:
        obs.append(pool_o)
        exp.append(pool_e)
    exp_arr = np.asarray(exp) * (n / sum(exp))
    return float(stats.chisquare(obs, exp_arr).pvalue)


# --------------------------------------------------------------------------- closed forms


def test_paper_update_is_the_published_arcsin_formula() -> None:
    phi = torch.linspace(-math.pi, 2 * math.pi, 301, dtype=torch.float64)
    for g in (0.0, 0.3, 5 * math.pi / 19, 1.2, math.pi / 2):
        s = math.sin(g)
        for m in (1.0, -1.0):
            ratio = (1 - m * s) / (1 + m * s * torch.cos(phi))
            ok = torch.isfinite(ratio)
            published = 2 * torch.arcsin(
                (torch.sin(phi / 2) * ratio.clamp_min(0).sqrt()).clamp(-1, 1)
            )
            ours = post_measurement_angle(phi, torch.tensor(m, dtype=torch.float64), g, "paper")
            # arcsin is ill-conditioned next to +-1 (phi = +-pi), hence 1e-6
            torch.testing.assert_close(ours[ok], published[ok], atol=1e-6, rtol=0)


def test_exact_update_is_the_kraus_state_and_differs_from_the_paper_beyond_pi() -> None:
    phi = torch.linspace(-2 * math.pi + 0.01, 2 * math.pi - 0.01, 401, dtype=torch.float64)
    g = 0.6
    s = math.sin(g)
    for m in (1.0, -1.0):
        amp = torch.stack(
            [torch.cos(phi / 2) * math.sqrt(1 + m * s), torch.sin(phi / 2) * math.sqrt(1 - m * s)]
        )
        amp = amp / amp.norm(dim=0)
        new = post_measurement_angle(phi, torch.tensor(m, dtype=torch.float64), g, "exact")
        torch.testing.assert_close(torch.stack([torch.cos(new / 2), torch.sin(new / 2)]), amp)
        paper = post_measurement_angle(phi, torch.tensor(m, dtype=torch.float64), g, "paper")
        inside = torch.cos(phi / 2) >= 0
        # the same state inside |phi| <= pi; a different state (not just a global sign) outside
        # (same Z populations everywhere; sin(phi') = 2 alpha' beta' tells the states apart)
        torch.testing.assert_close(torch.cos(paper), torch.cos(new))
        torch.testing.assert_close(torch.sin(paper[inside]), torch.sin(new[inside]))
        assert (torch.sin(paper[~inside]) - torch.sin(new[~inside])).abs().max() > 0.5


@given(phi=st.floats(-math.pi, math.pi), g=st.floats(0, math.pi / 2), plus=st.booleans())
def test_updates_agree_while_cos_half_phi_is_non_negative(phi: float, g: float, plus: bool) -> None:
    t = torch.tensor([phi], dtype=torch.float64)
    m = torch.tensor([1.0 if plus else -1.0], dtype=torch.float64)
    if measurement_probability(t, g).item() in ((0.0,) if plus else (1.0,)):
        return  # an impossible outcome has no post-measurement state
    a = post_measurement_angle(t, m, g, "paper")
    b = post_measurement_angle(t, m, g, "exact")
    assert math.isclose(a.item(), b.item(), abs_tol=1e-7)


def test_strong_measurement_closed_forms() -> None:
    z = torch.linspace(-3, 3, 61, dtype=torch.float64)
    for a in (0.1, 0.316, 1.0):
        phi = rotation_angle(z, 1.0, a)
        p = measurement_probability(phi, math.pi / 2)
        torch.testing.assert_close(p, strong_measurement_probability(z, a))
        torch.testing.assert_close(2 * p - 1, expected_activation(z, a))
    torch.testing.assert_close(expected_activation(z, 0.0), torch.sign(z))
    torch.testing.assert_close(measurement_probability(phi, 0.0), torch.full_like(phi, 0.5))


def test_tanh_polynomial_is_float32_accurate() -> None:
    x = np.linspace(-12, 12, 20001, dtype=np.float32)
    approx = np.array([_tanh32(v) for v in x[::7]], dtype=np.float64)
    assert np.abs(approx - np.tanh(x[::7].astype(np.float64))).max() < 3e-7


@pytest.mark.parametrize("a", [0.0, 0.3])
@pytest.mark.parametrize("update", ["paper", "exact"])
def test_kernel_matches_torch_path_for_the_same_uniforms(a: float, update: str) -> None:
    gen = _gen(1)
    z = torch.randn(6, 40, generator=gen) * 1.5
    phi = torch.rand(6, 40, generator=gen) * 3 * math.pi - math.pi
    state = QubitState(
        torch.cos(phi / 2),
        torch.sin(phi / 2),
        torch.where(torch.rand(6, 40, generator=gen) < 0.5, 1.0, -1.0),
    )
    g = 0.55
    key = 987654321
    m_k, a_k, b_k = _run_kernel(
        z, state.d, state.alpha, state.beta, None, key, a, math.sin(g), update == "paper"
    )
    u = torch.from_numpy(_uniforms(np.uint64(key), 0, z.numel())).reshape(z.shape)
    rotated = QubitRotation(a)(z, state)
    m_t, a_t, b_t = _measure(rotated.alpha, rotated.beta, u, math.sin(g), update == "paper")
    assert torch.equal(m_k, m_t)
    torch.testing.assert_close(a_k, a_t, atol=2e-6, rtol=0)
    torch.testing.assert_close(b_k, b_t, atol=2e-6, rtol=0)


def _kernel_case(n_shots: int, width: int) -> tuple[torch.Tensor, QubitState]:
    gen = _gen(11)
    z = torch.randn(n_shots, 7, width, generator=gen)
    phi = torch.rand(n_shots, 7, width, generator=gen) * 2 * math.pi
    d = torch.where(torch.rand(n_shots, 7, width, generator=gen) < 0.5, 1.0, -1.0)
    return z, QubitState(torch.cos(phi / 2), torch.sin(phi / 2), d)


@pytest.mark.parametrize("threads", [1, 2])
def test_in_place_update_equals_fresh_outputs(threads: int) -> None:
    z, state = _kernel_case(5, 8000)  # above the threading threshold
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        fresh = _run_kernel(z, state.d, state.alpha, state.beta, None, 42, 0.3, 0.7, True)
        alpha, beta = state.alpha.clone(), state.beta.clone()
        own = {"alpha": alpha, "beta": beta}
        m, a_new, b_new = _run_kernel(
            z,
            state.d,
            alpha,
            beta,
            None,
            42,
            0.3,
            0.7,
            True,
            out=lambda role, shape: own.get(role, torch.empty(shape)),
        )
    finally:
        torch.set_num_threads(before)
    assert a_new is alpha and b_new is beta
    assert torch.equal(m, fresh[0])
    assert torch.equal(alpha, fresh[1]) and torch.equal(beta, fresh[2])


def test_threaded_kernel_equals_one_thread() -> None:
    z, state = _kernel_case(1, 20000)  # 140,000 elements: above the threading threshold
    z1, d1, a1, b1 = (t[0] for t in (z, state.d, state.alpha, state.beta))
    results = []
    before = torch.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for shots in (None, 3):  # split by columns, then by shots
                results.append(_run_kernel(z1, d1, a1, b1, shots, 7, 0.2, 0.5, False))
    finally:
        torch.set_num_threads(before)
    for one, two in zip(results[:2], results[2:], strict=True):
        for x, y in zip(one, two, strict=True):
            assert torch.equal(x, y)


def test_out_buffers_are_checked() -> None:
    z, state = _kernel_case(1, 4)
    with pytest.raises(ValueError, match="'out' must give a contiguous float32 tensor of shape"):
        _run_kernel(
            z,
            state.d,
            state.alpha,
            state.beta,
            None,
            1,
            0.3,
            0.7,
            True,
            out=lambda role, shape: torch.empty(3),
        )
    alpha = state.alpha.clone()
    with pytest.raises(ValueError, match="'out' must return both of alpha and beta"):
        _run_kernel(
            z,
            state.d,
            alpha,
            state.beta,
            None,
            1,
            0.3,
            0.7,
            True,
            out=lambda role, shape: alpha if role == "alpha" else torch.empty(shape),
        )


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
def test_two_weak_layers_match_the_enumerated_distribution(backend: str, update: str) -> None:
    model = NaturalQuantizedMLP(
        8, 3, 3, 2, a=0.5, g=0.5, last_g=0.9, update=update, backend=backend, seed=11
    )
    x = torch.rand(8, generator=_gen(9))
    shots = 20000
    d = model.sample_activations(x[None], shots=shots, generator=_gen(10))[-1][:, 0, :]
    observed: dict = {}
    for row in d.to(torch.int64).tolist():
        observed[tuple(row)] = observed.get(tuple(row), 0) + 1
    assert _chi2_pvalue(observed, exact_hidden_distribution(model, x), shots) > ALPHA
    other = "exact" if update == "paper" else "paper"
    exact_other = exact_hidden_distribution(model, x, update=other)
    if max(abs(exact_other[k] - v) for k, v in exact_hidden_distribution(model, x).items()) > 0.02:
        assert _chi2_pvalue(observed, exact_other, shots) < ALPHA


def test_expected_activations_estimate_the_closed_form() -> None:
    model = NaturalQuantizedMLP(30, 12, 2, 4, a=0.7, g=1.0, seed=2)
    x = torch.rand(5, 30, generator=_gen(1))
    shots = 6000
    est = model.expected_activations(x, shots=shots, generator=_gen(2))
    assert [e.shape for e in est] == [(5, 12), (5, 12)]
    # first layer: E[m] = sin(g) * E_strong[d]
    exact = math.sin(1.0) * expected_activation(model.layers[0](x).detach(), 0.7)
    assert (est[0] - exact).abs().max() < 5 / math.sqrt(shots)


def test_straight_through_gradient() -> None:
    z = torch.linspace(-2, 2, 41).reshape(1, -1).requires_grad_(True)
    weights = torch.randn(1, 41, generator=_gen(0))
    for backend in BACKENDS:
        act = NaturalActivation(0.3, 0.7, backend=backend)
        d, _ = act(z, None, _gen(1))
        (d * weights).sum().backward()
        torch.testing.assert_close(z.grad, weights * (z.detach().abs() < 1))
        z.grad = None


def test_rotation_and_measurement_compose() -> None:
    z = torch.randn(4, 8, generator=_gen(3))
    state = QubitRotation(0.5)(z)
    torch.testing.assert_close(state.phi, rotation_angle(z, 1.0, 0.5))
    d, new = WeakMeasurement(math.pi / 2)(state, _gen(4))
    assert set(d.unique().tolist()) <= {-1.0, 1.0}
    # a projective measurement leaves the qubit in |0> (m = +1) or |1> (m = -1)
    torch.testing.assert_close(new.alpha.abs(), (d > 0).float())


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


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_the_sign_network() -> None:
    x = torch.rand(100, 784, device="cuda")
    nat = NaturalQuantizedMLP(width=64, seed=1, device="cuda")
    gen = torch.Generator(device="cuda").manual_seed(0)
    assert torch.equal(nat(x, generator=gen), SignMLP(width=64, seed=1, device="cuda")(x))
