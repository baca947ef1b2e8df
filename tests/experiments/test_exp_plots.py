"""Experiment figures (experiments/plots.py): the helper's rules, and every shipped experiment's
quick-mode figures checked axes by axes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridqnn.experiments.plots import LOG_RATIO, Panel, Series, choose_scale, plot_panels


class _Ctx:
    """The part of RunContext that plot_panels uses; keeps every figure it saves."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.figures: dict[str, object] = {}

    def save_figure(self, name: str, fig) -> Path:
        path = self.out / f"{name}.png"
        fig.savefig(path)
        self.figures[name] = fig
        return path


def _drawn(fig) -> None:
    """Lay out and draw ``fig`` on an Agg canvas, so that extents and tick labels are final."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()


def _visible_points(ax) -> int:
    """Data points (markers) of ``ax``'s lines inside its x and y limits."""
    (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
    count = 0
    for line in ax.get_lines():
        if not line.get_visible() or line.get_marker() in (None, "", "None", " "):
            continue
        x = np.asarray(line.get_xdata(), dtype=float)
        y = np.asarray(line.get_ydata(), dtype=float)
        count += int(np.sum((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)))
    return count


def figure_problems(fig) -> list[str]:
    """What is wrong with a saved figure: a missing figure title; per visible axes a missing
    title or axis label, no data point inside the limits, an additive tick offset
    (``1e-8+9.6e-1``; a factor such as ``1e6`` is fine), or a legend over the axes."""
    _drawn(fig)
    problems = [] if fig.get_suptitle() else ["no figure title"]
    renderer = fig.canvas.get_renderer()
    for ax in (a for a in fig.axes if a.get_visible()):
        name = ax.get_title() or "<untitled axes>"
        problems += [f"{name}: no {what}" for what, text in
                     (("title", ax.get_title()), ("x label", ax.get_xlabel()),
                      ("y label", ax.get_ylabel())) if not text.strip()]
        if _visible_points(ax) == 0:
            problems.append(f"{name}: no data point inside the axes limits")
        for axis in (ax.xaxis, ax.yaxis):
            offset = axis.get_offset_text().get_text()  # a factor ("1e6") reads; a sum does not
            if "+" in offset or offset.startswith("\N{MINUS SIGN}"):
                problems.append(f"{name}: tick offset {offset!r}")
        legend = ax.get_legend()
        if legend is not None:
            box, inner = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
            if box.x0 < inner.x1 - 1 and box.y0 < inner.y1 - 1 and box.y1 > inner.y0 + 1:
                problems.append(f"{name}: legend over the axes")
    return problems


def _one(tmp_path: Path, *panels: Panel):
    ctx = _Ctx(tmp_path)
    assert plot_panels(ctx, "fig", list(panels), title="a figure") is not None
    fig = ctx.figures["fig"]
    assert figure_problems(fig) == []
    return fig


# --------------------------------------------------------------------------- the helper


def test_plot_panels_draws_single_points_and_skips_empty_panels(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    one = Panel("one evaluation", "epoch", "accuracy", [Series("a", [1], [0.5])])
    empty = Panel("nothing", "epoch", "accuracy", [Series("b", [1, 2], [None, None])])
    many = Panel("many", "K", "accuracy",
                 [Series(f"m{i}", [1, 2, 3], [0.1 * i, 0.2, 0.3], band=([0, 0, 0], [1, 1, 1]))
                  for i in range(6)])
    settings = Panel("categories", "setting", "accuracy",
                     [Series("qat", ["binary", "ternary"], [0.9, 0.95]),
                      Series("qph", ["ternary", "mixed"], [0.93, None])])
    caplog.set_level("INFO", logger="hybridqnn.experiments.plots")
    path = plot_panels(_Ctx(tmp_path), "fig", [one, empty, many, settings], title="t")
    assert path is not None and path.stat().st_size > 0
    assert plot_panels(_Ctx(tmp_path), "none", [empty], title="t") is None
    assert not (tmp_path / "none.png").exists()
    assert "none.png: panel 'nothing' has no data and is left out" in caplog.text


def test_a_single_point_is_a_visible_marker_with_integer_ticks(tmp_path: Path) -> None:
    fig = _one(tmp_path, Panel("one evaluation", "epoch", "test accuracy",
                               [Series("a", [1], [0.5])]))
    ax = fig.axes[0]
    assert _visible_points(ax) == 1
    assert list(ax.get_xticks()) == [1.0]


def test_overlapping_series_stay_apart_and_say_so(tmp_path: Path) -> None:
    same = [0.48, 0.48, 0.45]
    fig = _one(tmp_path, Panel("pairs", "evaluation", "test accuracy", [
        Series("sm", [1, 2, 3], same), Series("xnor", [1, 2, 3], same),
        Series("bc", [1, 2, 3], [0.48, 0.48, 0.48 + 1e-9]), Series("ls", [1, 2, 3], [0.4, 0.5, 0.6]),
    ]))
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["sm", "xnor (same as sm)", "bc", "ls"]
    lines = ax.get_lines()
    assert len({(ln.get_marker(), ln.get_linestyle()) for ln in lines}) == 4
    assert lines[0].get_markersize() > lines[1].get_markersize()  # nested, not hidden
    assert all(ln.get_markerfacecolor() == "none" for ln in lines)


def test_categories_are_dodged_so_equal_values_do_not_cover_each_other(tmp_path: Path) -> None:
    fig = _one(tmp_path, Panel("task 0-1", "weight setting", "test accuracy", [
        Series(m, ["binary"], [0.5]) for m in ("qat", "full-precision", "mono")
    ]))
    xs = [float(ln.get_xdata()[0]) for ln in fig.axes[0].get_lines()]
    assert len(set(xs)) == 3 and all(-0.5 < x < 0.5 for x in xs)


def test_integer_x_gets_integer_ticks(tmp_path: Path) -> None:
    fig = _one(tmp_path,
               Panel("few", "K", "accuracy", [Series("a", [5, 10, 20], [0.9, 0.95, 0.97])]),
               Panel("many", "epoch", "loss", [Series("a", list(range(1, 41)),
                                                      [1 / e for e in range(1, 41)])]))
    few, many = fig.axes
    assert list(few.get_xticks()) == [5.0, 10.0, 20.0]
    assert all(float(t).is_integer() for t in many.get_xticks())


def test_scale_follows_the_data_and_never_symlog(tmp_path: Path) -> None:
    fig = _one(tmp_path,
               Panel("errors", "epoch", "error (%)", [Series("a", [1, 2, 3], [85.0, 70.0, 62.0])]),
               Panel("infeasibility", "iteration", "||r||", [Series("b", [1, 2, 3], [1e6, 1e4, 80])]),
               Panel("signed", "iteration", "objective", [Series("c", [1, 2, 3], [-20.0, 0.0, 1e4])]))
    assert [ax.get_yscale() for ax in fig.axes] == ["linear", "log", "linear"]
    assert [ax.get_xscale() for ax in fig.axes] == ["linear"] * 3
    with pytest.raises(ValueError, match="'yscale' must be one of auto, linear, log; got 'symlog'"):
        Panel("t", "x", "y", yscale="symlog")


@given(st.lists(st.floats(1e-6, 1e6), min_size=1, max_size=20))
def test_choose_scale_is_log_only_beyond_two_decades_of_positive_data(values: list) -> None:
    expected = "log" if max(values) / min(values) > LOG_RATIO else "linear"
    assert choose_scale(values) == expected
    assert choose_scale([*values, 0.0]) == "linear"
    assert choose_scale([*values, -1.0]) == "linear"


def test_equal_up_to_rounding_values_have_no_offset_and_a_readable_range(tmp_path: Path) -> None:
    fig = _one(tmp_path, Panel("digits", "bits per weight K", "test accuracy", [
        Series("QUBO head", [10], [0.96444444]),
        Series("SGD head", [10], [0.96444446], reference=True),
    ]))
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    assert high - low >= 0.009 and low < 0.9644 < high
    ref = ax.get_lines()[-1]
    assert list(ref.get_xdata()) == list(ax.get_xlim())  # a level across the whole panel


def test_reference_levels_alone_are_not_data(tmp_path: Path) -> None:
    only = Panel("best feasible", "iteration", "objective",
                 [Series("exact optimum", [1, 2], [3.0, 3.0], reference=True)])
    assert plot_panels(_Ctx(tmp_path), "ref", [only], title="t") is None
    with pytest.raises(ValueError, match="reference series must be constant"):
        Series("exact", [1, 2], [1.0, 2.0], reference=True)


_values = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False),
                   st.floats(1e-6, 1e6), st.sampled_from([0.0, 0.5, 0.96444444]))


@settings(max_examples=12)
@given(st.lists(st.lists(_values, min_size=1, max_size=30), min_size=1, max_size=6),
       st.booleans())
def test_any_data_gives_a_figure_that_shows_it(curves: list, integer_x: bool) -> None:
    import tempfile

    series = [Series(f"s{i}", [j if integer_x else 0.1 * j + 0.05 for j in range(len(y))], y)
              for i, y in enumerate(curves)]
    with tempfile.TemporaryDirectory() as out:
        ctx = _Ctx(Path(out))
        path = plot_panels(ctx, "fig", [Panel("any", "x", "y", series)], title="a figure")
        if not any(y is not None for c in curves for y in c):
            assert path is None
            return
        assert figure_problems(ctx.figures["fig"]) == []


@pytest.mark.parametrize("field_name", ["title", "xlabel", "ylabel"])
def test_panels_need_a_title_and_axis_labels(field_name: str) -> None:
    kwargs = {"title": "t", "xlabel": "x", "ylabel": "y", field_name: " "}
    with pytest.raises(ValueError, match=f"'{field_name}' must be a non-empty string, got ' '"):
        Panel(**kwargs)
    with pytest.raises(ValueError, match="'y' must have one value per x"):
        Series("a", [1, 2], [0.5])
    with pytest.raises(ValueError, match="'title' must be a non-empty string"):
        plot_panels(_Ctx(Path(".")), "f", [Panel("t", "x", "y", [Series("a", [1], [1.0])])],
                    title="")


def test_figure_problems_flags_what_plots_used_to_hide(tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.subplots()
    ax.plot([1.0], [0.96444445])  # a single evaluation drawn as a line: nothing to see
    ax.plot([0, 1], [0.96444444, 0.96444446], marker="o")
    ax.legend(["a", "b"], loc="center")
    problems = figure_problems(fig)
    assert "no figure title" in problems
    assert {"<untitled axes>: no title", "<untitled axes>: no x label",
            "<untitled axes>: legend over the axes"} <= set(problems)
    assert any("tick offset" in p for p in problems)
    assert _visible_points(ax) == 2  # the line without a marker shows no point


# --------------------------------------------------------------------------- shipped experiments


def _experiment_configs() -> list[str]:
    from hybridqnn.experiments.config import shipped_config_names

    return [n for n in shipped_config_names() if not n.startswith("bench-")]


def _quick_figures(
    name: str, out: Path, monkeypatch: pytest.MonkeyPatch, *overrides: str
) -> dict[str, object]:
    """Run the shipped config ``name`` with ``--quick`` (and ``overrides``) through
    run_experiment; the figures it saved."""
    from hybridqnn.experiments.config import load_config
    from hybridqnn.experiments.context import RunContext
    from hybridqnn.experiments.runner import run_experiment

    figures: dict[str, object] = {}
    save = RunContext.save_figure

    def keep(self, stem: str, fig) -> Path:
        figures[stem] = fig
        return save(self, stem, fig)

    monkeypatch.setattr(RunContext, "save_figure", keep)
    result = run_experiment(load_config(name, overrides, quick=True), out, save_models=False)
    assert result.status == "ok"
    return figures


#: Quick runs too slow for the default suite (about 6-11 s each on 2 busy cores): run with
#: ``-m slow``; the fast tests below cover their figure code with smaller inputs.
SLOW = {"natural-mnist", "qcbo-fmnist"}


def _check_quick_run(name: str, out: Path, monkeypatch: pytest.MonkeyPatch, *overrides: str) -> None:
    figures = _quick_figures(name, out, monkeypatch, *overrides)
    assert figures, f"{name} --quick drew no figure"
    problems = {stem: figure_problems(fig) for stem, fig in figures.items()}
    assert {stem: p for stem, p in problems.items() if p} == {}


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in _experiment_configs()]
)
def test_every_shipped_experiment_draws_figures_that_show_the_data(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_data: Path
) -> None:
    _check_quick_run(name, tmp_path / name, monkeypatch)


def test_natural_mnist_figures_on_a_smaller_quick_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_data: Path
) -> None:
    _check_quick_run("natural-mnist", tmp_path, monkeypatch,
                     "train_size=100", "test_size=100", "width=16", "shots=3")


def test_natural_mnist_curves_of_nine_settings_are_linear_with_the_legend_outside(
    tmp_path: Path,
) -> None:
    """The full natural-mnist figure once drew 60-85 % errors on a symlog axis under a
    nine-entry legend; its own plotting code on nine settings of 4-90 % errors."""
    from hybridqnn.experiments import natural

    def history(level: float) -> list[dict]:
        return [{"epoch": e, "train_error": level / e, "val_error_1shot": level / e + 0.01,
                 "val_error_vote": None if e % 2 else level / e} for e in range(1, 21)]

    results = [{"row": {"setting": f"setting-{i}"}, "history": history(0.9 - 0.05 * i)}
               for i in range(9)]
    ctx = _Ctx(tmp_path)
    natural._plot_curves(ctx, results, shots=15)
    fig = ctx.figures["error_curves"]
    assert figure_problems(fig) == []
    assert {ax.get_yscale() for ax in fig.axes if ax.get_visible()} == {"linear"}
    assert all(len(ax.get_legend().get_texts()) == 9 for ax in fig.axes if ax.get_visible())


def test_qcbo_fmnist_figures_from_quick_shaped_results(tmp_path: Path) -> None:
    """qcbo-fmnist's own plotting code on results shaped like its quick run: one task, one
    weight setting, seven methods of which four score exactly 0.5, one two-iteration QPH."""
    from hybridqnn.experiments import qcbo

    accuracies = {"qat-ste-adam": 0.5, "qat-quantized-activations": 0.5, "full-precision": 0.5,
                  "greedy-moves": 0.76, "greedy-moves-restarts": 0.86, "qph-qcgd": 0.82,
                  "mono-penalty": 0.5}
    ctx = _Ctx(tmp_path)
    qcbo._plot(ctx, {("0-1", "binary"): accuracies}, {"0-1 binary qph-qcgd": [0.675, 0.665]})
    assert set(ctx.figures) == {"accuracy", "qph_loss"}
    assert {stem: figure_problems(fig) for stem, fig in ctx.figures.items()} == {
        "accuracy": [], "qph_loss": []}
    ax = ctx.figures["accuracy"].axes[0]
    assert len({float(line.get_xdata()[0]) for line in ax.get_lines()}) == len(accuracies)


def test_a_group_keeps_its_style_across_panels(tmp_path: Path) -> None:
    fig = _one(tmp_path, *(
        Panel(f"setting {lr}", "step", "f(z)", [
            Series(f"qpsbgd (lr {lr})", [1, 2], [3.0, 2.0], group="qpsbgd"),
            Series(f"sgd (lr {lr})", [1, 2], [4.0, 1.0], group="sgd"),
        ]) for lr in (0.05, 0.1)
    ))
    styles = [[(ln.get_color(), ln.get_marker()) for ln in ax.get_lines()] for ax in fig.axes]
    assert styles[0] == styles[1] and styles[0][0] != styles[0][1]


def test_a_single_fractional_x_is_one_tick_in_the_middle(tmp_path: Path) -> None:
    fig = _one(tmp_path, Panel("error vs a", "stretch a", "error (%)",
                               [Series("final", [0.316], [78.0]), Series("best", [0.316], [78.0])]))
    ax = fig.axes[0]
    assert list(ax.get_xticks()) == [0.316]
    low, high = ax.get_xlim()
    assert low < 0.316 < high and (high - low) > 0.2


def test_error_bars_and_a_forced_log_single_point_stay_inside(tmp_path: Path) -> None:
    fig = _one(tmp_path,
               Panel("bars", "K", "accuracy", [Series("a", [1, 2], [0.9, 0.9], yerr=[0.05, 0.02])]),
               Panel("one on log", "n", "seconds", [Series("b", [1], [2.0])], xscale="log"))
    bars, single = fig.axes
    assert bars.get_ylim()[0] < 0.85 and bars.get_ylim()[1] > 0.95
    assert single.get_xscale() == "log" and single.get_xlim() == pytest.approx((0.5, 2.0))
