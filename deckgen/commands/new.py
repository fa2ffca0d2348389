"""``deckgen new NAME``: write a commented deck file that builds as it stands.

Without data it is the built-in talk with every key explained. With
``--data FILE.csv`` the file names the CSV and its target column(s) (the last
column unless ``--target`` says otherwise), leaves the input and output layer
sizes to ``"auto"``, and picks a learning rate and iterations by training the
written file exactly as ``build`` will: the largest rate, starting from one for
the number of rows (the updates add up over every row, Trask's rule, so more
rows need a smaller step), at which the run converges without the loss going up
and down. The CSV file is read by the deck's own loader, so ``new`` and
``build`` split it the same way; every cell is checked when the deck is built.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from deckgen.commands.picks import (BUDGETS, FEATURES, Rate, checkpoints_for, describe_rate, example_rows,
                                    gap_columns, informative, smooth_rate, trained_rate)
from deckgen.data import load_dataset, resolve_layers
from deckgen.pipeline import load

from deckgen.data.csvfile import _gap, _number
from deckgen.data.csvread import scan
from deckgen.errors import ConfigError, DeckgenError, count

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")


@dataclass(frozen=True)
class DataSummary:
    header: tuple[str, ...]
    target: tuple[str, ...]
    features: tuple[str, ...]
    rows: int
    text_columns: tuple[str, ...]       # columns holding words (one-hot encoded by the loader)
    classes: tuple[str, ...]            # values of a single text target
    shown: tuple[int, ...]              # rows for the detailed slides
    kind: str = "numeric"               # of the target: "binary" (two values), "categorical" (text), "numeric",
                                        # or "several" (more than one target column)
    values: tuple[str, ...] = ()        # a binary target's two values (numbers in increasing order)
    unit: bool = False                  # a numeric target already within 0-1 (the loader leaves it as it is)


def _value(cell: str, decimal_comma: bool) -> float | None:
    """A cell's number as the deck's loader reads it (finite only), else None."""
    value = _number(cell, decimal_comma)
    return value if value is not None and math.isfinite(value) else None


def summarize_csv(path: Path, target: tuple[str, ...] = ()) -> DataSummary:
    """What the deck file needs to know about a CSV file: columns, target, size, classes.

    The file is read by the deck's own loader (:func:`deckgen.csvdata.scan`), so
    ``new`` accepts exactly the files ``build`` does, split the same way.
    """
    table, errors = scan(path, origin="--data")
    if errors:
        raise ConfigError(*errors)
    header, rows = table.header, table.rows
    comma = table.delimiter != ","

    def _is_number(cell: str) -> bool:
        return _value(cell, comma) is not None
    if target:
        unknown = [t for t in target if t not in header]
        if unknown:
            hints = [difflib.get_close_matches(t, header, n=1) for t in unknown]
            raise ConfigError(*(f"--target {t}: no such column{f' (did you mean {h[0]!r}?)' if h else ''} — "
                                 f"the columns are {', '.join(header)}" for t, h in zip(unknown, hints)))
    else:
        target = (header[-1],)
    if len(target) >= len(header):
        raise ConfigError(f"--data {path}: every column is a target — leave at least one column as input")
    columns = {name: [r[i] for r in rows if i < len(r)] for i, name in enumerate(header)}
    text_columns = tuple(n for n in header if any(not _gap(c) and not _is_number(c) for c in columns[n]))
    classes: tuple[str, ...] = ()
    shown: list[int] = []
    if len(target) == 1 and target[0] in text_columns:
        seen: dict[str, list[int]] = {}
        for i, value in enumerate(columns[target[0]]):
            seen.setdefault(value, []).append(i)
        classes = tuple(seen)
        per_class = max(1, 6 // max(len(seen), 1))
        shown = sorted(i for idx in list(seen.values())[:6] for i in idx[:per_class])
    if not shown:
        shown = list(range(min(len(rows), 6)))
    kind, values, unit = "several", (), False
    if len(target) == 1:
        cells = [c for c in columns[target[0]] if c]
        if target[0] in text_columns:
            distinct = tuple(dict.fromkeys(cells))
            kind = "binary" if len(distinct) == 2 else "categorical"
        else:
            numbers = sorted({_value(c, comma) for c in cells if _is_number(c)})
            distinct = tuple(dict.fromkeys(next(c for c in cells if _value(c, comma) == x) for x in numbers))
            kind = "binary" if len(distinct) == 2 else "numeric"
            unit = bool(numbers) and numbers[0] >= 0 and numbers[-1] <= 1
        values = distinct if kind == "binary" else ()
    return DataSummary(header=tuple(header), target=tuple(target),
                       features=tuple(h for h in header if h not in target), rows=len(rows),
                       text_columns=text_columns, classes=classes, shown=tuple(shown),
                       kind=kind, values=values, unit=unit)


def _and(names) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def title_for(s: DataSummary, inputs: int) -> str:
    """A first-slide title that asks what the network learns to answer, from how many of the file's columns
    (the audience is told about the data, not the file's name)."""
    t, source = s.target[0], f"network learns from {count(inputs, 'column')}"
    if s.kind in ("binary", "categorical"):
        return f"{t}: {s.values[0]} or {s.values[1]}? A {source}" if s.kind == "binary" else f"Which {t}? A {source}"
    return f"Predicting {_and(s.target)}: a {source}"


def target_note(s: DataSummary) -> str:
    """The comment beside ``target = [...]``: what the outputs will be."""
    if s.classes:
        more = ", ..." if len(s.classes) > 5 else ""
        return f"text: one output per value ({', '.join(_c(c) for c in s.classes[:5])}{more})"
    if s.kind == "several":
        text = [t for t in s.target if t in s.text_columns]
        if len(text) == len(s.target):
            return "text: one output per value of each column"
        if not text:
            return "numbers: one output per column, scaled to 0–1"
        return f"one output per number column (scaled to 0–1), one per value of {_c(_and(text))}"
    if s.kind == "binary":
        low, high = (_c(v) for v in s.values)
        if s.unit:
            return f"{low} or {high}: one output, trained towards each row's {low} or {high}"
        return f"{low} or {high}: one output, scaled so that {low} is 0 and {high} is 1"
    if s.unit:
        return "numbers from 0 to 1 already: one output"
    return "numbers: one output, scaled to 0–1 for training; predictions shown in the column's units"


_LOSS_NOTES = {"cross_entropy": "−Σ y·ln a, softmax's partner: the output delta is simply y − a",
               "squared": "½Σe², half the sum of the squared errors"}


def output_for(s: DataSummary) -> tuple[str, str, str]:
    """``(network.output, training.loss, why)`` for the kind of target: softmax with cross-entropy for
    3 or more classes, sigmoid for two (or several columns), linear for a number."""
    if s.kind == "categorical":
        return ("softmax", "cross_entropy",
                f"{len(s.classes)} classes: outputs that add up to 1, read as the network's confidence in each")
    if s.kind == "numeric":
        return "linear", "squared", "a number: the prediction is the weighted sum itself, not squashed into 0–1"
    if s.kind == "binary":
        if s.classes:       # a text target is one-hot encoded: an output per value
            return ("sigmoid", "squared", "two values: two outputs between 0 and 1, one for each "
                    "(cross_entropy is the other loss it takes)")
        return "sigmoid", "squared", "two values: one output between 0 and 1 (cross_entropy is the other loss it takes)"
    return "sigmoid", "squared", "outputs between 0 and 1, one per target column"


def _round(x: float) -> float:
    """One significant digit: 0.0533 -> 0.05."""
    if x <= 0:
        return x
    exp = math.floor(math.log10(x))
    return round(round(x / 10**exp) * 10**exp, max(0, -exp))


def learning_rate_for(rows: int) -> float:
    """A step that suits summed (not averaged) updates over ``rows`` rows: 1 for Trask's 4, 0.05 for 150."""
    return _round(min(1.0, 8.0 / max(rows, 1)))


def _toml(value) -> str:
    """A TOML value; JSON's escapes are TOML's, except that TOML wants DEL escaped too."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _c(text) -> str:
    """Text for a TOML comment, which cannot hold control characters: those written as escapes."""
    return "".join(ch if ch == "\t" or " " <= ch != "\x7f" else ch.encode("unicode_escape").decode("ascii")
                   for ch in str(text))


def _line(setting: str, comment: str = "") -> str:
    """``key = value`` with its comment lined up, as in the example decks."""
    return f"{setting:<28} # {comment}" if comment else setting


@dataclass(frozen=True)
class Choices:
    """What ``new`` decided from the data as build reads it (see :mod:`deckgen.commands.picks`)."""

    gaps: tuple[str, ...] = ()            # columns with gaps, so data.missing = "drop"
    gap_rows: int = 0
    test_fraction: float = 0.0
    features: tuple[str, ...] | None = None   # None: every column but the target
    rows: tuple[int, ...] | None = None
    rate: "Rate | None" = None


def _missing_lines(c: Choices) -> list[str]:
    if not c.gaps:
        return [_line('# missing = "error"', 'gaps (empty or NA cells): "error", "drop" the row, or fill with the "mean"')]
    return [f"# Columns with gaps (empty or NA cells): {_c(', '.join(c.gaps))}; {count(c.gap_rows, 'row')} "
            "of the file have one.",
            "# \"drop\" leaves those rows out, so the deck builds as it stands; \"mean\" would fill a number column's",
            "# gaps with its mean over the training rows instead; \"error\" stops at each gap.",
            _line('missing = "drop"', "the data slide says how many rows were left out")]


def _feature_lines(s: DataSummary, c: Choices) -> list[str]:
    if c.features is None:
        return [_line(f"# features = {_toml(list(s.features))}", "default: every column but the target")]
    rest = [f for f in s.features if f not in c.features]
    lines = [f"# The {len(c.features)} inputs most correlated with the target (on the training rows), so the detailed",
             f"# slides stay readable: a weighted sum of {len(s.features)} products cannot be shown at a readable size.",
             f"# To train on every column, delete this line; to add some, list them. The other {len(rest)}:"]
    chunk: list[str] = []
    for name in rest:
        chunk.append(_toml(name))
        if len(", ".join(chunk)) > 80:
            lines.append("#   " + _c(", ".join(chunk)) + ",")
            chunk = []
    if chunk:
        lines.append("#   " + _c(", ".join(chunk)))
    return lines + [f"features = {_toml(list(c.features))}"]


def csv_deck(name: str, csv_rel: str, s: DataSummary, c: Choices | None = None) -> str:
    c = c or Choices()
    inputs = len(c.features) if c.features is not None else len(s.features)
    hidden = max(4, min(16, 2 * inputs))
    lr = c.rate.learning_rate if c.rate is not None else learning_rate_for(s.rows)
    shown = c.rows if c.rows is not None else s.shown
    if c.rate is None:
        rate_note = f"the changes add up over {'all ' if s.rows > 1 else ''}{count(s.rows, 'row')}: more rows, smaller step"
    else:
        rate_note = describe_rate(c.rate)
    iterations = c.rate.iterations if c.rate is not None else BUDGETS[0]
    split = (_line(f"test_fraction = {c.test_fraction}", "rows held out (drawn with training.seed) to test on, never trained on")
             if c.test_fraction else
             _line("test_fraction = 0.0", "too few rows to hold some out for testing; 0.2 holds out a fifth"))
    text_inputs = [col for col in s.text_columns if col in (c.features if c.features is not None else s.features)]
    inputs_note = (_line("# categorical = []", "number columns to one-hot encode anyway (codes, not amounts)")
                   if not text_inputs else f"# {_c(', '.join(text_inputs))}: text, so one input per value (one-hot)")
    title = title_for(s, inputs)
    output, loss, why = output_for(s)
    lines = [
        f"# {name}: a deck made by `deckgen new` from {_c(csv_rel)} ({count(s.rows, 'row')}, "
        f"{count(len(s.header), 'column')}).",
        f"# Build it with `deckgen build decks/{name}.toml`, or watch it with `deckgen serve decks/{name}.toml`.",
        "# Every key is explained below; `deckgen keys` lists them all. Change anything from the",
        "# command line too: --set training.learning_rate=0.1",
        "",
        f"title = {_toml(title)}",
        "",
        "[data]",
        _line(f"csv = {_toml(csv_rel)}", "relative to this file; the header names the columns"),
        _line(f"target = {_toml(list(s.target))}", target_note(s)),
        *_feature_lines(s, c),
        inputs_note,
        _line('scale = "minmax"', 'numeric inputs scaled to 0–1 (or "standard", "none")'),
        *_missing_lines(c),
        split,
        _line(f"{'' if c.rows is not None else '# '}rows = {_toml(list(shown))}",
              "file rows (from 0) shown on the detailed slides; training uses every training row"),
        _line("# shuffle = 1", "shuffle the rows with this seed"),
        "",
        "[network]",
        _line(f'layers = ["auto", {hidden}, "auto"]', f"inputs from the data, {hidden} hidden units, outputs from the target"),
        _line('activation = "sigmoid"', "hidden layers: sigmoid | tanh | relu"),
        _line(f"output = {_toml(output)}", f"sigmoid | softmax | linear; {why}"),
        _line("bias = true", "each unit learns its own offset"),
        "",
        "[training]",
        _line("seed = 1", "the random initial weights"),
        _line(f"loss = {_toml(loss)}", _LOSS_NOTES[loss]),
        _line(f"learning_rate = {lr}", rate_note),
        f"iterations = {iterations}",
        _line("# memory_budget_mb = 256", "above this, matrices are kept only for the iterations shown"),
        "",
        "[deck]",
        _line("explain = [0]", "iterations computed step by step on the slides"),
        _line(f"checkpoints = {checkpoints_for(iterations)}", "the error every N iterations (or a list), and at the last"),
        _line("precision = 3", "decimal places"),
        _line('theme = "white"', "white | black (fonts embedded); other reveal.js themes use local fonts"),
        _line("# full_trace = false", "true: trace.npz keeps every iteration's matrices, not only the ones shown"),
        f'# compare = [{{ "training.learning_rate" = {_round(lr / 10)} }}, '
        f'{{ "training.learning_rate" = {_round(lr * 10)} }}]   # "what if" slides',
    ]
    return "\n".join(lines) + "\n"


def builtin_deck(name: str) -> str:
    return f"""\
# {name}: a deck made by `deckgen new`: Andrew Trask's 3-4-1 network on his XOR-like data.
# Build it with `deckgen build decks/{name}.toml`, or watch it with `deckgen serve decks/{name}.toml`.
# Every key is explained below; `deckgen keys` lists them all. Change anything from the
# command line too: --set training.learning_rate=0.5

title = "A neural network, number by number"

[data]
dataset = "trask"            # built-in: trask, trask-2layer, xor, and, or
# csv = "data/my.csv"        # or a CSV file, relative to this file
# target = ["label"]         #   with the column(s) to predict
# inputs = [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]   # or literal matrices
# targets = [[0], [1], [1], [0]]

[network]
layers = [3, 4, 1]           # inputs, hidden units, outputs ("auto" for the first and last: from the data)
activation = "sigmoid"       # hidden layers: sigmoid | tanh | relu (the output is always sigmoid)
bias = false                 # Trask gets a bias from the constant third input instead

[training]
seed = 1                     # the random initial weights
learning_rate = 1.0
iterations = 60000

[deck]
explain = [0]                # iterations computed step by step on the slides
checkpoints = 10000          # a checkpoint slide every N iterations (or a list)
precision = 3                # decimal places
theme = "white"              # white | black (fonts embedded); other reveal.js themes use local fonts
# full_trace = false         # true: trace.npz keeps every iteration's matrices, not only the ones shown
# compare = [{{ "training.learning_rate" = 0.1 }}, {{ "training.learning_rate" = 10 }}]   # "what if" slides
"""


def new_deck(name: str, *, data: str | os.PathLike | None = None, target: tuple[str, ...] = (),
             folder: str | os.PathLike = "decks") -> Path:
    """Write ``folder/NAME.toml``; never overwrite an existing file. Returns its path."""
    if not NAME.fullmatch(name) or name.endswith(".toml"):
        stem = name[:-5] if name.endswith(".toml") else None
        hint = f" — use {stem!r}" if stem and NAME.fullmatch(stem) else " — use letters, digits, '-', '_' and '.'"
        raise ConfigError(f"{name!r} is not a usable deck name{hint}")
    folder = Path(folder)
    path = folder / f"{name}.toml"
    if path.exists():
        raise DeckgenError(f"{path}: already exists — choose another name, or remove the file first")
    if target and data is None:
        raise ConfigError("--target needs --data FILE.csv — name the CSV file the target column is in")
    if data is None:
        _write_new(path, builtin_deck(name))
        return path
    data = Path(data)
    summary = summarize_csv(data, tuple(target))
    rel = Path(os.path.relpath(data.absolute(), folder.absolute())).as_posix()
    gaps, gap_rows = gap_columns(data, summary.target)
    first = Choices(gaps=gaps, gap_rows=gap_rows, test_fraction=0.2 if summary.rows >= SPLIT_ROWS else 0.0)
    _write_new(path, csv_deck(name, rel, summary, first))
    try:       # read back as build reads it: a deck build would stop on is never left behind
        config = load(path)
        dataset = load_dataset(config)
        features = informative(dataset, summary.features) if len(summary.features) > FEATURES else None
        gaps, gap_rows = gap_columns(data, summary.target, features)     # in the columns used
        chosen = replace(first, gaps=gaps, gap_rows=gap_rows, features=features)
        if chosen != first:       # the rows as the file with these columns reads them
            path.write_text(csv_deck(name, rel, summary, chosen), encoding="utf-8")
            dataset = load_dataset(load(path))
        chosen = replace(chosen, rows=example_rows(dataset))

        def trial(rate: float, iterations: int) -> Rate:
            """Write the deck with this rate, then train exactly what ``build`` of it trains."""
            path.write_text(csv_deck(name, rel, summary, replace(chosen, rate=Rate(rate, iterations))), encoding="utf-8")
            return trained_rate(load(path))

        top = learning_rate_for(dataset.n_examples)
        rate = smooth_rate(trial, top, top / 1000)
        path.write_text(csv_deck(name, rel, summary, replace(chosen, rate=rate)), encoding="utf-8")
        config = load(path)
        resolve_layers(config, load_dataset(config))
    except BaseException:
        path.unlink(missing_ok=True)      # the file this call wrote, and only it
        raise
    return path


#: Rows a CSV file needs before ``new`` holds a fifth of them out for testing.
SPLIT_ROWS = 10


def _write_new(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "x", encoding="utf-8") as f:     # "x": fails rather than overwrite
            f.write(text)
    except FileExistsError:
        raise DeckgenError(f"{path}: already exists — choose another name, or remove the file first") from None
