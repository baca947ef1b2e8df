"""QCBO training of a quantized spline network: sample-wise decomposition coordinated by
Quantum Progressive Hedging (QPH), the closed-form bit-scale step, and the classical baselines.

Li et al., "Quantum-Classical Hybrid Quantized Neural Network" (arXiv 2506.18240, v3/v4) split
the monolithic QCBO of :func:`hybridqnn.problems.qcbo.build_qcbo` into sample-wise subproblems,
each with its own copy of the weights, coordinated by progressive hedging, and add a
"single-sample bit-scale optimization". The paper gives no listing; everything below is ours.

Progressive hedging (Rockafellar and Wets, 1991), PH iteration t = 0, 1, ..., T - 1
----------------------------------------------------------------------------------
The training set is split into subproblems b (one sample each with ``batch_size=1``, else
mini-batches of ``batch_size`` samples, in a fixed seeded order). Subproblem b owns weights w_b
(all layers, as quantized levels) and a multiplier lambda_b (same shape, starts at 0):

    rho_t  = rho * rho_growth^t
    w_b    = argmin_w  f_b(w) + lambda_b^T w + (rho_t / 2) ||w - w_bar||^2           (a QCBO)
    w_bar  = sum_b n_b w_b / sum_b n_b                       (consensus; n_b = samples in b)
    lambda_b += rho_t (w_b - w_bar)

f_b is the subproblem's spline loss (the CQM objective of ``build_qcbo`` on its samples, on the
network's shared FIP grid), and the prox terms are :meth:`QCBOModel.with_weight_terms` (for
binary w it stays quadratic in the weight bits). The subproblems are independent and go to an
executor (:func:`hybridqnn.parallel.get_executor`: threads, processes or a Dask cluster).
w_bar is continuous; the network after iteration t is its nearest-level rounding Q(w_bar)
(per weight, the closest level of the layer's code). The answer is the consensus network with
the highest training accuracy over the iterations (``select="accuracy"``; ties broken by the
training spline loss, the plain-forward ``ties="nearest"`` loss averaged over samples), or with
the lowest training spline loss (``select="loss"``). We select by accuracy because the
spline loss has a degenerate minimiser: the loss spline spans the output's FIP range [-R, R],
which is the worst case and much wider than the logits met in practice, so a few segments
make it nearly piecewise linear through 0 and a network whose logits shrink to 0 (helped by the
bit-scale step) scores ell(0) = log 2 for the logistic loss, better than a real classifier with
some large negative margins (measured: training loss 0.70 at 50 % accuracy after 6 iterations
on T-shirt/trouser).

Consensus (``consensus``). With ``mean`` the above is textbook PH and the network is Q(w_bar).
We measured that this does not learn from a random start with one sample per subproblem: a
binary weight of Q(w_bar) changes only when more than half of the subproblems flip it, while a
single sample flips few weights and different samples flip different ones (on Fashion-MNIST
T-shirt/trouser, 100 samples, 16-4-1 binary, QCGD or exact MILP subproblems: 1-10 % of weights
disagree, Q(w_bar) never changes, training accuracy stays at the random start's). The default
``line-search`` is our deviation: with c the current consensus network (levels), each weight
votes for its adjacent level on the side of w_bar with strength |w_bar - c| / (level gap) (for a
binary weight, the sample-weighted fraction of subproblems that flipped it). The candidates are
c with its k strongest votes applied (k = 0, 1, 2, 4, ..., all voted weights), c with each vote
alone, and c with the k best of those single moves that beat c (k = 2, 4, ...). They are scored
like the returned network (``select``: training accuracy, ties by the spline loss; or the
reverse), and the best (fewest moves on ties) becomes both the network and the next prox centre
w_bar; the multipliers are updated against that centre, lambda_b += rho (w_b - c_new) (issue
18: they used to track the mean while the centre was the line-search network, so lambda
pulled towards a point no subproblem was prox-centred on). The subproblems thus give the candidate moves (which
weights, towards which level, in which order) and a classical line search over one forward pass
per candidate the step, like a sign-gradient method with a trust region; with k = 0 a
candidate, the consensus never gets worse on the training score.

History of this choice, measured on Fashion-MNIST T-shirt/trouser (16-4-1 binary, QCGD with
dense-SA, contaminated timings): an earlier rule moved every weight whose vote exceeded
1 / (2 gamma) for gamma in {1, 2, 4, 8, 16}. Votes are small (a single sample flips 1-10 % of
the weights, different samples different ones), so it rarely moved anything: no step in 3
iterations on 1,000 samples, training accuracy stuck at the random start. Applying prefixes of
the ranked votes, scored by accuracy, on 200 samples (rho = 1, 6 iterations) took training
accuracy from 45.5 % to 81 % (test 76.3 %), but on 500 samples it stalled at 66 % after three
iterations: once the strongest vote hurts, every prefix does. The single and combined moves
remove that block: on 500 samples (rho = 0.3, constant, 8 iterations) training accuracy went
from 43.4 % to 90.2 %, test 89.3 %, moving 1-5 weights per iteration. QAT with the same bits
reaches 93.5 % test accuracy on this task. ``QCBOResult.initial`` records the starting network
so that reports can tell what the iterations achieved. :func:`fit_greedy_moves` is the control
that tells what the subproblems add: the same start and line search with every weight voting.
Measured (qcbo-fmnist, 300 samples, 5 iterations, T-shirt/trouser and shirt/T-shirt, 1-bit,
ternary, 2-bit and mixed): QCGD-subproblem QPH is within 2 test points of the control in 5 of 8
settings, 12.6 points below it on shirt/T-shirt ternary, and 8-10 points above it only in the
mixed (binary hidden, 3-bit output) setting; the control takes under a second.

Choices the paper leaves open (all ours): w_bar starts at uniformly random levels (seeded) so
that the prox term is active from the first solve (with rho = 0 a single sample leaves almost
every weight free, and the solvers' arbitrary choices would average to noise); rho = 0.3 and
constant by default (rho_growth = 1; a growing rho freezes the subproblems at w_bar, which with
the line search is not needed for convergence, since the consensus only moves when it improves); T is fixed (no stopping rule; the history records the consensus residual
mean_b ||w_b - w_bar|| and the fraction of weights where w_b disagrees with Q(w_bar)).

Since issue 18, rho is per layer and follows the weight scale: rho_l(t) = rho rho_growth^t
(s_l(0) / s_l(t))^2, so the proximal cost of one level step does not change when the bit-scale
step rescales a layer; each QCGD solve is warm-started from its subproblem's incumbent
(completed to a feasible CQM point) and scales the objective by the model's FIP range
(:attr:`hybridqnn.problems.qcbo.QCBOModel.objective_range`); and the history reports
``improving_solves`` (subproblem solves whose best oracle candidate scored below the centre
w_bar, the consensus the subproblem was handed; not below its own last answer, which after a
consensus move any solve that returns the new consensus beats) and
:attr:`QCBOResult.improving_solve_fraction`.

Extra moves (``moves``; :data:`hybridqnn.train.qcbo.moves.MOVES`) run after the consensus step
and are kept only if they improve the training score (``select``'s rank): ``qubo`` is the
weight-space QUBO move, an Ising problem over single and pair moves of the weights (a pair-exact
model of the training errors, then the loss) solved by the oracle, with the best single or pair
move offered beside the oracle's answer (:mod:`hybridqnn.train.qcbo.moves`); ``pair`` is that
best single or pair move alone, no oracle call. ``fit_greedy_moves(moves=["pair"])`` is the
control with every classical part of QPH and none of its Ising solves: from the QAT starts of
the 8 two-class settings below QPH ends within 0.85 test points of it, and from random starts
it ends above QPH in 7 of 8, in 1/13-1/110 of the time.

Starts (``restarts``, ``warm_start``). QPH, like every local search over discrete weights, stops
at a start-dependent network: on 300 T-shirt/trouser samples (1-bit 16-4-1, 5 iterations) four
seeds gave test accuracies 0.81-0.91, and the best training score picked 0.906 against 0.910
for QAT, which the experiments also give 3 starts (``qat_restarts``); the experiments'
``ph_restarts`` sets ``restarts``. The end point of :func:`fit_greedy_moves` is a poor warm
start: no single weight move improves it there, and QPH's candidate moves did not either
(T-shirt/trouser, 300 samples, 1-bit: 0 moves in 6 iterations). From the QAT network, with the
``qubo`` move, QPH ends above the line-search control's training accuracy in all 8
two-class settings (Fashion-MNIST, 16-4-1, 1,000 samples, 5 iterations; the move kept in all
40 iterations, the oracle's answer beating the best pair in 1) and changes test accuracy
against the control by -0.3 to +1.7 points; from random starts (8 iterations) it ends within
2 points of QAT in 6 of the 8 settings. It never lowers the start's training accuracy.

Layout: :mod:`~hybridqnn.train.qcbo.ph` (the PH state and one function per step,
:func:`fit_qcbo`), :mod:`~hybridqnn.train.qcbo.subproblems` (build, solve and score one
subproblem), :mod:`~hybridqnn.train.qcbo.moves` (votes, the line search, registered moves),
:mod:`~hybridqnn.train.qcbo.network` (architecture, start, bit-scale step, ranking),
:mod:`~hybridqnn.train.qcbo.resources` (spins), :mod:`~hybridqnn.train.qcbo.baselines` (QAT and
the line-search control), :mod:`~hybridqnn.train.qcbo.estimator`,
:mod:`~hybridqnn.train.qcbo.results` (the results and the trained networks they predict with).

Each subproblem is solved by one of (``method``):

* ``qcgd``: :func:`hybridqnn.solvers.qcgd.qcgd` with ``sampler`` as its oracle (the paper's
  method); ``penalty``: :class:`hybridqnn.solvers.penalty.PenaltyCQMSampler` (the baseline the
  paper argues against); ``cqm``: ``sampler.sample_cqm`` itself (e.g.
  :class:`hybridqnn.solvers.milp.MILPSolver`, the exact classical reference).
* The answer of a subproblem is read from the weight bits only: every row of the returned sample
  set is decoded to weights, and each candidate is scored *exactly* by
  f_b(w) + lambda_b^T w + (rho/2)||w - w_bar||^2 (a forward pass; every weight assignment is
  completable to a feasible CQM point by :meth:`QCBOModel.complete`, so feasibility of the
  auxiliary variables never decides anything). With ``repair`` the solvers also score the
  completed rows themselves (not in the paper). With ``keep_incumbent`` the subproblem's
  previous w_b is a candidate too, so a heuristic oracle never makes a subproblem's objective
  worse than keeping its weights (the starting w_bar in the first iteration; not in the paper;
  off gives the raw oracle answers). Measured on three per-sample subproblems at a random w_bar
  (rho = 1; the exact optima 0.671, 0.787, 0.671 are all "stay at w_bar"), best scored weights
  of QCGD (5 oracle calls, 2 reads) with repair: SA 1.33 / 0.894 / 0.671, dense-SA 0.945 /
  1.79 / 1.03, CIM 2.11 / 15.1 / 6.24, SB 7.49 / 14.7 / 13.2; the penalty method 9.8 to 23
  with every oracle; without repair QCGD returned no feasible sample at all.

Blocks: a spin budget per solve (``max_spins``; issue 18, our choice: the paper's
decomposition is sample-wise only)
----------------------------------------------------------------------------------------
A sample-wise subproblem holds every weight of every layer plus one sample's activation,
selector, product and loss bits, so a wide layer alone exceeds a coherent Ising machine's
~1,000 spins (16-32-1 binary: 1,449 spins per solve, 16-32-10: 3,258). With ``max_spins`` the
weights are split into blocks: a :class:`~hybridqnn.problems.qcbo.WeightBlock` is the incoming
rows of consecutive neurons of ONE layer. Subproblem (b, B) over block B is the block model of
:func:`~hybridqnn.problems.qcbo.build_qcbo` (module docstring there, "Block models"):

    w_b^B = argmin_{w^B}  f_b(w^B, c^{-B}) + lambda_b^T w + sum_l (rho_l / 2) ||w^l - c^l||^2

with every weight outside B fixed at the current centre c, the consensus network. We fix the
centre rather than the subproblem's own incumbent because it is the network the line search
scores and moves (an incumbent's other blocks are stale once the consensus has moved), and
because the subproblems then agree outside B, so the mean, the votes and the line search act
on B's weights alone. The fixed weights' bits and the product variables of fixed rows vanish
(a constant weight times an activation bit is linear), and neurons with fixed inputs and
weights are constants: a block of an output layer holds only its weight bits and the loss
selectors. The subproblem's incumbent over B is its own last answer on B's rows and c
elsewhere; multipliers and incumbents are updated on B's rows only.

The blocks are planned once, at the start network, by
:func:`~hybridqnn.train.qcbo.resources.plan_blocks`: one block of every weight (the
subproblems without a budget) when those fit, else, layer by layer, the fewest blocks of
consecutive rows whose subproblems (measured with :func:`ising_spins` on the built block model
of every batch) fit the budget. The budget is at most the sampler's declared limit. A single row
that does not fit is a ValueError before any solve. Spins can change a little later: the
bit-scale step moves the output layer's FIP grid, and a fixed neuron at an exact activation tie
gets one free tie bit. So every subproblem is measured before it is solved; one over the budget is
not solved, the block's step is discarded (nothing is updated) and the block is halved. No
solve ever exceeds the budget.

Schedule (ours): PH iteration t sweeps the blocks in order, layer 1 first. For each block B,
every subproblem (b, B) is solved, then the mean, the consensus and the hedge run on B; the
registered moves follow the last block, and the bit-scale step and the record end the
iteration. An iteration thus still considers every weight once, as without blocks, and the
consensus moves after every block, so each block sees the network its predecessors improved
(block coordinate descent over the layers). Measured against the other schedule we
considered, one block per iteration (t mod B), at the same number of solves (Fashion-MNIST,
10 classes, 16-16-10 binary, 100 training and 1,000 test samples, QCGD with dense-SA, 2 blocks
of at most 744 spins; 2 cores shared with other work): the sweep reached 0.31 training and
0.265 test accuracy in 3 iterations (413 s), one block per iteration 0.27 and 0.225 in 6
(311 s), from the same start (0.11); one run each. The same run without blocks (1,714 spins
per solve) reached 0.21 and 0.176 in 759 s: a dense oracle's work grows with the square of
the spins, so the smaller solves are also cheaper (98 s of oracle time against 328 s). The history reports ``blocks`` (steps
in the iteration) and ``spins_max`` / ``spins_mean`` of its solves; :attr:`QCBOResult.spins`
gives the largest and mean spins per solve of the run, the budget (``max_spins``) and
``num_blocks``. Without ``max_spins`` nothing changes: one step over every weight, the paper's
scheme.

Bit-scale step (closed form, between binary solves; ``bit_scale=True``)
-------------------------------------------------------------------------
The weights are w = s_l B with B the code's integer levels (:class:`WeightCode`).

* Hidden layer l < L, once, at a random start: s_l = 1 / sqrt(mean_n ||a_n^{l-1}||^2)
  (a^0 = x, bias input included), so that the pre-activation of a random-sign row has unit
  mean square. A warm start keeps its own hidden scales. The hidden scales then stay fixed:
  with a bias input the predictions do depend on them (layer l + 1 sees s_l B a next to its
  constant bias input), so re-normalising after a move would change the network outside the
  line search. Measured: a QAT warm start on T-shirt/trouser (1,000 samples, 1-bit) fell from
  about 0.93 to 0.512 training accuracy in the first iteration, with no weight moved, when the
  step re-normalised the hidden scale every iteration (as it did before).
* Output layer, after each PH iteration (and at a random start): with B = Q(w_bar) / s_L
  fixed and g_n = B^L a_n^{L-1} (the logits at unit scale, quantized hidden activations on the
  network's FIP grid), the least-squares fit of the logits to the margin target tau
  (``scale_target``): s_L = tau sum_{n,c} y_nc g_nc / sum_{n,c} g_nc^2 (one-vs-rest signs
  y_nc), clipped to [s_L / 2, 2 s_L] of its old value (a trust region: while the binary
  weights are still poor the fit is near zero, and a collapsed scale makes the loss flat for
  every later subproblem), and kept when the fit is not positive. A positive output scale
  changes no prediction (sign or argmax of the logits); it changes the loss the next
  subproblems see.

The paper's "single-sample bit-scale optimization" is not specified; this is our closed form.
w_bar, the incumbents and lambda are rescaled with the scales (w by s_new / s_old, lambda by
s_old / s_new), so lambda^T w is unchanged; the FIP grid (and with it every subproblem) is then
rebuilt for the new levels.

Resource figures: :func:`spin_counts` gives the spins (binary variables of the Ising problem
an oracle sees: CQM variables plus the penalty reduction's slack and auxiliary bits) of the
monolithic model and of every subproblem; with ``products="variables"`` (the default) no
auxiliary bit is shared between samples, so monolithic = weights + sum_b (subproblem - weights)
exactly (tested against the built monolithic model). :func:`spin_formula` is the closed-form
upper bound in layers, widths, bits, segments and samples.

Baselines (:func:`fit_qat`): the same architecture and weight codes trained classically with
the straight-through estimator and Adam (quantization-aware training), and full precision.
"""

from __future__ import annotations

from hybridqnn.train.qcbo.baselines import fit_greedy_moves, fit_qat
from hybridqnn.train.qcbo.estimator import QCBOClassifier
from hybridqnn.train.qcbo.ph import METHODS, fit_qcbo
from hybridqnn.train.qcbo.resources import (
    bits_per_weight,
    declared_limit,
    ising_spins,
    plan_blocks,
    spin_counts,
    spin_formula,
    spins_by_layer,
)
from hybridqnn.train.qcbo.results import (
    QATResult,
    QCBOResult,
    QuantizedSplineModel,
    ReLUNetworkModel,
)

__all__ = [
    "METHODS",
    "QATResult",
    "QCBOClassifier",
    "QCBOResult",
    "QuantizedSplineModel",
    "ReLUNetworkModel",
    "bits_per_weight",
    "declared_limit",
    "fit_greedy_moves",
    "fit_qat",
    "fit_qcbo",
    "ising_spins",
    "plan_blocks",
    "spin_counts",
    "spin_formula",
    "spins_by_layer",
]
