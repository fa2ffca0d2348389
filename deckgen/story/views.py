"""Plain view-models for templates, and the one place numbers become text.

Templates only read these: every string is already formatted, every number that
comes from the trace carries its ``data-trace`` address, and nothing here knows
HTML beyond class names.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from deckgen.story.names import output_columns
from deckgen.story.rows import file_row, local_rows, pick

MINUS = "\u2212"

#: Colour role of each trace matrix, used by the formulas, matrices and diagram.
ROLES = {"X": "input", "y": "target", "W": "weight", "b": "bias", "z": "sum", "a": "activation",
         "e": "error", "d": "delta", "dW": "update", "db": "update", "loss": "error", "mae": "error"}


#: One colour per matrix role, shared by the slides' CSS (as variables) and the figures.
PALETTE = {"input": "#1f6fb2", "target": "#5c5c5c", "weight": "#7b3fa0", "bias": "#a0527b", "sum": "#b8860b",
           "activation": "#1a8a4a", "error": "#c0392b", "delta": "#d35400", "update": "#00838f",
           "positive": "#1f6fb2", "negative": "#c0392b"}


#: Lighter colours of the same roles for dark themes, to keep the contrast high.
PALETTE_DARK = {"input": "#6cb4ff", "target": "#d0d0d0", "weight": "#d59cff", "bias": "#f49ac9", "sum": "#ffd54f",
                "activation": "#69e08f", "error": "#ff7b6b", "delta": "#ffab5c", "update": "#4fe0ea",
                "positive": "#6cb4ff", "negative": "#ff7b6b"}
DARK_THEMES = ("black", "black-contrast", "blood", "dracula", "league", "moon", "night")


def palette(theme: str) -> dict[str, str]:
    return PALETTE_DARK if theme in DARK_THEMES else PALETTE


_TEX_ROLES = [
    (re.compile(r"\\Delta (?:W|b)_\{\d+\}"), "update"),
    (re.compile(r"\\delta_\{\d+\}"), "delta"),
    (re.compile(r"(?<![\\\w])W_\{\d+\}"), "weight"),
    (re.compile(r"(?<![\\\w])b_\{\d+\}"), "bias"),
    (re.compile(r"(?<![\\\w])z_\{\d+\}"), "sum"),
    (re.compile(r"(?<![\\\w])a_\{\d+\}"), "activation"),
    (re.compile(r"(?<![\\\w])e_\{\d+\}"), "error"),
    (re.compile(r"(?<![\\\w{])X(?![\w])"), "input"),
    (re.compile(r"(?<![\\\w{])y(?![\w])"), "target"),
]
_TEX_TOKEN = re.compile("|".join(f"(?P<r{i}>{rx.pattern})" for i, (rx, _) in enumerate(_TEX_ROLES)))


def colour_tex(tex: str) -> str:
    """Mark every matrix symbol in a formula with its role (``\\color{weight}{W_{1}}``), in one pass."""
    def mark(m: re.Match) -> str:
        role_name = _TEX_ROLES[int(m.lastgroup[1:])][1]
        return f"{{\\color{{{role_name}}}{{{m.group(0)}}}}}"
    return _TEX_TOKEN.sub(mark, tex)


def fmt(value: float, precision: int) -> str:
    """Fixed-point text at ``precision`` decimals, with a true minus sign.

    A value that rounds to zero reads ``0.000``, never ``−0.000``: a change too small for
    ``precision`` gets more decimals from :func:`show` instead.
    """
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return ("" if value > 0 else MINUS) + "\u221e"
    text = f"{value:.{precision}f}"
    if not text.strip("-0."):
        text = text.lstrip("-")
    return text.replace("-", MINUS)


#: Most decimals a matrix gets so its small values keep two significant digits; smaller values read 1.5×10⁻⁷.
MAX_DECIMALS = 6
#: Values smaller than a matrix's largest by more than this factor do not choose its decimals.
SPREAD = 1000
_SUPERSCRIPT = str.maketrans("0123456789-", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207b")
_PLAIN = str.maketrans("\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207b", "0123456789-")


def significant(text: str) -> int:
    """How many significant digits a fixed-point text shows (``0.0104`` -> 3, ``0.000`` -> 0)."""
    return len(text.replace(MINUS, "").replace(".", "").lstrip("0"))


def show(value: float, decimals: int) -> str:
    """A trace value as a slide shows it: fixed-point at ``decimals``, or, when that would show fewer
    than two significant digits of a non-zero value, two significant digits in scientific form
    (``1.5×10⁻⁷``)."""
    value = float(value)
    text = fmt(value, decimals)
    if value == 0.0 or not math.isfinite(value) or significant(text) >= 2:
        return text
    mantissa, _, exponent = f"{value:.1e}".partition("e")
    return f"{mantissa.replace('-', MINUS)}\u00d710{str(int(exponent)).translate(_SUPERSCRIPT)}"


def decimals_for(values, precision: int) -> int:
    """Decimals for one matrix: ``precision``, or more (up to ``MAX_DECIMALS``) so that its values
    show at least two significant digits each (0.00031, not 0.000).

    Only values within a factor ``SPREAD`` of the matrix's largest choose the decimals: a saturated
    0.00003 among activations near 1 does not stretch every number to six decimals; :func:`show`
    writes it in scientific form instead.
    """
    finite = [abs(float(v)) for v in values if float(v) != 0.0 and math.isfinite(float(v))]
    floor, cap = max(finite, default=0.0) / SPREAD, max(precision, MAX_DECIMALS)
    # a value that even ``cap`` decimals cannot show to two digits is written in scientific form by show()
    return max([precision] + [d for d in map(two_digits, (v for v in finite if v >= floor)) if d <= cap])


def two_digits(value: float) -> int:
    """Decimals showing a non-zero ``value`` to two significant digits: 4 for 0.009539 (0.0095, not 0.010)."""
    return 1 - int(f"{abs(float(value)):.1e}".partition("e")[2])


def sig(value: float, precision: int, digits: int = 3, *, sign: bool = False) -> str:
    """A derived number (not a trace value) at ``precision`` decimals, or more when that would show fewer
    than ``digits`` significant digits: 0.0822 and 0.000439 at precision 3, never 0.000. ``sign``: a
    plus before positive values, for changes."""
    value = float(value)
    if value == 0.0 or not math.isfinite(value):
        text = fmt(value, precision)
    else:
        decimals = max(precision, digits - 1 - math.floor(math.log10(abs(value))))
        text = fmt(value, min(decimals, 17))
    return "+" + text if sign and value > 0 else text


def parse_number(text: str) -> float:
    """The inverse of :func:`show`, for checking slides against the trace."""
    text = text.strip().replace(MINUS, "-").replace("\u221e", "inf")
    mantissa, times, power = text.partition("\u00d710")
    if times:
        return float(f"{mantissa}e{power.translate(_PLAIN)}")
    return float(text)


def split_name(name: str) -> tuple[str, int | None]:
    """``'dW2'`` -> ``('dW', 2)``, ``'X'`` -> ``('X', None)``."""
    stem = name.rstrip("0123456789")
    return stem, int(name[len(stem):]) if stem != name else None


def per_example(name: str) -> bool:
    """Whether a matrix has one row per example (its shown rows are the deck's example rows)."""
    return name in ("X", "y") or split_name(name)[0] in ("z", "a", "e", "d")


def role(name: str) -> str:
    return ROLES.get(split_name(name)[0], "other")


def tex_label(name: str) -> str:
    """LaTeX for a trace name: ``d2`` -> ``\\delta_{2}``, ``dW1`` -> ``\\Delta W_{1}``."""
    stem, k = split_name(name)
    symbol = {"d": r"\delta", "dW": r"\Delta W", "db": r"\Delta b", "loss": r"\mathrm{loss}",
              "mae": r"\mathrm{mae}"}.get(stem, stem)
    if name == "a0":
        return "X"
    return f"{symbol}_{{{k}}}" if k is not None else symbol


def trask_name(name: str, n_layers: int) -> str | None:
    """Trask's variable name for a trace name (``W1`` -> ``syn0``, ``d2`` -> ``l2_delta``)."""
    stem, k = split_name(name)
    if name in ("X", "a0"):
        return "l0"
    if name == "y":
        return "y"
    if k is None:
        return None
    return {"W": f"syn{k - 1}", "a": f"l{k}", "e": f"l{k}_error", "d": f"l{k}_delta",
            "z": f"l0.dot(syn{k - 1})" if k == 1 else f"l{k - 1}.dot(syn{k - 1})"}.get(stem)


@dataclass(frozen=True)
class Num:
    """A number from the trace: its text and its ``NAME@ITERATION:ROW,COL`` address."""

    text: str
    trace: str
    cell: str = ""          # slide-local cell key ``NAME:ROW,COL`` for highlighting
    id: str = ""            # stable id for auto-animate
    precision: str = ""     # decimals of its matrix when they differ from the deck's (``data-precision``)


def num(trace, name: str, t: int, row: int, col: int, precision: int, animate: bool = False,
        decimals: int | None = None) -> Num:
    """Trace value ``name@t[row, col]`` as shown: at ``decimals`` (its matrix's, see
    :meth:`Layout.decimals`) or else at the deck's ``precision``."""
    value = trace.value(name, t, row, col)
    shown = precision if decimals is None else decimals
    return Num(text=show(value, shown), trace=f"{name}@{t}:{row},{col}", cell=f"{name}:{row},{col}",
               id=f"{name}-{row}-{col}" if animate else "", precision="" if shown == precision else str(shown))


@dataclass(frozen=True)
class MatrixRow:
    """One table row of a matrix: its label (``""`` when the matrix has none) and its cells."""

    label: str
    cells: tuple[Num | None, ...]              # None marks an ellipsis cell


@dataclass(frozen=True)
class MatrixView:
    name: str                       # trace name
    label: str                      # LaTeX label, e.g. W_{1}
    role: str
    iteration: int
    shape: str                      # "4 × 3"
    rows: tuple[tuple[Num | None, ...], ...]   # None marks an ellipsis cell
    row_labels: tuple[str, ...] = ()
    col_labels: tuple[str, ...] = ()
    truncated: bool = False
    trask: str | None = None
    caption: str = ""
    transposed: bool = False
    px: int = 0                     # type size chosen for the slide (story.fit), 0 when not fitted

    @property
    def shown_rows(self) -> tuple[int, ...]:
        """The matrix's row indices this view shows (not transposed), read from its numbers' addresses."""
        cells = (next((c for c in row if c is not None), None) for row in self.rows)
        return tuple(int(c.trace.rpartition(":")[2].partition(",")[0]) for c in cells if c is not None)

    @property
    def body(self) -> tuple[MatrixRow, ...]:
        """The rows as the table shows them, each with its label."""
        labels = self.row_labels or ("",) * len(self.rows)
        return tuple(MatrixRow(label, cells) for label, cells in zip(labels, self.rows, strict=True))


@dataclass(frozen=True)
class Layout:
    """How a deck shows matrices: precision, size limits and which example rows to show."""

    precision: int = 3
    max_rows: int = 8
    max_cols: int = 8
    example_rows: tuple[int, ...] | None = None   # rows of X to show in N-row matrices
    example_groups: tuple[int, ...] = ()           # the class of each example row, to cover when not all fit
    row_names: tuple[int, ...] = ()                # the file's row number of each row of X: the row labels
    n_layers: int = 2
    trask_names: bool = False
    feature_names: tuple[str, ...] = ()
    target_names: tuple[str, ...] = ()
    px: int = 0                                   # type size of the slide's matrices (story.fit), 0: not fitted
    #: The deck's own row and column limits: what a matrix's decimals are chosen from, whatever a fitted slide
    #: shows of it (a fitted layout changes ``max_rows``/``max_cols``, never these).
    limits: tuple[int, int] = (8, 8)
    _decimals: dict = field(default_factory=dict, compare=False, repr=False)   # (trace, name, t) -> decimals

    def decimals(self, trace, name: str, t: int) -> int:
        """Decimals of matrix ``name@t``: the deck's precision, or more when that would hide its shown
        values (a weight change of 0.0003 at 3 decimals). They are chosen from the cells the deck's
        limits show, not from what one slide has room for, so every number of the matrix uses them on
        every slide and in every worked step: one value always reads the same."""
        key = (id(trace), name, t)
        if key not in self._decimals:
            m = trace.get(name, t)
            rows = self.shown(m.shape[0], self.limits[0], per_example(name), trace, t)
            cols = self.shown(m.shape[1], self.limits[1], False)
            self._decimals[key] = decimals_for(m[np.ix_(rows, cols)].ravel(), self.precision)
        return self._decimals[key]

    def num(self, trace, name: str, t: int, row: int, col: int, animate: bool = False) -> Num:
        """One trace number at its matrix's decimals."""
        return num(trace, name, t, row, col, self.precision, animate, self.decimals(trace, name, t))

    def matrix(self, trace, name: str, t: int, *, transposed: bool = False, animate: bool = False,
               caption: str = "") -> MatrixView:
        m = trace.get(name, t)
        n_rows, n_cols = m.shape
        per_row = per_example(name)
        row_idx = pick(n_rows, self.max_rows, self.rows_at(trace, t) if per_row else None,
                       self.groups_at(trace, t) if per_row else ())
        col_idx = pick(n_cols, self.max_cols)
        decimals = self.decimals(trace, name, t)
        rows = tuple(
            tuple(None if (r is None or c is None) else num(trace, name, t, r, c, self.precision, animate, decimals)
                  for c in col_idx)
            for r in row_idx
        )
        col_labels: tuple[str, ...] = ()
        if name == "X" and len(self.feature_names) == n_cols:
            col_labels = tuple("\u2026" if c is None else self.feature_names[c] for c in col_idx)
        elif name == "y" and len(self.target_names) == n_cols > 1:
            col_labels = tuple("\u2026" if c is None else self.target_names[c] for c in col_idx)
        elif name in {f"{x}{self.n_layers}" for x in "zaed"} and len(self.target_names) == n_cols > 1:
            col_labels = tuple("\u2026" if c is None else output_columns(self.target_names[c]) for c in col_idx)
        row_labels = tuple("\u22ee" if r is None else self.label(trace, t, r) for r in row_idx) if per_row else ()
        label = tex_label(name)
        if transposed:
            rows = tuple(zip(*rows))
            row_labels, col_labels = col_labels, tuple("\u2026" if r is None else self.label(trace, t, r)
                                                       for r in row_idx) if per_row else ()
            n_rows, n_cols = n_cols, n_rows
            label += r"^{\top}"
        return MatrixView(
            name=name, label=label, role=role(name), iteration=t,
            shape=f"{n_rows} \u00d7 {n_cols}", rows=rows, row_labels=row_labels, col_labels=col_labels,
            truncated=None in row_idx or None in col_idx,
            # Trask's name only where it differs from the slide's own (his ``y`` is ours)
            trask=trask_name(name, self.n_layers) if self.trask_names and trask_name(name, self.n_layers) != name else None,
            caption=caption, transposed=transposed, px=self.px,
        )

    def shown(self, n: int, limit: int, per_example: bool, trace=None, t: int = 0) -> list[int]:
        """The indices a matrix of ``n`` rows actually shows (no ellipses); given ``trace``, of its matrix at ``t``."""
        preferred = self.example_rows if trace is None else self.rows_at(trace, t)
        groups = self.example_groups if trace is None else self.groups_at(trace, t)
        return [i for i in pick(n, limit, preferred if per_example else None, groups if per_example else ())
                if i is not None]

    def rows_at(self, trace, t: int) -> tuple[int, ...] | None:
        """The example rows to show as rows of a matrix at ``t``: with mini-batches, those in its batch."""
        return local_rows(self.example_rows, trace.batch_rows(t))

    def groups_at(self, trace, t: int) -> tuple[int, ...]:
        """The class of each row :meth:`rows_at` gives (empty when the rows have no classes)."""
        batch = trace.batch_rows(t)
        return tuple(g for r, g in zip(self.example_rows or (), self.example_groups) if r in batch)

    def label(self, trace, t: int, r: int) -> str:
        """The file's row number of row ``r`` of a matrix at ``t`` (its ``data-trace`` keeps ``r``)."""
        return str(file_row(self.row_names, trace.batch_rows(t).start + r))


@dataclass(frozen=True)
class Token:
    """One piece of a worked expansion: plain text, or a number from the trace."""

    text: str
    trace: str = ""
    kind: str = "text"      # text | num | sup (exponent)
    role: str = ""          # colour role of a trace number
    precision: str = ""     # a trace number's ``data-precision`` (see :class:`Num`)

    @property
    def sup(self) -> bool:
        """Whether the token is an exponent (set as a superscript)."""
        return self.kind == "sup"


@dataclass(frozen=True)
class Worked:
    """One worked result cell: which cells to highlight and the expansion to show."""

    target: str                                  # cell key of the result, NAME:ROW,COL
    rows: tuple[str, ...] = ()                   # NAME:ROW keys of highlighted rows
    cols: tuple[str, ...] = ()                   # NAME:COL keys of highlighted columns
    cells: tuple[str, ...] = ()                  # further highlighted cells
    tokens: tuple[Token, ...] = field(default_factory=tuple)
    note: str = ""
    label: str = ""                              # the result's row as labelled (a file row number), if not its index

    @property
    def highlight(self) -> str:
        """The ``data-highlight`` value read by the deck script."""
        parts = [f"row:{r}" for r in self.rows] + [f"col:{c}" for c in self.cols]
        parts += [f"cell:{c}" for c in self.cells + (self.target,)]
        return " ".join(parts)

    @property
    def approx(self) -> bool:
        """Whether the step says ``≈``: its shown (rounded) inputs miss the shown result."""
        return any(t.text == " \u2248 " for t in self.tokens)

    @property
    def plain(self) -> str:
        """The expansion as plain text, for the speaker notes."""
        return "".join(t.text for t in self.tokens).strip()

    @property
    def where(self) -> str:
        """``row 0, column 2`` of the result cell."""
        row, _, col = self.target.partition(":")[2].partition(",")
        return f"row {self.label or row}, column {col}"


def tok(n: Num, wrap: bool = False) -> tuple[Token, ...]:
    """A trace number as tokens, in parentheses when negative and ``wrap`` is set."""
    number = Token(n.text, n.trace, "num", role(n.trace.partition("@")[0]), n.precision)
    if wrap and n.text.startswith(MINUS):
        return (Token("("), number, Token(")"))
    return (number,)
