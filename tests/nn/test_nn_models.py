"""The QP-SBGD models (hybridqnn.nn.models): architecture, forward formulas, seeded init,
straight-through windows and argument errors."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from hybridqnn.nn import (
    BinaryGCN,
    BinaryLinear,
    BinaryLogisticRegression,
    BinaryMLP,
    RealGCNConv,
    Scale,
    SignActivation,
)
from hybridqnn.nn.models import uniform_init_


@given(st.integers(1, 12), st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_uniform_init_bound_and_seed(fan_out: int, fan_in: int, seed: int) -> None:
    w = torch.empty(fan_out, fan_in)
    uniform_init_(w, torch.Generator().manual_seed(seed))
    assert float(w.abs().max()) <= math.sqrt(1.5 / (fan_in + fan_out))
    w2 = uniform_init_(torch.empty(fan_out, fan_in), torch.Generator().manual_seed(seed))
    assert torch.equal(w, w2)


def test_binary_mlp_architecture() -> None:
    model = BinaryMLP([9, 5, 1], seed=0)
    assert [type(m) for m in model] == [BinaryLinear, BinaryLinear]
    assert all(m.binary_activation for m in model) and model.sizes == (9, 5, 1)
    scaled = BinaryMLP([9, 5, 1], scaled_ste=True, seed=0)
    assert [type(m) for m in scaled] == [BinaryLinear, Scale, SignActivation] * 2
    assert scaled[1].c == pytest.approx(1 / 3) and scaled[4].c == pytest.approx(1 / math.sqrt(5))
    real = BinaryMLP([9, 5, 1], binary=False, seed=0)
    assert [type(m) for m in real] == [nn.Linear, nn.Identity, SignActivation] * 2
    logits = BinaryMLP([9, 5, 1], final_sign=False, seed=0)
    assert [type(m) for m in logits] == [BinaryLinear, BinaryLinear, Scale]
    assert not logits[1].binary_activation


def test_binary_mlp_forward_is_the_sign_network_and_seeded() -> None:
    x = torch.where(torch.rand(7, 9, generator=torch.Generator().manual_seed(1)) < 0.5, -1.0, 1.0)
    model = BinaryMLP([9, 5, 1], seed=3)
    sign = lambda t: torch.where(t >= 0, 1.0, -1.0)  # noqa: E731
    w1, w2 = sign(model[0].weight), sign(model[1].weight)
    torch.testing.assert_close(model(x), sign(sign(x @ w1.T) @ w2.T))
    same = BinaryMLP([9, 5, 1], seed=3)
    assert all(
        torch.equal(a, b) for a, b in zip(model.parameters(), same.parameters(), strict=True)
    )
    other = BinaryMLP([9, 5, 1], seed=4)
    assert not torch.equal(model[0].weight, other[0].weight)


def test_scale_widens_the_straight_through_window() -> None:
    x = torch.tensor([0.5, 2.0, 5.0], requires_grad=True)
    nn.Sequential(Scale(1 / 3), SignActivation())(x).sum().backward()
    assert x.grad.tolist() == pytest.approx([1 / 3, 1 / 3, 0.0])  # |x| <= 3 passes


def test_logistic_regression_forward() -> None:
    model = BinaryLogisticRegression(4, scale=0.5, seed=0)
    with torch.no_grad():
        model.bias.fill_(0.25)
    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    w = torch.where(model.lin.weight >= 0, 1.0, -1.0)
    torch.testing.assert_close(model(x), 0.5 * x @ w.T + 0.25)
    assert BinaryLogisticRegression(4, bias=False).bias is None
    assert isinstance(BinaryLogisticRegression(4, binary=False).lin, nn.Linear)


def _ring(n: int) -> torch.Tensor:
    a = torch.zeros(n, n)
    for i in range(n):
        a[i, (i + 1) % n] = a[(i + 1) % n, i] = 1.0
    a += torch.eye(n)
    d = a.sum(1).rsqrt()
    return (d[:, None] * a * d[None, :]).to_sparse()


def test_binary_gcn_forward_formula() -> None:
    adj = _ring(6)
    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    model = BinaryGCN(4, 3, 2, seed=0)
    sign = lambda t: torch.where(t >= 0, 1.0, -1.0)  # noqa: E731
    w1, w2 = sign(model.conv1.lin.weight), sign(model.conv2.lin.weight)
    a = adj.to_dense()
    expected = a @ sign(a @ x @ w1.T) @ w2.T / math.sqrt(3)
    torch.testing.assert_close(model(x, adj), expected)
    real = BinaryGCN(4, 3, 2, binary=False, seed=0)
    assert isinstance(real.conv1, RealGCNConv)
    w1, w2 = real.conv1.lin.weight, real.conv2.lin.weight
    torch.testing.assert_close(real(x, adj), a @ sign(a @ x @ w1.T) @ w2.T / math.sqrt(3))


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [
        (lambda: BinaryMLP([3]), ValueError, "'sizes' must list at least 2 widths, got 1"),
        (lambda: BinaryMLP([3, 0]), ValueError, "'sizes' must be an integer >= 1, got 0"),
        (lambda: BinaryMLP([3, 1], seed=-1), ValueError, "'seed' must be an integer"),
        (lambda: BinaryMLP([3, 1], binary=1), TypeError, "'binary' must be a bool"),
        (lambda: BinaryLogisticRegression(3, scale=0.0), ValueError, "'scale' must be"),
        (lambda: BinaryGCN(3, 0, 2), ValueError, "'hidden_channels' must be an integer >= 1"),
    ],
)
def test_bad_arguments_are_one_line_errors(build, error, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=match):
        build()
