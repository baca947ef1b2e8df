"""RandomConvFeatures: shapes, frozen filters, determinism, standardisation, module behaviour."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from torch import nn

from hybridqnn.nn import RandomConvFeatures


def _images(n: int, c: int = 1, h: int = 8, w: int = 8, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, c, h, w, generator=g)


@pytest.mark.parametrize(("filters", "pool_size"), [(1, 1), (3, 2), (4, 3), (8, 4)])
def test_output_dimension(filters: int, pool_size: int) -> None:
    m = RandomConvFeatures(num_filters=filters, kernel_size=3, pool_size=pool_size)
    assert m.out_features == filters * pool_size**2
    out = m(_images(5, h=12, w=10))
    assert out.shape == (5, filters * pool_size**2)


@pytest.mark.parametrize(("shape", "d"), [((1, 28, 28), 128), ((1, 8, 8), 32), ((3, 32, 32), 128)])
def test_for_images_dimensions(shape: tuple[int, int, int], d: int) -> None:
    m = RandomConvFeatures.for_images(shape)
    assert m.out_features == d
    assert m.in_channels == shape[0]
    assert m(_images(2, *shape)).shape == (2, d)


def test_for_images_overrides_and_bad_shape() -> None:
    m = RandomConvFeatures.for_images((1, 8, 8), seed=3, num_filters=2)
    assert m.out_features == 2 * 4 and m.seed == 3
    with pytest.raises(ValueError, match="'image_shape'"):
        RandomConvFeatures.for_images((28, 28))


def test_frozen_no_trainable_parameters() -> None:
    m = RandomConvFeatures(num_filters=4, kernel_size=3)
    assert list(m.parameters()) == []
    assert not any(p.requires_grad for p in m.parameters())
    assert not any(b.requires_grad for b in m.buffers())
    x = _images(3).requires_grad_(True)
    # the filters get no gradient; the input may still be differentiated through
    m(x).sum().backward()
    assert x.grad is not None
    assert m.weight.grad is None


def test_filters_centred_unit_norm() -> None:
    m = RandomConvFeatures(in_channels=2, num_filters=6, kernel_size=3)
    w = m.weight.flatten(1)
    torch.testing.assert_close(w.mean(dim=1), torch.zeros(6), atol=1e-6, rtol=0)
    torch.testing.assert_close(w.norm(dim=1), torch.ones(6), atol=1e-5, rtol=0)


def test_deterministic_per_seed_and_different_across_seeds() -> None:
    x = _images(4)
    a = RandomConvFeatures(num_filters=4, kernel_size=3, seed=7)
    b = RandomConvFeatures(num_filters=4, kernel_size=3, seed=7)
    c = RandomConvFeatures(num_filters=4, kernel_size=3, seed=8)
    torch.testing.assert_close(a.weight, b.weight, rtol=0, atol=0)
    torch.testing.assert_close(a(x), b(x), rtol=0, atol=0)
    assert not torch.allclose(a.weight, c.weight)
    assert not torch.allclose(a(x), c(x))


def test_global_rng_untouched() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    RandomConvFeatures(num_filters=4, kernel_size=3, seed=5)
    torch.testing.assert_close(torch.rand(3), expected)


@pytest.mark.parametrize("nonlinearity", ["relu", "tanh", "abs", "identity"])
@pytest.mark.parametrize("pool", ["avg", "max"])
def test_fit_standardises_training_features(nonlinearity: str, pool: str) -> None:
    m = RandomConvFeatures(
        num_filters=4, kernel_size=3, pool_size=2, nonlinearity=nonlinearity, pool=pool
    )
    x = _images(200, seed=1).numpy()
    assert m.fit(x, batch_size=64) is m
    assert m.fitted
    f = m.transform(x, batch_size=37)
    assert f.dtype == np.float64 and f.shape == (200, 16)
    np.testing.assert_allclose(f.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(f.std(axis=0, ddof=1), 1.0, atol=1e-3)
    # batching does not change the result
    np.testing.assert_allclose(m.transform(x, batch_size=1000), f, rtol=1e-5, atol=1e-5)


def test_nonlinearity_changes_features() -> None:
    x = _images(3)
    outs = {
        nl: RandomConvFeatures(num_filters=2, kernel_size=3, nonlinearity=nl).raw(x)
        for nl in ["relu", "tanh", "abs", "identity"]
    }
    assert torch.all(outs["relu"] >= 0) and torch.all(outs["abs"] >= 0)
    assert not torch.allclose(outs["identity"], outs["relu"])


def test_transform_before_fit_raises() -> None:
    m = RandomConvFeatures(num_filters=2, kernel_size=3)
    with pytest.raises(RuntimeError, match="before fit"):
        m.transform(_images(2))


def test_wrong_input_shape_raises() -> None:
    m = RandomConvFeatures(in_channels=1, num_filters=2, kernel_size=3)
    with pytest.raises(ValueError, match=r"input must have shape \(N, 1, H, W\)"):
        m(_images(2, c=3))
    with pytest.raises(ValueError, match="input must have shape"):
        m(torch.rand(2, 8, 8))
    with pytest.raises(ValueError, match="smaller than kernel_size"):
        RandomConvFeatures(num_filters=2, kernel_size=5)(torch.rand(1, 1, 3, 3))


def test_works_in_sequential() -> None:
    feats = RandomConvFeatures(num_filters=2, kernel_size=3, pool_size=2)
    feats.fit(_images(20))
    model = nn.Sequential(feats, nn.Linear(8, 3))
    out = model(_images(5))
    assert out.shape == (5, 3)
    out.sum().backward()
    # only the linear layer is trainable
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert len(trainable) == 2 and all(p.grad is not None for p in trainable)
    torch.testing.assert_close(model(_images(5)), model[1](feats(_images(5))))


def test_state_dict_round_trip() -> None:
    x = _images(30, seed=2)
    a = RandomConvFeatures(num_filters=3, kernel_size=3, pool_size=2, seed=1).fit(x)
    state = a.state_dict()
    assert {"weight", "mean", "std"} <= set(state)
    b = RandomConvFeatures(num_filters=3, kernel_size=3, pool_size=2, seed=99)
    assert not torch.allclose(a(x), b(x))
    b.load_state_dict(state)
    torch.testing.assert_close(b(x), a(x), rtol=0, atol=0)
    # the fitted flag travels with the state: a reloaded fitted module can transform
    assert b.fitted
    np.testing.assert_array_equal(b.transform(x), a.transform(x))
    # and an unfitted state stays unfitted
    c = RandomConvFeatures(num_filters=3, kernel_size=3, pool_size=2)
    c.load_state_dict(RandomConvFeatures(num_filters=3, kernel_size=3, pool_size=2).state_dict())
    with pytest.raises(RuntimeError, match="before fit"):
        c.transform(x)


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError) as info:
        RandomConvFeatures(nonlinearity="sigmoid")
    msg = str(info.value)
    assert "'nonlinearity' must be one of" in msg
    for choice in ["relu", "tanh", "abs", "identity"]:
        assert choice in msg
    with pytest.raises(ValueError, match="'pool' must be one of avg, max"):
        RandomConvFeatures(pool="min")
    with pytest.raises(ValueError, match="'num_filters' must be an integer >= 1, got 0"):
        RandomConvFeatures(num_filters=0)
    with pytest.raises(TypeError, match="'kernel_size' must be an integer"):
        RandomConvFeatures(kernel_size=2.5)  # type: ignore[arg-type]


def test_torch_save_load_weights_only() -> None:
    x = _images(20, seed=3)
    a = RandomConvFeatures(num_filters=2, kernel_size=3, pool_size=2).fit(x)
    buffer = io.BytesIO()
    torch.save(a.state_dict(), buffer)
    buffer.seek(0)
    b = RandomConvFeatures(num_filters=2, kernel_size=3, pool_size=2, seed=1)
    b.load_state_dict(torch.load(buffer, weights_only=True))
    np.testing.assert_array_equal(b.transform(x), a.transform(x))
