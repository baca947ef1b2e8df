"""Natural quantization, the fused CPU kernel: the same outcomes as the torch path for the
same uniforms, threads and in-place outputs that change nothing, checked buffers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hybridqnn.nn.natural.kernels import _run_kernel, _tanh32, _uniforms
from hybridqnn.nn.natural.layers import QubitRotation
from hybridqnn.nn.natural.physics import QubitState, _measure


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


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
