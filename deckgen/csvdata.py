"""CSV datasets: read a table, check every cell, then encode and scale it into a :class:`Dataset`.

The file needs a header line. The delimiter (``,`` ``;`` tab or ``|``) is detected,
quoted fields may hold delimiters, quotes (``""``) and line breaks, and UTF-8
with or without a byte-order mark is read. A column is categorical when none of
its values is a number, or when ``data.categorical`` names it; categorical
columns are one-hot encoded (``colour=red``). Numeric inputs are scaled as
``data.scale`` says.

Every problem found is reported at once, each one as
``file:line[:column]: what is wrong — what to do``.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .config import count, located
from .errors import ConfigError
from .readfile import CSV_LIMIT, NotReadable, read_capped

DELIMITERS = (",", ";", "\t", "|")
MAX_LISTED = 20          # cell problems listed one by one; the rest are counted
MAX_CATEGORIES = 100     # more distinct values than this in a text column is almost surely not a category
# Every pattern here runs on cells of any length, so each is written to match in linear time: no
# quantified part may be split between two quantifiers (``\d+\.?\d*`` tries every split of a digit run).
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")
_NONFINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_MISSING = {"na", "n/a", "null", "none", "?", "-", "--", "missing"}
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
SHOWN = 40               # characters of a cell or name quoted in a message

Where = Callable[[str], str]


def clip(text: str, limit: int = SHOWN) -> str:
    """``text`` quoted for a message: at most ``limit`` characters (then an ellipsis), control characters escaped."""
    if len(text) > limit:
        return repr(text[:limit]) + f"… ({len(text):,} characters)"
    return repr(text)


class _Syntax(Exception):
    def __init__(self, line: int, column: int, what: str) -> None:
        super().__init__(what)
        self.line, self.column, self.what = line, column, what


# --------------------------------------------------------------------------- reading

def display_path(path: Path) -> str:
    """``path`` relative to the current folder when it is inside it, for messages."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _read_text(path: Path, label: str, origin: str = "") -> str:
    """The text of a CSV file. ``origin`` is where ``data.csv`` was set (``deck.toml:3``, ``--set data.csv``):
    a file that cannot be opened is reported there, with the full path looked for."""
    if origin == "--data":      # deckgen new --data FILE
        hint, where = "check the path given with --data", f"--data {label}"
    elif origin.startswith("--set"):
        hint = "check the path (given with --set, a relative path is relative to the current folder)"
    else:
        hint = "check data.csv (a relative path in the deck file is relative to the deck file)"
    if origin != "--data":
        where = f"{located(origin, 'data.csv')}: {path.absolute()}" if origin else label
    try:
        if path.is_dir():
            raise ConfigError(f"{where}: is a folder, not a CSV file — {hint}")
        data = read_capped(path, CSV_LIMIT)
    except NotReadable as exc:
        raise ConfigError(f"{where}: {exc.what} — {exc.hint}") from None
    except FileNotFoundError:
        raise ConfigError(f"{where}: file not found — {hint}") from None
    except PermissionError:
        raise ConfigError(f"{where}: cannot be read (permission denied) — make the file readable") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{where}: cannot be read ({exc.__class__.__name__}) — {hint}") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(f"{label}: the file is UTF-16 text — save it as UTF-8 (\"CSV UTF-8\" in spreadsheet programs)")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(f"{label}:{line}:{column}: not UTF-8 text (byte {data[exc.start]:#04x}) — "
                          "save the file as UTF-8 (\"CSV UTF-8\" in spreadsheet programs)") from None
    if "\0" in text:
        at = text.index("\0")
        line = text.count("\n", 0, at) + 1
        raise ConfigError(f"{label}:{line}: the file holds NUL bytes, so it is not a text CSV file — "
                          "export the data as CSV text")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ConfigError(f"{label}: the file is empty — put a header line with column names in it, "
                          "then one line per example")
    return text


def _records(text: str, delim: str, pos: int = 0, line: int = 1,
             positions: bool = False) -> Iterator[tuple[int, list[str], list[tuple[int, int]] | None]]:
    """``(line, fields, starts)`` for each record from offset ``pos``; blank lines are skipped.

    Unquoted fields are stripped of surrounding blanks; quoted ones are kept as
    written. ``starts`` (the line and column where each field begins) only when
    ``positions`` is set.
    """
    n = len(text)
    while pos < n:
        end = text.find("\n", pos)
        end = n if end < 0 else end
        physical = text[pos:end]
        if '"' not in physical:  # the common case: one line, no quotes
            if physical.strip():
                fields = physical.split(delim)
                starts = None
                if positions:
                    starts, col = [], 1
                    for f in fields:
                        starts.append((line, col + len(f) - len(f.lstrip())))
                        col += len(f) + 1
                yield line, [f.strip() for f in fields], starts
            pos, line = end + 1, line + 1
            continue
        record_line, line_start = line, pos
        fields, starts = [], []
        while True:
            k = pos
            while k < n and text[k] in " \t" and text[k] != delim:
                k += 1
            if k < n and text[k] == '"':
                q_line, q_col = line, k - line_start + 1
                starts.append((q_line, q_col))
                k += 1
                parts = []
                while True:
                    j = text.find('"', k)
                    if j < 0:
                        raise _Syntax(q_line, q_col, 'this quoted field is never closed — add the closing " '
                                      '(write "" for a quote inside a field)')
                    chunk = text[k:j]
                    newlines = chunk.count("\n")
                    if newlines:
                        line += newlines
                        line_start = k + chunk.rfind("\n") + 1
                    parts.append(chunk)
                    if j + 1 < n and text[j + 1] == '"':
                        parts.append('"')
                        k = j + 2
                        continue
                    k = j + 1
                    break
                while k < n and text[k] in " \t" and text[k] != delim:
                    k += 1
                if k < n and text[k] not in (delim, "\n"):
                    raise _Syntax(line, k - line_start + 1, "text after a closing quote — quote the whole field, "
                                  'and write "" for a quote inside it')
                fields.append("".join(parts))
                pos = k
            else:
                starts.append((line, k - line_start + 1))
                stop_delim, stop_line = text.find(delim, pos), text.find("\n", pos)
                stop_delim = n if stop_delim < 0 else stop_delim
                stop_line = n if stop_line < 0 else stop_line
                stop = min(stop_delim, stop_line)
                fields.append(text[pos:stop].strip())
                pos = stop
            if pos < n and text[pos] == delim:
                pos += 1
                continue
            pos, line = pos + 1, line + 1
            break
        yield record_line, fields, (starts if positions else None)


def _detect_delimiter(text: str) -> str:
    """The delimiter that splits the header into the most columns, consistently over the first rows."""
    best, best_score = ",", (0, 0.0, 0)
    for delim in DELIMITERS:
        try:
            counts = []
            for _, fields, _ in _records(text, delim):
                counts.append(len(fields))
                if len(counts) > 50:
                    break
        except _Syntax:
            continue
        if not counts or counts[0] < 2:
            continue
        agree = sum(c == counts[0] for c in counts[1:]) / max(len(counts) - 1, 1)
        score = (1, agree, counts[0])
        if score > best_score:
            best, best_score = delim, score
    return best


@dataclass
class Table:
    """A CSV file as read: header, rows of stripped text cells and the line each row starts on."""

    label: str
    text: str
    delimiter: str
    header: list[str]
    rows: list[list[str]]
    lines: list[int]
    header_line: int

    def position(self, row: int, col: int) -> str:
        """``file:line:column`` of a cell (``row`` counts data rows from 0)."""
        line = self.lines[row]
        offset = _line_offset(self.text, line)
        for found, _, starts in _records(self.text, self.delimiter, offset, line, positions=True):
            if starts and col < len(starts):
                return f"{self.label}:{starts[col][0]}:{starts[col][1]}"
            return f"{self.label}:{found}"
        return f"{self.label}:{line}"


def _line_offset(text: str, line: int) -> int:
    pos = 0
    for _ in range(line - 1):
        pos = text.index("\n", pos) + 1
    return pos


#: Bytes a cell costs once read: a small str object and its place in a row's list.
CELL_BYTES = 64


def _reading_cost(text: str, delim: str, label: str) -> str | None:
    """A message when holding the file's cells would take more than half of this machine's memory."""
    from .data import _mb, machine_memory

    memory = machine_memory()
    cells = text.count(delim) + text.count("\n") + 1
    need = cells * CELL_BYTES + 2 * len(text)
    if memory is None or need <= memory / 2:
        return None
    return (f"{label}: about {cells:,} cells would take about {_mb(need)} to read, more than half of this "
            f"machine's memory ({_mb(memory)}) — use fewer rows or columns")


def scan(path: Path, label: str | None = None, origin: str = "") -> tuple[Table | None, list[str]]:
    """Read and split a CSV file: the table of its well-formed rows, and every structural problem found.

    A file that cannot be read at all gives no table; header problems, ragged rows
    and bad quoting are listed while the rest of the file is still read, so their
    report can join the checks of the columns. ``origin`` (where ``data.csv`` was
    set) goes into the message of a file that is missing or cannot be read.
    """
    label = label or display_path(path)
    try:
        text = _read_text(path, label, origin)
    except ConfigError as exc:
        return None, list(exc.messages)
    delim = _detect_delimiter(text)
    too_big = _reading_cost(text, delim, label)
    if too_big:
        return None, [too_big]
    records = _records(text, delim)
    errors: list[str] = []
    try:
        header_line, header, _ = next(records)
    except _Syntax as exc:
        return None, [f"{label}:{exc.line}:{exc.column}: {exc.what}"]
    for i, name in enumerate(header):
        if not name:
            errors.append(f"{label}:{header_line}: column {i + 1} has no name — give every column a name "
                          "in the header line")
        elif any(ord(ch) < 32 for ch in name):
            errors.append(f"{label}:{header_line}: column {i + 1} ({clip(' '.join(name.split()))}) has a line break "
                          "or control character in its name — keep column names on one line")
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if name and name in seen:
            errors.append(f"{label}:{header_line}: column name {clip(name)} appears twice (columns {seen[name] + 1} "
                          f"and {i + 1}) — give every column its own name")
        seen.setdefault(name, i)
    if len(header) < 2:
        errors.append(f"{label}:{header_line}: found only one column ({clip(header[0])}), looking for commas, "
                      "semicolons, tabs and pipes — separate the columns with one of them; deckgen needs at least "
                      "one input column and one target column")
    rows: list[list[str]] = []
    lines: list[int] = []
    ragged = 0
    complete = True
    try:
        for line, fields, _ in records:
            if len(fields) != len(header):
                ragged += 1
                if ragged <= MAX_LISTED:
                    errors.append(f"{label}:{line}: this row has {count(len(fields), 'field')} but the header has "
                                  f"{len(header)} — give every row one value per column (quote values that "
                                  f"hold a {_DELIMITER_NAMES[delim]})")
                continue
            rows.append(fields)
            lines.append(line)
    except _Syntax as exc:
        errors.append(f"{label}:{exc.line}:{exc.column}: {exc.what}")
        complete = False
    if ragged > MAX_LISTED:
        errors.append(f"{label}: {count(ragged - MAX_LISTED, 'more row')} with the wrong number of fields — "
                      "fix the ones above, then run again to see the rest")
    if not rows and not ragged and complete:
        errors.append(f"{label}:{header_line}: the file has a header line but no data rows — "
                      "add one line per example below the header")
    return Table(label, text, delim, header, rows, lines, header_line), errors


def read_table(path: Path, label: str | None = None) -> Table:
    """Read and split a CSV file; raise every structural problem (header, ragged rows, quoting) at once."""
    table, errors = scan(path, label)
    if errors:
        raise ConfigError(*errors)
    return table


# --------------------------------------------------------------------------- checking

@dataclass
class Plan:
    """Which columns are used, as what: the result of checking a table against the data settings."""

    features: list[int]
    targets: list[int]
    categorical: set[int]
    values: dict[int, np.ndarray]      # numeric columns, as numbers


def _number(cell: str, decimal_comma: bool) -> float | None:
    if _NUMBER.fullmatch(cell):
        return float(cell)
    if decimal_comma and _DECIMAL_COMMA.fullmatch(cell):
        return float(cell.replace(",", "."))
    return None


def _missing_column(name: str, header: list[str], key: str, where: Where, label: str) -> str:
    close = [h for h in header if h.lower() == name.lower()] or difflib.get_close_matches(name, header, n=1, cutoff=0.6)
    hint = f" (did you mean {clip(close[0])}?)" if close else ""
    shown = ", ".join(clip(h) for h in header[:12]) + (", …" if len(header) > 12 else "")
    return f"{located(where(key), key)}: no column {clip(name)} in {label}{hint} — the columns are {shown}"


def plan(table: Table, *, target: tuple[str, ...], features: tuple[str, ...] | None,
         categorical: tuple[str, ...], where: Where, whole: bool = True) -> Plan:
    """Check the table against ``data.target/features/categorical`` and every used cell; raise all problems.

    ``whole=False``: some rows could not be read (they are reported on their own), so
    what the rows read say about a whole column (a target with one value) is not checked.
    """
    header, label = table.header, table.label
    index = {name: i for i, name in enumerate(header)}
    errors: list[str] = []
    for key, names in (("data.target", target), ("data.features", features or ()),
                       ("data.categorical", categorical)):
        for name in names:
            if name not in index:
                errors.append(_missing_column(name, header, key, where, label))
        for name in {n for n in names if names.count(n) > 1}:
            errors.append(f"{located(where(key), key)}: {clip(name)} is listed twice — list each column once")
    targets = [index[n] for n in dict.fromkeys(target) if n in index]
    if features is None:
        feature_cols = [i for i in range(len(header)) if i not in targets]
    else:
        feature_cols = [index[n] for n in dict.fromkeys(features) if n in index]
        for name in features:
            if name in target:
                errors.append(f"{located(where('data.features'), 'data.features')}: {clip(name)} is also the target — "
                              "a column is either predicted or used as an input, not both")
                break
        feature_cols = [i for i in feature_cols if i not in targets]
    if target and not feature_cols and not errors:
        errors.append(f"{located(where('data.target'), 'data.target')}: every column of {label} is a target, so the network "
                      "has no inputs — leave at least one column out of data.target")
    forced = {index[n] for n in categorical if n in index}
    for name in categorical:
        if name in index and index[name] not in targets and index[name] not in feature_cols:
            errors.append(f"{located(where('data.categorical'), 'data.categorical')}: {clip(name)} is neither a target nor an input "
                          "— remove it, or add it to data.features")
    if errors:
        raise ConfigError(*errors)

    decimal_comma = table.delimiter != ","
    cats: set[int] = set()
    values: dict[int, np.ndarray] = {}
    problems: list[str] = []
    hidden = 0

    def report(row: int, col: int, what: str) -> None:
        nonlocal hidden
        if len(problems) < MAX_LISTED:
            problems.append(f"{table.position(row, col)}: {what}")
        else:
            hidden += 1

    for col in feature_cols + targets:
        name = header[col]
        cells = [row[col] for row in table.rows]
        numbers = [_number(c, decimal_comma) for c in cells]
        numeric = col not in forced and any(v is not None or _NONFINITE.fullmatch(c) for v, c in zip(numbers, cells))
        if not numeric:
            cats.add(col)
            for r, cell in enumerate(cells):
                if not cell:
                    report(r, col, f"empty cell in column {clip(name)} — fill it in or remove the row")
            continue
        column = np.empty(len(cells))
        for r, (cell, value) in enumerate(zip(cells, numbers)):
            if value is not None and math.isfinite(value):
                column[r] = value
                continue
            column[r] = np.nan
            if not cell:
                report(r, col, f"empty cell in numeric column {clip(name)} — fill it in or remove the row")
            elif value is not None or _NONFINITE.fullmatch(cell):
                report(r, col, f"{clip(cell)} in column {clip(name)} is not a finite number — give a real value or remove the row")
            elif cell.lower() in _MISSING:
                report(r, col, f"missing value {clip(cell)} in numeric column {clip(name)} — fill it in or remove the row")
            else:
                report(r, col, f"{clip(cell)} in column {clip(name)} is not a number — fix the value, or list {clip(name)} "
                               "in data.categorical to treat the column as categories")
        values[col] = column
    if hidden:
        problems.append(f"{label}: {count(hidden, 'more problem cell')} — fix the ones above, then run again to see the rest")
    for col in sorted(cats):
        distinct = len(set(row[col] for row in table.rows))
        if distinct > MAX_CATEGORIES:
            key = "data.target" if col in targets else "data.features"
            problems.append(f"{label}:{table.header_line}: column {clip(header[col])} holds text with {distinct} different "
                            f"values; one-hot encoding would need {distinct} {'outputs' if col in targets else 'inputs'} "
                            f"— leave it out with {key}, or use a column with fewer categories")
    for col in targets:
        kinds = set(row[col] for row in table.rows) if col in cats else set(values[col][np.isfinite(values[col])])
        if len(kinds) == 1 and len(table.rows) >= 1 and not problems and whole:
            only = next(iter(kinds))
            what = f"only one class, {clip(only)}" if col in cats else f"the same value, {only:g}, in every row"
            problems.append(f"{located(where('data.target'), 'data.target')}: column {clip(header[col])} of {label} holds {what} — "
                            "a network can only learn to tell apart at least two; use data with more than one")
    if problems:
        raise ConfigError(*problems)
    return Plan(feature_cols, targets, cats, values)


def check(path: Path, *, target: tuple[str, ...] = (), features: tuple[str, ...] | None = None,
          categorical: tuple[str, ...] = (), where: Where) -> tuple[Table | None, Plan | None, list[str]]:
    """Read a CSV file and check it against the data settings: every problem, of the file and of its columns."""
    table, errors = scan(path, origin=where("data.csv"))
    if table is None or not target:
        return table, None, errors
    try:
        found = plan(table, target=target, features=features, categorical=categorical, where=where,
                     whole=not errors)
    except ConfigError as exc:
        return table, None, errors + list(exc.messages)
    return table, (None if errors else found), errors


def problems(path: Path, *, target: tuple[str, ...] = (), features: tuple[str, ...] | None = None,
             categorical: tuple[str, ...] = (), where: Where) -> list[str]:
    """Every problem of a CSV file and the data settings that refer to it (for the config's report)."""
    return check(path, target=target, features=features, categorical=categorical, where=where)[2]


# --------------------------------------------------------------------------- encoding

def _order(labels) -> list[str]:
    """Categories sorted naturally: numbers by value first, then text."""
    def key(v: str):
        number = _number(v, True)
        return (0, number, "") if number is not None else (1, 0.0, v)
    return sorted(set(labels), key=key)


def _md(text: str) -> str:
    """Text made literal for the Markdown the slides run it through (HTML escaping happens later)."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|~])", r"\\\1", " ".join(str(text).split()))


def _names(names) -> str:
    names = list(names)
    if len(names) > 6:
        names = names[:5] + ["…"]
    return ", ".join(names)


def _tame(x: np.ndarray) -> np.ndarray:
    """``x`` divided by its largest magnitude when that is so large or small that squares would overflow or vanish."""
    m = float(np.abs(x).max())
    return x / m if m > 1e150 or 0 < m < 1e-150 else x


def _minmax(x: np.ndarray) -> np.ndarray:
    """``(x - min) / (max - min)``, free of overflow even near the float limits."""
    if x.min() == x.max():
        return np.zeros(len(x))
    x = _tame(x)
    return (x - x.min()) / (x.max() - x.min())


def _standard(x: np.ndarray) -> np.ndarray:
    """``(x - mean) / standard deviation`` (population), free of overflow like :func:`_minmax`."""
    if x.min() == x.max():
        return np.zeros(len(x))
    x = _tame(x)
    std = x.std()
    return (x - x.mean()) / std if std > 0 else np.zeros(len(x))


def encode(table: Table, p: Plan, scale: str) -> dict:
    """Numbers for the network: scaled numeric inputs, one-hot categories and targets; names; a description."""
    header = table.header
    n = len(table.rows)
    columns: list[np.ndarray] = []
    feature_names: list[str] = []
    cat_inputs, constant = [], []
    for col in p.features:
        name = header[col]
        if col in p.categorical:
            cats, ones = _one_hot(table, col)
            columns += ones
            feature_names += [f"{name}={c}" for c in cats]
            cat_inputs.append(name)
            continue
        x = p.values[col]
        if x.min() == x.max():
            constant.append(name)
        if scale == "minmax":
            x = _minmax(x)
        elif scale == "standard":
            x = _standard(x)
        columns.append(x)
        feature_names.append(name)
    X = np.column_stack(columns) if columns else np.zeros((n, 0))

    outputs: list[np.ndarray] = []
    target_names: list[str] = []
    class_names: tuple[str, ...] | None = None
    target_notes = []
    for col in p.targets:
        name = header[col]
        if col in p.categorical:
            cats, ones = _one_hot(table, col)
            outputs += ones
            if len(p.targets) == 1:
                class_names = tuple(cats)
                target_names += cats
            else:
                target_names += [f"{name}={c}" for c in cats]
            target_notes.append(f"the target {name} one-hot encoded, one output per class")
            continue
        y = p.values[col]
        lo, hi = float(y.min()), float(y.max())
        if lo < 0 or hi > 1:
            y = _minmax(y)
            target_notes.append(f"the target {name} scaled to 0–1 (from {lo:g} to {hi:g}), the range of the sigmoid output")
        outputs.append(y)
        target_names.append(name)
    y = np.column_stack(outputs)

    numeric = [header[c] for c in p.features if c not in p.categorical]
    parts = []
    if numeric:
        parts.append({"minmax": "numeric inputs scaled to 0–1 per column, (x − min) / (max − min)",
                      "standard": "numeric inputs standardised per column, (x − mean) / standard deviation",
                      "none": "numeric inputs used as they are in the file"}[scale])
    if cat_inputs:
        parts.append(f"text column{'s' if len(cat_inputs) > 1 else ''} {_names(cat_inputs)} one-hot encoded "
                     "(one 0/1 input per value)")
    parts += target_notes
    scaling = (parts[0][0].upper() + parts[0][1:] + "".join(f"; {s}" for s in parts[1:]) + ".") if parts else ""
    notes = tuple(f"Column {c} has the same value in every row, so it tells the network nothing." for c in constant)
    predicting = ", ".join(_md(header[c]) for c in p.targets)
    if class_names:
        predicting += f" ({len(class_names)} classes: {_names(_md(c) for c in class_names)})"
    description = f"Data from {_md(Path(table.label).name)}, predicting {predicting}."
    return {"X": X, "y": y, "feature_names": tuple(feature_names), "target_names": tuple(target_names),
            "class_names": class_names, "scaling": scaling, "notes": notes, "description": description}


def _one_hot(table, col: int) -> tuple[list[str], list[np.ndarray]]:
    """A text column as its categories (in order) and one 0/1 column per category."""
    cats = _order(row[col] for row in table.rows)
    cells = np.array([row[col] for row in table.rows], dtype=object)
    return cats, [(cells == c).astype(float) for c in cats]


def load_csv(config) -> "Dataset":
    """The :class:`~deckgen.data.Dataset` of the CSV file a config names (every problem raised at once)."""
    from .data import Dataset, shown_rows, with_bias_column

    data = config.data
    table, p, errors = check(Path(data.csv), target=data.target, features=data.features,
                             categorical=data.categorical, where=config.where)
    if errors or p is None:
        raise ConfigError(*errors)
    enc = encode(table, p, data.scale)
    used = p.features + p.targets
    raw = [tuple(row[c] for c in used) for row in table.rows]
    X, y, names = enc["X"], enc["y"], enc["feature_names"]
    order = np.arange(len(raw))
    if data.shuffle is not None:
        order = np.random.default_rng(data.shuffle).permutation(len(raw))
        X, y, raw = X[order], y[order], [raw[i] for i in order]
    if data.bias_column:
        X, names = with_bias_column(X, names)
    rows = shown_rows(data.rows, order, config)
    return Dataset(X=X, y=y, feature_names=names, target_names=enc["target_names"],
                   description=enc["description"], raw=tuple(raw), raw_header=tuple(table.header[c] for c in used),
                   class_names=enc["class_names"], scaling=enc["scaling"], rows=rows, notes=enc["notes"])
