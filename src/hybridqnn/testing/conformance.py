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
- ``info``: ``sampleset.info`` follows :mod:`hybridqnn.solvers.info` (dwave-samplers'
  ``timing`` in integer nanoseconds, the ``seed`` used by a sampler that takes one, every other
  figure under a namespaced key).
- ``non_finite``: a model with a NaN, +inf or -inf bias (linear or quadratic), or with biases
  whose magnitudes sum past the largest float64, is a ``ValueError`` whose message names the
  variable or the interaction, raised before sampling. Ocean's own samplers do not check (they
  return NaN energies, and dwave-samplers' tabu search aborts the process on an infinity, so
  never run this check on it directly); pass ``rejects_non_finite=False`` for them and call
  them through :func:`hybridqnn.solvers.sample_bqm` or the registry, which check.
- ``fast_paths``: a sampler that advertises the dense path
  (:mod:`hybridqnn.solvers.sampling`) returns, through ``sample_dense``, spins whose energies
  are the model's.

:class:`EnumeratingDenseSampler` is the smallest sampler on the fast paths, for tests that code
takes them without knowing the sampler's class.
"""

from __future__ import annotations

import itertools
import numbers
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import dimod
import dimod.testing
import numpy as np

from hybridqnn.problems.dense import DenseIsing
from hybridqnn.solvers.info import RESERVED_KEYS, TIMING_KEYS
from hybridqnn.solvers.sampling import supports_dense


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


def check_info(sampler: dimod.Sampler, sample_kwargs: Mapping[str, Any], **_: Any) -> None:
    bqm = random_bqm(6, "SPIN", seed=4, labels=awkward_labels(6))
    name = type(sampler).__name__
    for seed in (11, None):
        info = _sample(sampler, bqm, sample_kwargs, seed=seed).info
        timing = info.get("timing")
        assert isinstance(timing, Mapping), f"info: {name} gives no 'timing' dict (keys {sorted(info)})"
        for key in TIMING_KEYS:
            value = timing.get(key)
            assert isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 0, (
                f"info: {name}'s timing[{key!r}] must be a nonnegative integer of nanoseconds, got {value!r}"
            )
        if "seed" in sampler.parameters:
            assert "seed" in info, f"info: {name} takes 'seed' but does not report the seed it used"
            if seed is not None:
                assert info["seed"] == seed, f"info: {name} was given seed {seed} and reports {info['seed']!r}"
        loose = sorted(str(k) for k, v in info.items() if k not in RESERVED_KEYS and not isinstance(v, Mapping))
        assert not loose, f"info: {name}'s own figures must sit under a namespaced key (a dict), got top-level {loose}"


#: The non-finite values of the ``non_finite`` check; ``1e308 * 10`` overflows to inf.
NON_FINITE_VALUES = (float("nan"), float("inf"), float("-inf"), 1e308 * 10)


def non_finite_bqms(vartype: dimod.Vartype | str = "BINARY") -> list[tuple[dimod.BinaryQuadraticModel, tuple[Any, ...]]]:
    """(model, the labels its error must name) for every value of :data:`NON_FINITE_VALUES` as a
    linear and as a quadratic bias, and for linear and quadratic biases of 1.5e308 and -1.6e308
    (each finite, their magnitudes' sum not; the error names the largest), in a 5-variable model
    with awkward labels."""
    labels = awkward_labels(5)
    cases = []
    for value in (*NON_FINITE_VALUES, None):
        linear = random_bqm(5, vartype, seed=6, labels=labels)
        quadratic = random_bqm(5, vartype, seed=6, labels=labels)
        if value is None:
            linear.set_linear(labels[2], 1.5e308)
            linear.set_linear(labels[4], -1.6e308)
            quadratic.set_quadratic(labels[1], labels[3], 1.5e308)
            quadratic.set_quadratic(labels[0], labels[2], -1.6e308)
            cases += [(linear, (labels[4],)), (quadratic, (labels[0], labels[2]))]
        else:
            linear.set_linear(labels[2], value)
            quadratic.set_quadratic(labels[1], labels[3], value)
            cases += [(linear, (labels[2],)), (quadratic, (labels[1], labels[3]))]
    return cases


def check_non_finite(sampler: dimod.Sampler, sample_kwargs: Mapping[str, Any], rejects_non_finite: bool = True, **_: Any) -> None:
    if not rejects_non_finite:
        return
    name = type(sampler).__name__
    for vartype in ("BINARY", "SPIN"):
        for bqm, named in non_finite_bqms(vartype):
            try:
                ss = _sample(sampler, bqm, sample_kwargs, seed=1)
            except ValueError as exc:
                message = str(exc)
                assert "\n" not in message.strip(), f"non_finite: {name}'s error is not one line: {message!r}"
                missing = [label for label in named if repr(label) not in message]
                assert not missing, f"non_finite: {name}'s error does not name {missing}: {message!r}"
                continue
            raise AssertionError(
                f"non_finite: {name} sampled a model with a non-finite or overflowing bias (energies {ss.record.energy[:3]}) instead of raising ValueError"
            )


def check_fast_paths(sampler: dimod.Sampler, sample_kwargs: Mapping[str, Any], **_: Any) -> None:
    dense_kwargs = {k: v for k, v in sample_kwargs.items() if k not in ("seed", "initial_states")}
    if not supports_dense(sampler, dense_kwargs):
        return
    model = DenseIsing.from_bqm(random_bqm(7, "SPIN", seed=5))[0]
    spins, energies, _ = sampler.sample_dense(model, seed=3, **dense_kwargs)
    assert len(spins) > 0 and np.all(np.abs(spins) == 1), "fast_paths: sample_dense must return spins of +-1"
    assert np.allclose(energies, model.energies(spins)), "fast_paths: sample_dense's energies differ from the model's"


CHECKS: dict[str, Callable[..., None]] = {
    "api": check_api,
    "energies": check_energies,
    "seed": check_seed,
    "unknown_kwargs": check_unknown_kwargs,
    "small": check_small,
    "ground_state": check_ground_state,
    "info": check_info,
    "fast_paths": check_fast_paths,
    "non_finite": check_non_finite,
}


def check_sampler(
    sampler: dimod.Sampler,
    *,
    sample_kwargs: Mapping[str, Any] | None = None,
    ground_state_kwargs: Mapping[str, Any] | None = None,
    rejects_unknown_kwargs: bool = True,
    rejects_non_finite: bool = True,
    only: Iterable[str] | None = None,
) -> None:
    """Run the conformance checks (all, or those named in ``only``) on ``sampler``.

    Args:
        sampler: any ``dimod.Sampler``.
        sample_kwargs: keywords for the quick checks (e.g. ``{"num_reads": 4}``).
        ground_state_kwargs: generous keywords for the ground-state check (defaults to
            ``sample_kwargs``).
        rejects_unknown_kwargs: whether the sampler itself must reject unknown keywords.
        rejects_non_finite: whether the sampler itself must reject non-finite coefficients
            (False skips the ``non_finite`` check; never run it on a raw dwave-samplers
            ``TabuSampler``, which aborts the process on an infinite bias).
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
        "rejects_non_finite": rejects_non_finite,
    }
    for name in names:
        CHECKS[name](sampler, **options)


def _all_spins(n: int) -> np.ndarray:
    return np.array(list(itertools.product((-1, 1), repeat=n)), dtype=np.int8).reshape(-1, n)


class EnumeratingDenseSampler(dimod.Sampler):
    """A third-party-style sampler that takes only hybridqnn's fast paths
    (:mod:`hybridqnn.solvers.sampling`), by exhaustive search over at most 16 spins.

    ``sample`` (the BQM path) raises AssertionError, so a test fails if code skips the fast
    path; ``calls`` counts the calls of each path.
    """

    parameters = {"num_reads": []}
    properties = {"fast_paths": {"dense": ("num_reads",), "least_squares": ()}}

    def __init__(self) -> None:
        self.calls = {"dense": 0, "least_squares": 0}
        self._lock = threading.Lock()

    def _count(self, path: str) -> None:
        with self._lock:
            self.calls[path] += 1

    def sample(self, bqm: dimod.BinaryQuadraticModel, **parameters: Any) -> dimod.SampleSet:
        raise AssertionError("EnumeratingDenseSampler.sample was called: the fast path was skipped")

    def sample_dense(
        self, model: DenseIsing, *, seed: int, initial_states: np.ndarray | None = None, num_reads: int = 1
    ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        self._count("dense")
        states = _all_spins(model.num_variables)
        energies = model.energies(states)
        order = np.argsort(energies, kind="stable")[:num_reads]
        return states[order], energies[order], {"seed": seed}

    def sample_least_squares(
        self, x: np.ndarray, v: np.ndarray, g0: np.ndarray, *, seed: int, var_index: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        self._count("least_squares")
        idx = np.arange(x.shape[1]) if var_index is None else np.asarray(var_index)
        g = np.array(g0, dtype=np.float64)
        energies = np.empty(len(v))
        for j, target in enumerate(np.asarray(v, dtype=np.float64)):
            candidates = np.repeat(g[j][None], 2 ** len(idx), axis=0)
            candidates[:, idx] = _all_spins(len(idx))
            scores = ((target[None] - candidates @ x.T) ** 2).sum(axis=1)
            best = int(np.argmin(scores))
            g[j], energies[j] = candidates[best], scores[best]
        return g, energies
