"""DenseIsing: conversions from and to dimod BQMs, and the dense head builder, by enumeration."""

from __future__ import annotations

import itertools

import dimod
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn.problems import DenseIsing, FixedPointEncoding, quadratic_to_bqm, quadratic_to_dense
from hybridqnn.testing.conformance import awkward_labels, random_bqm


def _all_spins(n: int) -> np.ndarray:
    return np.array(list(itertools.product([-1, 1], repeat=n)), dtype=np.int8)


@given(
    n=st.integers(1, 8), seed=st.integers(0, 10_000), vartype=st.sampled_from(["BINARY", "SPIN"])
)
def test_from_bqm_energies_match_dimod(n: int, seed: int, vartype: str) -> None:
    bqm = random_bqm(n, vartype, seed, labels=awkward_labels(n))
    model, labels = DenseIsing.from_bqm(bqm)
    assert labels == list(bqm.variables)
    spins = _all_spins(n)
    samples = spins if vartype == "SPIN" else (spins + 1) // 2
    np.testing.assert_allclose(
        model.energies(spins), bqm.energies((samples, labels)), rtol=1e-10, atol=1e-10
    )
    np.testing.assert_array_equal(model.J, model.J.T)
    assert np.all(np.diag(model.J) == 0)


@given(n=st.integers(1, 7), seed=st.integers(0, 10_000))
def test_to_bqm_round_trip(n: int, seed: int) -> None:
    bqm = random_bqm(n, "SPIN", seed)
    model, _ = DenseIsing.from_bqm(bqm)
    spins = _all_spins(n)
    for vartype in ("SPIN", "BINARY"):
        back = model.to_bqm(vartype)
        samples = spins if vartype == "SPIN" else (spins + 1) // 2
        np.testing.assert_allclose(
            back.energies((samples, range(n))), model.energies(spins), rtol=1e-10, atol=1e-10
        )


def test_local_fields_give_flip_costs() -> None:
    bqm = random_bqm(6, "SPIN", 3)
    model, _ = DenseIsing.from_bqm(bqm)
    s = _all_spins(6)[17]
    base = model.energies(s[None])[0]
    f = model.local_fields(s[None])[0]
    for i in range(6):
        t = s.copy()
        t[i] = -t[i]
        assert model.energies(t[None])[0] - base == pytest.approx(-2 * s[i] * f[i])


def test_nonfinite_and_bad_shapes_are_errors() -> None:
    with pytest.raises(ValueError, match="finite"):
        DenseIsing(np.array([np.nan]), np.zeros((1, 1)))
    with pytest.raises(ValueError, match="shape"):
        DenseIsing(np.zeros(2), np.zeros((3, 3)))


@pytest.mark.parametrize("seed", range(4))
def test_quadratic_to_dense_equals_quadratic_to_bqm(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, bits = 3, 3
    a = rng.normal(size=(n, n))
    hess = a @ a.T + 0.1 * np.eye(n)
    g = rng.normal(size=(2, n))
    enc = FixedPointEncoding(bits, rng.uniform(-2, -0.5, n), rng.uniform(0.5, 2, n))
    models = quadratic_to_dense(hess, g, enc, [0.3, -1.2])
    assert models[0].J is models[1].J  # one coupling matrix for all rows
    spins = _all_spins(n * bits)
    for i, c in enumerate([0.3, -1.2]):
        bqm = quadratic_to_bqm(hess, g[i], enc, c)
        np.testing.assert_allclose(
            models[i].energies(spins),
            bqm.energies(((spins + 1) // 2, range(n * bits))),
            rtol=1e-10,
            atol=1e-10,
        )


def test_bqm_built_from_dense_is_a_dimod_bqm() -> None:
    model = DenseIsing(np.array([1.0, -1.0]), np.array([[0.0, 0.5], [0.5, 0.0]]), 2.0)
    bqm = model.to_bqm()
    assert isinstance(bqm, dimod.BinaryQuadraticModel)
    assert bqm.quadratic[(0, 1)] == pytest.approx(0.5)
    assert bqm.offset == pytest.approx(2.0)
