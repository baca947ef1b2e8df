"""The QCBO model: exact optimum = brute force over the weights, per-weight consistency,
weight codes, proximal terms, counts and errors."""

from __future__ import annotations

import copy
import itertools

import dimod
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybridqnn.problems.qcbo import QCBOModel, WeightBlock, WeightCode, build_qcbo
from hybridqnn.solvers.milp import MILPSolver


def _brute_force(model: QCBOModel) -> float:
    """min over every weight assignment of the network's spline loss (independent of the CQM)."""
    shapes = model.network.weight_shapes()
    per_layer = [
        itertools.product(code.levels, repeat=int(np.prod(shape)))
        for code, shape in zip(model.network.codes, shapes, strict=False)
    ]
    best = np.inf
    for combo in itertools.product(*[list(p) for p in per_layer]):
        weights = [np.array(c).reshape(s) for c, s in zip(combo, shapes, strict=False)]
        best = min(best, model.loss_of_weights(weights))
    return best


CASES = [
    # (sizes, code(s), activation, segments, activation bits, loss, loss segments, bias, products)
    ((2, 2, 1), WeightCode("binary", scale=0.7), "relu", 3, 2, "logistic", 3, False, "variables"),
    ((2, 2, 1), WeightCode("binary", scale=1.0), "tanh", 2, 1, "hinge", 3, True, "variables"),
    (
        (2, 2, 1),
        [WeightCode("ternary", scale=0.5), WeightCode("binary")],
        "sigmoid",
        2,
        2,
        "mse",
        2,
        False,
        "variables",
    ),
    ((2, 2, 1, 1), WeightCode("binary", scale=0.8), "relu", 2, 1, "logistic", 2, False, "inline"),
    ((2, 1, 2), WeightCode("binary", scale=0.9), "gelu", 2, 2, "logistic", 2, False, "variables"),
]


def _model(case, X, y, unit=None):
    """The QCBO of a CASES entry on (X, y); integer-exact on the grid ``unit`` when given."""
    sizes, codes, act, segs, kbits, loss, lsegs, bias, products = case
    return build_qcbo(
        X,
        y,
        sizes,
        codes,
        activations=act,
        segments=segs,
        activation_bits=kbits,
        loss=loss,
        loss_segments=lsegs,
        bias=bias,
        products=products,
        input_unit=unit,
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[2]}-{c[5]}-{c[8]}")
def test_exact_optimum_equals_brute_force_over_weights(case) -> None:
    sizes, codes, act, segs, kbits, loss, lsegs, bias, products = case
    rng = np.random.default_rng(7)
    X = rng.uniform(-1, 1, size=(3, sizes[0]))
    y = np.array([0, 1, 1]) if sizes[-1] > 1 else np.array([1, -1, 1])
    model = _model(case, X, y)
    sampleset = MILPSolver().sample_cqm(model.cqm)
    best = sampleset.first
    assert best.is_feasible
    expected = _brute_force(model)
    assert best.energy == pytest.approx(expected, rel=1e-7, abs=1e-7)
    # the optimal weights decoded from the sample reach that loss in the network itself
    assert model.loss_of_weights(model.decode_weights(best.sample)) == pytest.approx(
        expected, rel=1e-7, abs=1e-7
    )


def test_fixing_the_weights_leaves_exactly_the_network_loss() -> None:
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 2, size=(2, 3))
    y = np.array([1, -1])
    model = build_qcbo(
        X,
        y,
        (3, 2, 1),
        WeightCode("kbit", 2, 0.4),
        activations="tanh",
        segments=3,
        activation_bits=2,
        loss="logistic",
        loss_segments=3,
    )
    levels = model.network.codes[0].levels
    for _ in range(4):
        weights = [rng.choice(levels, size=s) for s in model.network.weight_shapes()]
        cqm = copy.deepcopy(model.cqm)
        cqm.fix_variables(model.encode_weights(weights))
        energy = MILPSolver().sample_cqm(cqm).first.energy
        assert energy == pytest.approx(model.loss_of_weights(weights), rel=1e-7, abs=1e-7)


def test_weight_codes() -> None:
    np.testing.assert_allclose(WeightCode("binary", scale=0.5).levels, [-0.5, 0.5])
    np.testing.assert_allclose(WeightCode("ternary", scale=2).levels, [-2, 0, 2])
    np.testing.assert_allclose(WeightCode("kbit", 2).levels, [-3, -1, 1, 3])
    assert WeightCode("ternary").bits_per_weight == pytest.approx(np.log2(3))
    for code in (
        WeightCode("binary"),
        WeightCode("ternary", scale=0.3),
        WeightCode("kbit", 3, 0.1),
    ):
        np.testing.assert_allclose(code.decode(code.encode(code.levels)), code.levels)
    with pytest.raises(ValueError, match="'kind'"):
        WeightCode("quaternary")
    with pytest.raises(ValueError, match="'scale'"):
        WeightCode("binary", scale=0.0)


def test_counts_and_labels() -> None:
    X = np.array([[0.1, 0.9], [-0.4, 0.3]])
    model = build_qcbo(
        X,
        [1, -1],
        (2, 3, 1),
        WeightCode("ternary"),
        segments=2,
        activation_bits=2,
        bias=True,
        sample_ids=["a", "b"],
        weight_label=lambda li, j, i, k: ("W", li, j, i, k),
    )
    c = model.counts
    assert c["weights"] == 2 * (3 * 3 + 1 * 4)
    assert (
        c["total"]
        == len(model.cqm.variables)
        == sum(c[k] for k in ("weights", "selectors", "activations", "products", "loss_selectors"))
    )
    assert c["constraints"] == len(model.cqm.constraints)
    assert ("W", 1, 0, 0, 0) in model.cqm.variables
    assert all(v[0] == "W" or v[1] in ("a", "b") for v in model.cqm.variables)
    assert all(model.cqm.vartype(v) is dimod.BINARY for v in model.cqm.variables)


@given(st.integers(0, 2**32 - 1), st.floats(0, 3))
def test_weight_terms_equal_the_proximal_formula(seed: int, rho: float) -> None:
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(1, 2))
    model = build_qcbo(
        X,
        [1],
        (2, 2, 1),
        [WeightCode("kbit", 2, 0.3), WeightCode("ternary", scale=0.6)],
        segments=1,
        activation_bits=1,
        loss_segments=1,
    )
    shapes = model.network.weight_shapes()
    lam = [rng.normal(size=s) for s in shapes]
    w_bar = [rng.normal(size=s) for s in shapes]
    bqm = model.weight_terms(lam, rho, w_bar)
    for _ in range(5):
        weights = [
            rng.choice(c.levels, size=s) for c, s in zip(model.network.codes, shapes, strict=False)
        ]
        expected = sum(
            float((lm * w).sum() + 0.5 * rho * ((w - wb) ** 2).sum())
            for lm, w, wb in zip(lam, weights, w_bar, strict=False)
        )
        assert bqm.energy(model.encode_weights(weights)) == pytest.approx(
            expected, rel=1e-9, abs=1e-9
        )
    sub = model.with_weight_terms(lam, rho, w_bar)
    assert sub.cqm.objective.num_variables >= model.cqm.objective.num_variables
    sample = {v: 0 for v in model.cqm.variables}
    assert sub.cqm.objective.energy(sample) == pytest.approx(
        model.cqm.objective.energy(sample) + bqm.energy(sample)
    )


@pytest.mark.parametrize(
    ("kwargs", "exc", "text"),
    [
        ({"X": np.array([[0.0, np.nan]])}, ValueError, "'X' must be finite"),
        ({"y": np.array([2])}, ValueError, "'y'"),
        ({"segments": 0}, ValueError, "'segments'"),
        ({"loss_segments": 0}, ValueError, "'loss_segments'"),
        ({"activation_bits": 0}, ValueError, "'activation_bits'"),
        ({"products": "cubic"}, ValueError, "'products'"),
        ({"loss": "relu"}, ValueError, "'loss'"),
        ({"sizes": (3, 2, 1)}, ValueError, "'sizes'"),
        ({"input_low": np.array([1.0, 1.0])}, ValueError, "empty"),
        ({"weights": "binary"}, TypeError, "'weights'"),
    ],
)
def test_bad_input(kwargs: dict, exc: type, text: str) -> None:
    args = {"X": np.array([[0.2, 0.5]]), "y": np.array([1]), "sizes": (2, 2, 1)} | kwargs
    with pytest.raises(exc, match=text):
        build_qcbo(**args)


@pytest.mark.parametrize("products", ["variables", "inline"])
def test_complete_gives_the_feasible_point_of_any_weights(products: str) -> None:
    rng = np.random.default_rng(5)
    X = rng.uniform(-1, 1, size=(3, 2))
    y = np.array([1, -1, 1])
    model = build_qcbo(
        X,
        y,
        (2, 3, 2, 1),
        WeightCode("ternary", scale=0.6),
        activations="tanh",
        segments=3,
        activation_bits=2,
        bias=True,
        products=products,
    )
    for _ in range(4):
        weights = [
            rng.choice(c.levels, size=s)
            for c, s in zip(model.network.codes, model.network.weight_shapes(), strict=True)
        ]
        full = model.complete(weights)
        assert set(full) == set(model.cqm.variables)
        assert model.cqm.check_feasible(full)
        assert model.cqm.objective.energy(full) == pytest.approx(
            model.network.loss_value(weights, X, y, ties="nearest")
        )
        # from a sample: its weight bits are kept, the rest is recomputed
        scrambled = {
            v: int(rng.integers(0, 2)) for v in model.cqm.variables
        } | model.encode_weights(weights)
        assert model.complete(scrambled) == full


@pytest.mark.parametrize("n_out", [1, 3])
def test_predictions_do_not_depend_on_the_output_scale(n_out: int) -> None:
    """Quantized weights and activations make exact logit ties common; rounding must not give
    them a sign that moves with a positive output scale (the training loop rescales it)."""
    from hybridqnn.problems.fip import forward_interval_propagation
    from hybridqnn.problems.qcbo import QuantizedSplineNetwork

    sizes = (16, 4, n_out)
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(400, 16))
    near_ties = 0
    for _ in range(20):
        units = [rng.choice([-1.0, 0.0, 1.0], size=s) for s in ((4, 17), (n_out, 5))]
        predictions = []
        for out_scale in np.geomspace(0.1, 10.0, 15).tolist():
            codes = [WeightCode("ternary", scale=0.31), WeightCode("ternary", scale=out_scale)]
            fip = forward_interval_propagation(
                np.zeros(16), np.ones(16), sizes, [c.levels for c in codes], "relu", 2, bias=True
            )
            net = QuantizedSplineNetwork.from_fip(fip, codes, (5,), "logistic", 4)
            weights = [u * c.scale for u, c in zip(units, codes, strict=True)]
            predictions.append(net.predict(weights, X))
            z = net.forward(weights, X)
            zs = np.sort(z, axis=1)
            gap = np.abs(z[:, 0]) if n_out == 1 else zs[:, -1] - zs[:, -2]  # distance to a tie
            near_ties += int(np.sum(gap < 1e-9))
        for p in predictions[1:]:
            np.testing.assert_array_equal(p, predictions[0])
    assert near_ties > 0  # the case this test is about occurs


# ------------------------------------------------------------------------------------------
# the integer-exact model (input_unit given)


def _pow2(codes):
    """The same weight code(s) with the scale rounded to the nearest power of two."""
    if isinstance(codes, list):
        return [_pow2(c) for c in codes]
    return WeightCode(codes.kind, codes.bits, 2.0 ** round(np.log2(codes.scale)))


GRID_CASES = [(c[0], _pow2(c[1]), *c[2:]) for c in CASES]



def _assert_integer(model: QCBOModel) -> None:
    for label, con in model.cqm.constraints.items():
        values = [*con.lhs.linear.values(), *con.lhs.quadratic.values(), con.lhs.offset, con.rhs]
        assert np.all(np.asarray(values) == np.rint(values)), label


@pytest.mark.parametrize("case", GRID_CASES, ids=lambda c: f"{c[0]}-{c[2]}-{c[5]}-{c[8]}")
def test_integer_model_optimum_equals_brute_force_over_weights(case) -> None:
    rng = np.random.default_rng(11)
    X = rng.uniform(-1, 1, size=(3, case[0][0]))
    y = np.array([0, 1, 1]) if case[0][-1] > 1 else np.array([1, -1, 1])
    model = _model(case, X, y, 2**-3)
    _assert_integer(model)
    assert np.all(model.X == np.rint(model.X * 8) / 8)  # inputs on the grid
    best = MILPSolver().sample_cqm(model.cqm).first
    assert best.is_feasible
    expected = _brute_force(model)
    assert best.energy == pytest.approx(expected, rel=1e-7, abs=1e-7)
    assert model.objective_range > 0


@given(
    st.integers(0, len(GRID_CASES) - 1),
    st.integers(0, 2**31 - 1),
    st.sampled_from([2**-2, 2**-4]),
)
def test_integer_model_violations_are_zero_or_at_least_one(case_idx: int, seed: int, unit) -> None:
    """Every point of the integer-exact CQM is feasible with violation 0 or violates some
    constraint by >= 1; completed weights are feasible, random bit vectors mostly are not."""
    rng = np.random.default_rng(seed)
    case = GRID_CASES[case_idx]
    X = rng.uniform(-1, 1, size=(2, case[0][0]))
    y = np.array([0, 1]) if case[0][-1] > 1 else np.array([1, -1])
    model = _model(case, X, y, unit)
    _assert_integer(model)
    variables = list(model.cqm.variables)
    levels = [c.levels for c in model.network.codes]
    points = [
        model.complete(
            [
                rng.choice(lv, size=s)
                for lv, s in zip(levels, model.network.weight_shapes(), strict=True)
            ]
        )
    ]
    points += [
        dict(zip(variables, rng.integers(0, 2, len(variables)), strict=True)) for _ in range(20)
    ]
    for k, point in enumerate(points):
        viol = np.array(list(model.cqm.violations(point, skip_satisfied=False, clip=True).values()))
        assert np.all((viol == 0) | (viol >= 1 - 1e-9))
        if k == 0:
            assert np.all(viol == 0)


def test_integer_model_bad_grid() -> None:
    X, y = np.array([[0.2, 0.5]]), np.array([1])
    with pytest.raises(ValueError, match="'input_unit' must be a power of two"):
        build_qcbo(X, y, (2, 2, 1), input_unit=0.3)
    with pytest.raises(ValueError, match="power-of-two scale"):
        build_qcbo(X, y, (2, 2, 1), WeightCode("binary", scale=0.3), input_unit=2**-4)
    model = build_qcbo(X, y, (2, 2, 1), input_unit=2**-4)
    network = model.network  # a grid FIP with a real-grid sample: the constraint is named
    lb = network.fip.layers[0]
    bad = type(network.fip)(
        network.fip.input_low,
        network.fip.input_high,
        network.fip.weight_ranges,
        network.fip.activations,
        network.fip.segments,
        network.fip.bias,
        (
            type(lb)(
                1, lb.low, lb.high, lb.splines, lb.act_low, lb.act_high, lb.unit * 3, lb.act_unit
            ),
        )
        + network.fip.layers[1:],
        input_unit=2**-4,
    )
    with pytest.raises(ValueError, match=r"the QCBO constraint '.*' is not integer on its grid"):
        build_qcbo(X, y, (2, 2, 1), fip=bad, activation_bits=2)


# block models (a WeightBlock free, every other weight fixed)


def _block_brute_force(model: QCBOModel) -> float:
    """min of the network's spline loss over the block's weights, the others fixed."""
    b = model.block
    code = model.network.codes[b.layer - 1]
    n_in = model.network.weight_shapes()[b.layer - 1][1]
    best = np.inf
    for combo in itertools.product(code.levels, repeat=len(b.rows) * n_in):
        ws = [w.copy() for w in model.fixed_weights]
        ws[b.layer - 1][b.start : b.stop] = np.reshape(combo, (len(b.rows), n_in))
        best = min(best, model.loss_of_weights(ws))
    return best


def _block_model(case, X, y, block, fixed, unit=None):
    sizes, codes, act, segs, kbits, loss, lsegs, bias, products = case
    return build_qcbo(
        X, y, sizes, codes,
        activations=act, segments=segs, activation_bits=kbits, loss=loss, loss_segments=lsegs,
        bias=bias, products=products, input_unit=unit, block=block, fixed_weights=fixed,
    )  # fmt: skip


@pytest.mark.parametrize("unit", [None, 2**-3])
@pytest.mark.parametrize("case_idx", range(len(CASES)))
def test_block_model_optimum_equals_brute_force_over_the_block(case_idx: int, unit) -> None:
    case = (GRID_CASES if unit else CASES)[case_idx]
    sizes = case[0]
    rng = np.random.default_rng(5 + case_idx)
    X = rng.uniform(-1, 1, size=(3, sizes[0]))
    y = np.array([0, 1, 1]) if sizes[-1] > 1 else np.array([1, -1, 1])
    full = _model(case, X, y, unit)
    fixed = [
        rng.choice(c.levels, size=s)
        for c, s in zip(full.network.codes, full.network.weight_shapes(), strict=True)
    ]
    for layer in range(1, len(sizes)):
        for start in range(sizes[layer]):
            model = _block_model(case, X, y, WeightBlock(layer, start, start + 1), fixed, unit)
            assert model.counts["weights"] < full.counts["weights"]
            assert not any(v[0] == "w" and v[1] != layer for v in model.cqm.variables)
            if unit:
                _assert_integer(model)
            best = MILPSolver().sample_cqm(model.cqm).first
            assert best.is_feasible
            expected = _block_brute_force(model)
            assert best.energy == pytest.approx(expected, rel=1e-7, abs=1e-7)
            decoded = model.decode_weights(best.sample)
            assert model.loss_of_weights(decoded) == pytest.approx(expected, rel=1e-7, abs=1e-7)
            for li, (w, f) in enumerate(zip(decoded, fixed, strict=True), start=1):
                rows = model.free_rows(li)
                keep = np.ones(w.shape[0], bool)
                keep[rows.start : rows.stop] = False
                np.testing.assert_array_equal(w[keep], f[keep])


@given(st.integers(0, len(CASES) - 1), st.integers(0, 2**31 - 1), st.booleans())
def test_block_model_round_trips(case_idx: int, seed: int, grid: bool) -> None:
    """decode(encode(w)) = w on the block (fixed rows from the model), complete(w) is feasible
    with the objective of the plain forward pass, and the weight terms cover every weight."""
    rng = np.random.default_rng(seed)
    case = (GRID_CASES if grid else CASES)[case_idx]
    sizes = case[0]
    X = rng.uniform(-1, 1, size=(2, sizes[0]))
    y = np.array([0, 1]) if sizes[-1] > 1 else np.array([1, -1])
    full = _model(case, X, y, 2**-3 if grid else None)
    shapes = full.network.weight_shapes()
    draw = lambda: [rng.choice(c.levels, size=s) for c, s in zip(full.network.codes, shapes, strict=True)]  # noqa: E731
    fixed, other = draw(), draw()
    layer = int(rng.integers(1, len(sizes)))
    start = int(rng.integers(0, sizes[layer]))
    block = WeightBlock(layer, start, int(rng.integers(start + 1, sizes[layer] + 1)))
    model = _block_model(case, X, y, block, fixed, 2**-3 if grid else None)
    mixed = [f.copy() for f in fixed]
    mixed[layer - 1][block.start : block.stop] = other[layer - 1][block.start : block.stop]
    back = model.decode_weights(model.encode_weights(other))
    for w, m in zip(back, mixed, strict=True):
        np.testing.assert_array_equal(w, m)
    point = model.complete(other)
    assert set(point) == set(model.cqm.variables)
    assert model.cqm.check_feasible(point, atol=1e-7)
    plain = model.network.loss_value(mixed, model.X, model.y, ties="nearest")
    assert model.cqm.objective.energy(point) == pytest.approx(plain, rel=1e-7, abs=1e-7)
    lam, w_bar = draw(), draw()
    sub = model.with_weight_terms(lam, 0.7, w_bar)
    prox = sum(np.sum(lm * w) + 0.35 * np.sum((w - b) ** 2) for lm, w, b in zip(lam, mixed, w_bar, strict=True))
    assert sub.cqm.objective.energy(point) == pytest.approx(plain + prox, rel=1e-7, abs=1e-7)


def test_block_model_bad_input() -> None:
    X, y = np.array([[0.2, 0.5]]), np.array([1])
    fixed = [np.ones((2, 2)), np.ones((1, 2))]
    with pytest.raises(ValueError, match="'block' must lie inside the network"):
        build_qcbo(X, y, (2, 2, 1), block=WeightBlock(2, 0, 2), fixed_weights=fixed)
    with pytest.raises(ValueError, match="'fixed_weights' must give one array per layer"):
        build_qcbo(X, y, (2, 2, 1), block=WeightBlock(1, 0, 1))
    with pytest.raises(ValueError, match="must hold levels"):
        build_qcbo(X, y, (2, 2, 1), block=WeightBlock(1, 0, 1), fixed_weights=[np.full((2, 2), 0.5), fixed[1]])
    with pytest.raises(ValueError, match="needs a 'block'"):
        build_qcbo(X, y, (2, 2, 1), fixed_weights=fixed)
    with pytest.raises(ValueError, match="'stop' must be greater than start 1, got 1"):
        WeightBlock(1, 1, 1)
