"""QCBO training, resources: spin counts and the formula, bits per weight, declared limits, spins per layer."""

from __future__ import annotations

import dimod
import numpy as np
import pytest
from dwave.samplers import SimulatedAnnealingSampler
from hypothesis import given, settings
from hypothesis import strategies as st
from qcbo_toys import SIZES, SMALL, _toy

from hybridqnn.problems.fip import forward_interval_propagation
from hybridqnn.problems.qcbo import WeightCode, build_qcbo
from hybridqnn.solvers import get_sampler
from hybridqnn.train.qcbo import (
    bits_per_weight,
    declared_limit,
    fit_qcbo,
    ising_spins,
    spin_counts,
    spin_formula,
)


def test_monolithic_spins_equal_weights_plus_per_sample_parts() -> None:
    X, y = _toy(4)
    codes = [WeightCode("binary"), WeightCode("binary")]
    fip = forward_interval_propagation(
        np.zeros(3), np.ones(3), SIZES, [c.levels for c in codes], "relu", 2, bias=True
    )
    kw = {"activation_bits": [2], "loss": "logistic", "loss_segments": 3}
    counts = spin_counts(X, y, SIZES, codes, fip=fip, **kw)
    mono = build_qcbo(X, y, SIZES, codes, fip=fip, **kw)
    assert counts["monolithic_spins"] == ising_spins(mono, 3)
    assert counts["monolithic_cqm_variables"] == mono.counts["total"]
    assert (
        counts["num_subproblems"] == 4
        and counts["weight_spins"] == mono.counts["weights"] == 2 * 4 + 1 * 3
    )
    bound = spin_formula(
        SIZES, codes, segments=2, activation_bits=2, loss_segments=3, bias=True, num_samples=4
    )
    assert bound["weights"] == counts["weight_spins"]
    assert counts["monolithic_spins"] <= bound["monolithic"]
    assert counts["subproblem_spins_max"] <= bound["subproblem"]
    # mini-batches of two: two subproblems, same monolithic total
    half = spin_counts(X, y, SIZES, codes, fip=fip, batch_size=2, **kw)
    assert half["num_subproblems"] == 2 and half["monolithic_spins"] == counts["monolithic_spins"]
    # a spin budget: the block subproblems, within it; the monolithic figures unchanged
    blocked = spin_counts(X, y, SIZES, codes, fip=fip, max_spins=40, **kw)
    assert blocked["subproblem_spins_max"] <= 40 < counts["subproblem_spins_max"]
    assert blocked["monolithic_spins"] == counts["monolithic_spins"]
    assert blocked["num_blocks"] >= 2 and blocked["num_subproblems"] == 4 * blocked["num_blocks"]


def test_bits_per_weight_is_exact() -> None:
    codes = [WeightCode("binary"), WeightCode("kbit", bits=3)]
    assert bits_per_weight((16, 4, 1), codes, bias=False) == pytest.approx((64 + 3 * 4) / 68)
    assert bits_per_weight((3, 2, 1), [WeightCode("ternary")] * 2, True) == pytest.approx(
        np.log2(3)
    )


def test_declared_limit_and_too_large_subproblem() -> None:
    structured = dimod.StructureComposite(SimulatedAnnealingSampler(), list(range(10)), [(0, 1)])
    assert declared_limit(structured) == (10, "nodelist")

    class Limited(dimod.Sampler):
        parameters = {"num_reads": []}
        properties = {"max_variables": 12}

        def sample(self, bqm, num_reads=1):  # a real sampler: exact enumeration
            return dimod.ExactSolver().sample(bqm).truncate(num_reads)

    assert declared_limit(Limited()) == (12, "properties['max_variables']")
    assert declared_limit(get_sampler("dense-sa")) is None
    X, y = _toy(2)
    with pytest.raises(ValueError, match=r"spins, more than the sampler's declared limit 12"):
        fit_qcbo(X, y, SIZES, sampler=Limited(), ph_iterations=1, executor="serial", **SMALL)
    with pytest.raises(
        ValueError, match=r"; layer [12] \(\d+ -> \d+\) alone puts \d+ spins"
    ) as info:
        fit_qcbo(X, y, SIZES, sampler=Limited(), ph_iterations=1, executor="serial", **SMALL)
    assert "\n" not in str(info.value)


def test_spins_by_layer_counts_every_spin() -> None:
    from hybridqnn.problems.penalty import penalty_parts
    from hybridqnn.problems.qcbo import build_qcbo
    from hybridqnn.train.qcbo import spins_by_layer

    X, y = _toy(1)
    model = build_qcbo(X, y, SIZES, segments=2, activation_bits=2, bias=True)
    variables = penalty_parts(model.cqm).variables
    per_layer = spins_by_layer(variables)
    assert sum(per_layer.values()) == len(variables)
    assert set(per_layer) == {1, 2}
    assert per_layer[1] >= model.counts["weights"] // 2


def _toy_build(sizes, codes, kbits=2):
    from hybridqnn.train.qcbo.network import _Build

    fip = forward_interval_propagation(
        np.zeros(sizes[0]), np.ones(sizes[0]), sizes, [c.levels for c in codes], "relu", 2, bias=True
    )
    return _Build(tuple(sizes), tuple(codes), fip, (kbits,), "logistic", 3, "variables")


@settings(max_examples=15, deadline=None)
@given(
    st.integers(0, 2**31 - 1),
    st.sampled_from([(3, 4, 1), (3, 3, 2), (2, 5, 3)]),
    st.booleans(),
    st.integers(0, 60),
)
def test_planned_blocks_never_exceed_the_budget(seed: int, sizes, mixed: bool, extra: int) -> None:
    """Every block subproblem of every batch fits the budget and the blocks cover each layer's
    rows once, in order; a single row over the budget is one line naming the layer, the row's
    spins and the budget."""
    from hybridqnn.problems.qcbo import WeightBlock
    from hybridqnn.train.qcbo import plan_blocks
    from hybridqnn.train.qcbo.resources import block_spins

    rng = np.random.default_rng(seed)
    codes = [WeightCode("binary"), WeightCode("kbit", bits=3) if mixed else WeightCode("binary")]
    build = _toy_build(sizes, codes)
    X = rng.uniform(0, 1, size=(5, sizes[0]))
    y = rng.integers(0, sizes[-1], 5) if sizes[-1] > 1 else rng.choice([-1, 1], 5)
    weights = [
        rng.choice(c.levels, size=(sizes[li + 1], sizes[li] + 1)) for li, c in enumerate(codes)
    ]
    batches = [[0, 1], [2], [3, 4]]
    rows = [
        block_spins(build, X, y, 3, WeightBlock(layer, j, j + 1), weights, ids)
        for layer in (1, 2)
        for j in range(sizes[layer])
        for ids in batches
    ]
    budget = max(rows) + extra
    blocks = plan_blocks(build, X, y, batches, weights, budget, probes=2)
    for layer in (1, 2):
        mine = [b for b in blocks if b.layer == layer]
        assert [r for b in mine for r in b.rows] == list(range(sizes[layer]))
    for b in blocks:
        assert all(block_spins(build, X, y, 3, b, weights, ids) <= budget for ids in batches)
    full = max(block_spins(build, X, y, 3, None, None, ids) for ids in batches)
    if full <= budget:  # the fewest blocks: one per layer
        assert len(blocks) == 2
    small = min(rows) - 1
    with pytest.raises(ValueError, match=rf"^'max_spins' is {small}, but row 0 of layer 1 \({sizes[0]} -> {sizes[1]}\) alone needs \d+ spins per solve") as info:
        plan_blocks(build, X, y, batches, weights, small)
    assert "\n" not in str(info.value)

