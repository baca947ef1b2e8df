"""Quantum Conditional Gradient Descent (QCGD): a CQM solver whose oracle is any dimod sampler.

Li et al. (arXiv 2506.18240) solve the QCBO "directly, with no penalty tuning" by a conditional
gradient method whose linear-minimisation oracle (LMO) runs on an Ising machine. The paper gives
no algorithm listing; we follow Q-FW (Yurtsever, Birdal and Golyanik, ECCV 2022) and CGAL
(Yurtsever, Tropp, Fercoq, Udell and Cevher, 2021), as the issue asks.

Lifting. :func:`hybridqnn.solvers.penalty.penalty_parts` writes the CQM as an objective
f(x) = x^T C x + k and violations v_i(x) = x^T V_i x + kappa_i >= 0 over bits x in {0,1}^n
(slack and product bits included; x_j^2 = x_j puts linear terms on the diagonal), each zero iff
constraint i holds (up to the slack grid for real-coefficient inequalities). Over the convex
hull of {x x^T} (the completely positive lifting, X ~ x x^T) the problem is the linear conic
program

    min <C, X> + k   s.t.   r_i(X) = <V_i, X> + kappa_i = 0,   X in conv{x x^T : x in {0,1}^n}.

Because v_i >= 0 at every atom, r_i(X) = 0 forces every atom of X to be feasible, so the lifting
is exact; this is why we lift the (squared, Rosenberg) violations rather than the signed
constraints (a signed linear constraint would be met by an average of infeasible atoms).
We scale C and k by 1 / Delta_f (Delta_f of :class:`~hybridqnn.solvers.penalty.PenaltyParts`)
so the objective is O(1) whatever the data; reported objectives are unscaled.

Iteration t = 0, 1, ..., T-1 (CGAL on the augmented Lagrangian
L_beta(X, y) = <C, X> + sum_i y_i r_i(X) + (beta/2) sum_i r_i(X)^2):

    beta_t = beta_0 sqrt(t + 1),     eta_t = 2 / (t + 2),
    G_t    = C + sum_i (y_i + beta_t r_i(X_t)) V_i                     (gradient in X)
    x_t    = argmin_{x in {0,1}^n} x^T G_t x                           (LMO: a QUBO, the sampler)
    X_{t+1} = (1 - eta_t) X_t + eta_t x_t x_t^T
    y_i    <- y_i + gamma r_i(X_{t+1}),   gamma = beta_0               (dual step)

with X_0 = 0 (the atom x = 0) and y = 0. The LMO's answer is the oracle sample with the lowest
*reported* energy (so a noisy oracle really misleads the method). The iterate is kept only
through the exact running values <C, X_t> and r_i(X_t) (both linear in X), which is all the
method needs; ``keep_lifted=True`` stores X_t itself (n x n) for inspection.

Answer: the best feasible oracle sample seen (every read of every call is checked on the CQM
with dimod's feasibility test), not X (the paper's "best feasible oracle sample"). If none was
feasible, the least-violating sample is returned with ``is_feasible`` False.

Deviations / choices: eta_t = 2/(t + 2) (Q-FW writes 2/(t + 1) with t from 1: the same
sequence); beta_0 = 1 and a constant dual step gamma = beta_0 (CGAL bounds the step to keep
y bounded; with r_i >= 0 our y is monotone); inequality constraints enter through binary
slacks (as in the penalty reduction), since a linear inequality in X does not force feasible
atoms.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dimod
import numpy as np
from scipy.sparse import coo_matrix

from hybridqnn._checks import check_bool, check_float, check_int
from hybridqnn.solvers.penalty import PenaltyParts, cqm_sampleset, penalty_parts

__all__ = ["QCGDResult", "QCGDSolver", "qcgd", "qcgd_convergence"]


def _upper(
    bqm: dimod.BinaryQuadraticModel, index: Mapping[Any, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, cols, weights), rows <= cols, with x^T M x = bqm(x) - offset for bits x, where M
    holds the linear biases on the diagonal and each quadratic bias once above it."""
    lin = list(bqm.linear.items())
    quad = list(bqm.quadratic.items())
    r = np.fromiter((index[v] for v, _ in lin), np.int64, len(lin))
    w = np.fromiter((b for _, b in lin), np.float64, len(lin))
    qi = np.fromiter((index[u] for (u, _), _ in quad), np.int64, len(quad))
    qj = np.fromiter((index[v] for (_, v), _ in quad), np.int64, len(quad))
    qw = np.fromiter((b for _, b in quad), np.float64, len(quad))
    rows = np.concatenate([r, np.minimum(qi, qj)])
    cols = np.concatenate([r, np.maximum(qi, qj)])
    return rows, cols, np.concatenate([w, qw])


@dataclass(eq=False)
class QCGDResult:
    """What :func:`qcgd` returns.

    Attributes:
        sampleset: the answer as a one-row CQM sample set (energy = CQM objective,
            is_feasible, is_satisfied); ``info`` has ``iterations``, ``oracle_calls``,
            ``oracle_seconds``, ``total_seconds``, ``found_feasible``.
        trace: one dict per iteration: ``iteration``, ``objective`` (<C, X_{t+1}> + k, the lifted
            objective, unscaled), ``infeasibility`` (||r(X_{t+1})||_2 over the normalised
            violations), ``sample_objective`` and ``sample_feasible`` (of the LMO answer x_t),
            ``sample_violation`` (its largest CQM constraint violation), ``best_feasible``
            (best feasible objective so far, or None), ``beta``, ``oracle_seconds``.
        X: the final lifted iterate (only with ``keep_lifted=True``), over ``variables``.
        variables: the bit order of X.
    """

    sampleset: dimod.SampleSet
    trace: list[dict[str, Any]]
    X: np.ndarray | None = None
    variables: list = field(default_factory=list)


def qcgd(
    cqm: dimod.ConstrainedQuadraticModel,
    sampler: dimod.Sampler,
    *,
    iterations: int = 50,
    beta0: float = 1.0,
    slack_bits: int = 3,
    sample_kwargs: Mapping[str, Any] | None = None,
    seed: int | None = None,
    keep_lifted: bool = False,
    repair: Callable[[dict], Mapping] | None = None,
) -> QCGDResult:
    """Run QCGD on ``cqm`` with ``sampler`` as the LMO (module docstring).

    Args:
        cqm: BINARY/SPIN variables, hard linear or quadratic constraints.
        sampler: Any dimod sampler (the oracle), e.g. a noisy or limited-precision composite.
        iterations: T >= 1 oracle calls.
        beta0: beta_0 > 0, the penalty scale (and dual step).
        slack_bits: slack bits per real-coefficient inequality.
        sample_kwargs: keywords for every oracle call (``num_reads``, ``num_sweeps``, ...).
        seed: master seed; each call gets a child seed if the sampler takes ``seed``.
        keep_lifted: store the lifted iterate X (n x n).
        repair: optional map from a CQM sample (dict) to another (e.g.
            :meth:`hybridqnn.problems.qcbo.QCBOModel.complete`); every read's repaired
            version is also a candidate answer. Not in the paper (default off); the lifted
            iterate always uses the raw oracle samples.
    """
    if not isinstance(cqm, dimod.ConstrainedQuadraticModel):
        raise TypeError(
            f"'cqm' must be a dimod.ConstrainedQuadraticModel, got {type(cqm).__name__}"
        )
    if not (hasattr(sampler, "sample") and hasattr(sampler, "parameters")):
        raise TypeError(f"'sampler' must be a dimod.Sampler, got {type(sampler).__name__}")
    iterations = check_int("iterations", iterations, 1)
    beta0 = check_float("beta0", beta0, 0.0, low_open=True)
    keep_lifted = check_bool("keep_lifted", keep_lifted)
    kwargs = dict(sample_kwargs or {})
    if "seed" in kwargs:
        raise ValueError("'sample_kwargs' must not contain 'seed'; pass qcgd(seed=...)")
    unknown = sorted(set(kwargs) - set(sampler.parameters))
    if unknown:
        raise ValueError(
            f"'sample_kwargs' has keyword(s) the sampler does not take: {', '.join(map(repr, unknown))}"
        )
    seed = None if seed is None else check_int("seed", seed, 0)
    start = time.perf_counter()
    parts = penalty_parts(cqm, slack_bits=slack_bits)
    if repair is not None and not callable(repair):
        raise TypeError(f"'repair' must be callable or None, got {type(repair).__name__}")
    return _run(cqm, parts, sampler, iterations, beta0, kwargs, seed, keep_lifted, start, repair)


def _run(
    cqm: dimod.ConstrainedQuadraticModel,
    parts: PenaltyParts,
    sampler: dimod.Sampler,
    iterations: int,
    beta0: float,
    kwargs: dict[str, Any],
    seed: int | None,
    keep_lifted: bool,
    start: float,
    repair: Callable[[dict], Mapping] | None = None,
) -> QCGDResult:
    variables = parts.variables
    n = len(variables)
    index = {v: i for i, v in enumerate(variables)}
    scale = 1.0 / max(parts.objective_range, 1e-12)
    c_r, c_c, c_w = _upper(parts.objective, index)
    c_w = c_w * scale
    k0 = parts.objective.offset * scale
    m = len(parts.violations)
    pieces = [_upper(b, index) for _, b in parts.violations]
    v_r = np.concatenate([p[0] for p in pieces]) if m else np.zeros(0, np.int64)
    v_c = np.concatenate([p[1] for p in pieces]) if m else np.zeros(0, np.int64)
    v_w = np.concatenate([p[2] for p in pieces]) if m else np.zeros(0)
    v_k = np.repeat(np.arange(m), [p[0].size for p in pieces]) if m else np.zeros(0, np.int64)
    kappa = np.array([b.offset for _, b in parts.violations], dtype=np.float64)
    all_r = np.concatenate([c_r, v_r])
    all_c = np.concatenate([c_c, v_c])
    y = np.zeros(m)
    obj_X = k0  # <C, X_0> + k with X_0 = 0
    r = kappa.copy()
    X = np.zeros((n, n)) if keep_lifted else None
    seq = np.random.SeedSequence(seed)
    takes_seed = "seed" in sampler.parameters
    trace: list[dict[str, Any]] = []
    best: tuple[float, np.ndarray] | None = None
    least: tuple[float, np.ndarray] | None = None
    oracle_seconds = 0.0
    for t in range(iterations):
        beta = beta0 * np.sqrt(t + 1.0)
        mult = y + beta * r
        G = (
            coo_matrix((np.concatenate([c_w, mult[v_k] * v_w]), (all_r, all_c)), shape=(n, n))
            .tocsr()
            .tocoo()
        )
        diag = G.row == G.col
        lin = np.zeros(n)
        np.add.at(lin, G.row[diag], G.data[diag])
        off = ~diag & (G.data != 0)
        bqm = dimod.BinaryQuadraticModel.from_numpy_vectors(
            lin, (G.row[off], G.col[off], G.data[off]), 0.0, dimod.BINARY, variable_order=variables
        )
        params = dict(kwargs)
        if takes_seed:
            params["seed"] = int(seq.spawn(1)[0].generate_state(1)[0]) % 2**31
        t0 = time.perf_counter()
        ss = sampler.sample(bqm, **params)
        ss.resolve()
        call_s = time.perf_counter() - t0
        oracle_seconds += call_s
        if ss.vartype is dimod.SPIN:
            ss = ss.change_vartype(dimod.BINARY, inplace=False)
        position = {v: i for i, v in enumerate(ss.variables)}
        order = [position[v] for v in variables]
        rows = np.asarray(ss.record.sample)[:, order].astype(np.float64)
        x = rows[int(np.argmin(ss.record.energy))]
        # exact updates of the lifted quantities (all linear in X)
        eta = 2.0 / (t + 2.0)
        f_x = float(np.dot(c_w, x[c_r] * x[c_c])) + k0
        v_x = np.bincount(v_k, weights=v_w * x[v_r] * x[v_c], minlength=m) + kappa
        obj_X = (1 - eta) * obj_X + eta * f_x
        r = (1 - eta) * r + eta * v_x
        if X is not None:
            X = (1 - eta) * X + eta * np.outer(x, x)
        y = y + beta0 * r
        cqm_set = cqm_sampleset(
            cqm,
            parts,
            dimod.SampleSet.from_samples(
                (rows.astype(np.int8), variables), dimod.BINARY, energy=np.zeros(len(rows))
            ),
        )
        energies = np.asarray(cqm_set.record.energy, dtype=np.float64)
        feas = np.asarray(cqm_set.record.is_feasible, dtype=bool)
        cqm_rows, cqm_vars = cqm_set.record.sample, list(cqm_set.variables)
        if repair is not None:
            fixed = [dict(repair(dict(zip(cqm_vars, row, strict=True)))) for row in cqm_rows]
            rep_rows = np.array([[f[v] for v in cqm_vars] for f in fixed], dtype=np.int8)
            rep = dimod.SampleSet.from_samples_cqm((rep_rows, cqm_vars), cqm, sort_labels=False)
            energies = np.concatenate([energies, np.asarray(rep.record.energy, dtype=np.float64)])
            feas = np.concatenate([feas, np.asarray(rep.record.is_feasible, dtype=bool)])
            cqm_rows = np.vstack([cqm_rows, rep_rows])
        if np.any(feas):
            i = int(np.argmin(np.where(feas, energies, np.inf)))
            if best is None or energies[i] < best[0]:
                best = (float(energies[i]), cqm_rows[i].copy())
        # the LMO answer itself (the first row of cqm_set is not necessarily x)
        x_set = cqm_sampleset(
            cqm,
            parts,
            dimod.SampleSet.from_samples(
                (x[None, :].astype(np.int8), variables), dimod.BINARY, energy=[0.0]
            ),
        )
        viol = _max_violation(cqm, x_set)
        if least is None or viol < least[0]:
            least = (viol, x_set.record.sample[0].copy())
        trace.append(
            {
                "iteration": t,
                "objective": float(obj_X / scale),
                "infeasibility": float(np.linalg.norm(r)),
                "sample_objective": float(x_set.record.energy[0]),
                "sample_feasible": bool(x_set.record.is_feasible[0]),
                "sample_violation": viol,
                "best_feasible": None if best is None else best[0],
                "beta": float(beta),
                "oracle_seconds": call_s,
            }
        )
    found = best is not None
    row = best[1] if found else least[1]  # type: ignore[index]
    info = {
        "iterations": iterations,
        "oracle_calls": iterations,
        "oracle_seconds": oracle_seconds,
        "total_seconds": time.perf_counter() - start,
        "found_feasible": found,
        "num_variables": n,
        "num_constraints": m,
        "repair": repair is not None,
    }
    answer = dimod.SampleSet.from_samples_cqm((row[None, :], cqm_vars), cqm, info=info)
    return QCGDResult(answer, trace, X, list(variables) if X is not None else [])


def _max_violation(cqm: dimod.ConstrainedQuadraticModel, sampleset: dimod.SampleSet) -> float:
    sample = next(iter(sampleset.samples()))
    viol = cqm.violations(sample, skip_satisfied=False, clip=True)
    return float(max(viol.values(), default=0.0))


class QCGDSolver:
    """:func:`qcgd` as a CQM solver object: ``QCGDSolver(sampler, ...).sample_cqm(cqm)``.

    Args:
        sampler: The oracle (any dimod sampler).
        iterations, beta0, slack_bits, sample_kwargs, repair: as :func:`qcgd`.
    """

    def __init__(
        self,
        sampler: dimod.Sampler,
        *,
        iterations: int = 50,
        beta0: float = 1.0,
        slack_bits: int = 3,
        sample_kwargs: Mapping[str, Any] | None = None,
        repair: Callable[[dict], Mapping] | None = None,
    ) -> None:
        if not (hasattr(sampler, "sample") and hasattr(sampler, "parameters")):
            raise TypeError(f"'sampler' must be a dimod.Sampler, got {type(sampler).__name__}")
        self.sampler = sampler
        self.iterations = check_int("iterations", iterations, 1)
        self.beta0 = check_float("beta0", beta0, 0.0, low_open=True)
        self.slack_bits = check_int("slack_bits", slack_bits, 1, 24)
        self.sample_kwargs = dict(sample_kwargs or {})
        self.repair = repair
        self.last_trace: list[dict[str, Any]] = []

    def sample_cqm(
        self, cqm: dimod.ConstrainedQuadraticModel, *, seed: int | None = None
    ) -> dimod.SampleSet:
        """The best feasible oracle sample (one row); the trace is kept in ``last_trace``."""
        result = qcgd(
            cqm,
            self.sampler,
            iterations=self.iterations,
            beta0=self.beta0,
            slack_bits=self.slack_bits,
            sample_kwargs=self.sample_kwargs,
            seed=seed,
            repair=self.repair,
        )
        self.last_trace = result.trace
        return result.sampleset


def qcgd_convergence(
    cqm: dimod.ConstrainedQuadraticModel,
    settings: Sequence[Mapping[str, Any]],
    *,
    sampler: dimod.Sampler | None = None,
    iterations: int = 50,
    beta0: float = 1.0,
    sample_kwargs: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """QCGD under several oracle settings; per-iteration traces for plotting.

    Each setting is a mapping with optional ``variance`` (noise variance, >= 0: wraps the oracle
    in :class:`~hybridqnn.solvers.composites.NoisyOracleComposite`) and ``bits`` (coefficient
    bits, 2..32: :class:`~hybridqnn.solvers.composites.LimitedPrecisionComposite`). With both,
    the noise wraps the rounding: the oracle rounds the perturbed problem. The base oracle is ``sampler`` (default: the registry's default, ``dense-sa``).
    All settings use the same ``seed``.

    Returns:
        One dict per setting: ``variance``, ``bits``, ``trace`` (as :class:`QCGDResult`),
        ``final_objective``, ``feasible``, ``oracle_seconds``.
    """
    from hybridqnn.solvers.composites import LimitedPrecisionComposite, NoisyOracleComposite
    from hybridqnn.solvers.registry import get_sampler

    base = sampler if sampler is not None else get_sampler("dense-sa")
    out = []
    for k, setting in enumerate(settings):
        if not isinstance(setting, Mapping):
            raise TypeError(f"'settings[{k}]' must be a mapping, got {type(setting).__name__}")
        unknown = sorted(set(setting) - {"variance", "bits"})
        if unknown:
            raise ValueError(
                f"'settings[{k}]' has unknown key(s) {', '.join(map(repr, unknown))}; valid: bits, variance"
            )
        oracle = base
        bits = setting.get("bits")
        variance = float(setting.get("variance", 0.0) or 0.0)
        if bits is not None:
            oracle = LimitedPrecisionComposite(oracle, bits=bits)
        if variance > 0:
            oracle = NoisyOracleComposite(oracle, variance=variance, seed=seed)
        res = qcgd(
            cqm, oracle, iterations=iterations, beta0=beta0, sample_kwargs=sample_kwargs, seed=seed
        )
        first = res.sampleset.first
        out.append(
            {
                "variance": variance,
                "bits": bits,
                "trace": res.trace,
                "final_objective": float(first.energy),
                "feasible": bool(first.is_feasible),
                "oracle_seconds": res.sampleset.info["oracle_seconds"],
            }
        )
    return out
