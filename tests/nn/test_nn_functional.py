"""The straight-through estimators: forward and backward of every variant at 0, at the threshold
|x| = 1 and beyond."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn.nn.functional import (
    binarize,
    identity_straight_through,
    natural_straight_through,
    sign,
    sign_binaryconnect,
    sign_natural,
)

# the points where the variants differ, and some on either side
EDGES = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 1e-8, -1e-8, 1 + 1e-6, -1 - 1e-6]
FINITE = st.floats(-5.0, 5.0, allow_nan=False, allow_infinity=False)


def _grad(fn, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.clone().requires_grad_(True)
    y = fn(x)
    upstream = torch.arange(1, x.numel() + 1, dtype=x.dtype).reshape(x.shape)
    (y * upstream).sum().backward()
    return y.detach(), x.grad / upstream


def _check_all(values: list[float]) -> None:
    x = torch.tensor(values, dtype=torch.float64)
    pos = torch.where(x >= 0, 1.0, -1.0).to(x.dtype)

    y, g = _grad(binarize, x)
    assert torch.equal(y, pos) and torch.equal(g, torch.ones_like(x))

    y, g = _grad(sign_binaryconnect, x)
    assert torch.equal(y, pos) and torch.equal(g, (x.abs() <= 1).to(x.dtype))

    y, g = _grad(sign_natural, x)
    assert torch.equal(y, torch.sign(x)) and torch.equal(g, (x.abs() < 1).to(x.dtype))

    d = torch.where(torch.arange(len(values)) % 2 == 0, 1.0, -1.0).to(x.dtype)
    y, g = _grad(lambda z: natural_straight_through(z, d), x)
    assert torch.equal(y, d) and torch.equal(g, (x.abs() < 1).to(x.dtype))

    q = torch.round(x * 4) / 4
    y, g = _grad(lambda z: identity_straight_through(z, q), x)
    torch.testing.assert_close(y, q, rtol=0, atol=1e-12)
    assert torch.equal(g, torch.ones_like(x))


def test_every_variant_at_zero_at_the_threshold_and_beyond() -> None:
    _check_all(EDGES)


@given(st.lists(FINITE, min_size=1, max_size=20))
def test_every_variant_on_random_points(values: list[float]) -> None:
    _check_all(values)


def test_the_variants_differ_exactly_where_the_papers_do() -> None:
    x = torch.tensor([0.0, 1.0, -1.0], requires_grad=True)
    assert sign_binaryconnect(x).tolist() == [1.0, 1.0, -1.0]  # sign(0) = +1
    assert sign_natural(x).tolist() == [0.0, 1.0, -1.0]  # sign(0) = 0
    _, g_bc = _grad(sign_binaryconnect, x.detach())
    _, g_nat = _grad(sign_natural, x.detach())
    assert g_bc.tolist() == [1.0, 1.0, 1.0]  # closed window |x| <= 1
    assert g_nat.tolist() == [1.0, 0.0, 0.0]  # open window |x| < 1


def test_sign_keeps_dtype_and_has_no_gradient() -> None:
    for dtype in (torch.float16, torch.float32, torch.float64):
        x = torch.tensor([-2.0, 0.0, 3.0], dtype=dtype)
        assert sign(x).dtype == dtype and sign(x).tolist() == [-1.0, 1.0, 1.0]
    assert not sign(torch.ones(2, requires_grad=True)).requires_grad


def test_natural_straight_through_without_gradient_returns_the_sample() -> None:
    d = torch.tensor([1.0, -1.0])
    assert natural_straight_through(None, d) is d
    assert natural_straight_through(torch.zeros(2), d) is d
    with torch.no_grad():
        assert natural_straight_through(torch.zeros(2, requires_grad=True), d) is d
    out = natural_straight_through(torch.zeros(2, requires_grad=True), d)
    assert out is not d and torch.equal(out, d)


@pytest.mark.parametrize("fn", [binarize, sign_binaryconnect, sign_natural])
def test_non_tensors_are_one_line_type_errors(fn) -> None:
    with pytest.raises(TypeError, match=r"must be a torch.Tensor, got list"):
        fn([1.0])
