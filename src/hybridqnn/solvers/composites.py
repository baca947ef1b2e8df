"""dimod composites that model imperfect hardware: coefficient precision, noise, a time budget.

Each class is a :class:`dimod.ComposedSampler` and follows dimod's composite conventions:
``children`` holds the one child sampler, ``parameters`` is the child's parameters plus the
composite's own, and ``properties`` holds ``child_properties`` plus the composite's settings.
They compose with each other and with any Ocean sampler, for example::

    sampler = TimeBudgetComposite(
        NoisyOracleComposite(LimitedPrecisionComposite(SimulatedAnnealingSampler(), bits=8),
                             variance=0.01, seed=0),
        time_limit=5.0,
    )

Unlike most dimod samplers (which warn and drop an unknown keyword), these composites raise
``ValueError`` for a keyword that neither they nor their child take, and ``ValueError`` for a
BQM with a NaN or infinite coefficient.

``info`` (:mod:`hybridqnn.solvers.info`): each composite keeps its child's ``info`` and adds its
own figures under its key (``limited_precision``, ``noisy_oracle``, ``time_budget``); ``timing``
is the child's plus the composite's own work (building the problem it passes on counts as
preprocessing, rescoring and merging as postprocessing). Composites do not take their child's
fast paths (:mod:`hybridqnn.solvers.sampling`): those would skip the composite's own work.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import dimod
import numpy as np

from hybridqnn._checks import check_finite_model, check_float, check_int
from hybridqnn.solvers.info import SEED_BOUND, add_timing, child_timing, draw_seed

__all__ = [
    "LimitedPrecisionComposite",
    "NoisyOracleComposite",
    "TimeBudgetComposite",
    "perturb_bqm",
    "round_coefficients",
]

logger = logging.getLogger(__name__)

def _check_child(child: Any) -> dimod.Sampler:
    if not (
        hasattr(child, "sample") and hasattr(child, "parameters") and hasattr(child, "properties")
    ):
        raise TypeError(f"'child' must be a dimod.Sampler, got {type(child).__name__}")
    return child


def _check_bqm(bqm: Any) -> dimod.BinaryQuadraticModel:
    """A BQM with finite coefficients (:func:`hybridqnn._checks.check_finite_model`), else
    TypeError / ValueError naming ``bqm``."""
    if not isinstance(bqm, dimod.BinaryQuadraticModel):
        raise TypeError(f"'bqm' must be a dimod.BinaryQuadraticModel, got {type(bqm).__name__}")
    check_finite_model("bqm", bqm)
    return bqm


def _check_kwargs(kwargs: Mapping[str, Any], parameters: Mapping[str, Any], owner: str) -> None:
    unknown = sorted(set(kwargs) - set(parameters))
    if unknown:
        raise ValueError(
            f"{owner}.sample got unknown keyword(s) {', '.join(map(repr, unknown))}; "
            f"it takes: {', '.join(sorted(parameters)) or 'nothing'}"
        )


def _check_seed(name: str, seed: Any) -> int | None:
    return None if seed is None else check_int(name, seed, 0)


def _child_seed(seq: np.random.SeedSequence) -> int:
    return int(seq.generate_state(1, dtype=np.uint32)[0]) % SEED_BOUND


def _rebuild(
    bqm: dimod.BinaryQuadraticModel, lin: np.ndarray, quad: np.ndarray
) -> dimod.BinaryQuadraticModel:
    """``bqm`` with its linear and quadratic biases (in ``bqm.variables`` order) replaced."""
    variables = list(bqm.variables)
    _, (row, col, _), offset = bqm.to_numpy_vectors(variable_order=variables)
    return dimod.BinaryQuadraticModel.from_numpy_vectors(
        lin, (row, col, quad), offset, bqm.vartype, variable_order=variables
    )


def _reenergize(
    sampleset: dimod.SampleSet,
    bqm: dimod.BinaryQuadraticModel,
    *,
    child_energy_name: str,
    info: dict[str, Any],
    stamps: tuple[int, int, int],
    energy_noise: np.ndarray | None = None,
    true_energy_name: str | None = None,
) -> dimod.SampleSet:
    """The child's samples with energies recomputed on ``bqm`` (the original problem).

    The child's own energies move to the data vector ``child_energy_name``; every other data
    vector (``num_occurrences``, ...) is kept. With ``energy_noise``, the ``energy`` vector is
    the true energy plus that noise and the true energy is kept as ``true_energy_name``.
    ``info`` is the child's updated with ``info``; ``stamps`` (``time.perf_counter_ns()`` at the
    start, before the child call and after it) add the composite's own time to the child's
    ``timing``.
    """
    if sampleset.vartype is not bqm.vartype:
        sampleset = sampleset.change_vartype(bqm.vartype, inplace=False)
    samples = sampleset.record.sample
    variables = list(sampleset.variables)
    vectors = {k: v for k, v in sampleset.data_vectors.items() if k != "energy"}
    vectors[child_energy_name] = np.asarray(sampleset.record.energy, dtype=np.float64)
    true_energy = np.asarray(bqm.energies((samples, variables)), dtype=np.float64)
    energy = true_energy
    if energy_noise is not None:
        energy = true_energy + energy_noise
        vectors[true_energy_name or "true_energy"] = true_energy
    merged = dict(sampleset.info)
    merged.update(info)
    out = dimod.SampleSet.from_samples(
        (samples, variables),
        sampleset.vartype,
        energy=energy,
        info=merged,
        sort_labels=False,
        **vectors,
    )
    start, begin, end = stamps
    own = {"preprocessing_ns": begin - start, "sampling_ns": 0, "postprocessing_ns": time.perf_counter_ns() - end}
    out.info["timing"] = add_timing(child_timing(sampleset.info, end - begin), own)
    return out


# --------------------------------------------------------------------------------------------
# limited precision


def round_coefficients(
    bqm: dimod.BinaryQuadraticModel, bits: int
) -> tuple[dimod.BinaryQuadraticModel, float]:
    """Round every linear and quadratic bias to a signed ``bits``-bit grid; return (BQM, step).

    With M = max(max_i |h_i|, max_ij |J_ij|), the largest bias magnitude over the linear and
    quadratic biases together, in the model's own vartype (h, J of a SPIN model; the QUBO's
    linear and quadratic coefficients of a BINARY one), the grid step is

        step = M / (2^(bits-1) - 1)

    and each bias c becomes step * round(c / step) (nearest multiple; exact ties go to the even
    multiple, numpy's rule). The representable values are the 2^bits - 1 integers
    k in [-(2^(bits-1) - 1), 2^(bits-1) - 1] times step (sign and magnitude, symmetric, as a
    DAC driven from a signed b-bit word with a common full scale M), so the largest bias is
    kept exactly, and a bias smaller than step/2 becomes 0. The offset is not rounded (it does
    not change which sample is best). Interactions that round to 0 stay in the model with bias 0.
    A model whose biases are all 0 comes back unchanged with step 0.

    Args:
        bqm: The problem.
        bits: Bits per coefficient, sign included, in [2, 32]; 2 bits leaves {-M, 0, M}.

    Returns:
        The rounded copy of ``bqm`` (same variables and vartype) and the step.
    """
    bits = check_int("bits", bits, 2, 32)
    _check_bqm(bqm)
    lin, (_, _, quad), _ = bqm.to_numpy_vectors(variable_order=list(bqm.variables))
    lin = np.asarray(lin, dtype=np.float64)
    quad = np.asarray(quad, dtype=np.float64)
    scale = max(float(np.max(np.abs(lin), initial=0.0)), float(np.max(np.abs(quad), initial=0.0)))
    if scale == 0.0:
        return bqm.copy(), 0.0
    step = scale / (2 ** (bits - 1) - 1)
    return _rebuild(bqm, np.round(lin / step) * step, np.round(quad / step) * step), step


class _OneChildComposite(dimod.ComposedSampler):
    """The plumbing the three composites share: one child, the child's parameters plus
    :attr:`_own_parameters`, and ``child_properties`` plus :meth:`_own_properties`."""

    _own_parameters: tuple[str, ...] = ()

    def __init__(self, child: dimod.Sampler) -> None:
        self._children = [_check_child(child)]

    @property
    def children(self) -> list[dimod.Sampler]:
        """The one child sampler."""
        return self._children

    @property
    def parameters(self) -> dict[str, list]:
        """The child's sample parameters plus this composite's own."""
        params = dict(self.child.parameters)
        for name in self._own_parameters:
            params.setdefault(name, [])
        return params

    @property
    def properties(self) -> dict[str, Any]:
        """``child_properties`` plus this composite's settings."""
        return {"child_properties": dict(self.child.properties), **self._own_properties()}

    def _own_properties(self) -> dict[str, Any]:
        return {}


class LimitedPrecisionComposite(_OneChildComposite):
    """Sample a copy of the problem whose coefficients are rounded to ``bits`` bits.

    Models the digital-to-analog converters (DACs) that program h and J on a quantum annealer
    or a coherent Ising machine: the child samples the problem rounded by
    :func:`round_coefficients` (step = max|coefficient| / (2^(bits-1) - 1)), and the samples
    come back scored on the **original** problem, so ``energy`` is comparable with other
    solvers' energies. The rounded problem's energies (as the child reported them) are kept in
    the data vector ``rounded_energy``; ``info["limited_precision"]`` holds ``bits``, ``step``
    and ``scale`` (= M, the largest coefficient magnitude), and ``info["seed"]`` the child's
    seed if it takes one (drawn when not given).

    Args:
        child: Any dimod sampler.
        bits: Bits per coefficient, sign included, in [2, 32].

    Example:
        >>> from dwave.samplers import SimulatedAnnealingSampler
        >>> sampler = LimitedPrecisionComposite(SimulatedAnnealingSampler(), bits=4)
        >>> bqm = dimod.BinaryQuadraticModel({"a": 0.3, "b": -1.0}, {("a", "b"): 0.55}, 0, "SPIN")
        >>> sampleset = sampler.sample(bqm, num_reads=10, seed=1)
    """

    def __init__(self, child: dimod.Sampler, bits: int) -> None:
        super().__init__(child)
        self.bits = check_int("bits", bits, 2, 32)

    def _own_properties(self) -> dict[str, Any]:
        return {"bits": self.bits}

    def sample(self, bqm: dimod.BinaryQuadraticModel, **parameters: Any) -> dimod.SampleSet:
        """Sample the rounded ``bqm`` with the child; energies are those of the original ``bqm``.

        Args:
            bqm: The problem (finite coefficients).
            **parameters: Passed to the child unchanged; an unknown one is a ValueError.
        """
        start = time.perf_counter_ns()
        _check_bqm(bqm)
        _check_kwargs(parameters, self.parameters, type(self).__name__)
        rounded, step = round_coefficients(bqm, self.bits)
        scale = step * (2 ** (self.bits - 1) - 1)
        info: dict[str, Any] = {"limited_precision": {"bits": self.bits, "step": step, "scale": scale}}
        if "seed" in self.child.parameters:  # drawn here if not given, so that it can be reported
            parameters["seed"] = draw_seed() if parameters.get("seed") is None else parameters["seed"]
            info["seed"] = parameters["seed"]
        begin = time.perf_counter_ns()
        sampleset = self.child.sample(rounded, **parameters)
        sampleset.resolve()
        stamps = (start, begin, time.perf_counter_ns())
        return _reenergize(sampleset, bqm, child_energy_name="rounded_energy", info=info, stamps=stamps)


# --------------------------------------------------------------------------------------------
# noisy oracle


def _halfwidth(variance: float) -> float:
    return math.sqrt(3.0 * variance)


def perturb_bqm(
    bqm: dimod.BinaryQuadraticModel,
    variance: float,
    seed: int | np.random.Generator | np.random.SeedSequence | None = None,
) -> dimod.BinaryQuadraticModel:
    """Add independent bounded noise of the given variance to every bias of ``bqm``.

    Each linear bias (of every variable) and each quadratic bias of an interaction present in
    the model gets its own draw from the uniform distribution on [-a, a] with
    a = sqrt(3 * variance), whose variance is a^2 / 3 = ``variance`` and whose magnitude never
    exceeds a. Absent interactions stay absent (the noise does not change the problem's graph),
    and the offset is not perturbed. Biases are those of the model's own vartype.

    Args:
        bqm: The problem (finite coefficients).
        variance: The noise variance sigma^2 >= 0; 0 returns an unperturbed copy.
        seed: Seed, ``SeedSequence`` or ``Generator`` for the noise.

    Returns:
        A perturbed copy of ``bqm``.
    """
    variance = check_float("variance", variance, 0.0)
    _check_bqm(bqm)
    rng = np.random.default_rng(seed)
    a = _halfwidth(variance)
    lin, (_, _, quad), _ = bqm.to_numpy_vectors(variable_order=list(bqm.variables))
    lin = np.asarray(lin, dtype=np.float64) + rng.uniform(-a, a, size=len(lin))
    quad = np.asarray(quad, dtype=np.float64) + rng.uniform(-a, a, size=len(quad))
    return _rebuild(bqm, lin, quad)


class NoisyOracleComposite(_OneChildComposite):
    """An oracle that sees the problem, and reports energies, through bounded noise.

    For each call, the child samples a perturbed problem (:func:`perturb_bqm`: every bias plus
    independent uniform noise on [-a, a], a = sqrt(3 * variance), so the noise has variance
    exactly ``variance`` and is bounded by a). The samples are then scored on the original
    problem, E(x), and, if ``energy_noise`` (the default), the reported ``energy`` of each row
    is E(x) + eta with eta another independent uniform draw on [-a, a]: the oracle of bounded
    objective-value variance assumed by the QCBO convergence analysis (QCGD). The data vectors
    ``true_energy`` (E(x), noise-free) and ``perturbed_energy`` (the child's energy on the
    perturbed problem) are always included. With ``energy_noise=False``, ``energy`` is E(x).

    Randomness: each call draws one ``numpy.random.SeedSequence``. With a ``seed`` keyword it
    is ``SeedSequence(seed)``, so repeated calls with the same seed give the same result;
    without one it is the next child spawned from the constructor's ``SeedSequence(seed)``, so
    a composite built with the same seed reproduces the same sequence of calls. That sequence
    spawns three streams: the problem noise, the energy noise and (if the child takes ``seed``)
    the child's seed. ``info["seed"]`` and ``info["noisy_oracle"]["spawn_key"]`` identify the
    stream: ``SeedSequence(info["seed"], spawn_key=info["noisy_oracle"]["spawn_key"])``
    re-creates it.

    Args:
        child: Any dimod sampler.
        variance: Noise variance sigma^2 >= 0 (finite).
        seed: Master seed for calls made without a ``seed`` keyword (None: fresh entropy).
        energy_noise: Whether reported energies carry noise too.
    """

    def __init__(
        self,
        child: dimod.Sampler,
        variance: float,
        seed: int | None = None,
        energy_noise: bool = True,
    ) -> None:
        super().__init__(child)
        self.variance = check_float("variance", variance, 0.0)
        self.seed = _check_seed("seed", seed)
        if not isinstance(energy_noise, bool):
            raise TypeError(f"'energy_noise' must be a bool, got {type(energy_noise).__name__}")
        self.energy_noise = energy_noise
        self._stream = np.random.SeedSequence(self.seed)

    @property
    def halfwidth(self) -> float:
        """The noise bound a = sqrt(3 * variance)."""
        return _halfwidth(self.variance)

    _own_parameters = ("seed",)

    def _own_properties(self) -> dict[str, Any]:
        return {"variance": self.variance, "halfwidth": self.halfwidth, "energy_noise": self.energy_noise}

    def sample(
        self, bqm: dimod.BinaryQuadraticModel, *, seed: int | None = None, **parameters: Any
    ) -> dimod.SampleSet:
        """Sample a perturbed copy of ``bqm``; report (noisy) energies of the original.

        Args:
            bqm: The problem (finite coefficients).
            seed: Seed for this call (see the class docstring); a derived seed goes to the
                child if it takes ``seed``.
            **parameters: Passed to the child; an unknown one is a ValueError.
        """
        start = time.perf_counter_ns()
        _check_bqm(bqm)
        _check_kwargs(parameters, self.parameters, type(self).__name__)
        seed = _check_seed("seed", seed)
        seq = np.random.SeedSequence(seed) if seed is not None else self._stream.spawn(1)[0]
        problem_seq, energy_seq, child_seq = seq.spawn(3)
        perturbed = perturb_bqm(bqm, self.variance, problem_seq)
        if "seed" in self.child.parameters:
            parameters["seed"] = _child_seed(child_seq)
        begin = time.perf_counter_ns()
        sampleset = self.child.sample(perturbed, **parameters)
        sampleset.resolve()
        stamps = (start, begin, time.perf_counter_ns())
        a = self.halfwidth
        noise = (
            np.random.default_rng(energy_seq).uniform(-a, a, size=len(sampleset))
            if self.energy_noise
            else 0.0
        )
        info = {
            "noisy_oracle": {
                "variance": self.variance,
                "halfwidth": a,
                "energy_noise": self.energy_noise,
                "spawn_key": list(seq.spawn_key),
            },
            "seed": seq.entropy,
        }
        return _reenergize(
            sampleset,
            bqm,
            child_energy_name="perturbed_energy",
            info=info,
            stamps=stamps,
            energy_noise=np.zeros(len(sampleset)) + noise,
            true_energy_name="true_energy",
        )


# --------------------------------------------------------------------------------------------
# wall-clock budget


def _merge_best(
    best: dimod.SampleSet | None, new: dimod.SampleSet, keep: int | None
) -> dimod.SampleSet:
    """The ``keep`` lowest-energy rows of ``best`` and ``new`` together (earlier rows win ties)."""
    if best is None:
        record, variables, vartype = new.record, list(new.variables), new.vartype
    else:
        variables, vartype = list(best.variables), best.vartype
        if new.vartype is not vartype:
            new = new.change_vartype(vartype, inplace=False)
        extra = new.record
        if list(new.variables) != variables:
            order = [new.variables.index(v) for v in variables]
            extra = extra.copy()
            extra["sample"] = extra["sample"][:, order]
        if extra.dtype != best.record.dtype:
            extra = extra.astype(best.record.dtype)
        record = np.concatenate([best.record, extra])
    if keep is not None and len(record) > keep:
        record = record[np.argsort(record["energy"], kind="stable")[:keep]]
    else:
        record = record[np.argsort(record["energy"], kind="stable")]
    return dimod.SampleSet(record.view(np.recarray), variables, {}, vartype)


class TimeBudgetComposite(_OneChildComposite):
    """Call the child again and again until a wall-clock budget is spent; keep the best samples.

    The loop: call the child (always at least once); merge its rows with the best kept so far
    and keep the ``num_reads`` lowest-energy rows (by the child's reported ``energy``;
    duplicates are kept, as repeated reads are); then stop if ``time_limit`` seconds have
    passed since the call to :meth:`sample` began, ``max_calls`` calls were made, or the BQM
    has no variables; otherwise call again. The deadline is checked **before each new call**:
    a child call that is running is not interrupted, so the total time can exceed
    ``time_limit`` by up to one child call, unless the child takes ``interrupt_function``
    (dwave-samplers' SA does): it then gets a function that returns True once the deadline
    has passed (or once the caller's own ``interrupt_function`` does).

    Every call passes the same keywords through, except ``seed``: if the child takes ``seed``,
    call k gets a fresh seed from the k-th child of ``SeedSequence(seed)`` (fresh entropy when
    no ``seed`` is given; reported as ``info["seed"]``), so the same seed reproduces the same
    sequence of child calls (though how many calls fit in the budget depends on the machine).

    ``num_reads``: if the child takes it, it is passed through and is also the number of rows
    kept; if not, this composite adds it, meaning only the number kept. Without it, the number
    of rows of the first child call is kept.

    A KeyboardInterrupt (Ctrl-C) during the loop returns the best found so far, with
    ``info["interrupted"] = True``, if any child call has completed; otherwise it propagates.

    ``info["time_budget"]`` holds ``calls``, ``elapsed_s``, ``time_limit`` and ``interrupted``;
    ``info["seed"]`` is the master seed if the child takes a seed. The rest of ``info`` is the
    last child call's, except ``timing``: the sum over the calls, the loop's own time counted as
    postprocessing.

    Args:
        child: Any dimod sampler.
        time_limit: Budget in seconds, > 0.
        max_calls: Optional cap on the number of child calls (>= 1).
    """

    def __init__(
        self, child: dimod.Sampler, time_limit: float, *, max_calls: int | None = None
    ) -> None:
        super().__init__(child)
        self.time_limit = check_float("time_limit", time_limit, 0.0, low_open=True)
        self.max_calls = None if max_calls is None else check_int("max_calls", max_calls, 1)

    _own_parameters = ("num_reads",)

    def _own_properties(self) -> dict[str, Any]:
        return {"time_limit": self.time_limit, "max_calls": self.max_calls}

    def sample(self, bqm: dimod.BinaryQuadraticModel, **parameters: Any) -> dimod.SampleSet:
        """Sample ``bqm`` with the child until the budget is spent; return the best rows.

        Args:
            bqm: The problem (finite coefficients).
            **parameters: Passed to every child call (see the class docstring for ``seed``,
                ``num_reads`` and ``interrupt_function``); an unknown one is a ValueError.
        """
        start = time.perf_counter()
        start_ns = time.perf_counter_ns()
        deadline = start + self.time_limit
        _check_bqm(bqm)
        _check_kwargs(parameters, self.parameters, type(self).__name__)
        child_params = self.child.parameters
        params = dict(parameters)
        if "num_reads" in child_params:
            num_reads = params.get("num_reads")
        else:
            num_reads = params.pop("num_reads", None)
        if num_reads is not None:
            num_reads = check_int("num_reads", num_reads, 1)

        seq: np.random.SeedSequence | None = None
        if "seed" in child_params:
            seq = np.random.SeedSequence(_check_seed("seed", params.pop("seed", None)))

        user_interrupt: Callable[[], bool] | None = None
        if "interrupt_function" in child_params:
            user_interrupt = params.pop("interrupt_function", None)
            if user_interrupt is not None and not callable(user_interrupt):
                raise TypeError(
                    f"'interrupt_function' must be callable, got {type(user_interrupt).__name__}"
                )

            def interrupt() -> bool:
                if time.perf_counter() >= deadline:
                    return True
                return bool(user_interrupt()) if user_interrupt is not None else False

            params["interrupt_function"] = interrupt

        best: dimod.SampleSet | None = None
        keep = num_reads
        calls = 0
        interrupted = False
        child_info: dict[str, Any] = {}
        spent = {"preprocessing_ns": 0, "sampling_ns": 0, "postprocessing_ns": 0}
        try:
            while True:
                call_params = dict(params)
                if seq is not None:
                    call_params["seed"] = _child_seed(seq.spawn(1)[0])
                begin = time.perf_counter_ns()
                new = self.child.sample(bqm, **call_params)
                new.resolve()
                child_info = dict(new.info)
                spent = add_timing(spent, child_timing(child_info, time.perf_counter_ns() - begin))
                calls += 1
                if keep is None:
                    keep = max(len(new), 1)
                best = _merge_best(best, new, keep)
                if time.perf_counter() >= deadline or bqm.num_variables == 0:
                    break
                if self.max_calls is not None and calls >= self.max_calls:
                    break
        except KeyboardInterrupt:
            if best is None:
                raise
            interrupted = True
            logger.info(
                "time budget loop interrupted after %d call(s); returning the best so far", calls
            )
        elapsed = time.perf_counter() - start
        logger.debug(
            "time budget: %d child call(s) in %.3f s (limit %.3f s)",
            calls,
            elapsed,
            self.time_limit,
        )
        info = {k: v for k, v in child_info.items() if k not in ("timing", "seed")}
        info["time_budget"] = {"calls": calls, "elapsed_s": elapsed, "time_limit": self.time_limit, "interrupted": interrupted}
        if seq is not None:
            info["seed"] = seq.entropy
        assert best is not None  # the loop ran at least once or re-raised
        overhead = max(time.perf_counter_ns() - start_ns - sum(spent.values()), 0)
        info["timing"] = add_timing(spent, {"postprocessing_ns": overhead})
        return dimod.SampleSet(best.record, best.variables, info, best.vartype)
