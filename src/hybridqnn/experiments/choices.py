"""Names the experiments' params accept whose home is a module that imports torch, numba or
dimod, copied here so that loading a config (``hybridqnn validate``, ``--dry-run``) imports none
of them. ``tests/experiments/test_exp_choices.py`` keeps every table equal to its source, so a
name added there and not here fails the tests, not a user's config.

Vocabularies whose home is already light are used from it directly: the solver names
(:func:`hybridqnn.solvers.solver_names`), the optimizer names (:mod:`hybridqnn.optim.names`) and
the data sets (:data:`hybridqnn.data.DATASETS`).
"""

from __future__ import annotations

__all__ = ["GRAPH_DATASETS", "HEAD_OPTIMIZERS", "LOSSES", "MOVES", "NONLINEARITIES", "POOLS"]

#: :data:`hybridqnn.nn.features.NONLINEARITIES`.
NONLINEARITIES: tuple[str, ...] = ("relu", "tanh", "abs", "identity")
#: :data:`hybridqnn.nn.features.POOLS`.
POOLS: tuple[str, ...] = ("avg", "max")
#: :data:`hybridqnn.train.sgd_head.OPTIMIZERS`.
HEAD_OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")
#: :data:`hybridqnn.problems.splines.LOSSES`.
LOSSES: tuple[str, ...] = ("logistic", "cross-entropy", "hinge", "mse")
#: The keys of :data:`hybridqnn.train.qcbo.moves.MOVES`.
MOVES: tuple[str, ...] = ("qubo", "pair")
#: :data:`hybridqnn.data.graphs.GRAPH_DATASETS`.
GRAPH_DATASETS: tuple[str, ...] = ("karate", "cora", "citeseer", "pubmed")
