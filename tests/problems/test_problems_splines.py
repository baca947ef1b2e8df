"""Linear splines: the (h^2/8) max|f''| bound, exactness at knots, extrapolation, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn.problems.splines import (
    activation_spline,
    curvature_bound,
    error_bound,
    linear_spline,
    loss_spline,
    max_error,
)

SMOOTH = ["sigmoid", "tanh", "gelu", "logistic", "mse", "identity"]


@given(
    st.sampled_from(SMOOTH),
    st.floats(-8, 8),
    st.floats(0.05, 12),
    st.integers(1, 40),
)
def test_measured_error_within_bound(name: str, low: float, width: float, segments: int) -> None:
    high = low + width
    sp = linear_spline(name, low, high, segments)
    measured = max_error(name, sp)
    bound = error_bound(name, low, high, segments)
    assert measured <= bound * (1 + 1e-9) + 1e-12
    # the spline interpolates: exact at every knot
    f = np.asarray(linear_spline(name, low, high, segments).values)
    np.testing.assert_allclose(sp(sp.knots), f, rtol=1e-12, atol=1e-12)


@given(st.floats(-3, 3), st.floats(0.1, 5), st.integers(1, 30))
def test_bound_for_a_user_function(low: float, width: float, segments: int) -> None:
    sp = linear_spline(np.sin, low, low + width, segments)
    assert max_error(np.sin, sp) <= error_bound(1.0, low, low + width, segments) + 1e-12


def test_bound_is_tight_for_a_quadratic() -> None:
    # (1 - m)^2 has f'' = 2: error h^2/4 at every midpoint, exactly the bound
    sp = loss_spline("mse", -2.0, 2.0, 4)
    assert max_error("mse", sp) == pytest.approx(error_bound("mse", -2.0, 2.0, 4), rel=1e-12)
    assert error_bound("mse", -2.0, 2.0, 4) == pytest.approx(1.0 * 1.0 / 8 * 2)


def test_error_is_second_order() -> None:
    e1 = max_error("sigmoid", activation_spline("sigmoid", -4, 4, 8))
    e2 = max_error("sigmoid", activation_spline("sigmoid", -4, 4, 16))
    assert 3.0 < e1 / e2 < 5.0


def test_relu_kink_on_a_knot_is_exact_and_off_a_knot_is_not() -> None:
    assert max_error("relu", activation_spline("relu", -1, 1, 2)) < 1e-15
    assert max_error("relu", activation_spline("relu", -1, 2, 2)) > 0.1
    assert curvature_bound("relu", -1, 2) == math.inf
    assert curvature_bound("relu", 0.5, 2) == 0.0


def test_curvature_of_sigmoid_is_its_known_maximum() -> None:
    assert curvature_bound("sigmoid", -10, 10) == pytest.approx(1 / (6 * math.sqrt(3)), rel=1e-9)
    assert curvature_bound("tanh", -10, 10) == pytest.approx(4 / (3 * math.sqrt(3)), rel=1e-9)


def test_slopes_intercepts_extrapolation_and_range() -> None:
    sp = activation_spline("relu", -1.0, 3.0, 4)
    np.testing.assert_allclose(sp.slopes, [0, 1, 1, 1])
    np.testing.assert_allclose(sp.intercepts, [0, 0, 0, 0])
    np.testing.assert_allclose(sp(np.array([-5.0, 10.0])), [0.0, 10.0])  # end pieces extended
    z = np.linspace(-0.5, 2.5, 1001)
    lo, hi = sp.range_on(-0.5, 2.5)
    assert lo == pytest.approx(sp(z).min()) and hi == pytest.approx(sp(z).max())


@pytest.mark.parametrize(
    ("kwargs", "exc", "text"),
    [
        ({"segments": 0}, ValueError, "'segments'"),
        ({"low": 1.0, "high": 1.0}, ValueError, "non-empty"),
        ({"low": 2.0, "high": 1.0}, ValueError, "non-empty"),
        ({"low": float("nan")}, ValueError, "finite"),
        ({"high": float("inf")}, ValueError, "finite"),
        ({"f": "swish"}, ValueError, "'name'"),
        ({"f": lambda z: np.where(z > 0, np.inf, 0.0)}, ValueError, "finite"),
        ({"segments": 2.5}, TypeError, "'segments'"),
    ],
)
def test_bad_input(kwargs: dict, exc: type, text: str) -> None:
    args = {"f": "sigmoid", "low": -1.0, "high": 1.0, "segments": 3} | kwargs
    with pytest.raises(exc, match=text):
        linear_spline(**args)


def test_unknown_activation_and_loss_names() -> None:
    with pytest.raises(ValueError, match="'activation'"):
        activation_spline("logistic", -1, 1, 2)
    with pytest.raises(ValueError, match="'loss'"):
        loss_spline("relu", -1, 1, 2)


def test_grid_spline_rounds_outward_to_its_units() -> None:
    from hybridqnn.problems.splines import grid_spline

    sp = grid_spline("relu", -0.3, 0.7, 3, 0.25, 0.125)
    assert sp.knots[0] <= -0.3 and sp.knots[-1] >= 0.7
    np.testing.assert_allclose(sp.knots / 0.25, np.rint(sp.knots / 0.25))
    np.testing.assert_allclose(sp.values / 0.125, np.rint(sp.values / 0.125))
    np.testing.assert_allclose(np.diff(sp.knots), sp.width)
    with pytest.raises(ValueError, match="'knot_unit' must be a finite number > 0"):
        grid_spline("relu", 0.0, 1.0, 2, 0.0)
