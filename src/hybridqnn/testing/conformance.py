"""Sampler conformance checks (DESIGN.md, "Tests"), usable on any ``dimod.Sampler``.

- ``api``: dimod's own ``assert_sampler_api``.
- ``energies``: returned energies equal ``bqm.energies(samples)`` (offset included), on BINARY
  and SPIN models with awkward labels (strings, tuples, mixed).
- ``seed``: the same ``seed`` gives the same samples (if the sampler takes ``seed``).
- ``unknown_kwargs``: an unknown keyword raises (Ocean's own samplers warn and ignore instead;
  pass ``rejects_unknown_kwargs=False`` for them and call them through
  :func:`hybridqnn.solvers.sample_bqm`, which rejects unknown keywords).
- ``small``: empty and one-variable models work.
- ``ground_state``: on random models with at most 12 variables the best sample reaches
  ``dimod.ExactSolver``'s ground energy with the given (generous) settings.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import dimod
import dimod.testing
import numpy as np


def awkward_labels(n: int) -> list[Any]:
    """n distinct labels of mixed kinds: strings, tuples, ints (not 0..n-1 in order), floats."""
    kinds = (lambda i: f"v{i} label", lambda i: ("t", i), lambda i: 1000 - i, lambda i: i + 0.5, lambda i: (i, "β"))
    return [kinds[i % len(kinds)](i) for i in range(n)]


def random_bqm(num_variables: int, vartype: dimod.Vartype | str, seed: int, labels: Iterable[Any] | None = None) -> dimod.BinaryQuadraticModel:
    """A dense BQM with normal biases and an offset; relabelled to ``labels`` if given."""
    rng = np.random.default_rng(seed)
    n = num_variables
    bqm = dimod.BinaryQuadraticModel(rng.normal(size=n), np.triu(rng.normal(size=(n, n)), 1), float(rng.normal()), vartype)
    if labels is not None:
        bqm.relabel_variables(dict(enumerate(list(labels)[:n])), inplace=True)
    return bqm


def _sample(sampler: dimod.Sampler, bqm: dimod.BinaryQuadraticModel, kwargs: Mapping[str, Any], seed: int | None) -> dimod.SampleSet:
    params = dict(kwargs)
    if seed is not None and "seed" in sampler.parameters:
        params["seed"] = seed
    return sampler.sample(bqm, **params)


def check_api(sampler: dimod.Sampler, **_: Any) -> None:
    dimod.testing.assert_sampler_api(sampler)


def check_energies(sampler: dimod.Sampler, sample_kwargs: Mapping[str, Any], **_: Any) -> None:
    for vartype in ("BINARY", "SPIN"):
        bqm = random_bqm(8, vartype, seed=1, labels=awkward_labels(8))
        ss = _sample(sampler, bqm, sample_kwargs, seed=3)
        assert len(ss) > 0, f"energies: {type(sampler).__name__} returned no samples"
        dimod.testing.assert_sampleset_energies(ss, bqm)
        assert set(ss.variables) == set(bqm.variables), "energies: the sample set's variables differ from the model's"
        assert ss.vartype is bqm.vartype, f"energies: vartype {ss.vartype} returned for a {bqm.vartype} model"


def check_seed(sampler: dimod.Sampler, sample_kwargs: Mapping[str, Any], **_: Any) -> None:
    if "seed" not in sampler.parameters:
        return
    bqm = random_bqm(10, "SPIN", seed=2)
    a = _sample(sampler, bqm, sample_kwargs, seed=123)
    b = _sample(sampler, bqm, sample_kwargs, seed=123)
    assert np.array_equal(a.record.sample, b.record.sample), "seed: the same seed gave different samples"


def check_unknown_kwargs(sampler: dimod.Sampler, rejects_unknown_kwargs: bool = True, **_: Any) -> None:
    if not rejects_unknown_kwargs:
        return
    bqm = random_bqm(3, "SPIN", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            sampler.sample(bqm, not_a_keyword_of_any_sampler=1)
        except (TypeError, ValueError):
            return
    raise AssertionError(f"unknown_kwargs: {type(sampler).__name__} accepted an unknown keyword without an error")


def check_small(sampler: dimod.Sampler, sample_kwargs: Mapping[str, Any], **_: Any) -> None:
    for vartype in ("BINARY", "SPIN"):
        empty = dimod.BinaryQuadraticModel({}, {}, 1.5, vartype)
        ss = _sample(sampler, empty, sample_kwargs, seed=1)
        assert len(ss.variables) == 0, "small: samples of an empty model must have no variables"
        assert np.allclose(ss.record.energy, 1.5), "small: an empty model's energy is its offset"
        one = dimod.BinaryQuadraticModel({("x", 0): -2.0}, {}, 0.25, vartype)
        ss = _sample(sampler, one, {**sample_kwargs}, seed=1)
        dimod.testing.assert_sampleset_energies(ss, one)
        best = ss.first.sample[("x", 0)]
        assert best == 1, f"small: the one-variable minimum is 1 for bias -2, got {best}"


def check_ground_state(
    sampler: dimod.Sampler, ground_state_kwargs: Mapping[str, Any], seeds: Iterable[int] = range(5), **_: Any
) -> None:
    exact = dimod.ExactSolver()
    for seed in seeds:
        for n, vartype in ((6, "BINARY"), (12, "SPIN"), (10, "BINARY")):
            bqm = random_bqm(n, vartype, seed=seed, labels=awkward_labels(n))
            ground = exact.sample(bqm).first.energy
            found = _sample(sampler, bqm, ground_state_kwargs, seed=seed).first.energy
            assert found <= ground + 1e-9 * max(1.0, abs(ground)), (
                f"ground_state: {type(sampler).__name__} found {found:.6g}, ExactSolver {ground:.6g} (n={n}, {vartype}, seed={seed})"
            )


CHECKS: dict[str, Callable[..., None]] = {
    "api": check_api,
    "energies": check_energies,
    "seed": check_seed,
    "unknown_kwargs": check_unknown_kwargs,
    "small": check_small,
    "ground_state": check_ground_state,
}


def check_sampler(
    sampler: dimod.Sampler,
    *,
    sample_kwargs: Mapping[str, Any] | None = None,
    ground_state_kwargs: Mapping[str, Any] | None = None,
    rejects_unknown_kwargs: bool = True,
    only: Iterable[str] | None = None,
) -> None:
    """Run the conformance checks (all, or those named in ``only``) on ``sampler``.

    Args:
        sampler: any ``dimod.Sampler``.
        sample_kwargs: keywords for the quick checks (e.g. ``{"num_reads": 4}``).
        ground_state_kwargs: generous keywords for the ground-state check (defaults to
            ``sample_kwargs``).
        rejects_unknown_kwargs: whether the sampler itself must reject unknown keywords.
        only: names from :data:`CHECKS`.
    """
    names = list(CHECKS) if only is None else list(only)
    unknown = sorted(set(names) - set(CHECKS))
    if unknown:
        raise ValueError(f"'only' must name checks among {', '.join(CHECKS)}; got {', '.join(unknown)}")
    kwargs = dict(sample_kwargs or {})
    options = {
        "sample_kwargs": kwargs,
        "ground_state_kwargs": dict(ground_state_kwargs) if ground_state_kwargs is not None else kwargs,
        "rejects_unknown_kwargs": rejects_unknown_kwargs,
    }
    for name in names:
        CHECKS[name](sampler, **options)
