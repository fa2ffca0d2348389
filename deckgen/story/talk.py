"""Trace -> the talk: an ordered list of slide view-models.

This is where the deck's structure is decided: which slides exist, which
matrices each one shows, which result cells are worked out step by step and
what is highlighted while they are. It is pure (no files, no HTML) so it can be
tested without rendering. Wording lives in the templates.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from deckgen.core.batches import chunks, epoch_means
from deckgen.core.diagnose import diagnose
from deckgen.core.learned import decisions
from deckgen.core.kept import checkpoints_of, deck_kept, final_iteration
from deckgen.core.train import INIT_RANGE
from deckgen.story.chain import chain_slide, chosen_weights
from deckgen.story.diagram import diagram
from deckgen.story.facts import facts_of
from deckgen.story.rows import batch_of, file_row, spans
from deckgen.story.outputs import why_delta_slide
from deckgen.story import results
from deckgen.story.fit import MONO, SANS, SIZES, WIDTH, Spec, fit, room
from deckgen.story.lessons import descent, learned, neuron, step
from deckgen.story.slides import Slide, Story
from deckgen.story.steps import Steps
from deckgen.story.trouble import cures_slide, plateau, trouble_slide
from deckgen.story.views import Layout, fmt, pick, sig

MAE_FIGURE = "figures/mae.svg"
#: The error curve again, drawn for the short place it has under a trouble slide's evidence (deck.css:
#: img.figure.short), so its numbers are as large as the full curve's.
MAE_SHORT = "figures/mae-short.svg"


def _classes_of(dataset) -> tuple[int, ...]:
    """The class of each of ``data.rows`` (the largest target), for a class target; else none."""
    if not dataset.class_names or not dataset.rows or len(dataset.rows) >= dataset.n_examples:
        return ()
    y = np.asarray(dataset.y)
    return tuple(int(np.argmax(y[r])) for r in dataset.rows if 0 <= r < len(y))


def _rows_shown(slide: Slide) -> tuple[int, ...]:
    """The example rows a slide's output-side matrix shows (its last matrix with a row per example)."""
    views = [m for m in slide.matrices if m.row_labels and not m.transposed]
    return views[-1].shown_rows if views else ()


def _with_slopes(b: Steps, t: int, steps: list[Slide]) -> list[Slide]:
    """``steps`` with a slide on the slope of each activation before the first delta slide that uses it."""
    out, seen = [], set()
    for slide in steps:
        k = slide.ctx.get("k") if slide.template == "slides/delta.html" else None
        if k is not None and b.shows_slope(k) and b.acts[k - 1] not in seen:
            seen.add(b.acts[k - 1])
            out.append(b.slope(t, k))
        out.append(slide)
    return out


#: Mazur's page goes on past its one worked step: his total error after the first round and after 10,000 rounds,
#: with the biases left as they start.
MAZUR_LOSSES = {"his_first": "0.291027924", "his_last": "0.0000351085"}
MAZUR_ROUNDS = 10000


def _loss_after(trace, t: int, precision: int) -> str:
    """The loss recorded at iteration ``t`` (after ``t`` updates) as text, or "" when the run has no such iteration."""
    loss = trace.series("loss")
    return sig(float(loss[t]), precision) if t < len(loss) and t <= trace.iterations else ""


def article(n: int) -> str:
    """"A" or "An" before the number ``n`` as it is read aloud: an 8, an 11, an 18, an 80, an 800, an 11,000."""
    digits = str(n)
    an = digits.startswith("8") or (len(digits) % 3 == 2 and digits[:2] in ("11", "18"))
    return "An" if an else "A"


def _raw_table(dataset, layout: Layout) -> dict[str, Any] | None:
    """The data as read from the file (text, no trace numbers), cut like the matrices: as many columns as fit the
    slide in the smallest matrix type."""
    if not dataset.raw or not dataset.raw_header:
        return None
    rows = pick(len(dataset.raw), layout.max_rows, layout.example_rows, layout.example_groups)
    px = SIZES[-1]
    for limit in range(layout.max_cols + 2, 1, -1):
        cols = pick(len(dataset.raw_header), limit)
        texts = [["\u2026"] if c is None else [dataset.raw_header[c]] + [dataset.raw[r][c] for r in rows if r is not None]
                 for c in cols]
        if sum(max(len(x) for x in col) * max(SANS, MONO) * px + 16 for col in texts) + 60 <= WIDTH:
            break
    return {
        "header": ["\u2026" if c is None else dataset.raw_header[c] for c in cols],
        "rows": [{"label": "\u22ee" if r is None else str(file_row(dataset.file_rows, r)),
                  "cells": ["\u2026" if (r is None or c is None) else dataset.raw[r][c] for c in cols]}
                 for r in rows],
        "shape": _raw_shape(dataset), "px": px,
    }


def _raw_shape(dataset) -> str:
    """What the raw table's caption says it holds: ``342 × 3, as in the file`` when that is the whole file, else
    which of its rows and columns (the training rows, the chosen columns) with their values as in the file."""
    rows, cols = len(dataset.raw), len(dataset.raw_header)
    some_rows, some_cols = bool(dataset.n_test or dataset.dropped), dataset.file_columns > cols
    if not (some_rows or some_cols):
        return f"{rows:,} \u00d7 {cols:,}, as in the file"
    targets = 1 if dataset.class_names else len(dataset.target_names)
    row_words = (f"the {rows:,} training rows" if dataset.n_test else f"the {rows:,} rows without a gap" if dataset.dropped
                 else f"all {rows:,} rows")
    target_words = "the target" if targets == 1 else f"the {targets} targets"
    col_words = (f"the {cols - targets:,} chosen column{'s' if cols - targets != 1 else ''} and {target_words}" if some_cols
                 else f"all {cols:,} columns")
    return f"{row_words}, {col_words}, values as in the file"


def _classified(trace, layout: Layout, dataset, t: int) -> dict[str, Any] | None:
    """Predicted class of each shown example (the output with the largest value) next to its true class."""
    names = dataset.class_names
    L = len(trace.layers) - 1
    if not names or len(names) != trace.layers[-1] or len(names) < 2:
        return None
    a, y = trace.get(f"a{L}", t), trace.get("y", t)
    best, truth = decisions(trace.output, a), np.argmax(y, axis=1)
    if best is None:            # a linear output predicts numbers, not classes
        return None
    rows = []
    for r in layout.shown(a.shape[0], layout.max_rows, True):
        rows.append({"label": layout.label(trace, t, r), "true": names[truth[r]], "predicted": names[best[r]],
                     "output": layout.num(trace, f"a{L}", t, r, int(best[r])),
                     "verdict": "right" if best[r] == truth[r] else "wrong"})
    correct = int(np.sum(best == truth))
    return {"rows": rows, "correct": f"{correct:,}", "total": f"{len(best):,}"}


def _change(before: float, after: float, texts: tuple[str, str]) -> dict[str, Any]:
    """How the error moved between two checkpoints, in words: fell, rose or unchanged (at the shown precision),
    and by what percentage of where it was."""
    if texts[0] == texts[1] or not (np.isfinite(before) and np.isfinite(after)):
        return {"fell": False, "rose": False, "percent": ""}
    share = abs(after - before) / before * 100 if before else 0.0
    return {"fell": after < before, "rose": after > before,
            "percent": f"{share:.0f}%" if share >= 1 else f"{share:.1g}%"}


def _checkpoint_slides(trace, layout: Layout, checkpoints: list[int], node_names, every: int | bool,
                       row_names: tuple[int, ...] = ()) -> list[Slide]:
    """One table of the error at each checkpoint, like Trask's printout, growing by a row per slide while
    the network diagram beside it shows that checkpoint's weights. Consecutive slides auto-animate, and
    rows and edges keep their ids, so the table grows and the edges change in place. With mini-batches each
    row says which rows of the data its error is on (the batch that iteration trained on)."""
    slides, rows = [], []
    batch = trace.batch_size is not None
    for t in checkpoints:
        row = {"t": t, "t_text": f"{t:,}", "mae": layout.num(trace, "mae", t, 0, 0),
               "loss": layout.num(trace, "loss", t, 0, 0), "current": True,
               "rows": spans(file_row(row_names, i) for i in trace.batch_rows(t)) if batch else ""}
        previous = rows[-1] if rows else None
        since = None
        if previous:
            since = {"t_text": previous["t_text"], "mae": previous["mae"].text, "rows": previous["rows"],
                     "same_rows": previous["rows"] == row["rows"],
                     **_change(trace.value("mae", previous["t"]), trace.value("mae", t),
                               (previous["mae"].text, row["mae"].text))}
        rows = [{**r, "current": False} for r in rows] + [row]
        slides.append(Slide(
            "slides/checkpoint.html", f"checkpoint-{t}", animate=True,
            ctx={"t_text": row["t_text"], "mae": row["mae"], "rows": tuple(rows), "first": len(rows) == 1,
                 "batch": batch, "batch_rows": row["rows"], "since": since,
                 "regular": bool(every) and t % every == 0,
                 "diagram": diagram(trace, layout, t, node_names, weight_labels=False, animate=True, box=(600, 520))
                 if trace.has("W1", t) else None}))
    return slides


def _epochs(trace, precision: int) -> dict[str, str] | None:
    """What the curve slide says of the error's mean per epoch (mini-batches only): derived values, plain text."""
    if trace.batch_size is None:
        return None
    n = trace.shape("X")[0]
    mae = np.asarray(trace.series("mae"), dtype=float)
    means = epoch_means(mae[: min(len(mae), trace.iterations)], trace.batch_size, n)
    if not len(means):
        return None
    return {"count": f"{len(means):,}", "per": f"{chunks(trace.batch_size, n):,}", "size": f"{trace.batch_size:,}",
            "first": sig(means[0], precision), "last": sig(means[-1], precision)}


def _path(trace, b: Steps, diag: dict, final_t: int) -> dict[str, Any]:
    """What the curve's notes say of its course, read from the error series up to ``final_t``: a rise above the
    start (to its highest), a low it rose again from, in the order they happen, and the plateau it ends on;
    ``steady`` when none of these (it only fell). With mini-batches each iteration's error is on its own rows,
    so only the plateau is read."""
    mae = np.asarray(trace.series("mae"), dtype=float)[: final_t + 1]
    seen = np.where(np.isfinite(mae), mae, np.nan)
    events: list[tuple[int, str]] = []          # (iteration, "peak" | "low"), in the order they happen
    if trace.batch_size is None and len(mae) > 2 and np.isfinite(seen).all():
        top = int(np.argmax(seen[1:]) + 1)
        if seen[top] > 1.05 * seen[0]:
            events.append((top, "peak"))
        bottom = int(np.argmin(seen))
        if bottom < final_t and seen[-1] > 1.05 * seen[bottom]:
            events.append((bottom, "low"))
    events.sort()
    flat = plateau(trace, diag, final_t, b.lay.precision)
    return {"events": tuple({"peak": kind == "peak", "value": b.n("mae", t, 0, 0).text, "t": f"{t:,}",
                             "rises_after": kind == "low" and n == len(events) - 1}
                            for n, (t, kind) in enumerate(events)),
            "plateau": flat, "steady": not (events or flat)}


def course(trace, final_t: int) -> dict[str, Any] | None:
    """When the error fell: the iteration by which 90% of its fall had happened (with mini-batches, read from the
    epoch means, at the last iteration of that epoch), the iterations left after it, and whether that is in the
    first half of the run; None when it did not fall."""
    mae = np.asarray(trace.series("mae"), dtype=float)[: final_t + 1]
    n = 1
    if trace.batch_size is not None:
        rows = len(trace.inputs["X"])
        n = chunks(trace.batch_size, rows)
        mae = epoch_means(np.asarray(trace.series("mae"), dtype=float)[: trace.iterations], trace.batch_size, rows)
    if len(mae) < 2 or not np.isfinite(mae).all() or not mae[-1] < mae[0]:
        return None
    at = int(np.argmax(mae <= mae[0] - 0.9 * (mae[0] - mae[-1])))
    t = (at + 1) * n - 1 if n > 1 else at
    last = trace.iterations - 1 if n > 1 else final_t
    return {"t": f"{t:,}", "epoch": f"{at + 1:,}" if n > 1 else "", "rest": f"{last - t:,}", "early": 2 * t <= last}


def _next_try(cures: tuple, diag: dict, fall: dict[str, Any] | None, eta: str) -> dict[str, Any]:
    """What the end slide's notes suggest trying next, from this run: the cure that did best when cures were
    tried, else a change that fits how the run went (its kind, and how early the error's fall came)."""
    helped = [c for c in cures if c["says"] == "helped"]
    best = min(helped, key=lambda c: float(c["mae"].replace("\u2212", "-"))) if helped else None
    return {"cure": best, "tried": bool(cures), "eta": eta,
            "stuck": diag["kind"] == "stuck", "steps": diag["kind"] in ("overshot", "diverged"),
            "fall": fall if diag["kind"] == "converged" else None}


def _trace_file(trace, config, beside: bool) -> dict[str, str | None]:
    """What the end slide's notes say of the saved trace (a build detail, not for the audience).

    ``beside``: the deck folder holds ``trace.npz`` (False for an exported
    deck: a PDF or a single file has no trace beside it).
    """
    budget = None if trace.complete else (
        "Only the iterations shown were recorded in full: recording every iteration did not fit "
        "`training.memory_budget_mb`. The error was still recorded at every iteration.")
    if not beside:
        return {"text": None, "budget": budget}
    kept, errors = len(deck_kept(trace, config)), len(trace.series("mae"))
    if trace.complete and kept == len(trace.kept):
        text = f"`trace.npz` beside it holds every matrix of all {kept:,} iterations."
    else:
        text = (f"`trace.npz` beside it holds every matrix of {kept:,} of the iterations (those the slides need) "
                f"and the error of all {errors:,}.")
    return {"text": text, "budget": budget}


def build_story(config, dataset, trace, *, trace_beside: bool = True, cures: tuple = ()) -> Story:
    """The pure heart of deckgen: one view-model per slide, in order.

    ``trace_beside``: the deck is saved with its ``trace.npz`` (False for an
    export, whose last slide then claims no trace file). ``cures``: what the
    trouble slide reports of the cures tried on a failed run (see
    :mod:`deckgen.run.cures`).
    """
    deck = config.deck
    layers = trace.layers
    L = len(layers) - 1
    layout = Layout(precision=deck.precision, max_rows=deck.max_rows, max_cols=deck.max_cols,
                    limits=(deck.max_rows, deck.max_cols),
                    example_rows=dataset.rows if dataset.rows and len(dataset.rows) < dataset.n_examples else None,
                    example_groups=_classes_of(dataset),
                    row_names=dataset.file_rows, n_layers=L, trask_names=deck.trask_names,
                    feature_names=dataset.feature_names, target_names=dataset.target_names)
    b = Steps(trace, layout, deck.worked_cells, trace.learning_rate, deck.worked_at_once)
    node_names = (dataset.feature_names,) + tuple(() for _ in layers[1:-1]) + (dataset.target_names,)
    diag = diagnose(trace)
    final_t = final_iteration(trace)
    checkpoints = [t for t in checkpoints_of(deck.checkpoints, trace.iterations, trace.stopped_at) if trace.has(f"a{L}", t)]
    explain = [t for t in deck.explain if t < trace.iterations and trace.has(f"dW{L}", t)]
    shape, iterations = " \u2192 ".join(str(n) for n in layers), f"{trace.iterations:,}"
    low, high = INIT_RANGE
    raw = _raw_table(dataset, layout)
    # the data slide shows every row: with mini-batches X@0 is the first batch, X@T the whole data
    whole = trace.iterations if trace.batch_size is not None and trace.has("X", trace.iterations) else 0
    shown = fit(trace, layout, [Spec("X", whole), Spec("y", whole)], height=room(2, top=165))
    X0, y0 = shown.matrix(trace, "X", whole), shown.matrix(trace, "y", whole)
    start = fit(trace, layout, [Spec(f"W{k}", 0) for k in range(1, L + 1)]
                + ([Spec(f"b{k}", 0) for k in range(1, L + 1)] if trace.bias else []), height=room(1, top=75))
    facts = facts_of(config, dataset, trace, diag, final_t, len(explain))
    # Mazur's page: his total error before the one step it takes, and w5 after it
    mazur = ({"loss": b.n("loss", 0, 0, 0), "w5": b.n("W2", 1, 0, 0), "loss1": b.n("loss", 1, 0, 0),
              **MAZUR_LOSSES, "last": _loss_after(trace, MAZUR_ROUNDS, deck.precision)}
             if facts.mazur and trace.has("W2", 1) and trace.has("loss", 1) else None)
    slides: list[Slide] = [
        Slide("slides/title.html", "title", title=config.title,
              ctx={"layers": shape, "article": article(layers[0]), "iterations": iterations, "learning_rate": b.eta,
                   "activation": trace.activation if L > 1 else trace.output, "examples": dataset.n_examples,
                   "output_function": trace.output if L > 1 and trace.output != trace.activation else "",
                   "mazur": mazur, "by_hand": ("" if not explain else "one full training iteration" if len(explain) == 1
                               else f"{len(explain)} full training iterations")}),
        *([Slide("slides/raw.html", "data-raw", px=raw["px"], ctx={"table": raw, "scaling": dataset.scaling,
                                                                    "description": dataset.description})] if raw else []),
        Slide("slides/dataset.html", "data", matrices=(X0, y0),
              ctx={"description": dataset.description, "scaling": dataset.scaling, "inputs": X0, "targets": y0,
                   "examples": dataset.n_examples, "features": len(dataset.feature_names), "many": dataset.n_examples > 1,
                   "classes": ", ".join(dataset.class_names or ())}),
        Slide("slides/network.html", "network", ctx={"layers": shape,
                                                     "diagram": diagram(trace, layout, 0, node_names)}),
        Slide("slides/weights.html", "weights-0", animate=True,
              matrices=tuple(start.matrix(trace, f"W{k}", 0, animate=True) for k in range(1, L + 1))
              + (tuple(start.matrix(trace, f"b{k}", 0) for k in range(1, L + 1)) if trace.bias else ()),
              ctx={"seed": config.training.seed, "explicit": config.network.weights is not None,
                   "zero_biases": trace.bias and config.network.biases is None,
                   "low": fmt(low, 0), "high": fmt(high, 0),
                   "draw": f"{high - low:g} * random() {'-' if low < 0 else '+'} {abs(low):g}"}),
    ]
    followed = chosen_weights(deck.chain_rule, tuple(layers), config.where("deck.chain_rule"), trace,
                              explain[0] if explain else 0)
    if explain:   # one unit by hand, the first worked cell of the first z1 slide
        slides.append(neuron(trace, layout, explain[0], b.cells("z1", explain[0])[0][0]))
    for n, t in enumerate(explain):
        slides.append(Slide("slides/iteration.html", f"t{t}", ctx={"t": t, "batch": batch_of(trace, t, dataset.file_rows)}))
        steps = b.iteration(t)
        if n == 0:   # the chain rule and gradient descent once, in the first explained iteration, before the updates
            why = [chain_slide(trace, layout, t, k, i, j, b.eta) for k, i, j in followed]
            if trace.loss == "cross_entropy":     # why the output delta is y − a, before the chain rule uses it
                why.insert(0, why_delta_slide(b, t, followed[0][2] if followed and followed[0][0] == L else 0))
            why.append(descent(trace, t, layout, followed[0] if followed else None, b.eta,
                               results.error_in_units(dataset, trace.value("mae", t))))
            at = next(m for m, s in enumerate(steps) if s.template == "slides/update.html")
            steps = steps[:at] + why + steps[at:]
            steps = _with_slopes(b, t, steps)
        steps = [replace(s, ctx={**s.ctx, "units": results.in_units(trace, layout, dataset, t, _rows_shown(s))})
                 if s.template == "slides/error.html" else s for s in steps]
        slides += steps
        slides.append(step(trace, t, layout))
    slides += _checkpoint_slides(trace, layout, checkpoints, node_names,
                                 isinstance(deck.checkpoints, int) and deck.checkpoints, dataset.file_rows)
    slides.append(Slide("slides/curve.html", "curve",
                        ctx={"figure": MAE_FIGURE, "first": b.n("mae", 0, 0, 0), "last": b.n("mae", final_t, 0, 0),
                             "last_t": f"{final_t:,}", "epochs": _epochs(trace, deck.precision),
                             "path": _path(trace, b, diag, final_t), "course": course(trace, final_t),
                             "rows": f"{len(trace.inputs['X']):,}"}))
    if diag["kind"] != "converged":
        slides.append(trouble_slide(trace, layout, diag, final_t, b.eta, MAE_SHORT))
        if cures:
            slides.append(cures_slide(cures, diag, b.n("mae", final_t, 0, 0).text))
    classes = dataset.class_names if dataset.class_names and len(dataset.class_names) == layers[-1] else ()
    wide = max((len(c) for c in classes), default=0) * 2 * SANS * SIZES[0] + 260
    final = fit(trace, layout, [Spec(f"a{L}", final_t)] if len(classes) > 1 else
                [Spec("X", final_t), Spec("y", final_t), Spec(f"a{L}", final_t)],
                height=room(1, top=75), extra=(wide, 0.0) if len(classes) > 1 else (0.0, 0.0))
    inputs, targets, outputs = (final.matrix(trace, name, final_t) for name in ("X", "y", f"a{L}"))
    slides.append(Slide("slides/predictions.html", "predictions", matrices=(inputs, targets, outputs),
                        ctx={"t_text": f"{final_t:,}", "inputs": inputs, "targets": targets, "outputs": outputs,
                             "later": (f"{results.results_iteration(trace, final_t):,}"
                                       if results.results_iteration(trace, final_t) != final_t else ""),
                             "classified": _classified(trace, final, dataset, final_t),
                             "units": results.in_units(trace, layout, dataset, final_t, outputs.shown_rows)}))
    slides += learned(trace, layout, dataset, final_t)
    slides.append(Slide("slides/end.html", "end",
                        ctx={"iterations": iterations, "trace_file": _trace_file(trace, config, trace_beside),
                             "next": _next_try(cures, diag, course(trace, final_t), b.eta)}))
    figures = tuple({**spec, "theme": deck.theme} for spec in
                    ({"kind": "mae", "path": MAE_FIGURE, "checkpoints": checkpoints, "diagnosis": diag}, *b.figures,
                     *([{"kind": "mae", "path": MAE_SHORT, "checkpoints": checkpoints, "diagnosis": diag, "size": (8, 2.7)}]
                       if diag["kind"] != "converged" else [])))
    return Story(title=config.title, slides=tuple(slides), theme=deck.theme,
                 summary={"diagnosis": diag, "complete": trace.complete}, figures=figures,
                 facts=facts)
