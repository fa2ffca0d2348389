"""matplotlib figures: the error curve and the activation functions, as deterministic SVG.

Figures are built on ``matplotlib.figure.Figure`` objects (no pyplot state) and
saved with a fixed hash salt and no date, so the same trace gives the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from deckgen.core.activations import FUNCTIONS
from deckgen.core.batches import chunks, epoch_means
from deckgen.story.compare import COLOURS
from deckgen.story.views import DARK_THEMES, palette

_RC = {"svg.hashsalt": "deckgen", "svg.fonttype": "path", "font.size": 15, "axes.spines.top": False,
       "axes.spines.right": False, "path.simplify": True, "path.simplify_threshold": 0.2}

#: Where the error curve's axes sit (left, bottom, width, height as figure fractions), with room for
#: tick labels up to ``0.00005`` and ``100,000``: a fixed place is half the cost of a constrained layout.
MAE_AXES = (0.11, 0.135, 0.855, 0.825)
#: The same for the short curve of a trouble slide (8 x 2.7 inches), whose tick labels take more of it.
MAE_AXES_SHORT = (0.14, 0.24, 0.78, 0.72)


def figure_style(theme: str) -> tuple[dict, dict[str, str]]:
    """rc settings and colours for a theme: dark text on light themes, light text on dark ones."""
    fg = "#e8e8e8" if theme in DARK_THEMES else "#222222"
    rc = dict(_RC, **{"text.color": fg, "axes.labelcolor": fg, "xtick.color": fg, "ytick.color": fg,
                      "axes.edgecolor": fg, "legend.labelcolor": fg})
    return rc, palette(theme)


def save_svg(fig: Figure, path: Path) -> None:
    """Write a figure as deterministic SVG (fixed hash salt from the rc settings, no date)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasSVG(fig)
    fig.savefig(path, format="svg", metadata={"Date": None, "Creator": "deckgen"}, transparent=True)


def plain_log_axis(ax) -> None:
    """A log-scale y axis labelled 0.5, 0.2, 0.1, 0.05 ... rather than powers of ten."""

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.6f}".rstrip("0").rstrip(".")))
    ax.yaxis.set_minor_formatter(NullFormatter())


def iteration_axis(ax) -> None:
    """Iterations on the x axis, written with thousands separators (10,000)."""

    ax.set_xlabel("iteration")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))


def mae_curve(trace, spec: dict, path: Path, theme: str = "white") -> None:
    """Mean absolute error over every iteration, log scale, checkpoints marked."""
    mae = np.asarray(trace.series("mae"), dtype=float)
    t = np.arange(len(mae))
    finite = np.isfinite(mae) & (mae > 0)
    rc, colours = figure_style(theme)
    with matplotlib.rc_context(rc):
        size = tuple(spec.get("size", (10, 4.6)))
        fig = Figure(figsize=size)
        ax = fig.add_axes(MAE_AXES if size == (10, 4.6) else MAE_AXES_SHORT)
        if trace.batch_size is None:
            ax.plot(t[finite], mae[finite], color=colours["error"], linewidth=2)
        else:
            _batch_curves(ax, trace, t, mae, finite, colours)
        points = [c for c in spec.get("checkpoints", ()) if c < len(mae) and finite[c]]
        if points:
            ax.plot(points, mae[points], "o", color=colours["input"], markersize=6, label="checkpoints")
        diag = spec.get("diagnosis", {})
        if diag.get("kind") == "stuck":
            ax.axvspan(diag["iteration"], len(mae) - 1, color=colours["delta"], alpha=0.12, label="plateau")
        elif diag.get("kind") == "diverged":
            ax.axvline(diag["iteration"], color=colours["error"], linestyle="--", label="training diverged")
        elif diag.get("kind") == "overshot":
            ax.axvline(diag["iteration"], color=colours["error"], linestyle="--", label="stuck from here")
        early = diag.get("iteration", len(mae))
        if diag.get("kind") in ("overshot", "diverged", "stuck") and 0 < early < len(mae) / 10:
            _zoom(ax, t, mae, finite, min(len(mae) - 1, max(2 * early, 10)), colours,
                  "#191919" if theme in DARK_THEMES else "#ffffff")
        plain_log_axis(ax)
        iteration_axis(ax)
        if size != (10, 4.6):   # short: fewer ticks, so labels as large as the full curve's still fit
            ax.xaxis.set_major_locator(MaxNLocator(4))
            shown = mae[finite]
            if shown.size and shown.max() < 10 * shown.min():
                ax.yaxis.set_major_locator(MaxNLocator(3))
        ax.set_ylabel("mean absolute error")
        ax.grid(True, which="major", alpha=0.3)
        ax.set_xlim(0, max(len(mae) - 1, 1))
        if ax.get_legend_handles_labels()[0]:   # the inset, when there is one, takes the upper right
            ax.legend(frameon=False, loc="lower left" if ax.child_axes else "best")
        save_svg(fig, path)


def _batch_curves(ax, trace, t: np.ndarray, mae: np.ndarray, finite: np.ndarray, colours: dict) -> None:
    """With mini-batches: each iteration's error (on its own batch, so it jumps), faint, and its mean over
    each epoch, which covers every row once, drawn at the epoch's last iteration."""
    ax.plot(t[finite], mae[finite], color=colours["error"], linewidth=1, alpha=0.35,
            label="each iteration (on its batch)")
    per = chunks(trace.batch_size, trace.shape("X")[0])
    means = epoch_means(mae[: min(len(mae), trace.iterations)], trace.batch_size, trace.shape("X")[0])
    ends = np.arange(1, len(means) + 1) * per - 1
    keep = np.isfinite(means) & (means > 0)
    if keep.any():
        ax.plot(ends[keep], means[keep], color=colours["error"], linewidth=2.2, label="mean over each epoch")


def _zoom(ax, t: np.ndarray, mae: np.ndarray, finite: np.ndarray, end: int, colours: dict, background: str) -> None:
    """An inset of iterations 0..end, where a run's trouble happens early: a few pixels of the full curve.

    The figure is saved transparent, so the inset gets a patch of the theme's background (the slide's
    colour, reveal.js white or black) under it and above the main curve, which would show through."""
    inset = ax.inset_axes([0.42, 0.38, 0.55, 0.5])
    ax.add_patch(Rectangle((0.42 - 0.09, 0.38 - 0.12), 0.55 + 0.1, 0.5 + 0.22, transform=ax.transAxes,
                           facecolor=background, edgecolor="none", zorder=4.5))
    keep = finite & (t <= end)
    inset.plot(t[keep], mae[keep], color=colours["error"], linewidth=1.8)
    inset.set_xlim(0, end)
    inset.set_title(f"iterations 0 to {end:,}")
    inset.xaxis.set_major_locator(MaxNLocator(4))
    inset.grid(True, alpha=0.3)


def activation_figure(spec: dict, theme: str = "white") -> Figure:
    """The activation function alone, on axes at the spec's fixed place and limits.

    The slide marks an iteration's weighted sums over this figure itself (see
    :mod:`deckgen.story.curves`), so nothing here may move the axes: no
    constrained layout, no autoscaling, and a fixed figure size.
    """
    act = FUNCTIONS[spec["activation"]]
    f = act.gradient if spec.get("slope") else act.curve
    (x0, x1), (y0, y1) = spec["x"], spec["y"]
    xs = np.linspace(x0, x1, 400)
    rc, colours = figure_style(theme)
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=tuple(spec["size"]))
        ax = fig.add_axes(tuple(spec["axes"]))
        ax.axhline(0, color="#999", linewidth=0.8)
        ax.axvline(0, color="#999", linewidth=0.8)
        ax.plot(xs, f(xs), color=colours["activation"], linewidth=2.5)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_xlabel("z (weighted sum)")
        ax.set_ylabel(f"slope of {spec['activation']}" if spec.get("slope") else f"{spec['activation']}(z)")
        if spec.get("slope"):      # the steepest the slope gets: no delta can be larger than the error times this
            top = float(np.max(f(xs)))
            ax.axhline(top, color=colours["error"], linestyle="--", linewidth=1.2)
            ax.annotate("largest slope " + f"{top:.2f}".rstrip("0").rstrip("."), (x0 + 0.03 * (x1 - x0), top), xytext=(0, 6),
                        textcoords="offset points", color=colours["error"])
        ax.grid(True, alpha=0.3)
    return fig


def activation_curve(trace, spec: dict, path: Path, theme: str = "white") -> None:
    """The activation function's curve, the same for every iteration (it reads nothing from the trace)."""
    rc, _ = figure_style(theme)
    with matplotlib.rc_context(rc):
        save_svg(activation_figure(spec, theme), path)


DRAW = {"mae": mae_curve, "activation": activation_curve}


def draw_figures(trace, specs, out: Path) -> list[Path]:
    """Draw every figure the story asks for into ``out``; return the files written."""
    written = []
    for spec in specs:
        target = out / spec["path"]
        DRAW[spec["kind"]](trace, spec, target, spec.get("theme", "white"))
        written.append(target)
    return written


def draw_compare(spec: dict, path: Path) -> None:
    """Every run's error curve on one log-scale plot, as deterministic SVG (like the deck's figures)."""
    rc, _ = figure_style(spec.get("theme", "white"))
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(10, 4.6), layout="constrained")
        ax = fig.add_subplot()
        longest = 1
        for i, run in enumerate(spec["runs"]):
            mae = np.asarray(run.mae, dtype=float)
            t = np.arange(len(mae))
            ok = np.isfinite(mae) & (mae > 0)
            longest = max(longest, len(mae) - 1)
            label = f"{run.label} (this talk)" if run.index == 0 else run.label
            ax.plot(t[ok], mae[ok], color=COLOURS[i % len(COLOURS)], linewidth=2.4 if run.index == 0 else 1.8,
                    label=label)
            if run.diagnosis.get("kind") == "diverged" and ok.any():
                last = int(t[ok][-1])
                ax.plot([last], [mae[last]], "x", color=COLOURS[i % len(COLOURS)], markersize=10, mew=2.5)
        plain_log_axis(ax)
        ax.set_xlabel("iteration")
        ax.set_ylabel("mean absolute error")
        ax.grid(True, which="major", alpha=0.3)
        ax.set_xlim(0, longest)
        ax.legend(frameon=False)
        save_svg(fig, path)


def figure_token(spec: dict) -> str:
    """What the figure depends on, for reusing it between builds of a running server."""
    return json.dumps({"kind": "compare", "theme": spec.get("theme"),
                       "runs": [(r.key, r.label, r.index, r.diagnosis.get("kind")) for r in spec["runs"]]},
                      sort_keys=True, default=str)
