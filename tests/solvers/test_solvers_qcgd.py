"""QCGD: feasible near-optimal answers, decreasing infeasibility, the lifted iterate, seeds,
the convergence study under noisy / limited-precision oracles, errors."""

from __future__ import annotations

import dimod
import numpy as np
import pytest
from dwave.samplers import SimulatedAnnealingSampler

from hybridqnn.problems.penalty import penalty_parts
from hybridqnn.problems.qcbo import WeightCode, build_qcbo
from hybridqnn.solvers.milp import MILPSolver
from hybridqnn.solvers.qcgd import QCGDSolver, qcgd, qcgd_convergence

FAST = {"num_reads": 20, "num_sweeps": 300}


def _model(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 2))
    y = np.array([1, -1, 1])[:n]
    return build_qcbo(
        X,
        y,
        (2, 2, 1),
        WeightCode("binary", scale=0.5),
        segments=2,
        activation_bits=1,
        loss="logistic",
        loss_segments=3,
        input_unit=2**-3,
    )


def test_one_sample_qcbo_reaches_the_exact_optimum() -> None:
    model = _model(1)
    exact = MILPSolver().sample_cqm(model.cqm).first.energy
    res = qcgd(model.cqm, SimulatedAnnealingSampler(), iterations=30, sample_kwargs=FAST, seed=0)
    best = res.sampleset.first
    assert best.is_feasible and res.sampleset.info["qcgd"]["found_feasible"]
    assert best.energy == pytest.approx(exact, abs=1e-9)


def test_two_sample_qcbo_is_feasible_within_the_stated_tolerance() -> None:
    """Stated tolerance: a feasible answer with relative gap <= 50% after 30 oracle calls
    (QCGD is a heuristic on the binary problem; its guarantee is for the lifted one)."""
    model = _model(2)
    exact = MILPSolver().sample_cqm(model.cqm).first.energy
    res = qcgd(model.cqm, SimulatedAnnealingSampler(), iterations=30, sample_kwargs=FAST, seed=0)
    best = res.sampleset.first
    assert best.is_feasible
    assert best.energy <= exact + 0.5 * abs(exact) + 1e-9
    # the answer's energy is the CQM objective, its weights reproduce it in the network
    assert best.energy == pytest.approx(model.cqm.objective.energy(best.sample))
    assert model.loss_of_weights(model.decode_weights(best.sample)) <= best.energy + 1e-9
    trace = res.trace
    assert len(trace) == 30 == res.sampleset.info["qcgd"]["oracle_calls"]
    infeas = [t["infeasibility"] for t in trace]
    assert infeas[-1] < 0.05 * infeas[0]
    assert np.mean(infeas[-10:]) < np.mean(infeas[5:15])
    assert trace[-1]["best_feasible"] == pytest.approx(best.energy)


def test_repair_makes_every_iteration_feasible() -> None:
    model = _model(2, seed=1)
    res = qcgd(
        model.cqm,
        SimulatedAnnealingSampler(),
        iterations=2,
        sample_kwargs={"num_reads": 2, "num_sweeps": 10},
        seed=0,
        repair=model.complete,
    )
    assert res.sampleset.first.is_feasible and res.sampleset.info["qcgd"]["repair"]
    assert all(t["best_feasible"] is not None for t in res.trace)
    with pytest.raises(TypeError, match="'repair'"):
        qcgd(model.cqm, SimulatedAnnealingSampler(), repair=1)


def test_lifted_iterate_is_a_completely_positive_average() -> None:
    x = [dimod.Binary(f"x{i}") for i in range(4)]
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(-x[0] - 2 * x[1] + 3 * x[0] * x[2] - x[3] + x[1] * x[3])
    cqm.add_constraint(x[0] + x[1] + x[2] == 1, label="onehot")
    cqm.add_constraint(x[1] + x[3] <= 1, label="le")
    res = qcgd(cqm, dimod.ExactSolver(), iterations=15, seed=1, keep_lifted=True)
    X = res.X
    np.testing.assert_allclose(X, X.T)
    assert np.all(X >= -1e-12) and np.all(np.diag(X) <= 1 + 1e-12)
    assert np.linalg.eigvalsh(X).min() > -1e-9
    # the traced objective is <C, X> + k evaluated independently on X
    parts = penalty_parts(cqm)
    idx = {v: i for i, v in enumerate(res.variables)}
    obj = parts.objective
    value = obj.offset + sum(b * X[idx[v], idx[v]] for v, b in obj.linear.items())
    value += sum(b * X[idx[u], idx[v]] for (u, v), b in obj.quadratic.items())
    assert res.trace[-1]["objective"] == pytest.approx(value)
    # an exact oracle finds the optimum of this tiny problem
    assert res.sampleset.first.is_feasible
    feasible = [
        cqm.objective.energy(dict(zip("x0 x1 x2 x3".split(), bits, strict=False)))
        for bits in np.ndindex(2, 2, 2, 2)
        if cqm.check_feasible(dict(zip("x0 x1 x2 x3".split(), bits, strict=False)))
    ]
    assert res.sampleset.first.energy == pytest.approx(min(feasible))


def test_same_seed_same_run_and_solver_object() -> None:
    model = _model(1, seed=3)
    a = qcgd(model.cqm, SimulatedAnnealingSampler(), iterations=5, sample_kwargs=FAST, seed=4)
    b = qcgd(model.cqm, SimulatedAnnealingSampler(), iterations=5, sample_kwargs=FAST, seed=4)
    assert [t["sample_objective"] for t in a.trace] == [t["sample_objective"] for t in b.trace]
    solver = QCGDSolver(SimulatedAnnealingSampler(), iterations=5, sample_kwargs=FAST)
    out = solver.sample_cqm(model.cqm, seed=4)
    assert out.first.energy == a.sampleset.first.energy and len(solver.last_trace) == 5


def test_convergence_study_under_noise_and_precision() -> None:
    model = _model(1)
    settings = [{}, {"variance": 0.05}, {"bits": 4}, {"variance": 0.05, "bits": 4}]
    runs = qcgd_convergence(
        model.cqm,
        settings,
        sampler=SimulatedAnnealingSampler(),
        iterations=6,
        sample_kwargs=FAST,
        seed=0,
    )
    assert [(r["variance"], r["bits"]) for r in runs] == [
        (0.0, None),
        (0.05, None),
        (0.0, 4),
        (0.05, 4),
    ]
    for r in runs:
        assert len(r["trace"]) == 6
        assert {"objective", "infeasibility", "sample_feasible"} <= set(r["trace"][0])
    with pytest.raises(ValueError, match="unknown key"):
        qcgd_convergence(model.cqm, [{"noise": 1}], iterations=1)


def test_errors() -> None:
    model = _model(1)
    sa = SimulatedAnnealingSampler()
    with pytest.raises(ValueError, match="'iterations'"):
        qcgd(model.cqm, sa, iterations=0)
    with pytest.raises(ValueError, match="'seed'"):
        qcgd(model.cqm, sa, sample_kwargs={"seed": 1})
    with pytest.raises(ValueError, match="does not take"):
        qcgd(model.cqm, sa, sample_kwargs={"num_reeds": 1})
    with pytest.raises(ValueError, match="'beta0'"):
        qcgd(model.cqm, sa, beta0=0.0)
    with pytest.raises(TypeError, match="'sampler'"):
        qcgd(model.cqm, "sa")
    with pytest.raises(TypeError, match="'cqm'"):
        qcgd(dimod.BinaryQuadraticModel("BINARY"), sa)


def test_warm_start_objective_range_and_info() -> None:
    """x0 = the completed incumbent: X_1 is feasible (r = 0 before the first call), the
    objective is scaled by the model's range, and info follows the dwave-samplers layout."""
    model = _model(2)
    rng = np.random.default_rng(0)
    incumbent = model.complete(
        [
            rng.choice(c.levels, size=s)
            for c, s in zip(model.network.codes, model.network.weight_shapes(), strict=True)
        ]
    )
    parts = penalty_parts(model.cqm)
    assert parts.integral
    lifted = dict(zip(parts.variables, parts.lift(incumbent), strict=True))
    assert all(v.energy(lifted) == 0 for _, v in parts.violations)
    res = qcgd(
        model.cqm,
        SimulatedAnnealingSampler(),
        iterations=3,
        sample_kwargs={"num_reads": 2, "num_sweeps": 50},
        seed=4,
        x0=incumbent,
        objective_range=model.objective_range,
    )
    info = res.sampleset.info
    assert set(info["timing"]) == {"preprocessing_ns", "sampling_ns", "postprocessing_ns"}
    assert info["seed"] == 4 and info["qcgd"]["warm_start"]
    assert info["qcgd"]["objective_range"] == model.objective_range
    with pytest.raises(ValueError, match="'x0' must give every CQM variable"):
        qcgd(model.cqm, SimulatedAnnealingSampler(), x0={})
    with pytest.raises(ValueError, match="'objective_range'"):
        qcgd(model.cqm, SimulatedAnnealingSampler(), objective_range=0.0)


def test_dual_step_is_bounded_and_trace_summary() -> None:
    from hybridqnn.solvers.qcgd import dual_step, trace_summary

    assert dual_step(1.0, 0, np.zeros(3)) == 1.0
    assert dual_step(1.0, 3, np.array([10.0])) == pytest.approx(4.0 / (4**1.5 * 100))
    assert dual_step(1.0, 3, np.array([100.0]), alpha=2.0) == pytest.approx(16.0 / (4**1.5 * 1e4))
    assert dual_step(0.5, 0, np.array([0.1])) == 0.5
    trace = [
        {
            "iteration": t,
            "infeasibility": 1.0 / (t + 1),
            "sample_feasible": t >= 2,
            "best_feasible": None if t < 2 else 2.0,
        }
        for t in range(6)
    ]
    s = trace_summary(trace, optimum=1.6)
    assert s["feasible_atom_fraction"] == 1.0 and s["found_feasible"]
    assert s["gap_to_optimum_pct"] == pytest.approx(25.0)
    assert s["infeasibility_slope"] == pytest.approx(-1.0)
    assert s["rsqrt_nonincreasing"]
    assert trace_summary(trace[:1])["gap_to_optimum_pct"] is None


def test_sample_cqm_passes_the_hints_a_solver_declares() -> None:
    """solvers.sampling.sample_cqm: QCGDSolver takes seed, x0, objective_range (same answer as
    qcgd with them); MILPSolver declares only seed, so the other hints are not passed."""
    from hybridqnn.solvers.sampling import oracle_calls, sample_cqm

    model = _model(2)
    incumbent = model.complete(
        [
            np.full(s, c.levels[0])
            for c, s in zip(model.network.codes, model.network.weight_shapes(), strict=True)
        ]
    )
    kwargs = {"num_reads": 2, "num_sweeps": 50}
    hints = {"seed": 4, "x0": incumbent, "objective_range": model.objective_range}
    direct = qcgd(
        model.cqm, SimulatedAnnealingSampler(), iterations=3, sample_kwargs=kwargs, **hints
    )
    solver = QCGDSolver(SimulatedAnnealingSampler(), iterations=3)
    out = sample_cqm(solver, model.cqm, sample_kwargs=kwargs, **hints)
    assert out.first.energy == direct.sampleset.first.energy
    assert out.info["qcgd"]["warm_start"] and oracle_calls(out) == 3
    assert {"seed", "x0", "objective_range", "repair", "num_reads"} <= set(solver.parameters)
    exact = sample_cqm(MILPSolver(), model.cqm, **hints)
    assert exact.first.is_feasible and oracle_calls(exact) == 1
    with pytest.raises(ValueError, match="'sample_kwargs' has 'num_reads'"):
        sample_cqm(MILPSolver(), model.cqm, sample_kwargs={"num_reads": 1})
    with pytest.raises(ValueError, match="'hints' must be among"):
        sample_cqm(MILPSolver(), model.cqm, warm=incumbent)
    with pytest.raises(TypeError, match="'solver' must have sample_cqm"):
        sample_cqm(SimulatedAnnealingSampler(), model.cqm)


def test_cqm_methods_by_name() -> None:
    from hybridqnn.solvers.penalty import PenaltyCQMSampler
    from hybridqnn.solvers.registry import cqm_method_names, get_cqm_solver

    assert cqm_method_names() == ("qcgd", "penalty", "cqm")
    qcgd_solver = get_cqm_solver("qcgd", SimulatedAnnealingSampler(), iterations=7, beta0=2.0)
    assert isinstance(qcgd_solver, QCGDSolver) and qcgd_solver.iterations == 7
    assert isinstance(
        get_cqm_solver("penalty", SimulatedAnnealingSampler(), scale=2.0), PenaltyCQMSampler
    )
    milp = MILPSolver()
    assert get_cqm_solver("cqm", milp) is milp
    with pytest.raises(ValueError, match="'method' must be one of qcgd, penalty, cqm; got 'lp'"):
        get_cqm_solver("lp", milp)
    with pytest.raises(TypeError, match="must have sample_cqm for method='cqm'"):
        get_cqm_solver("cqm", SimulatedAnnealingSampler())
    with pytest.raises(TypeError, match="'sampler' must be a dimod.Sampler"):
        get_cqm_solver("qcgd", object())
    with pytest.raises(ValueError, match="'dual_bound'"):
        QCGDSolver(SimulatedAnnealingSampler(), dual_bound=0.0)


def test_preconditioned_violations_are_scaled_rows() -> None:
    """precondition=True: r_i is v_i / ||a_i||^2 at every bit vector (PenaltyParts.norms)."""
    from hybridqnn.solvers.qcgd import _Lifted

    model = _model(2)
    parts = penalty_parts(model.cqm)
    plain, pre = _Lifted(parts, 1.0), _Lifted(parts, 1.0, precondition=True)
    rng = np.random.default_rng(0)
    for x in rng.integers(0, 2, size=(20, plain.n)).astype(np.float64):
        f0, v0 = plain.values(x)
        f1, v1 = pre.values(x)
        assert f1 == pytest.approx(f0)
        np.testing.assert_allclose(v1 * np.asarray(parts.norms), v0, rtol=1e-12, atol=1e-9)
    solver = QCGDSolver(SimulatedAnnealingSampler(), iterations=2, precondition=True)
    assert solver.properties["precondition"]
    with pytest.raises(TypeError, match="'precondition'"):
        qcgd(model.cqm, SimulatedAnnealingSampler(), precondition="yes")


def test_exact_oracle_reports_proven_optimal_calls() -> None:
    """The MILP oracle proves each call optimal (trace ``oracle_optimal``, summary
    ``oracle_optimal_fraction`` 1.0); SA reports no such flag (None)."""
    from hybridqnn.solvers.qcgd import trace_summary

    x = [dimod.Binary(f"x{i}") for i in range(4)]
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(-x[0] - 2 * x[1] + 3 * x[0] * x[2] - x[3] + x[1] * x[3])
    cqm.add_constraint(x[0] + x[1] + x[2] == 1, label="onehot")
    cqm.add_constraint(2 * x[1] + 3 * x[3] <= 4, label="le")
    res = qcgd(cqm, MILPSolver(), iterations=6, seed=0, precondition=True)
    assert all(t["oracle_optimal"] is True for t in res.trace)
    assert trace_summary(res.trace)["oracle_optimal_fraction"] == 1.0
    sa = qcgd(cqm, SimulatedAnnealingSampler(), iterations=2, sample_kwargs=FAST, seed=0)
    assert sa.trace[0]["oracle_optimal"] is None
    assert trace_summary(sa.trace)["oracle_optimal_fraction"] is None


def test_preconditioning_lets_cold_dense_sa_find_a_feasible_atom() -> None:
    """A 2-sample 8-3-1 integer QCBO with 1-bit activations (input unit 2^-4): cold QCGD with
    dense-SA (4 x 200) finds no feasible atom in 30 calls plain (beta_0 = 1), and finds one
    preconditioned with beta_0 = 100 (the module docstring's measurement, in small)."""
    from hybridqnn.solvers import get_sampler

    rng = np.random.default_rng(1)
    model = build_qcbo(
        rng.uniform(0, 1, size=(2, 8)),
        np.array([1, -1]),
        (8, 3, 1),
        [WeightCode("binary")] * 2,
        segments=2,
        activation_bits=1,
        loss="logistic",
        loss_segments=8,
        input_low=np.zeros(8),
        input_high=np.ones(8),
        input_unit=2**-4,
    )
    kwargs = {
        "iterations": 30,
        "sample_kwargs": {"num_reads": 4, "num_sweeps": 200},
        "seed": 0,
        "objective_range": model.objective_range,
    }
    pre = qcgd(model.cqm, get_sampler("dense-sa"), precondition=True, beta0=100.0, **kwargs)
    assert pre.sampleset.first.is_feasible
    assert any(t["sample_feasible"] for t in pre.trace)  # an oracle atom, not a repair
    exact = MILPSolver().sample_cqm(model.cqm).first.energy
    assert pre.sampleset.first.energy >= exact - 1e-9


def test_exact_oracle_gets_the_squared_rows_and_its_answers_stay_optimal() -> None:
    """An oracle that takes ``squares`` (MILPSolver) gets every squared row of an integer
    lifting with a positive weight, and its answer is the QUBO's optimum (enumeration)."""
    calls: list[tuple[float, float, int]] = []

    class Spy(MILPSolver):
        def sample(self, bqm, **kwargs):
            squares = kwargs["squares"]
            assert all(w > 0 for w, _, _ in squares)
            ss = super().sample(bqm, **kwargs)
            calls.append(
                (ss.first.energy, dimod.ExactSolver().sample(bqm).first.energy, len(squares))
            )
            return ss

    x = [dimod.Binary(f"x{i}") for i in range(4)]
    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(-x[0] - 2 * x[1] + 3 * x[0] * x[2] - x[3] + x[1] * x[3])
    cqm.add_constraint(x[0] + x[1] + x[2] == 1, label="onehot")
    cqm.add_constraint(2 * x[1] + 3 * x[3] <= 4, label="le")
    res = qcgd(cqm, Spy(), iterations=6, seed=0, beta0=10.0)
    assert len(calls) == 6 and res.sampleset.first.is_feasible
    assert sum(n > 0 for _, _, n in calls) >= 3
    for with_squares, exact, _ in calls:
        assert with_squares == pytest.approx(exact, rel=1e-9, abs=1e-9)
    with pytest.raises(ValueError, match="'sample_kwargs' must not contain 'squares'"):
        qcgd(cqm, MILPSolver(), iterations=1, sample_kwargs={"squares": []})
