"""How well the trained network does: on the rows it trained on, and on the held-out rows it never saw.

A classifier gets its accuracy on each set, a confusion table (rows: the true
class, columns: the predicted one) and its mistakes with their inputs as the
file gives them; a network with a number target gets its predictions in the
target's own units (the scaling to 0–1 undone) next to the true values.
Every count is computed here from the trace: ``a{L}`` and ``y`` for the
training rows, ``atest`` and ``ytest`` for the test rows, both with the weights
of the same iteration.
"""

from __future__ import annotations

import numpy as np

from deckgen.core.learned import decisions
from deckgen.story.rows import file_row
from deckgen.story.shown import relation, read
from deckgen.story.slides import Slide
from deckgen.story.views import Layout, sig

#: Misclassified examples (or number predictions) listed on a results slide.
SHOWN = 6
#: Most mistakes listed, so that every mistake on a test row is listed when there are a few more than SHOWN.
MOST = 8
#: Input columns, as read from the file, listed beside each mistake.
INPUTS = 4


def results_iteration(trace, final_t: int) -> int:
    """The iteration the results are read at: the one the held-out rows were evaluated at, else ``final_t``."""
    return trace.heldout_at if trace.heldout else final_t


def _sets(trace, t: int) -> list[tuple[str, str, str, str]]:
    """``(key, words, output name, target name)`` of each set of rows: training, then test when held out."""
    L = len(trace.layers) - 1
    sets = [("training", "training rows", f"a{L}", "y")]
    if trace.heldout:
        sets.append(("test", "held-out test rows", "atest", "ytest"))
    return sets


def _percent(right: int, n: int) -> str:
    return f"{right / n * 100:.1f}%" if n else "—"


def _raw_inputs(dataset, key: str, r: int) -> tuple[str, ...]:
    raw = dataset.raw if key == "training" else dataset.raw_test
    width = len(dataset.raw_header or ()) - _target_columns(dataset)
    return tuple(raw[r][:min(width, INPUTS)]) if raw else ()


def _target_columns(dataset) -> int:
    """Columns at the end of ``dataset.raw`` that are targets (one for a class column)."""
    return 1 if dataset.class_names else len(dataset.target_names)


def _file_row(dataset, key: str, r: int) -> str:
    return str(file_row(dataset.file_rows if key == "training" else dataset.file_rows_test, r))


def classes(trace, layout: Layout, dataset, t: int) -> list[Slide]:
    """Accuracy on each set of rows with a confusion table per set; then the mistakes with their inputs, if any."""
    names = dataset.class_names
    tables, mistakes, wrong_total = [], [], 0
    for key, words, out, target in _sets(trace, t):
        a, y = np.asarray(trace.get(out, t)), np.asarray(trace.get(target, t))
        best, truth = decisions(trace.output, a), np.argmax(y, axis=1)
        wrong = [int(r) for r in np.nonzero(best != truth)[0]]
        wrong_total += len(wrong)
        n = len(best)
        counts = np.zeros((len(names), len(names)), dtype=int)
        np.add.at(counts, (truth, best), 1)
        tables.append({
            "key": key, "words": words, "rows_text": f"{n:,}", "right": f"{n - len(wrong):,}",
            "wrong": f"{len(wrong):,}", "accuracy": _percent(n - len(wrong), n), "none_wrong": not wrong,
            "body": tuple({"label": names[i], "cells": tuple({"text": f"{counts[i, j]:,}",
                                                              "cls": "right" if i == j else ("wrong" if counts[i, j] else "")}
                                                             for j in range(len(names)))}
                          for i in range(len(names))),
        })
        for r in wrong:
            mistakes.append({"set": key, "label": _file_row(dataset, key, r), "inputs": _raw_inputs(dataset, key, r),
                             "predicted": names[best[r]], "output": layout.num(trace, out, t, r, int(best[r])),
                             "true": names[truth[r]]})
    mistakes.sort(key=lambda m: m["set"] != "test")          # the test rows' mistakes first: they matter most
    width = len(dataset.raw_header or ()) - _target_columns(dataset)
    when = {"t_text": f"{t:,}", "final": t == trace.iterations, "held_out": bool(trace.heldout)}
    test_wrong = sum(m["set"] == "test" for m in mistakes)
    listed = min(len(mistakes), test_wrong if SHOWN < test_wrong <= MOST else SHOWN)
    shown = {"listed": f"{listed:,}", "all_listed": listed == len(mistakes),
             "test_listed": f"{min(test_wrong, listed):,}", "all_test": test_wrong <= listed, "test_wrong": test_wrong > 0,
             "training_listed": f"{listed - min(test_wrong, listed):,}" if listed > test_wrong else ""}
    slides = [Slide("slides/confusion.html", "learned",
                    ctx={"classes": tuple(names), "tables": tuple(tables), "wrong": wrong_total, "shown": shown, **when})]
    if mistakes:
        slides.append(Slide("slides/mistakes.html", "mistakes", ctx={
            "rows": tuple(mistakes[:listed]), "more": len(mistakes) - listed, "wrong": wrong_total, "shown": shown,
            "columns": tuple((dataset.raw_header or ())[:min(width, INPUTS)]),
            "hidden_columns": max(width - INPUTS, 0), "raw": bool(dataset.raw), **when}))
    return slides


def _decimals(values: np.ndarray) -> int:
    """The decimals a column's own values are written with (at most 4): 0 for 3750, 1 for 39.1."""
    for d in range(5):
        if np.allclose(np.round(values, d), values, rtol=0, atol=1e-9 * max(1.0, float(np.abs(values).max()))):
            return d
    return 4


def error_in_units(dataset, error: float) -> str:
    """A mean absolute error of the one target column's scaled values in that column's own units (its range
    times the error), written as the results slide writes the average error; "" when the column was not scaled
    (or there are several, whose mean error has no one unit)."""
    if len(dataset.target_range) != 1 or dataset.target_range[0] is None:
        return ""
    low, high = dataset.target_range[0]
    places = _decimals(dataset.unscaled(np.asarray(dataset.y))[:, 0])
    return sig(float(error) * (float(high) - float(low)), places + 1)


def _units(value: float, decimals: int) -> str:
    """A number in a column's own units, at the decimals its values are written with."""
    value = float(value)
    if not np.isfinite(value):
        return str(value)
    text = f"{value:.{decimals}f}"
    return (text.lstrip("-") if float(text) == 0 else text).replace("-", "\u2212")


def numbers(trace, layout: Layout, dataset, t: int) -> Slide:
    """Predictions of a number target in its own units next to the true values, and the mean error on each set."""
    j = 0                                      # the first target column is the one listed
    name = dataset.target_names[j] if dataset.target_names else "y"
    scaled = bool(dataset.target_range) and dataset.target_range[j] is not None
    errors, rows = [], []
    places = _decimals(dataset.unscaled(np.asarray(trace.get("y", t)))[:, j])
    for key, words, out, target in _sets(trace, t):
        a, y = np.asarray(trace.get(out, t)), np.asarray(trace.get(target, t))
        own_a, own_y = dataset.unscaled(a)[:, j], dataset.unscaled(y)[:, j]
        errors.append({"words": words, "rows_text": f"{len(own_y):,}",
                       "mae": sig(float(np.mean(np.abs(own_y - own_a))), places + 1)})
    key, _, out, target = _sets(trace, t)[-1]           # the test rows when held out, else the training rows
    a, y = np.asarray(trace.get(out, t)), np.asarray(trace.get(target, t))
    own_a, own_y = dataset.unscaled(a)[:, j], dataset.unscaled(y)[:, j]
    picked = (range(min(len(y), SHOWN)) if key == "test"
              else [r for r in layout.shown(len(y), SHOWN, True)])
    for r in picked:
        rows.append({"label": _file_row(dataset, key, r), "true": _units(own_y[r], places),
                     "predicted": _units(own_a[r], places),
                     "output": layout.num(trace, out, t, r, j)})
    ctx = {"name": name, "errors": tuple(errors), "rows": tuple(rows), "scaled": scaled,
           "set_words": "held-out test rows" if key == "test" else "training rows",
           "more": max(len(y) - len(rows), 0), "t_text": f"{t:,}", "held_out": bool(trace.heldout),
           "final": t == trace.iterations,
           "several": len(dataset.target_names) > 1}
    return Slide("slides/results.html", "results", ctx=ctx)


def in_units(trace, layout: Layout, dataset, t: int, shown: tuple[int, ...] = ()) -> dict | None:
    """The shown rows' targets, predictions and errors in the target's own units, when its numbers were scaled
    for training (None otherwise): the first target column, under its name. ``shown``: the rows the slide's
    matrices show (else the layout's), so the line names the rows the matrices have; at most four."""
    if not dataset.target_range or dataset.target_range[0] is None:
        return None
    L = len(trace.layers) - 1
    y, a = np.asarray(trace.get("y", t)), np.asarray(trace.get(f"a{L}", t))
    own_y, own_a = dataset.unscaled(y)[:, 0], dataset.unscaled(a)[:, 0]
    places = _decimals(own_y)
    rows = tuple(_in_units_row(layout.label(trace, t, r), own_y[r], own_a[r], places)
                 for r in (list(shown) or layout.shown(len(y), layout.max_rows, True, trace, t))[:4])
    return {"name": dataset.target_names[0], "rows": rows}


def _in_units_row(label: str, true: float, predicted: float, places: int) -> dict[str, str]:
    """``true − predicted = error`` in the target's units, ``≈`` when the rounded numbers give another error."""
    row = {"label": label, "true": _units(true, places), "predicted": _units(predicted, places),
           "error": _units(true - predicted, places)}
    return {**row, "rel": relation(row["error"], read(row["true"]) - read(row["predicted"]))}
