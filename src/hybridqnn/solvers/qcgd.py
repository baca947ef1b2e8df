"""Quantum Conditional Gradient Descent (QCGD): a CQM solver whose oracle is any dimod sampler.

Li et al. (arXiv 2506.18240) solve the QCBO "directly, with no penalty tuning" by a conditional
gradient method whose linear-minimisation oracle (LMO) runs on an Ising machine. The paper gives
no algorithm listing; we follow Q-FW (Yurtsever, Birdal and Golyanik, ECCV 2022) and CGAL
(Yurtsever, Tropp, Fercoq, Udell and Cevher, 2021), as the issue asks.

Lifting. :func:`hybridqnn.problems.penalty.penalty_parts` writes the CQM as an objective
f(x) = x^T C x + k and violations v_i(x) = x^T V_i x + kappa_i >= 0 over bits x in {0,1}^n
(slack and product bits included; x_j^2 = x_j puts linear terms on the diagonal), each zero iff
constraint i holds (up to the slack grid for real-coefficient inequalities). Over the convex
hull of {x x^T} (the completely positive lifting, X ~ x x^T) the problem is the linear conic
program

    min <C, X> + k   s.t.   r_i(X) = <V_i, X> + kappa_i = 0,   X in conv{x x^T : x in {0,1}^n}.

Because v_i >= 0 at every atom, r_i(X) = 0 forces every atom of X to be feasible, so the lifting
is exact; this is why we lift the (squared, Rosenberg) violations rather than the signed
constraints (a signed linear constraint would be met by an average of infeasible atoms).
We scale C and k by 1 / R, R = ``objective_range`` (a bound on the objective's range over the
feasible points; for a QCBO :attr:`~hybridqnn.problems.qcbo.QCBOModel.objective_range`, computed
from FIP) or, if not given, Delta_f of :class:`~hybridqnn.problems.penalty.PenaltyParts` (sum of
absolute biases, far looser: on a 1-sample 16-4-1 QCBO Delta_f = 414 while the loss spans 9.2, so
the loss was about 2% of the oracle's QUBO); reported objectives are unscaled.

Exactness. For r(X) = 0 to be reachable, every feasible x must have a slack assignment with
v_i = 0. That holds when every constraint has integer data (exact integer slacks; the
integer-exact QCBO of :func:`~hybridqnn.problems.qcbo.build_qcbo` with ``input_unit``), and then
an infeasible atom has v_i >= 1. With real data the slack grid leaves a residual (the smallest
total violation over all bit vectors was 0.037 on a 1-sample 2-2-1 real-coefficient QCBO), r
cannot reach 0 and y grows; ``info["qcgd"]["integral"]`` says which case a run was.

Preconditioning (``precondition=True``; off by default). Each v_i and kappa_i is divided by
||a_i||^2 (:attr:`~hybridqnn.problems.penalty.PenaltyParts.norms`, the squared length of
constraint i's normalised linear form a_i^T z + c_i over the bits z, slack bits included). For a
squared row, v_i(z) = (a_i^T z + c_i)^2, so v_i / ||a_i||^2 is the squared Euclidean distance
from z to the hyperplane a_i^T z + c_i = 0 and r_i the average of it over X's atoms; a
Rosenberg product row keeps norm 1 (v_i unchanged). Since ||a_i a_i^T||_F = ||a_i||^2, this is
(up to v_i's constant and linear terms) dividing each lifted constraint matrix V_i by its
Frobenius norm: the row scaling SCALE_A = 1 / ||A_i|| of CGAL's reference code in its QAP
experiment (Yurtsever et al. 2021, code at github.com/alpyurtsever/SketchyCGAL, Test_QAP.m),
without the further division of all rows by ||A|| that it also makes. The lifting stays exact
for integer data (``info["qcgd"]["integral"]``): there v_i is 0 when constraint i holds with
the slack bits of :meth:`~hybridqnn.problems.penalty.PenaltyParts.lift` and an integer
>= 1 otherwise, so v_i / ||a_i||^2 is 0 or >= 1 / ||a_i||^2. Without it, the integer QCBO's
rows differ by up to 10^6 in ||a_i||^2 (one-hot and product rows about 3, loss-interval rows
about 3.5 10^6), and both the oracle's QUBO and ||r|| in the dual step are ruled by the longest
rows; with it, a unit violation of a long row costs 1 / ||a_i||^2 (hence a larger beta_0).

Measured (cold, dense-SA 4 reads x 200 sweeps, T = 100, 2-sample 16-4-1 integer QCBO of
``qcbo-convergence``, input unit 2^-4; "violation" is the smallest largest-CQM-violation of an
oracle answer over the run):

* 5-bit activations (the config's model, 551 lifted bits): no feasible atom in any variant:
  plain beta_0 = 1 (violation 8), preconditioned with beta_0 = 1, 10, 100, 10^3, 10^5
  (violation 41, 47, 19, 17, 11), rows divided by ||a_i|| or ||a_i||^{1/2} instead (4-6),
  16 reads x 1000 or 4 x 2000 sweeps (0), preconditioned with beta_0 = 100 and 8 reads x 2000
  or 5000 sweeps (violation 1, 9), and the oracle's reads started from x_{t-1} (0: SA
  from a warm state stays there; violation 17 plain, 357 preconditioned). On the pure
  feasibility QUBO sum_i v_i (objective dropped), 8 reads of 200-20,000 sweeps leave 27-41
  violated constraints per read plain and 5-13 preconditioned, and none is feasible even with
  the weights fixed to a feasible network's: single flips cannot carry a binary-encoded
  activation or slack from one integer to the next (the carry barriers of
  :class:`~hybridqnn.solvers.annealing.DenseSimulatedAnnealingSampler`'s docstring).
* 1-bit activations (``--set activation_bits=1``; 105 CQM variables): plain, no feasible atom in
  seeds 0, 1, 2 (violation 1), nor with beta_0 = 100 or 1000; preconditioned with beta_0 = 100:
  3, 4 and 9 feasible atoms, and the best is the MILP optimum (5.081, gap 0%) in all three
  seeds (beta_0 = 1: none; 10: one feasible read; 1000: 6 atoms). Pure feasibility: 3 of 16
  reads feasible preconditioned, 0 of 16 plain.

So preconditioning (with a larger beta_0, since a unit violation now costs 1 / ||a_i||^2) is
what lets dense-SA find feasible atoms where it can at all (the ``qcbo-convergence`` config turns it
on, with beta_0 = 100 and 1-bit activations); it stays off by default here because it
is not better on the 5-bit model and, with an exact oracle, it slows the multipliers. On a
1-sample 4-1-1 QCBO with 1-bit activations (32 lifted bits; ``pool_side=2``,
``loss_segments=3``), the MILP oracle proved all 100 calls optimal in every run: plain with
beta_0 = 1, 46% of the second half's atoms were feasible and the best was the optimum (gap 0%;
calls 8 s median, 20 s at most); plain with beta_0 = 10, 98% (the first feasible atom at t = 4,
93 of 100 in all), gap 0%, slope -1.99, ||r|| sqrt(t) non-increasing from t = 1 on (it rises
once, from X_0 = 0 to X_1); preconditioned, r plateaued at 0.006 (slope -0.37, beta_0 = 1)
and 0.0055 (beta_0 = 100) with no feasible atom, as each dual step adds at most
gamma r_i <= beta_0 r_i to y_i while a unit violation costs only 1 / ||a_i||^2.

The exact oracle on the 2-sample model. An oracle whose ``parameters`` list ``squares`` gets
the squared rows of G_t as (mult_i u_i, a_i, c_i) (:meth:`_Lifted.squares`, u_i the
preconditioning factor), so that :class:`~hybridqnn.solvers.milp.MILPSolver` models each
(a_i^T x + c_i)^2 by tangent cuts instead of its expanded products. Each call on the 2-sample
16-4-1 model (1-bit activations, 321 lifted bits) then takes 1.0 s median (3.6 s at most),
proven optimal, where the product linearisation was not proven in 60 s. Measured, T = 100, beta_0 = 100, no
preconditioning (the ``qcbo-convergence`` config): warm-started, 98% of the second half's atoms
feasible, the best at the optimum (gap 0%), slope -1.96, ||r|| sqrt(t) non-increasing over all
100 oracle iterates (the start X_1, feasible with r = 0, is not one of them), 142 s; cold, the
same fraction and gap (beta_0 = 10: 78%), but ||r|| sqrt(t) rises on the first two steps (rows
the first answers satisfy carry no multiplier yet, so the next answer violates them by up to 135)
and never after. Preconditioned, the calls are far slower (weights mult_i / ||a_i||^2 leave the
objective in charge and the relaxation weak): the 100 calls had not finished after 6 minutes.

Iteration t = 0, 1, ..., T-1 (CGAL on the augmented Lagrangian
L_beta(X, y) = <C, X> + sum_i y_i r_i(X) + (beta/2) sum_i r_i(X)^2):

    beta_t = beta_0 sqrt(t + 1),     eta_t = 2 / (t + 2),
    G_t    = C + sum_i (y_i + beta_t r_i(X_t)) V_i                     (gradient in X)
    x_t    = argmin_{x in {0,1}^n} x^T G_t x                           (LMO: a QUBO, the sampler)
    X_{t+1} = (1 - eta_t) X_t + eta_t x_t x_t^T
    y_i    <- y_i + gamma_t r_i(X_{t+1}),                               (dual step)
    gamma_t = min(beta_0, 4 beta_0 alpha^2 / ((t + 1)^{3/2} ||r(X_{t+1})||^2)),   alpha = 1

(CGAL's bounded dual step, Yurtsever et al. 2021; CGAL's alpha bounds tr X, which is n here,
but alpha = n made y grow fast enough to lose the optimum on the 1- and 2-sample 2-2-1 test
QCBOs, and gave no feasible atom either way on the 16-4-1 one; we keep alpha = 1;
an update that would make ||y|| exceed ``dual_bound`` is skipped), with X_0 = 0 (the atom
x = 0) and y = 0. A warm start ``x0`` (the incumbent, a CQM sample) makes X_1 = x0 x0^T (lifted
with exact slacks, so r(X_1) = 0 when x0 is feasible) and t counts from 1, so the first oracle
answer gets weight 2/3 rather than replacing the start. With a warm start, an oracle that takes
``initial_states`` (e.g. ``dense-sa``) is also started from the best feasible point so far
(lifted), every read (our choice, like reverse annealing from the incumbent: on a 2-sample
16-4-1 integer QCBO, dense-SA from random states returned no feasible atom in 100 calls, and
from the incumbent every atom of the second half was feasible). The LMO's answer is the oracle sample with the lowest
*reported* energy (so a noisy oracle really misleads the method). The iterate is kept only
through the exact running values <C, X_t> and r_i(X_t) (both linear in X), which is all the
method needs; ``keep_lifted=True`` stores X_t itself (n x n) for inspection.

Answer: the best feasible oracle sample seen (every read of every call is checked on the CQM
with dimod's feasibility test), not X (the paper's "best feasible oracle sample"). If none was
feasible, the least-violating sample is returned with ``is_feasible`` False.

Deviations / choices: eta_t = 2/(t + 2) (Q-FW writes 2/(t + 1) with t from 1: the same
sequence); beta_0 = 1 (with r_i >= 0 our y is monotone, and the bounded step keeps it finite); inequality constraints enter through binary
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
from hybridqnn.problems.cqm_scoring import CQMScorer
from hybridqnn.problems.penalty import PenaltyParts, penalty_parts

__all__ = ["QCGDResult", "QCGDSolver", "dual_step", "qcgd", "qcgd_convergence", "trace_summary"]


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
            is_feasible, is_satisfied). ``info`` follows dwave-samplers: ``timing``
            (``preprocessing_ns``: the reduction and lifting; ``sampling_ns``: the oracle calls;
            ``postprocessing_ns``: the rest), ``seed``, and ``qcgd``: ``iterations``,
            ``oracle_calls``, ``oracle_seconds``, ``total_seconds``, ``found_feasible``,
            ``num_variables``, ``num_constraints``, ``repair``, ``warm_start``,
            ``objective_range`` (the scale of C), ``integral`` (every constraint integer).
        trace: one dict per iteration: ``iteration``, ``objective`` (<C, X_{t+1}> + k, the lifted
            objective, unscaled), ``infeasibility`` (||r(X_{t+1})||_2, the lifted violations
            CGAL drives to 0), ``constraint_infeasibility`` (||mean over the atoms of X_{t+1}
            of their CQM constraint violations||_2: the constraints alone, no slack or product
            bits), ``sample_objective`` and ``sample_feasible`` (of the LMO answer x_t),
            ``sample_violation`` (its largest CQM constraint violation), ``best_feasible``
            (best feasible objective so far, or None), ``beta``, ``dual_step``,
            ``oracle_seconds``, ``oracle_optimal`` (whether the oracle proved its answer
            optimal, e.g. ``info["milp"]["optimal"]``; None for an oracle that reports no such
            flag, such as simulated annealing).
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
    objective_range: float | None = None,
    x0: Mapping[Any, float] | None = None,
    dual_bound: float | None = None,
    precondition: bool = False,
) -> QCGDResult:
    """Run QCGD on ``cqm`` with ``sampler`` as the LMO (module docstring).

    Args:
        cqm: BINARY/SPIN variables, hard linear or quadratic constraints.
        sampler: Any dimod sampler (the oracle), e.g. a noisy or limited-precision composite.
        iterations: T >= 1 oracle calls.
        beta0: beta_0 > 0, the penalty scale (and the largest dual step).
        slack_bits: slack bits per real-coefficient inequality.
        sample_kwargs: keywords for every oracle call (``num_reads``, ``num_sweeps``, ...).
        seed: master seed; each call gets a child seed if the sampler takes ``seed``.
        keep_lifted: store the lifted iterate X (n x n).
        repair: optional map from a CQM sample (dict) to another (e.g.
            :meth:`hybridqnn.problems.qcbo.QCBOModel.complete`); every read's repaired
            version is also a candidate answer. Not in the paper (default off); the lifted
            iterate always uses the raw oracle samples.
        objective_range: the scale of C (> 0), a bound on max - min of the objective over the
            feasible points, e.g. :attr:`hybridqnn.problems.qcbo.QCBOModel.objective_range`;
            None: Delta_f (sum of the objective's absolute biases, a looser bound).
        x0: a warm start, a sample over the CQM's variables (e.g. the incumbent, completed):
            X_1 = x0 x0^T lifted (:meth:`PenaltyParts.lift`) and the iterations count from 1;
            an oracle with ``initial_states`` starts from the best feasible point so far.
        dual_bound: K > 0: a dual update that would make ||y|| exceed K is skipped (CGAL's
            bounded multipliers); None: no bound on ||y|| (the step itself is still bounded).
        precondition: divide each violation v_i (and kappa_i) by ||a_i||^2
            (:attr:`PenaltyParts.norms`), so that on a squared row r_i measures the squared
            distance to constraint i's hyperplane; product rows keep norm 1 (module
            docstring, "Preconditioning"); off by default.
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
    if "squares" in kwargs:
        raise ValueError("'sample_kwargs' must not contain 'squares'; qcgd passes the lifted rows' squares itself")
    unknown = sorted(set(kwargs) - set(sampler.parameters))
    if unknown:
        raise ValueError(
            f"'sample_kwargs' has keyword(s) the sampler does not take: {', '.join(map(repr, unknown))}"
        )
    seed = None if seed is None else check_int("seed", seed, 0)
    if objective_range is not None:
        objective_range = check_float("objective_range", objective_range, 0.0, low_open=True)
    if dual_bound is not None:
        dual_bound = check_float("dual_bound", dual_bound, 0.0, low_open=True)
    if repair is not None and not callable(repair):
        raise TypeError(f"'repair' must be callable or None, got {type(repair).__name__}")
    if x0 is not None:
        if not isinstance(x0, Mapping):
            raise TypeError(
                f"'x0' must be a mapping over the CQM's variables, got {type(x0).__name__}"
            )
        missing = [v for v in cqm.variables if v not in x0]
        if missing:
            raise ValueError(f"'x0' must give every CQM variable, missing {missing[0]!r}")
    start = time.perf_counter()
    parts = penalty_parts(cqm, slack_bits=slack_bits)
    lifted = _Lifted(parts, objective_range, check_bool("precondition", precondition))
    run = _Run(cqm, parts, lifted, sampler, kwargs, seed, repair, keep_lifted, beta0, dual_bound)
    return run.go(iterations, x0, start)


class _Lifted:
    """The lifted problem's data over the bit order ``parts.variables``: the scaled objective
    C (upper-triangular triplets) and the violations V_i with their constants kappa_i."""

    def __init__(
        self, parts: PenaltyParts, objective_range: float | None, precondition: bool = False
    ) -> None:
        self.variables = parts.variables
        self.n = len(self.variables)
        index = {v: i for i, v in enumerate(self.variables)}
        self.range = objective_range or max(parts.objective_range, 1e-12)
        self.scale = 1.0 / self.range
        self.c_r, self.c_c, c_w = _upper(parts.objective, index)
        self.c_w = c_w * self.scale
        self.k0 = parts.objective.offset * self.scale
        self.m = m = len(parts.rows)
        self.v_r, self.v_c, self.v_w, self.v_k, self.kappa = parts.triplets(index)
        self.unit = np.ones(m)
        if precondition and m:
            self.unit = 1.0 / np.maximum(np.asarray(parts.norms, dtype=np.float64), 1e-300)
            self.v_w = self.v_w * self.unit[self.v_k]
            self.kappa = self.kappa * self.unit
        # the squared rows' linear forms, for an exact oracle that takes them (integer data only)
        self.forms = parts.forms if parts.integral else []
        self.all_r = np.concatenate([self.c_r, self.v_r])
        self.all_c = np.concatenate([self.c_c, self.v_c])

    def values(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """(<C, x x^T> + k scaled, v(x)) at a bit vector."""
        f = float(np.dot(self.c_w, x[self.c_r] * x[self.c_c])) + self.k0
        v = np.bincount(self.v_k, weights=self.v_w * x[self.v_r] * x[self.v_c], minlength=self.m)
        return f, v + self.kappa

    def oracle_bqm(self, mult: np.ndarray) -> dimod.BinaryQuadraticModel:
        """The LMO's QUBO x^T G x, G = C + sum_i mult_i V_i."""
        n = self.n
        data = np.concatenate([self.c_w, mult[self.v_k] * self.v_w])
        G = coo_matrix((data, (self.all_r, self.all_c)), shape=(n, n)).tocsr().tocoo()
        diag = G.row == G.col
        lin = np.zeros(n)
        np.add.at(lin, G.row[diag], G.data[diag])
        off = ~diag & (G.data != 0)
        return dimod.BinaryQuadraticModel.from_numpy_vectors(
            lin,
            (G.row[off], G.col[off], G.data[off]),
            0.0,
            dimod.BINARY,
            variable_order=self.variables,
        )

    def squares(self, mult: np.ndarray) -> list[tuple[float, dict, float]]:
        """The squared rows of the LMO's QUBO as (mult_i u_i, a_i, c_i), u_i the row's
        preconditioning factor (1 without): x^T G x holds sum_i mult_i u_i (a_i^T x + c_i)^2 (the
        ``squares`` keyword of :class:`~hybridqnn.solvers.milp.MILPSolver`)."""
        return [
            (float(mult[i] * self.unit[i]), form[0], form[1])
            for i, form in enumerate(self.forms)
            if form is not None and mult[i] > 0.0
        ]


def _proven_optimal(info: Mapping[str, Any]) -> bool | None:
    """Whether the oracle proved its answer optimal, from the ``optimal`` flag an exact solver
    puts in its ``info`` namespace (e.g. ``info["milp"]["optimal"]``); None if it reports none."""
    flags = [v["optimal"] for v in info.values() if isinstance(v, Mapping) and "optimal" in v]
    return bool(all(flags)) if flags else None


def dual_step(beta0: float, t: int, r: np.ndarray, alpha: float = 1.0) -> float:
    """CGAL's bounded dual step (Yurtsever et al. 2021, Alg. 6.1):
    gamma_t = min(beta_0, 4 beta_0 alpha^2 / ((t + 1)^{3/2} ||r(X_{t+1})||^2)), alpha a bound
    on tr X (here n, the number of bits: tr(x x^T) = sum_j x_j <= n)."""
    norm2 = float(np.dot(r, r))
    if norm2 == 0.0:
        return beta0
    return min(beta0, 4.0 * beta0 * alpha * alpha / ((t + 1.0) ** 1.5 * norm2))


@dataclass(eq=False)
class _Run:
    """One QCGD run: the CGAL iteration state and its step (module docstring)."""

    cqm: dimod.ConstrainedQuadraticModel
    parts: PenaltyParts
    lifted: _Lifted
    sampler: dimod.Sampler
    kwargs: dict[str, Any]
    seed: int | None
    repair: Callable[[dict], Mapping] | None
    keep_lifted: bool
    beta0: float
    dual_bound: float | None

    def go(self, iterations: int, x0: Mapping[Any, float] | None, start: float) -> QCGDResult:
        lifted, cqm = self.lifted, self.cqm
        m = lifted.m
        self.y = np.zeros(m)
        self.obj = lifted.k0  # <C, X_0> + k with X_0 = 0
        self.r = lifted.kappa.copy()
        self.con = np.zeros(len(cqm.constraints))  # mean CQM violations of the atoms
        self.X = np.zeros((lifted.n, lifted.n)) if self.keep_lifted else None
        self.best: tuple[float, np.ndarray] | None = None
        self.least: tuple[float, np.ndarray] | None = None
        self.oracle_seconds = 0.0
        self.seq = np.random.SeedSequence(self.seed)
        self.scorer = CQMScorer(cqm)
        self.labels = self.scorer.variables
        offset = 0
        self.start_bits = None
        if x0 is not None:
            x = self.parts.lift(x0)
            self.start_bits = x
            self.obj, self.r = lifted.values(x)
            self.con = self.scorer.violations(np.array([[x0[v] for v in self.labels]]))[0]
            if self.X is not None:
                self.X = np.outer(x, x)
            offset = 1
        pre_ns = int((time.perf_counter() - start) * 1e9)
        trace = [self.step(t, offset) for t in range(iterations)]
        found = self.best is not None
        row = self.best[1] if found else self.least[1]  # type: ignore[index]
        total = time.perf_counter() - start
        info = {
            "timing": {
                "preprocessing_ns": pre_ns,
                "sampling_ns": int(self.oracle_seconds * 1e9),
                "postprocessing_ns": max(
                    0, int(total * 1e9) - pre_ns - int(self.oracle_seconds * 1e9)
                ),
            },
            "seed": self.seed,
            "qcgd": {
                "iterations": iterations,
                "oracle_calls": iterations,
                "oracle_seconds": self.oracle_seconds,
                "total_seconds": total,
                "found_feasible": found,
                "num_variables": lifted.n,
                "num_constraints": m,
                "repair": self.repair is not None,
                "warm_start": x0 is not None,
                "objective_range": lifted.range,
                "integral": self.parts.integral,
            },
        }
        answer = dimod.SampleSet.from_samples_cqm((row[None, :], self.labels), cqm, info=info)
        return QCGDResult(
            answer, trace, self.X, list(lifted.variables) if self.X is not None else []
        )

    def _oracle(self, t: int, beta: float) -> np.ndarray:
        """The oracle's rows (bits over the lifted variables) for G_t; the first is x_t."""
        params = dict(self.kwargs)
        if "seed" in self.sampler.parameters:
            params["seed"] = int(self.seq.spawn(1)[0].generate_state(1)[0]) % 2**31
        mult = self.y + beta * self.r
        bqm = self.lifted.oracle_bqm(mult)
        if self.lifted.forms and "squares" in self.sampler.parameters:
            params["squares"] = self.lifted.squares(mult)
        if self.start_bits is not None and "initial_states" in self.sampler.parameters:
            reads = int(params.get("num_reads", 1) or 1)
            params["initial_states"] = (
                np.repeat(self.start_bits[None, :].astype(np.int8), reads, axis=0),
                self.lifted.variables,
            )
        t0 = time.perf_counter()
        ss = self.sampler.sample(bqm, **params)
        ss.resolve()
        self.call_s = time.perf_counter() - t0
        self.oracle_seconds += self.call_s
        self.call_optimal = _proven_optimal(ss.info)
        if ss.vartype is dimod.SPIN:
            ss = ss.change_vartype(dimod.BINARY, inplace=False)
        position = {v: i for i, v in enumerate(ss.variables)}
        rows = np.asarray(ss.record.sample)[:, [position[v] for v in self.lifted.variables]]
        rows = rows.astype(np.float64)
        lowest = int(np.argmin(ss.record.energy))
        return np.concatenate([rows[lowest : lowest + 1], np.delete(rows, lowest, axis=0)])

    def step(self, t: int, offset: int) -> dict[str, Any]:
        """Iteration t: the LMO, the lifted update, the dual step, candidates, the trace row."""
        lifted = self.lifted
        k = t + offset  # the iteration count CGAL's schedules see
        beta = self.beta0 * np.sqrt(k + 1.0)
        rows = self._oracle(t, beta)
        x = rows[0]
        eta = 2.0 / (k + 2.0)
        f_x, v_x = lifted.values(x)
        self.obj = (1 - eta) * self.obj + eta * f_x
        self.r = (1 - eta) * self.r + eta * v_x
        if self.X is not None:
            self.X = (1 - eta) * self.X + eta * np.outer(x, x)
        gamma = dual_step(self.beta0, k, self.r)
        y_new = self.y + gamma * self.r
        if self.dual_bound is None or np.linalg.norm(y_new) <= self.dual_bound:
            self.y = y_new
        cqm_rows, _ = self.parts.to_cqm_samples(rows.astype(np.int8), lifted.variables)
        if self.repair is not None:
            fixed = [dict(self.repair(dict(zip(self.labels, row, strict=True)))) for row in cqm_rows]
            rep_rows = np.array([[f[v] for v in self.labels] for f in fixed], dtype=np.int8)
            cqm_rows = np.vstack([cqm_rows, rep_rows])
        energies = self.scorer.energies(cqm_rows)
        viol = self.scorer.violations(cqm_rows)
        feas = self.scorer.feasible(viol)
        viol_x = viol[0]
        self.con = (1 - eta) * self.con + eta * viol_x
        if np.any(feas):
            i = int(np.argmin(np.where(feas, energies, np.inf)))
            if self.best is None or energies[i] < self.best[0]:
                self.best = (float(energies[i]), cqm_rows[i].copy())
                if self.start_bits is not None:
                    self.start_bits = self.parts.lift(
                        dict(zip(self.labels, cqm_rows[i], strict=True))
                    )
        worst = float(viol_x.max(initial=0.0))
        if self.least is None or worst < self.least[0]:
            self.least = (worst, cqm_rows[0].copy())
        return {
            "iteration": t,
            "objective": float(self.obj / lifted.scale),
            "infeasibility": float(np.linalg.norm(self.r)),
            "constraint_infeasibility": float(np.linalg.norm(self.con)),
            "sample_objective": float(energies[0]),
            "sample_feasible": bool(feas[0]),
            "sample_violation": worst,
            "best_feasible": None if self.best is None else self.best[0],
            "beta": float(beta),
            "dual_step": float(gamma),
            "oracle_seconds": self.call_s,
            "oracle_optimal": self.call_optimal,
        }


class QCGDSolver:
    """:func:`qcgd` as a CQM solver object: ``QCGDSolver(sampler, ...).sample_cqm(cqm)``.

    ``parameters`` (dimod's convention: the keywords :meth:`sample_cqm` takes) are the oracle's
    sample parameters, each passed to every oracle call, plus the per-call ``seed``, ``x0``,
    ``objective_range`` and ``repair`` of :func:`qcgd`.

    Args:
        sampler: The oracle (any dimod sampler).
        iterations: T >= 1 oracle calls, as :func:`qcgd`.
        beta0: beta_0 > 0, the penalty scale (and the largest dual step), as :func:`qcgd`.
        slack_bits: slack bits per real-coefficient inequality, as :func:`qcgd`.
        sample_kwargs: keywords for every oracle call, as :func:`qcgd`; the default of every
            call.
        repair: optional map from a CQM sample to another, as :func:`qcgd`; the default of
            every call.
        dual_bound: K > 0 bounds ||y||; None: no bound, as :func:`qcgd`.
        precondition: scale each violation by 1 / ||a_i||^2, as :func:`qcgd`.
    """

    _call_parameters = ("seed", "x0", "objective_range", "repair")

    def __init__(
        self,
        sampler: dimod.Sampler,
        *,
        iterations: int = 50,
        beta0: float = 1.0,
        slack_bits: int = 3,
        sample_kwargs: Mapping[str, Any] | None = None,
        repair: Callable[[dict], Mapping] | None = None,
        dual_bound: float | None = None,
        precondition: bool = False,
    ) -> None:
        if not (hasattr(sampler, "sample") and hasattr(sampler, "parameters")):
            raise TypeError(f"'sampler' must be a dimod.Sampler, got {type(sampler).__name__}")
        self.sampler = sampler
        self.iterations = check_int("iterations", iterations, 1)
        self.beta0 = check_float("beta0", beta0, 0.0, low_open=True)
        self.slack_bits = check_int("slack_bits", slack_bits, 1, 24)
        self.sample_kwargs = dict(sample_kwargs or {})
        self.repair = repair
        self.dual_bound = (
            None if dual_bound is None else check_float("dual_bound", dual_bound, 0.0, low_open=True)
        )
        self.precondition = check_bool("precondition", precondition)
        self.last_trace: list[dict[str, Any]] = []

    @property
    def parameters(self) -> dict[str, list]:
        """The oracle's sample parameters (but ``seed``) and the per-call ones of :func:`qcgd`."""
        oracle = {k: v for k, v in self.sampler.parameters.items() if k != "seed"}
        return {**oracle, **{k: [] for k in self._call_parameters}}

    @property
    def properties(self) -> dict[str, Any]:
        return {
            "child_properties": dict(getattr(self.sampler, "properties", {}) or {}),
            "iterations": self.iterations,
            "beta0": self.beta0,
            "slack_bits": self.slack_bits,
            "precondition": self.precondition,
        }

    def sample_cqm(
        self,
        cqm: dimod.ConstrainedQuadraticModel,
        *,
        seed: int | None = None,
        x0: Mapping[Any, float] | None = None,
        objective_range: float | None = None,
        repair: Callable[[dict], Mapping] | None = None,
        **sample_kwargs: Any,
    ) -> dimod.SampleSet:
        """The best feasible oracle sample (one row); the trace is kept in ``last_trace``.
        ``sample_kwargs`` go to every oracle call, over the constructor's."""
        result = qcgd(
            cqm,
            self.sampler,
            iterations=self.iterations,
            beta0=self.beta0,
            slack_bits=self.slack_bits,
            sample_kwargs={**self.sample_kwargs, **sample_kwargs},
            seed=seed,
            repair=self.repair if repair is None else repair,
            objective_range=objective_range,
            x0=x0,
            dual_bound=self.dual_bound,
            precondition=self.precondition,
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
    objective_range: float | None = None,
    optimum: float | None = None,
    x0: Mapping[Any, float] | None = None,
    precondition: bool = False,
) -> list[dict[str, Any]]:
    """QCGD under several oracle settings; per-iteration traces for plotting.

    Each setting is a mapping with optional ``variance`` (noise variance, >= 0: wraps the oracle
    in :class:`~hybridqnn.solvers.composites.NoisyOracleComposite`) and ``bits`` (coefficient
    bits, 2..32: :class:`~hybridqnn.solvers.composites.LimitedPrecisionComposite`). With both,
    the noise wraps the rounding: the oracle rounds the perturbed problem. The base oracle is ``sampler`` (default: the registry's default, ``dense-sa``).
    All settings use the same ``seed``.

    ``objective_range``, ``x0`` (a warm start) and ``precondition`` are passed to :func:`qcgd`; ``optimum`` (e.g. the MILP optimum) gives
    the gap in :func:`trace_summary`.

    Returns:
        One dict per setting: ``variance``, ``bits``, ``trace`` (as :class:`QCGDResult`),
        ``final_objective``, ``feasible``, ``oracle_seconds``, and :func:`trace_summary`'s keys.
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
            cqm,
            oracle,
            iterations=iterations,
            beta0=beta0,
            sample_kwargs=sample_kwargs,
            seed=seed,
            objective_range=objective_range,
            x0=x0,
            precondition=precondition,
        )
        first = res.sampleset.first
        out.append(
            {
                "variance": variance,
                "bits": bits,
                "trace": res.trace,
                "final_objective": float(first.energy),
                "feasible": bool(first.is_feasible),
                "oracle_seconds": res.sampleset.info["qcgd"]["oracle_seconds"],
                **trace_summary(res.trace, optimum),
            }
        )
    return out


def trace_summary(
    trace: Sequence[Mapping[str, Any]], optimum: float | None = None
) -> dict[str, Any]:
    """Convergence figures of a :class:`QCGDResult` trace (issue 18's report columns).

    With H the second half of the iterations (t >= T // 2):

    * ``feasible_atom_fraction``: the share of oracle answers x_t in H that are CQM-feasible;
    * ``found_feasible``: whether any oracle sample was feasible (``best_feasible`` set);
    * ``gap_to_optimum_pct``: 100 (best - optimum) / |optimum| for the best feasible sample
      (None without one or without ``optimum``; the absolute gap if optimum = 0);
    * ``infeasibility_slope``: the least-squares slope of log ||r(X_t)|| against log(t + 1)
      over H (None if some ||r|| there is 0: r reached 0 exactly);
    * ``rsqrt_nonincreasing``: whether ||r(X_t)|| sqrt(t + 1) never increases over the run
      (up to 1e-9 relative), CGAL's O(1/sqrt(t)) rate;
    * ``final_infeasibility``: ||r(X_T)||;
    * ``oracle_optimal_fraction``: the share of oracle calls proven optimal (``oracle_optimal``
      in the trace; None if the oracle reports no such flag): 1.0 means the LMO was exact at
      every iteration, as CGAL's guarantee assumes.
    """
    T = len(trace)
    half = trace[T // 2 :]
    r = np.array([t["infeasibility"] for t in trace], dtype=np.float64)
    its = np.array([t["iteration"] for t in trace], dtype=np.float64) + 1.0
    best = trace[-1]["best_feasible"] if T else None
    gap = None
    if best is not None and optimum is not None:
        gap = 100.0 * (best - optimum) / abs(optimum) if optimum != 0 else best - optimum
    hr, hi = r[T // 2 :], its[T // 2 :]
    slope = (
        float(np.polyfit(np.log(hi), np.log(hr), 1)[0]) if hr.size >= 2 and np.all(hr > 0) else None
    )
    scaled = r * np.sqrt(its)
    flags = [t["oracle_optimal"] for t in trace if t.get("oracle_optimal") is not None]
    return {
        "feasible_atom_fraction": float(np.mean([t["sample_feasible"] for t in half]))
        if half
        else 0.0,
        "found_feasible": best is not None,
        "gap_to_optimum_pct": gap,
        "infeasibility_slope": slope,
        "rsqrt_nonincreasing": bool(np.all(np.diff(scaled) <= 1e-9 * np.maximum(1.0, scaled[:-1]))),
        "final_infeasibility": float(r[-1]) if T else None,
        "oracle_optimal_fraction": float(np.mean(flags)) if flags else None,
    }
