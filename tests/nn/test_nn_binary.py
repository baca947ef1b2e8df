"""Binary layers: sign with sign(0) = +1, straight-through backward, and the recorded X and V."""

from __future__ import annotations

import copy
import inspect
import pickle

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from hybridqnn.nn.binary import (
    BinaryConv2d,
    BinaryLinear,
    SignActivation,
    binarize,
    binary_layer_of,
)


def test_binarize_sign_of_zero_is_plus_one_and_keeps_dtype() -> None:
    w = torch.tensor([-2.0, -0.0, 0.0, 1e-9, 3.0], dtype=torch.float64, requires_grad=True)
    b = binarize(w)
    assert b.dtype == torch.float64 and b.device == w.device
    assert b.tolist() == [-1.0, 1.0, 1.0, 1.0, 1.0]
    b.backward(torch.arange(5.0, dtype=torch.float64))
    assert w.grad.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]  # identity straight-through
    with pytest.raises(TypeError, match="'w' must be a torch.Tensor"):
        binarize([1.0])


def test_sign_activation_hardtanh_ste() -> None:
    x = torch.tensor([-1.5, -1.0, -0.2, 0.0, 0.7, 1.0, 1.01], requires_grad=True)
    y = SignActivation()(x)
    assert y.tolist() == [-1.0, -1.0, -1.0, 1.0, 1.0, 1.0, 1.0]
    y.backward(torch.full_like(x, 2.0))
    assert x.grad.tolist() == [0.0, 2.0, 2.0, 2.0, 2.0, 2.0, 0.0]


def test_signatures_match_torch() -> None:
    for ours, theirs in ((BinaryLinear, nn.Linear), (BinaryConv2d, nn.Conv2d)):
        a = list(inspect.signature(ours.__init__).parameters)
        b = list(inspect.signature(theirs.__init__).parameters)
        assert a[: len(b)] == b and a[len(b) :] == ["binary_activation"]


def test_linear_forward_uses_sign_of_latent_weights() -> None:
    torch.manual_seed(0)
    layer = BinaryLinear(7, 4, bias=True)
    x = torch.randn(5, 7)
    expected = F.linear(x, torch.where(layer.weight >= 0, 1.0, -1.0), layer.bias)
    assert torch.allclose(layer(x), expected)
    act = BinaryLinear(7, 4, bias=False, binary_activation=True)
    assert set(act(x).unique().tolist()) <= {-1.0, 1.0}
    assert "binary_activation=True" in repr(act)


def test_linear_records_x_and_v() -> None:
    torch.manual_seed(1)
    layer = BinaryLinear(6, 3, bias=False, binary_activation=True)
    x = torch.randn(2, 4, 6)  # extra leading dims are flattened
    out = layer(x)
    out.pow(3).sum().backward()
    pre = layer.qpsbgd_data("pre-activation")[0]
    post = layer.qpsbgd_data()[0]
    assert pre.x.shape == (8, 6) and pre.v.shape == (8, 3) and pre.rows == slice(0, 3)
    assert torch.allclose(pre.v.T @ pre.x, layer.weight.grad, atol=1e-5)  # dL/dW = V^T X
    assert torch.allclose(
        post.v, 3 * out.detach().reshape(8, 3) ** 2
    )  # gradient after the activation
    with pytest.raises(ValueError, match="'output_gradient' must be one of"):
        layer.qpsbgd_data("after")


def test_no_record_is_an_error_and_no_grad_records_nothing() -> None:
    layer = BinaryLinear(3, 2)
    with pytest.raises(RuntimeError, match=r"loss.backward\(\)"):
        layer.qpsbgd_data()
    with torch.no_grad():
        layer(torch.randn(2, 3))
    assert not layer.has_record()


def test_link_from_weight_survives_copies() -> None:
    layer = BinaryLinear(3, 2)
    assert binary_layer_of(layer.weight) is layer
    assert binary_layer_of(layer.bias) is None
    assert binary_layer_of(nn.Linear(3, 2).weight) is None
    for clone in (copy.deepcopy(layer), pickle.loads(pickle.dumps(layer))):
        assert binary_layer_of(clone.weight) is clone


@given(
    groups=st.sampled_from([1, 2]),
    kernel=st.sampled_from([1, 2, 3]),
    stride=st.sampled_from([1, 2]),
    padding=st.sampled_from([0, 1]),
    dilation=st.sampled_from([1, 2]),
    mode=st.sampled_from(["zeros", "reflect", "circular", "replicate"]),
)
def test_conv_layer_data_reproduces_the_weight_gradient(
    groups: int, kernel: int, stride: int, padding: int, dilation: int, mode: str
) -> None:
    torch.manual_seed(2)
    conv = BinaryConv2d(
        4,
        6,
        kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        bias=False,
        padding_mode=mode,
    )
    x = torch.randn(2, 4, 7, 7)
    conv(x).pow(2).sum().backward()
    weight = conv.weight.view(6, -1)
    grad = torch.zeros_like(weight)
    for data in conv.qpsbgd_data():
        assert data.x.shape[1] == weight.shape[1]
        grad[data.rows] = data.v.T @ data.x
    assert torch.allclose(grad, conv.weight.grad.view(6, -1), atol=1e-4)


def test_conv_forward_uses_sign_and_activation() -> None:
    torch.manual_seed(3)
    conv = BinaryConv2d(2, 3, 3, padding=1, binary_activation=True)
    x = torch.randn(1, 2, 5, 5)
    expected = torch.where(
        F.conv2d(x, torch.where(conv.weight >= 0, 1.0, -1.0), conv.bias, padding=1) >= 0, 1.0, -1.0
    )
    assert torch.equal(conv(x), expected)
    unbatched = BinaryConv2d(2, 3, 3, bias=False)
    unbatched(torch.randn(2, 5, 5)).sum().backward()
    assert unbatched.qpsbgd_data()[0].x.shape == (9, 18)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda() -> None:
    layer = BinaryLinear(4, 3, device="cuda", binary_activation=True)
    layer(torch.randn(5, 4, device="cuda")).sum().backward()
    assert layer.qpsbgd_data()[0].x.device.type == "cuda"
