"""quadratic_to_bqm, checked by enumerating every bit string on small sizes."""

from __future__ import annotations

import dimod
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn.problems import FixedPointEncoding, quadratic_objective, quadratic_to_bqm


def _all_bit_strings(m: int) -> np.ndarray:
    return ((np.arange(2**m)[:, None] >> np.arange(m)) & 1).astype(np.int8)


@st.composite
def small_problems(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, float, FixedPointEncoding]:
    n = draw(st.integers(1, 4))
    k = draw(st.integers(1, 10 // n))
    assert n * k <= 10
    seed = draw(st.integers(0, 2**32 - 1))
    symmetric = draw(st.booleans())
    per_coord = draw(st.booleans())
    rng = np.random.default_rng(seed)
    h = rng.normal(size=(n, n)) * draw(st.sampled_from([0.1, 1.0, 10.0]))
    if symmetric:
        h = h + h.T
    g = rng.normal(size=n)
    offset = float(rng.normal() * 5)
    if per_coord:
        low = rng.uniform(-3, 1, size=n)
        enc = FixedPointEncoding(k, low, low + rng.uniform(0.1, 4, size=n))
    else:
        r = float(rng.uniform(0.1, 3))
        enc = FixedPointEncoding.symmetric(k, r, size=n)
    return h, g, offset, enc


@given(small_problems())
def test_bqm_energy_equals_objective_for_every_bit_string(problem) -> None:
    h, g, c, enc = problem
    bqm = quadratic_to_bqm(h, g, enc, offset=c)
    m = enc.num_variables
    assert bqm.vartype is dimod.BINARY
    assert list(bqm.variables) == list(range(m))
    b = _all_bit_strings(m)
    energies = bqm.energies((b, list(range(m))))
    # independent evaluation: decode by hand (x_j = low_j + step_j * sum_k 2^k b_jk), raw H
    ints = b.reshape(-1, enc.size, enc.bits) @ (2.0 ** np.arange(enc.bits))
    x = enc.low + (enc.high - enc.low) / (2**enc.bits - 1) * ints
    expected = 0.5 * np.einsum("si,ij,sj->s", x, h, x) + x @ g + c
    scale = 1.0 + np.abs(expected).max()
    np.testing.assert_allclose(energies, expected, rtol=0, atol=1e-9 * scale)
    # the library's own objective agrees too
    np.testing.assert_allclose(quadratic_objective(h, g, x, c), expected, rtol=0, atol=1e-9 * scale)


def test_nonsymmetric_input_uses_symmetric_part() -> None:
    rng = np.random.default_rng(3)
    h = rng.normal(size=(3, 3))
    g = rng.normal(size=3)
    enc = FixedPointEncoding(2, -1.0, 2.0, size=3)
    a = quadratic_to_bqm(h, g, enc, 1.5)
    b = quadratic_to_bqm(0.5 * (h + h.T), g, enc, 1.5)
    samples = _all_bit_strings(6)
    np.testing.assert_allclose(
        a.energies((samples, range(6))), b.energies((samples, range(6))), atol=1e-12
    )


def test_known_tiny_case() -> None:
    # n = 1, K = 1 on [0, 1]: x = b, f = 1/2 * 4 x^2 + 3 x + 2 -> f(0) = 2, f(1) = 7
    enc = FixedPointEncoding(1, 0.0, 1.0)
    bqm = quadratic_to_bqm(np.array([[4.0]]), np.array([3.0]), enc, offset=2.0)
    assert bqm.energy({0: 0}) == pytest.approx(2.0)
    assert bqm.energy({0: 1}) == pytest.approx(7.0)


def test_shape_mismatch_names_parameter() -> None:
    enc = FixedPointEncoding(2, -1.0, 1.0, size=3)
    with pytest.raises(ValueError, match="'hessian' must have shape \\(3, 3\\)"):
        quadratic_to_bqm(np.eye(2), np.zeros(3), enc)
    with pytest.raises(ValueError, match="'hessian'"):
        quadratic_to_bqm(np.ones(3), np.zeros(3), enc)
    with pytest.raises(ValueError, match="'linear' must have shape \\(3,\\)"):
        quadratic_to_bqm(np.eye(3), np.zeros(4), enc)
    with pytest.raises(ValueError, match="'linear'"):
        quadratic_to_bqm(np.eye(3), np.zeros((3, 1)), enc)


def test_non_finite_inputs() -> None:
    enc = FixedPointEncoding(2, -1.0, 1.0, size=2)
    h = np.eye(2)
    h[0, 1] = np.nan
    with pytest.raises(ValueError, match="must be finite"):
        quadratic_to_bqm(h, np.zeros(2), enc)
    with pytest.raises(ValueError, match="must be finite"):
        quadratic_to_bqm(np.eye(2), np.array([np.inf, 0.0]), enc)


def test_binary_least_squares_by_enumeration() -> None:
    import itertools

    from hybridqnn.problems import binary_least_squares

    rng = np.random.default_rng(4)
    x = rng.normal(size=(7, 5))
    v = rng.normal(size=7)
    model = binary_least_squares(x, v)
    spins = np.array(list(itertools.product([-1, 1], repeat=5)))
    direct = ((v[None, :] - spins @ x.T) ** 2).sum(axis=1)
    np.testing.assert_allclose(model.energies(spins), direct, rtol=1e-12, atol=1e-9)
    # with X = I the minimiser is sign(v) (signSGD)
    eye = binary_least_squares(np.eye(5), v[:5])
    best = spins[np.argmin(eye.energies(spins))]
    np.testing.assert_array_equal(best, np.where(v[:5] >= 0, 1, -1))


# ------------------------------------------------------------------------ FixedPointQuadratic


@given(small_problems())
def test_fixed_point_quadratic_energy_equals_objective_bqm_and_dense(problem) -> None:
    from hybridqnn.problems import FixedPointQuadratic

    h, g, offset, enc = problem
    model = FixedPointQuadratic(h, g, enc, offset)
    bits = _all_bit_strings(enc.num_variables)
    spins = 2 * bits - 1
    expected = quadratic_objective(h, g, enc.decode(bits), offset)
    np.testing.assert_allclose(model.energies(spins), expected, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(model.to_dense().energies(spins), expected, rtol=1e-9, atol=1e-9)
    bqm = model.to_bqm()
    np.testing.assert_allclose(bqm.energies((bits, range(enc.num_variables))), expected, rtol=1e-9, atol=1e-9)
    assert model.num_interactions == bqm.num_interactions
    np.testing.assert_array_equal(model.hessian, model.hessian.T)


def test_fixed_point_quadratic_batch_shares_one_hessian() -> None:
    from hybridqnn.problems import FixedPointQuadratic

    enc = FixedPointEncoding.symmetric(3, 1.0, size=2)
    models = FixedPointQuadratic.batch(np.array([[2.0, 1.0], [0.0, 2.0]]), np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]]), enc, [0.0, 1.0, 2.0])
    assert len(models) == 3 and all(m.hessian is models[0].hessian for m in models)
    np.testing.assert_array_equal(models[0].hessian, [[2.0, 0.5], [0.5, 2.0]])
    assert [m.offset for m in models] == [0.0, 1.0, 2.0]
    np.testing.assert_array_equal(models[2].linear, [2.0, 2.0])
    assert not models[0].hessian.flags.writeable


def test_fixed_point_quadratic_errors_name_the_parameter() -> None:
    from hybridqnn.problems import FixedPointQuadratic

    enc = FixedPointEncoding.symmetric(3, 1.0, size=2)
    with pytest.raises(ValueError, match=r"'hessian' must have shape \(2, 2\) to match the encoding, got \(3, 3\)"):
        FixedPointQuadratic(np.eye(3), np.zeros(2), enc)
    with pytest.raises(ValueError, match=r"'linear' must have shape \(2,\), got \(1, 2\)"):
        FixedPointQuadratic(np.eye(2), np.zeros((1, 2)), enc)
    with pytest.raises(ValueError, match="'hessian' and 'linear' must be finite"):
        FixedPointQuadratic(np.eye(2), np.array([np.nan, 0.0]), enc)
