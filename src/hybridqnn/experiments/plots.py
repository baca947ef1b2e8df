"""The one way experiments draw figures: a figure of :class:`Panel` (one set of axes each) holding
:class:`Series` (one labelled line each), drawn and saved by :func:`plot_panels`.

Every figure follows the same rules, so that it shows its data:

- **Scales from the data.** An axis is linear unless its data is all positive and spans more
  than two decades (``max / min > LOG_RATIO = 100``); it is then logarithmic with decade ticks.
  Data with zeros or negative values stays linear: never a symlog axis. A panel forces a scale
  (``xscale`` / ``yscale``) only where the quantity demands it.
- **Every point visible.** Every series has markers, so that one evaluation is a point and not
  an empty panel. Style follows the label across the figure (a method looks the same in every
  panel): colour and marker shape by label, line styles cycling; markers are hollow and shrink
  from the panel's first series to its last, so coinciding series nest instead of hiding each
  other, and a series equal to an earlier one says so in the legend (``"b (same as a)"``).
  Categories (string x values, such as weight settings) are evenly spaced, labelled positions
  on which the series are dodged side by side.
- **Honest ticks.** Integer x values (epochs, K, iterations) get integer ticks: one at each
  value when there are at most 12, else ``MaxNLocator(integer=True)``. Tick labels never carry
  an offset (``1e-8 + 9.64e-1``), and a linear y range narrower than 0.1 % of its level is
  widened to +-0.5 % of it, so equal accuracies look equal instead of a float rounding apart.
- **Titles and labels.** The figure, every panel and both axes of every panel have text (the
  dataclasses refuse empty strings); legends sit outside the axes, to the right.
- **Reference levels.** A ``reference`` series (a baseline that does not vary with x, such as
  the SGD head's accuracy or the exact optimum) is a dashed horizontal line across the panel.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hybridqnn._checks import check_choice

if TYPE_CHECKING:
    from hybridqnn.experiments.context import RunContext

__all__ = ["LOG_RATIO", "Panel", "Series", "choose_scale", "plot_panels"]

logger = logging.getLogger(__name__)

#: An axis whose data is all positive turns logarithmic when max / min exceeds this (2 decades).
LOG_RATIO = 100.0
_SCALES = ("auto", "linear", "log")
_FEW_TICKS = 12
_MARKERS = "osD^vP*Xdp"
_LINESTYLES = ("-", "--", "-.", ":")
_MAX_MARKERS = 20  # markers per series on a long curve (every k-th point, offset per series)
_SAME_RTOL = 1e-6  # series this close are "the same" (accuracies equal up to float rounding)
_FLAT_RTOL = 1e-3  # a y range narrower than this fraction of its level is widened
_PANEL_SIZE = (4.4, 3.3)  # inches, without the legend
_MAX_WIDTH = 18.0  # inches: three panels with short legends


def _check_text(name: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name!r} must be a non-empty string, got {value!r}")


@dataclass
class Series:
    """One labelled line: ``y`` over ``x`` (None where there is no value), with an optional
    error bar ``yerr`` or a shaded ``band = (low, high)`` (e.g. min and max over seeds). String
    x values are categories (settings, tasks): drawn as points at evenly spaced, labelled
    positions. ``reference=True`` marks a level that does not vary with x (``y`` constant): it
    is drawn as a horizontal line across the panel. Series of one ``group`` (default: the label)
    share colour and marker across the figure, e.g. one method at different learning rates."""

    label: str
    x: Sequence[float | str]
    y: Sequence[float | None]
    yerr: Sequence[float] | None = None
    band: tuple[Sequence[float], Sequence[float]] | None = None
    reference: bool = False
    group: str | None = None

    @property
    def style_key(self) -> str:
        return self.group if self.group is not None else self.label

    def __post_init__(self) -> None:
        _check_text("label", self.label)
        if len(self.x) != len(self.y):
            raise ValueError(f"'y' must have one value per x ({len(self.x)}), got {len(self.y)}")
        if self.reference and len({float(y) for y in self.y if y is not None}) > 1:
            raise ValueError(f"'y' of a reference series must be constant, got {list(self.y)!r}")


@dataclass
class Panel:
    """One set of axes: a title, the axis labels (with units where there are any), the series,
    and the scales (``"auto"``: chosen from the data by :func:`choose_scale`; ``"linear"`` or
    ``"log"`` force one) and an optional fixed ``ylim``."""

    title: str
    xlabel: str
    ylabel: str
    series: list[Series] = field(default_factory=list)
    xscale: str = "auto"
    yscale: str = "auto"
    ylim: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        for name in ("title", "xlabel", "ylabel"):
            _check_text(name, getattr(self, name))
        check_choice("xscale", self.xscale, _SCALES)
        check_choice("yscale", self.yscale, _SCALES)


def choose_scale(values: Sequence[float]) -> str:
    """``"log"`` when every finite value is > 0 and ``max / min > LOG_RATIO`` (more than two
    decades), else ``"linear"`` (also for no values)."""
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not vals or min(vals) <= 0:
        return "linear"
    return "log" if max(vals) / min(vals) > LOG_RATIO else "linear"


def _has_data(panel: Panel) -> bool:
    return any(not s.reference and any(y is not None for y in s.y) for s in panel.series)


def _categories(panel: Panel) -> list[str] | None:
    """The category labels of a panel whose x values are strings (in first-seen order), else
    None."""
    xs = [x for s in panel.series if not s.reference for x in s.x]
    if not any(isinstance(x, str) for x in xs):
        return None
    return list(dict.fromkeys(str(x) for x in xs))


def _points(s: Series) -> list[tuple[Any, float]]:
    return [(x, float(y)) for x, y in zip(s.x, s.y, strict=True) if y is not None]


def _same(a: list[tuple[Any, float]], b: list[tuple[Any, float]]) -> bool:
    return len(a) == len(b) and all(
        xa == xb and math.isclose(ya, yb, rel_tol=_SAME_RTOL, abs_tol=1e-12)
        for (xa, ya), (xb, yb) in zip(a, b, strict=True)
    )


def _style(index: int, k: int, n: int, categorical: bool) -> dict[str, Any]:
    """Colour, marker and line style of the label with figure-wide ``index``, drawn as the
    panel's ``k``-th series of ``n`` points: hollow markers shrinking with ``k`` so that
    coinciding series nest, and on long curves a marker every few points, offset per series."""
    size = 6.0 if categorical else max(4.0, 7.0 - 0.6 * k)  # dodged categories do not overlap
    style: dict[str, Any] = dict(
        color=f"C{index % 10}", marker=_MARKERS[index % len(_MARKERS)], ms=size,
        mfc="none", mew=1.2, lw=1.3, alpha=0.85,
        ls="none" if categorical else _LINESTYLES[index % len(_LINESTYLES)],
    )
    if n > _MAX_MARKERS:
        step = math.ceil(n / _MAX_MARKERS)
        style["markevery"] = (k % step, step)
    return style


def _legend_labels(panel: Panel) -> list[str]:
    """The legend label of each data series of ``panel`` (those with points), in order: its
    label, with ``" (same as <label>)"`` when it equals an earlier series point for point."""
    drawn: list[tuple[str, list[tuple[Any, float]]]] = []
    labels = []
    for s in panel.series:
        pts = _points(s)
        if s.reference or not pts:
            continue
        same = next((label for label, other in drawn if _same(pts, other)), None)
        labels.append(s.label if same is None else f"{s.label} (same as {same})")
        drawn.append((s.label, pts))
    return labels


def _draw_series(ax: Any, panel: Panel, styles: dict[str, int]) -> tuple[list[float], list[float]]:
    """Draw the panel's data series; return every x and y drawn (bands included in y)."""
    categories = _categories(panel)
    data = [s for s in panel.series if not s.reference and _points(s)]
    all_x: list[float] = []
    all_y: list[float] = []
    for k, (s, label) in enumerate(zip(data, _legend_labels(panel), strict=True)):
        pts = _points(s)
        if categories is not None:
            shift = (k - (len(data) - 1) / 2) * min(0.6 / len(data), 0.15)
            xs = [categories.index(str(x)) + shift for x, _ in pts]
        else:
            xs = [float(x) for x, _ in pts]
        ys = [y for _, y in pts]
        style = _style(styles[s.style_key], k, len(xs), categories is not None)
        if s.yerr is not None:
            err = [float(e) for e, y in zip(s.yerr, s.y, strict=True) if y is not None]
            ax.errorbar(xs, ys, yerr=err, capsize=2, label=label, **style)
            all_y += [y + sign * e for y, e in zip(ys, err, strict=True) for sign in (-1, 1)]
        else:
            ax.plot(xs, ys, label=label, **style)
        if s.band is not None and categories is None:
            ax.fill_between([float(x) for x in s.x], list(s.band[0]), list(s.band[1]),
                            color=style["color"], alpha=0.15, lw=0)
            all_y += [float(v) for v in (*s.band[0], *s.band[1])]
        all_x += [float(x) for x, _ in pts] if categories is None else []
        all_y += ys
    return all_x, all_y


def _log_labels(axis: Any, values: list[float]) -> None:
    """Readable labels on a log axis, never ``8.9 x 10^1``: over more than three decades of
    data, ``10^k`` at each decade only; over fewer, plain numbers (``20``, ``0.05``) at 1, 2 and
    5 times each power of ten."""
    from matplotlib.ticker import FuncFormatter, LogFormatterSciNotation, NullFormatter

    positive = [v for v in values if v > 0 and math.isfinite(v)]
    if positive and max(positive) / min(positive) > 1e3:
        axis.set_major_formatter(LogFormatterSciNotation())
        axis.set_minor_formatter(NullFormatter())
        return

    def label(v: float, _: Any) -> str:
        if v <= 0:
            return ""
        mantissa = round(v / 10 ** math.floor(math.log10(v) + 1e-9), 6)
        return f"{v:g}" if mantissa in (1.0, 2.0, 5.0) else ""

    axis.set_major_formatter(FuncFormatter(label))
    axis.set_minor_formatter(FuncFormatter(label))


def _set_x_axis(ax: Any, panel: Panel, all_x: list[float]) -> None:
    """Categories, the x scale and integer ticks."""
    from matplotlib.ticker import MaxNLocator, ScalarFormatter

    categories = _categories(panel)
    if categories is not None:
        ax.set_xticks(range(len(categories)), categories, fontsize=9,
                      rotation=30 if len(categories) > 4 else 0)
        ax.set_xlim(-0.5, len(categories) - 0.5)
        return
    scale = panel.xscale if panel.xscale != "auto" else choose_scale(all_x)
    ax.set_xscale(scale)
    if scale == "log":
        _log_labels(ax.xaxis, all_x)
    values = sorted(set(all_x))
    integer = all(x.is_integer() for x in values)
    if len(values) == 1:  # one x (one K, one a): one tick at it, in the middle
        v = values[0]
        half = 1.0 if integer else max(abs(v) / 2, 0.5)
        ax.set_xticks(values)
        ax.set_xlim(*((v / 2, v * 2) if scale == "log" else (v - half, v + half)))
    elif scale == "linear" and integer:
        if len(values) <= _FEW_TICKS:
            ax.set_xticks(values)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if isinstance(ax.xaxis.get_major_formatter(), ScalarFormatter):
        ax.xaxis.get_major_formatter().set_useOffset(False)


def _set_y_axis(ax: Any, panel: Panel, all_y: list[float]) -> None:
    """The y scale, limits (a fixed ``ylim``, else a flat range widened) and no offset."""
    from matplotlib.ticker import ScalarFormatter

    scale = panel.yscale if panel.yscale != "auto" else choose_scale(all_y)
    ax.set_yscale(scale)
    if scale == "log":
        _log_labels(ax.yaxis, all_y)
    if panel.ylim is not None:
        ax.set_ylim(*panel.ylim)
    elif scale == "linear" and all_y:
        lo, hi = min(all_y), max(all_y)
        level = max(abs(lo), abs(hi))
        if hi - lo < _FLAT_RTOL * level:
            half = 5 * _FLAT_RTOL * level
            ax.set_ylim((lo + hi) / 2 - half, (lo + hi) / 2 + half)
    if isinstance(ax.yaxis.get_major_formatter(), ScalarFormatter):
        ax.yaxis.get_major_formatter().set_useOffset(False)


def _draw(ax: Any, panel: Panel, styles: dict[str, int]) -> None:
    """One panel: data series, axes, reference lines, title, labels and the legend outside."""
    refs = [s for s in panel.series if s.reference and _points(s)]
    all_x, all_y = _draw_series(ax, panel, styles)
    all_y += [_points(s)[0][1] for s in refs]
    _set_x_axis(ax, panel, all_x)
    _set_y_axis(ax, panel, all_y)
    xlim = ax.get_xlim()
    for s in refs:
        ax.plot(xlim, [_points(s)[0][1]] * 2, color=f"C{styles[s.style_key] % 10}", ls="--", lw=1.2,
                label=s.label)
    ax.set_xlim(xlim)
    ax.set_title(panel.title, fontsize=11)
    ax.set_xlabel(panel.xlabel, fontsize=10)
    ax.set_ylabel(panel.ylabel, fontsize=10)
    ax.tick_params(which="both", labelsize=9)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[1]:
        ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)


def _legend_inches(panels: Sequence[Panel]) -> float:
    """About the width of the widest legend (9 pt labels), "(same as ...)" notes included."""
    labels = [t for p in panels for t in _legend_labels(p)]
    labels += [s.label for p in panels for s in p.series if s.reference]
    longest = max((len(t) for t in labels), default=0)
    return min(0.8 + 0.075 * longest, 5.0) if longest else 0.0


def plot_panels(ctx: RunContext, name: str, panels: Sequence[Panel], *, title: str) -> Path | None:
    """Draw ``panels`` (up to three per row, each with its legend to the right) in one figure
    titled ``title`` and save it as ``<name>.png`` in the run directory. Panels without data
    (reference levels alone are not data) are left out, each with an INFO log line; returns
    None (and writes nothing) when none has any."""
    from matplotlib.figure import Figure

    _check_text("title", title)
    shown = [p for p in panels if _has_data(p)]
    for p in panels:
        if not _has_data(p):
            logger.info("%s.png: panel %r has no data and is left out", name, p.title)
    if not shown:
        return None
    labels = dict.fromkeys(s.style_key for p in shown for s in p.series)
    styles = {label: i for i, label in enumerate(labels)}
    width = _PANEL_SIZE[0] + _legend_inches(shown)
    most = max(1, min(len(shown), 3, int(_MAX_WIDTH // width)))
    rows = math.ceil(len(shown) / most)
    cols = math.ceil(len(shown) / rows)  # 2 x 2, not 3 + 1
    fig = Figure(figsize=(width * cols, _PANEL_SIZE[1] * rows + 0.4), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, panel in zip(axes.ravel(), shown, strict=False):
        _draw(ax, panel, styles)
    for ax in axes.ravel()[len(shown):]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=13)
    return ctx.save_figure(name, fig)
