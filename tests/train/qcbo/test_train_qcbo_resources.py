"""QCBO training, resources: spin counts and the formula, bits per weight, declared limits, spins per layer."""

from __future__ import annotations

import dimod
import numpy as np
import pytest
from dwave.samplers import SimulatedAnnealingSampler
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
