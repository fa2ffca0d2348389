"""The "what if" slides: every run's error curve on one plot, and a table of final errors and predictions.

Provenance: only numbers from the deck's own trace carry ``data-trace`` (the
"this talk" row of the table). A variant's numbers come from another run, so
they are plain text inside elements carrying ``data-variant="N"`` (N counts
the variants from 1, in the order given); ``trace.json`` of the deck does not
describe them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deckgen.config import Config
from deckgen.story.rows import file_row
from deckgen.story.fit import MONO, WIDTH
from deckgen.story.slides import Slide
from deckgen.story.views import decimals_for, fmt, show

FIGURE = "figures/compare.svg"

@dataclass(frozen=True)
class Item:
    """One number (or class name) in the table; ``trace`` is set only for the deck's own run."""

    text: str
    trace: str = ""
    precision: str = ""     # ``data-precision`` of a trace number shown with more decimals than the deck's


@dataclass(frozen=True)
class Column:
    """One shown example of the table: its row number and its target, as the header shows them."""

    example: str
    target: str


@dataclass(frozen=True)
class Row:
    label: str
    variant: int                                  # 0 = this talk, else the variant's number
    mae: Item
    predictions: tuple[tuple[Item, ...], ...]     # per shown example: its outputs (or a class name)
    outcome: str                                  # converged, stuck, overshot, diverged at ...
    colour: str = ""

    @property
    def own(self) -> bool:
        return self.variant == 0


def _outcome(run) -> str:
    kind = run.diagnosis.get("kind")
    if kind == "diverged":
        return f"diverged at iteration {run.diagnosis['iteration']:,}"
    if kind == "overshot":
        return "overshot, then stuck"
    if kind == "stuck":
        return "stuck on a plateau"
    return "converged"


#: Type size of the comparison table (deck.css: table.compare-table 0.95em).
TABLE_PX = 28.5
#: Line colours of the runs on the overlay plot (the deck's own run first).
COLOURS = ("#c0392b", "#1f6fb2", "#1a8a4a", "#7b3fa0", "#d35400", "#00838f", "#b8860b", "#5c5c5c")


def compare_slides(main, runs: list, trace, config: Config, dataset, changed: tuple[str, ...]):
    """The two comparison slides (curves, table) and the figure spec they need."""
    p = config.deck.precision
    L = len(trace.layers) - 1
    n_examples, outputs = (int(n) for n in main.predictions.shape)
    names = dataset.class_names or dataset.target_names
    # as many example columns as fit beside the run names and final errors, numbers unbroken (deck.css)
    chars = outputs * (p + 3) + 3 * (outputs - 1) if outputs <= 3 else max((len(n) for n in names), default=3)
    fits = int((WIDTH - 300) // (chars * MONO * TABLE_PX + 24))
    shown = list(range(min(n_examples, config.deck.max_cols, max(fits, 1))))
    targets = np.asarray(dataset.y)     # every row (with mini-batches, y@0 is the first batch only)

    def numbers(values, address=None) -> tuple[Item, ...]:
        """Numbers at the decimals that show each of them with two significant digits."""
        d = decimals_for(values, p)
        return tuple(Item(show(v, d), address(j) if address else "", "" if d == p else str(d))
                     for j, v in enumerate(values))

    def outputs_of(values: np.ndarray, address=None) -> tuple[Item, ...]:
        if outputs <= 3:
            return numbers(values, address)
        k = int(np.nanargmax(values)) if np.isfinite(values).any() else 0
        return (Item(names[k] if k < len(names) else f"#{k}"),)

    rows = []
    for i, run in enumerate([main, *runs]):
        if run.index == 0:   # the deck's own run: numbers with their trace addresses
            t = run.final_t
            mae = numbers([trace.value("mae", t)], lambda _: f"mae@{t}:0,0")[0]
            preds = tuple(outputs_of(trace.get(f"a{L}", t)[r], lambda j, r=r: f"a{L}@{t}:{r},{j}") for r in shown)
        else:
            mae = numbers([run.final_mae])[0]
            preds = tuple(outputs_of(run.predictions[r]) for r in shown)
        rows.append(Row(label=run.label, variant=run.index, mae=mae, predictions=preds, outcome=_outcome(run),
                        colour=COLOURS[i % len(COLOURS)]))
    figure = {"kind": "compare", "path": FIGURE, "runs": [main, *runs], "theme": config.deck.theme}
    columns = tuple(Column(str(file_row(dataset.file_rows, r)), " / ".join(fmt(v, 0 if float(v).is_integer() else p) for v in targets[r])
                           if outputs <= 3 else outputs_of(targets[r])[0].text) for r in shown)
    slides = [
        Slide("slides/compare-curves.html", "compare-curves",
              ctx={"figure": FIGURE, "changed": " and ".join(changed), "runs": len(rows)}),
        Slide("slides/compare-table.html", "compare-table",
              ctx={"final_t": f"{main.final_t:,}", "rows": tuple(rows), "columns": columns, "shown": len(shown),
                   "cut": n_examples > len(shown), "examples_total": n_examples}),
    ]
    return slides, figure


def insert_slides(slides: tuple, extra: list) -> tuple:
    """``extra`` placed just before the final predictions slide (or the end slide, or last)."""
    ids = [s.id for s in slides]
    for anchor in ("predictions", "end"):
        if anchor in ids:
            i = ids.index(anchor)
            return tuple(slides[:i]) + tuple(extra) + tuple(slides[i:])
    return tuple(slides) + tuple(extra)
