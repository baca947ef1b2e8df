"""The base class of hybridqnn's own dense samplers.

:class:`DenseSampler` is a ``dimod.Sampler``: it takes any BQM (BINARY or SPIN, any labels),
converts it once to a :class:`hybridqnn.problems.DenseIsing`, samples, and returns energies
recomputed from the BQM. It advertises the dense path (``properties["fast_paths"]``), so
:func:`hybridqnn.solvers.sampling.solve_dense` calls :meth:`DenseSampler.sample_dense` on a
``DenseIsing`` the methods built directly, skipping the BQM (and its O(#couplers) conversion)
altogether; both routes run the same kernel.
"""

from __future__ import annotations

import abc
import time
from dataclasses import dataclass
from typing import Any

import dimod
import numpy as np

from hybridqnn._checks import check_int
from hybridqnn.problems.dense import DenseIsing
from hybridqnn.solvers.info import timing
from hybridqnn.solvers.keywords import MAX_READS


def _parse_initial_states(
    initial_states: Any, labels: list[Any], vartype: dimod.Vartype, num_reads: int, rng: np.random.Generator
) -> np.ndarray:
    """(num_reads, n) spins: the given states (cycled if fewer, in ``labels`` order), random otherwise."""
    n = len(labels)
    if initial_states is None:
        return rng.choice(np.array([-1, 1], dtype=np.int8), size=(num_reads, n))
    arr, given_labels = dimod.as_samples(initial_states)
    if arr.shape[0] == 0:
        return rng.choice(np.array([-1, 1], dtype=np.int8), size=(num_reads, n))
    if set(given_labels) != set(labels):
        raise ValueError(f"'initial_states' must assign every variable of the model ({n}), got {len(given_labels)} variables")
    order = [given_labels.index(v) for v in labels] if list(given_labels) != labels else slice(None)
    arr = np.asarray(arr)[:, order]
    if vartype is dimod.BINARY:
        if not np.all((arr == 0) | (arr == 1)):
            raise ValueError("'initial_states' for a BINARY model must hold 0/1 values")
        arr = 2 * arr - 1
    elif not np.all((arr == -1) | (arr == 1)):
        raise ValueError("'initial_states' for a SPIN model must hold -1/+1 values")
    reps = -(-num_reads // arr.shape[0])
    return np.tile(arr.astype(np.int8), (reps, 1))[:num_reads]


@dataclass(frozen=True)
class DenseRun:
    """What every dense sampler starts from: the ``model``, the start ``spins`` (R, n) int8 of
    +-1 (one row per read), the ``seed`` of the method's own random numbers, and ``warm``:
    whether ``spins`` are the caller's ``initial_states`` (else they are random)."""

    model: DenseIsing
    spins: np.ndarray
    seed: int
    warm: bool


class DenseSampler(dimod.Sampler, abc.ABC):
    """A ``dimod.Sampler`` over a dense spin model.

    Subclasses implement :meth:`_sample_spins`. ``sample`` accepts ``num_reads``, ``seed``,
    ``initial_states`` and the subclass's own keywords (listed in ``parameters``); unknown
    keywords are errors. Energies are recomputed from the BQM (offset included). ``info``
    follows :mod:`hybridqnn.solvers.info`: ``timing`` (nanoseconds for conversion, sampling and
    post-processing), ``seed``, and the subclass's own figures under ``info[info_key]``.
    """

    _own_parameters: dict[str, list[Any]] = {}
    #: The namespace of the subclass's own figures in ``info``.
    info_key = "dense"

    @property
    def parameters(self) -> dict[str, list[Any]]:
        return {"num_reads": [], "seed": [], "initial_states": [], **self._own_parameters}

    @property
    def properties(self) -> dict[str, Any]:
        """Advertises the dense path (:mod:`hybridqnn.solvers.sampling`): :meth:`sample_dense`
        takes ``num_reads`` and the subclass's own keywords. Subclasses extend this dict."""
        return {"fast_paths": {"dense": ("num_reads", *self._own_parameters)}}

    @abc.abstractmethod
    def _sample_spins(self, run: DenseRun, **params: Any) -> tuple[np.ndarray, dict[str, Any]]:
        """Return final spins (R, n) int8 started from ``run.spins`` and the method's own figures
        (they go to ``info[info_key]``); ``run.warm`` says whether the start came from the
        caller's ``initial_states`` (else it is random). A sampler that computed the final energies
        itself (in its kernel) returns them as ``"energies"`` among its figures; otherwise they
        are computed here from the model."""

    def sample_dense(
        self,
        model: DenseIsing,
        *,
        num_reads: int = 1,
        seed: int | None = None,
        initial_states: np.ndarray | None = None,
        **params: Any,
    ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """Sample a :class:`DenseIsing` directly: (spins (R, n) int8, energies (R,), info), the
        dense path of :mod:`hybridqnn.solvers.sampling`; ``info`` holds ``seed`` and
        ``info[info_key]`` (``sample`` adds ``timing``)."""
        num_reads = check_int("num_reads", num_reads, 1, MAX_READS)
        seed = int(np.random.SeedSequence().generate_state(1)[0]) if seed is None else check_int("seed", seed, 0)
        unknown = sorted(set(params) - set(self._own_parameters))
        if unknown:
            raise ValueError(
                f"{type(self).__name__} got unknown keyword(s) {', '.join(map(repr, unknown))}; it takes: {', '.join(sorted(self.parameters))}"
            )
        rng = np.random.default_rng(seed)
        n = model.num_variables
        if initial_states is None:
            spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(num_reads, n))
        else:
            given = np.asarray(initial_states, dtype=np.int8).reshape(-1, n)
            spins = np.tile(given, (-(-num_reads // given.shape[0]), 1))[:num_reads].copy()
        if n == 0:
            return spins, np.full(num_reads, model.offset), {"seed": seed, self.info_key: {}}
        run = DenseRun(model, spins, int(rng.integers(2**31 - 1)), warm=initial_states is not None)
        out, own = self._sample_spins(run, **params)
        energies = own.pop("energies", None)
        return out, model.energies(out) if energies is None else energies, {"seed": seed, self.info_key: own}

    def sample(
        self,
        bqm: dimod.BinaryQuadraticModel,
        num_reads: int = 1,
        seed: int | None = None,
        initial_states: Any = None,
        **params: Any,
    ) -> dimod.SampleSet:
        if not isinstance(bqm, dimod.BinaryQuadraticModel):
            raise TypeError(f"'bqm' must be a dimod.BinaryQuadraticModel, got {type(bqm).__name__}")
        if bqm.vartype not in (dimod.SPIN, dimod.BINARY):
            raise ValueError(f"'bqm' must have vartype SPIN or BINARY, got {bqm.vartype}")
        num_reads = check_int("num_reads", num_reads, 1, MAX_READS)
        t0 = time.perf_counter_ns()
        model, labels = DenseIsing.from_bqm(bqm)
        seed = int(np.random.SeedSequence().generate_state(1)[0]) if seed is None else check_int("seed", seed, 0)
        starts = None
        if initial_states is not None:
            starts = _parse_initial_states(initial_states, labels, bqm.vartype, num_reads, np.random.default_rng(seed))
        t1 = time.perf_counter_ns()
        spins, _, info = self.sample_dense(model, num_reads=num_reads, seed=seed, initial_states=starts, **params)
        t2 = time.perf_counter_ns()
        samples = spins if bqm.vartype is dimod.SPIN else ((spins + 1) // 2).astype(np.int8)
        energies = bqm.energies((samples, labels)) if labels else np.full(num_reads, bqm.offset)
        ss = dimod.SampleSet.from_samples((samples, labels), vartype=bqm.vartype, energy=energies, info=info)
        ss.info["timing"] = timing(t0, t1, t2, time.perf_counter_ns())
        return ss
