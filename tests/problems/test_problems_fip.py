"""Forward Interval Propagation: soundness (hypothesis), tightness on points, grids, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridqnn.problems.fip import forward_interval_propagation, quantize_activation, sample_bounds
from hybridqnn.problems.qcbo import WeightCode


@st.composite
def networks(draw: st.DrawFn):
    n0 = draw(st.integers(1, 4))
    hidden = draw(st.lists(st.integers(1, 4), min_size=0, max_size=2))
    n_out = draw(st.integers(1, 2))
    sizes = (n0, *hidden, n_out)
    codes = [
        draw(
            st.builds(
                WeightCode,
                st.sampled_from(["binary", "ternary", "kbit"]),
                st.integers(1, 3),
                st.floats(0.1, 2.0),
            )
        )
        for _ in range(len(sizes) - 1)
    ]
    low = np.array(draw(st.lists(st.floats(-3, 3), min_size=n0, max_size=n0)))
    width = np.array(draw(st.lists(st.floats(0, 3), min_size=n0, max_size=n0)))
    acts = [draw(st.sampled_from(["relu", "sigmoid", "tanh", "gelu", "identity"])) for _ in hidden]
    segments = draw(st.integers(1, 5))
    bits = draw(st.one_of(st.none(), st.integers(1, 3)))
    bias = draw(st.booleans())
    return sizes, codes, low, low + width, acts, segments, bits, bias


def _forward(fip, weights, x, bits):
    """An independent forward pass: z^l = W^l a (+ bias), a = spline (then quantized)."""
    zs = []
    a = x
    for li, (W, lb) in enumerate(zip(weights, fip.layers, strict=False), start=1):
        if fip.bias:
            a = np.append(a, 1.0)
        z = W @ a
        zs.append(z)
        if li == len(fip.layers):
            break
        act = np.array(
            [lb.act_low[j] if sp is None else sp(z[j]) for j, sp in enumerate(lb.splines)]
        )
        a = act if bits is None else quantize_activation(act, lb.act_low, lb.act_high, bits)
    return zs


@given(networks(), st.integers(0, 2**32 - 1))
def test_random_weights_and_inputs_stay_inside_the_bounds(net, seed: int) -> None:
    sizes, codes, low, high, acts, segments, bits, bias = net
    fip = forward_interval_propagation(
        low, high, sizes, [c.levels for c in codes], acts, segments, bias=bias
    )
    rng = np.random.default_rng(seed)
    for _ in range(20):
        weights = [
            rng.choice(c.levels, size=(sizes[li + 1], sizes[li] + int(bias)))
            for li, c in enumerate(codes)
        ]
        x = rng.uniform(low, high)
        per_sample = sample_bounds(fip, x, bits)
        for lb, (slo, shi), z in zip(
            fip.layers, per_sample, _forward(fip, weights, x, bits), strict=False
        ):
            tol = 1e-9 * (1 + np.abs(z))
            assert np.all(z >= lb.low - tol) and np.all(z <= lb.high + tol)
            assert np.all(z >= slo - tol) and np.all(z <= shi + tol)
            assert np.all(slo >= lb.low - tol) and np.all(shi <= lb.high + tol)


def test_bounds_are_attained_for_a_point_input() -> None:
    # one sample and independent weights: layer 1's bounds are exactly attained
    levels = WeightCode("kbit", 2, 0.5).levels
    x = np.array([0.3, -1.2, 2.0])
    fip = forward_interval_propagation(x, x, (3, 2, 1), [levels, levels], "relu", 3)
    w_min = levels[np.argmin(np.outer(x, levels), axis=1)]
    w_max = levels[np.argmax(np.outer(x, levels), axis=1)]
    assert fip.layers[0].low[0] == pytest.approx(w_min @ x)
    assert fip.layers[0].high[1] == pytest.approx(w_max @ x)


def test_grid_is_uniform_on_each_neuron_range() -> None:
    fip = forward_interval_propagation([0, -1], [1, 1], (2, 3, 1), [[-1, 1], [-1, 1]], "tanh", 4)
    lb = fip.layers[0]
    for j, sp in enumerate(lb.splines):
        np.testing.assert_allclose(sp.knots, np.linspace(lb.low[j], lb.high[j], 5))
        np.testing.assert_allclose(sp.values, np.tanh(sp.knots))
        assert lb.act_low[j] == pytest.approx(np.tanh(lb.low[j]))
    # layer 2 sees the activation range [tanh(-2), tanh(2)] on each of 3 inputs
    assert fip.layers[1].high[0] == pytest.approx(3 * np.tanh(2.0))
    assert fip.sizes == (2, 3, 1)


def test_constant_neuron_has_no_grid() -> None:
    fip = forward_interval_propagation([0.0], [0.0], (1, 1, 1), [[-1, 1], [-1, 1]], "sigmoid", 3)
    assert fip.layers[0].splines[0] is None
    assert fip.layers[0].act_low[0] == pytest.approx(0.5) == fip.layers[0].act_high[0]


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"segments": 0}, "'segments'"),
        ({"input_low": [0.0, 2.0]}, "empty"),
        ({"input_high": [1.0, float("nan")]}, "finite"),
        ({"weight_levels": [[-1, np.inf], [-1, 1]]}, "finite"),
        ({"activations": "swish"}, "'activations'"),
        ({"sizes": (2, 1)}, "'weight_levels'"),
    ],
)
def test_bad_input(kwargs: dict, text: str) -> None:
    args = {
        "input_low": [0.0, 0.0],
        "input_high": [1.0, 1.0],
        "sizes": (2, 2, 1),
        "weight_levels": [[-1, 1], [-1, 1]],
        "activations": "relu",
        "segments": 2,
    } | kwargs
    with pytest.raises(ValueError, match=text):
        forward_interval_propagation(**args)


def test_infeasible_bounds_name_the_layer_and_neuron() -> None:
    # layer-1 neuron ranges are [-2, 2]; a clip range above them is infeasible
    with pytest.raises(ValueError, match="infeasible bounds at layer 1, neuron 1"):
        forward_interval_propagation(
            [0, 0],
            [1, 1],
            (2, 2, 1),
            [[-1, 1], [-1, 1]],
            "relu",
            2,
            clip=[(np.array([-5.0, 3.0]), np.array([5.0, 4.0]))],
        )
    fip = forward_interval_propagation(
        [0, 0],
        [1, 1],
        (2, 2, 1),
        [[-1, 1], [-1, 1]],
        "relu",
        2,
        clip=[(np.array([-5.0, 1.5]), np.array([5.0, 4.0]))],
    )
    with pytest.raises(ValueError, match="infeasible bounds at layer 1, neuron 1"):
        sample_bounds(fip, np.array([0.5, 0.2]))  # this sample reaches at most 0.7 < 1.5
    with pytest.raises(ValueError, match="'x' must be finite"):
        sample_bounds(fip, np.array([0.5, np.nan]))


def test_quantize_activation_ties() -> None:
    low, high = np.array([0.0]), np.array([3.0])  # 2 bits: grid 0, 1, 2, 3
    mid = np.array([1.5])
    assert quantize_activation(mid, low, high, 2, ties="down")[0] == 1.0
    assert quantize_activation(mid, low, high, 2, ties="up")[0] == 2.0
    assert quantize_activation(mid, low, high, 2)[0] == 2.0  # half to even
    np.testing.assert_allclose(
        quantize_activation(np.array([-1.0, 0.4, 9.0]), low, high, 2), [0, 0, 3]
    )
    with pytest.raises(ValueError, match="'ties'"):
        quantize_activation(mid, low, high, 2, ties="away")


@settings(deadline=None)
@given(networks(), st.integers(0, 2**32 - 1), st.sampled_from([2**-2, 2**-4, 2**-6]))
def test_integer_grid_is_sound_and_on_its_units(net, seed: int, unit: float) -> None:
    """On the integer grid: inputs, pre-activations and activations are integer multiples of
    their units, the knots too, and the (rounded-outward) bounds still hold."""
    sizes, codes, low, high, acts, segments, bits, bias = net
    codes = [WeightCode(c.kind, c.bits, 2.0 ** round(np.log2(c.scale))) for c in codes]
    K = bits or 2
    fip = forward_interval_propagation(
        low,
        high,
        sizes,
        [c.levels for c in codes],
        acts,
        segments,
        bias=bias,
        input_unit=unit,
        activation_bits=K,
    )
    assert np.all(fip.input_low <= low) and np.all(fip.input_high >= high)
    rng = np.random.default_rng(seed)
    for _ in range(10):
        weights = [
            rng.choice(c.levels, size=(sizes[li + 1], sizes[li] + int(bias)))
            for li, c in enumerate(codes)
        ]
        x = fip.quantize_inputs(rng.uniform(fip.input_low, fip.input_high))
        zs = _forward(fip, weights, x, K)
        for lb, z in zip(fip.layers, zs, strict=True):
            assert np.all(np.abs(z / lb.unit - np.rint(z / lb.unit)) < 1e-6)
            tol = 1e-9 * (1 + np.abs(z))
            assert np.all(z >= lb.low - tol) and np.all(z <= lb.high + tol)
            if lb.act_unit is not None:
                for sp in lb.splines:
                    if sp is not None:
                        assert np.all(
                            np.abs(sp.knots / lb.unit - np.rint(sp.knots / lb.unit)) < 1e-6
                        )
                        assert np.all(
                            np.abs(sp.values / lb.act_unit - np.rint(sp.values / lb.act_unit))
                            < 1e-6
                        )
                for A, B in zip(lb.act_low, lb.act_high, strict=True):
                    step = (B - A) / (2**K - 1)
                    assert abs(step / lb.act_unit - round(step / lb.act_unit)) < 1e-6


def test_integer_grid_errors() -> None:
    with pytest.raises(ValueError, match="'input_unit' must be a power of two"):
        forward_interval_propagation([0], [1], (1, 1), [[-1, 1]], input_unit=0.3, activation_bits=2)
    with pytest.raises(ValueError, match="'activation_bits' must be given"):
        forward_interval_propagation([0], [1], (1, 1, 1), [[-1, 1], [-1, 1]], input_unit=0.25)
    with pytest.raises(ValueError, match=r"power-of-two scale on an integer grid, got scale 0\.3"):
        forward_interval_propagation(
            [0], [1], (1, 1), [[-0.3, 0.3]], input_unit=0.25, activation_bits=2
        )
