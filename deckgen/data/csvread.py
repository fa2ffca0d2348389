"""CSV files as tables of text cells: read, detect the delimiter, split records, report structure problems.

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

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from deckgen.data.layers import _mb, machine_memory
from deckgen.errors import ConfigError, count, located
from deckgen.readfile import CSV_LIMIT, NotReadable, read_capped

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
