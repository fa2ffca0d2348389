"""How much of each matrix a slide shows, and how large: chosen so every number stays readable.

Numbers on slides never render below :data:`MIN_PX` at 1280x720. Rather than
shrink a slide's matrices until they fit, :func:`fit` chooses how many rows and
columns to show (within ``deck.max_rows`` and ``deck.max_cols``, the example rows
of ``data.rows`` first) and the largest type that fits the room the slide has.
The sizes are estimated from the text itself (a monospace digit is 0.6 em wide);
the browser test measures what really renders.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from deckgen.story.slides import Slide
from deckgen.story.views import Layout, MatrixView, per_example

#: Type sizes a matrix may be set in (CSS px of the 1280x720 slide), largest first. reveal.js draws the
#: slide at 0.97 of that at 1280x720 (its 3% margin), so the smallest, 19, renders at 18.4 px.
SIZES = (34, 30, 27, 24, 21, 19)
#: The smallest type a number may render at, in screen px at 1280x720.
MIN_PX = 18
#: The slide's content box (1280x720 less the section's padding) and the gaps deck.css puts in a row.
WIDTH, HEIGHT = 1232, 704
GAP, ROW_GAP = 18, 10
MONO, SANS = 0.61, 0.56          # advance of a character, in em (monospace digits; proportional text, generous)
CAPTION_PX, LABEL_PX, OP_PX = 20, 26, 36
HEADER_PX = 19                   # row and column labels of a matrix never go below this either
HEADER_CHARS = 10                # a column label wraps at spaces past this many characters (deck.css: 6em)
#: Height of a matrix caption line and of one line of small text or worked expansion under a row.
CAPTION_H, LINE_H = 36, 34
#: What a row broken over two lines is worth against one line: it wins only with type a third larger.
WRAPPED = 0.75
#: Where the row of matrices starts on a calculation slide (under the heading and the formula).
CALC_TOP = 125


@dataclass(frozen=True)
class Spec:
    """One matrix of a slide, as :meth:`Layout.matrix` draws it."""

    name: str
    t: int
    transposed: bool = False
    caption: str = ""
    animate: bool = False


def _text_width(text: str, px: float, em: float) -> float:
    return len(text) * em * px


def _label_width(m: MatrixView) -> float:
    """The caption: the matrix symbol, its Trask name, caption and shape."""
    symbol = re.sub(r"\\[a-zA-Z]+|[{}_^ ]", "", m.label) or m.label
    width = _text_width(symbol, LABEL_PX, 0.7) + (len(symbol) < len(m.label)) * 12
    rest = " ".join(x for x in (m.trask or "", m.caption, m.shape + (", cut" if m.truncated else "")) if x)
    return width + 12 + _text_width(rest, CAPTION_PX, SANS)


def header_lines(label: str, chars: int) -> tuple[int, int]:
    """(width in characters, lines) of a row or column name wrapped at spaces into lines of about ``chars``
    characters (deck.css: th .name max-width), a longer word keeping its own line."""
    lines: list[str] = []
    for word in label.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= chars:
            lines[-1] += " " + word
        else:
            lines.append(word)
    # a wrapped name's box keeps its full max-width (CSS shrink-to-fit), however short its lines
    longest = max((len(x) for x in lines), default=0)
    return (max(longest, chars) if len(lines) > 1 else longest), max(len(lines), 1)


def matrix_box(m: MatrixView, px: int) -> tuple[float, float]:
    """Estimated width and height (CSS px) of a matrix figure set in ``px`` type."""
    head = max(HEADER_PX, 0.85 * px)
    columns = list(zip(*m.rows)) if m.rows else []
    width, head_lines = 6.0, 0
    for j, col in enumerate(columns):
        chars = max((1 if c is None else len(c.text)) for c in col)
        cell = chars * MONO * px + 16
        if m.col_labels:
            wide, lines = header_lines(m.col_labels[j], HEADER_CHARS)
            cell, head_lines = max(cell, wide * MONO * head + 16), max(head_lines, lines)
        width += cell
    rows = [1.25 * px + 4] * len(m.rows)
    if m.row_labels:
        wrapped = [header_lines(x, HEADER_CHARS) for x in m.row_labels]
        width += max(wide for wide, _ in wrapped) * MONO * head + 16
        rows = [max(h, lines * 1.15 * head + 4) for h, (_, lines) in zip(rows, wrapped, strict=True)]
    height = CAPTION_H + sum(rows) + (head_lines * 1.15 * head + 4 if m.col_labels else 0)
    return max(width, _label_width(m)), height


def row_box(views: list[MatrixView], ops: tuple[str, ...], px: int, wrap: bool,
            extra: tuple[float, float] = (0.0, 0.0)) -> tuple[float, float]:
    """Width of the widest line and total height of a row of matrices (operators kept with the matrix after them).

    ``wrap``: lines break between matrices as deck.js lets them. ``extra``: one more item in the row (a diagram).
    """
    items = []
    for i, m in enumerate(views):
        w, h = matrix_box(m, px)
        op = ops[i - 1] if 0 < i <= len(ops) else ""
        if op:
            w += _text_width(op, OP_PX, 0.62) + 4 + GAP
        items.append((w, h))
    if extra[0]:
        items.append(extra)
    if not wrap:
        return sum(w for w, _ in items) + GAP * (len(items) - 1), max(h for _, h in items)
    lines: list[list[tuple[float, float]]] = [[]]
    for item in items:
        used = sum(w for w, _ in lines[-1]) + GAP * len(lines[-1])
        if lines[-1] and used + item[0] > WIDTH:
            lines.append([])
        lines[-1].append(item)
    widest = max(sum(w for w, _ in line) + GAP * (len(line) - 1) for line in lines)
    return widest, sum(max(h for _, h in line) for line in lines) + ROW_GAP * (len(lines) - 1)


def fit(trace, layout: Layout, specs: list[Spec], ops: tuple[str, ...] = (), *, height: float,
        extra: tuple[float, float] = (0.0, 0.0)) -> Layout:
    """The layout for one row of matrices: as many shown cells as fit ``height`` (CSS px) and the slide's width at
    the smallest type, then the largest type that shows them; one line before a wrapped row."""
    options: dict[tuple, tuple[int, Layout, list[MatrixView]]] = {}
    shapes = [trace.shape(s.name) for s in specs]
    drawn: dict[tuple, MatrixView] = {}     # a limit at or above a matrix's size draws it the same: draw it once

    def view(lay: Layout, s: Spec, shape: tuple[int, int]) -> MatrixView:
        key = (s, min(lay.max_rows, shape[0]), min(lay.max_cols, shape[1]))
        if key not in drawn:
            drawn[key] = lay.matrix(trace, s.name, s.t, transposed=s.transposed, caption=s.caption)
        return drawn[key]

    for rows in range(layout.max_rows, 1, -1):
        for cols in range(layout.max_cols, 1, -1):
            lay = replace(layout, max_rows=rows, max_cols=cols)
            views = [view(lay, s, shape) for s, shape in zip(specs, shapes, strict=True)]
            key = tuple(tuple(tuple(c is None for c in r) for r in v.rows) + (len(v.rows),) for v in views)
            key += tuple(v.row_labels for v in views)
            if key not in options:
                options[key] = (sum(c is not None for v in views for r in v.rows for c in r), lay, views)
    for cells in sorted({o[0] for o in options.values()}, reverse=True):
        fitting = [(px * (1.0 if not wrap else WRAPPED), px, lay) for _, lay, views in
                   (o for o in options.values() if o[0] == cells) for wrap in (False, True) for px in SIZES
                   if all(a <= b for a, b in zip(row_box(views, ops, px, wrap, extra), (WIDTH, height)))]
        if fitting:
            _, px, lay = max(fitting, key=lambda f: f[:2])
            return replace(lay, px=px)
    return replace(layout, max_rows=2, max_cols=2, px=SIZES[-1])


def room(lines: float, top: float = CALC_TOP) -> float:
    """Height left for a row of matrices that starts at ``top`` with ``lines`` lines of text under it."""
    return HEIGHT - top - 20 - lines * LINE_H


#: Lines of text a calculation slide's template puts under its row besides the worked steps and notes.
EXTRA_LINES = {"slides/update.html": 1, "slides/error.html": 1.2}
WORKED_PX = 24                   # type of a worked step (deck.css: .worked 0.8em)


def lines_below(slide: Slide) -> float:
    """Lines of text under a calculation slide's row: the worked steps (its longest step, wrapped), a line for their
    gap above, the notes under them (cells left out, rounding) and what the template adds."""
    longest = max((len(w.plain) for w in slide.worked), default=0)
    worked = math.ceil(longest * MONO * WORKED_PX / WIDTH) + 1 if longest else 0
    return worked + slide.worked_cut + slide.approx + EXTRA_LINES.get(slide.template, 0)


def visible(trace, lay: Layout, name: str, t: int, axis: int) -> set[int]:
    """The rows (``axis`` 0) or columns (1) of ``name@t`` that a slide laid out by ``lay`` shows."""
    m = trace.get(name, t)
    if axis == 0:
        return set(lay.shown(m.shape[0], lay.max_rows, per_example(name), trace, t))
    return set(lay.shown(m.shape[1], lay.max_cols, False))


def on_slide(items: list, shown: set[int]) -> list:
    """``items`` (one per term of a sum) with each run of terms whose operands the slide hides turned into
    one ``None`` (drawn ``⋯``), so a worked step never uses a number that is not on the slide."""
    out: list = []
    for i, item in enumerate(items):
        if i in shown:
            out.append(item)
        elif not out or out[-1] is not None:
            out.append(None)
    return out
