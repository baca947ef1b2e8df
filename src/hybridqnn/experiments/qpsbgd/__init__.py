"""The experiments of QP-SBGD (Krahn et al., "Projected Stochastic Gradient Descent with Quantum
Annealed Binary Gradients", arXiv 2310.15128, BMVC 2024; code github mk2510/QPSBGD).

Six experiments, one module each (each a shipped config with a ``[quick]`` table), sharing
:mod:`~hybridqnn.experiments.qpsbgd.common`:

- ``qpsbgd-rosenbrock``: the binary directions of QP-SBGD against signSGD and SGD on the
  Rosenbrock function (the paper gives no protocol; ours is below).
- ``qpsbgd-logreg``: binary logistic regression on synthetic data and on a1a.
- ``qpsbgd-a1a-10layer``: the 10-layer binary MLP on a1a (the paper's Fig. 3 protocol).
- ``qpsbgd-a1a-2layer``: the 3→5→1 network on a1a features 6, 22, 36 (the D-Wave protocol),
  with the XNOR penalty-QUBO variant.
- ``qpsbgd-mnist-pairs``: binary MLPs on the MNIST digit pairs 0/2, 1/2 and 1/7.
- ``qpsbgd-gcn``: binary GCNs on Zachary's karate club, Cora and (when its files are complete)
  PubMed / CiteSeer.

**Methods** (the ``methods`` key, names of :data:`hybridqnn.optim.OPTIMIZER_NAMES`; one
learning rate each in ``lr``):

- ``qpsbgd-ls``: :class:`~hybridqnn.optim.QPSBGD` with the least-squares projection (per output
  neuron min over g in {±1}^n of ‖v_j − X g‖², sampler ``solver``);
- ``qpsbgd-sm``: QP-SBGD with the authors' sign-matching constrained problem (their Gurobi
  runs), solved by ``exact_solver`` (default ``milp``, HiGHS: the licence-free Gurobi stand-in);
- ``qpsbgd-xnor``: QP-SBGD with the per-neuron XNOR/threshold penalty QUBO (their D-Wave runs),
  sampler ``solver`` (simulated annealing stands in for the QPU; fan-in must be < 16);
- ``bc-sgd``, ``bc-signsgd``: BinaryConnect with SGD / signSGD; ``proxquant``: ProxQuant with
  λ = 0.01·(epoch + 1);
- ``sgd``, ``adam``: the same architecture with real weights (a reference, not a binary
  baseline; the "below any baseline" notes compare QP-SBGD with the binary baselines only).

Real-valued parameters next to binary layers (the logistic-regression bias) are trained by a
second optimizer, Adam with ``aux_lr``, for every binary method alike.

**Settings.** Every experiment runs a *paper* setting (its config's ``[params]``: the authors'
protocol where the code or paper gives one) and a *best-effort* setting (``best_effort``: a
table of overrides such as wider networks and more steps), side by side, as the issue asks;
``settings`` picks which to run. Each row carries ``setting``.

**Seeds.** ``repeats`` runs per (method, data set, setting); run r of a (data set, setting)
uses the keyed seed ``ctx.seed_for(dataset, setting, r)`` of the master ``--seed``
(:func:`~hybridqnn.experiments.qpsbgd.common.run_seeds`) for the initial weights, the batches,
the data draws and the sampler, shared by every method so that they are compared on the same
runs.

**Reports.** Rows per (method, data set, setting) with the mean, min and max over seeds, QP-SBGD
statistics (mean co-directionality, mean solve time per layer step, largest QUBO), the paper's
number next to ours where there is one (``paper_*`` columns; the paper's tables are also the
experiment's ``paper`` rows), and for every QP-SBGD row the gap to the best binary baseline
(``gap_to_best_baseline``, positive when QP-SBGD is below it) with a note naming each baseline
that beats QP-SBGD and by how much.

**Saved models.** Every run (each method x repeat x data set x setting) saves its trained
network under the run directory's ``models/`` (``ctx.save_model``, right after its row; the
kinds of :mod:`hybridqnn.deploy.kinds.qpsbgd`), with the input preparation that reproduces the
run's test accuracy (``hybridqnn predict``) and, for QP-SBGD, the size of one solve.

Choices where the paper and code are silent are listed in each experiment's run docstring and
in the report notes.
"""
