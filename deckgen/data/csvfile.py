"""CSV datasets: check every cell of a table against the data settings, then encode and scale it.

A column is categorical when none of its values is a number, or when
``data.categorical`` names it; categorical columns are one-hot encoded
(``colour=red``). Numeric inputs are scaled as ``data.scale`` says. Every
problem found is reported at once, each one as
``file:line[:column]: what is wrong — what to do``.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deckgen.data.csvread import (MAX_LISTED, MAX_CATEGORIES, _NUMBER, _DECIMAL_COMMA, _NONFINITE, _MISSING, Where, Table, scan, clip)
from deckgen.errors import ConfigError, count, located

# --------------------------------------------------------------------------- checking

#: What the message of a gap adds: the setting that accepts gaps.
_KEY_HINT = ', or set data.missing = "drop" (or "mean") to drop (or fill) gaps'

@dataclass
class Plan:
    """Which columns are used, as what: the result of checking a table against the data settings."""

    features: list[int]
    targets: list[int]
    categorical: set[int]
    values: dict[int, np.ndarray]      # numeric columns, as numbers (NaN at a gap)
    gaps: dict[int, np.ndarray] = field(default_factory=dict)   # used columns with gaps: True at each gap


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


def _gap(cell: str) -> bool:
    """An empty cell, or one that says a value is missing (``NA``, ``n/a``, ``?``, ``nan``...)."""
    return not cell or cell.lower() in _MISSING or cell.lower() in ("nan", "+nan", "-nan")


def plan(table: Table, *, target: tuple[str, ...], features: tuple[str, ...] | None,
         categorical: tuple[str, ...], where: Where, whole: bool = True, missing: str = "error") -> Plan:
    """Check the table against ``data.target/features/categorical`` and every used cell; raise all problems.

    ``whole=False``: some rows could not be read (they are reported on their own), so
    what the rows read say about a whole column (a target with one value) is not checked.
    ``missing`` (``data.missing``): "error" reports every gap; otherwise gaps are
    recorded in :attr:`Plan.gaps` for the loader to drop or fill, and a gap in a
    text column is a gap too (not a category of its own).
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
    tolerant = missing != "error"
    gaps: dict[int, np.ndarray] = {}
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
            if tolerant:
                holes = np.array([_gap(c) for c in cells], dtype=bool)
                if holes.any():
                    gaps[col] = holes
                continue
            for r, cell in enumerate(cells):
                if not cell:
                    report(r, col, f"empty cell in column {clip(name)} — fill it in or remove the row{_KEY_HINT}")
            continue
        column = np.empty(len(cells))
        for r, (cell, value) in enumerate(zip(cells, numbers)):
            if value is not None and math.isfinite(value):
                column[r] = value
                continue
            column[r] = np.nan
            if tolerant and _gap(cell):
                gaps.setdefault(col, np.zeros(len(cells), dtype=bool))[r] = True
            elif not cell:
                report(r, col, f"empty cell in numeric column {clip(name)} — fill it in or remove the row{_KEY_HINT}")
            elif value is not None or _NONFINITE.fullmatch(cell):
                report(r, col, f"{clip(cell)} in column {clip(name)} is not a finite number — give a real value or remove the row")
            elif cell.lower() in _MISSING:
                report(r, col, f"missing value {clip(cell)} in numeric column {clip(name)} — fill it in or remove the "
                               f"row{_KEY_HINT}")
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
        kinds = (set(row[col] for r, row in enumerate(table.rows) if col not in gaps or not gaps[col][r])
                 if col in cats else set(values[col][np.isfinite(values[col])]))
        if len(kinds) == 1 and len(table.rows) >= 1 and not problems and whole:
            only = next(iter(kinds))
            what = f"only one class, {clip(only)}" if col in cats else f"the same value, {only:g}, in every row"
            problems.append(f"{located(where('data.target'), 'data.target')}: column {clip(header[col])} of {label} holds {what} — "
                            "a network can only learn to tell apart at least two; use data with more than one")
    if problems:
        raise ConfigError(*problems)
    return Plan(feature_cols, targets, cats, values, gaps)


def check(path: Path, *, target: tuple[str, ...] = (), features: tuple[str, ...] | None = None,
          categorical: tuple[str, ...] = (), where: Where, missing: str = "error") -> tuple[Table | None, Plan | None, list[str]]:
    """Read a CSV file and check it against the data settings: every problem, of the file and of its columns."""
    table, errors = scan(path, origin=where("data.csv"))
    if table is None or not target:
        return table, None, errors
    try:
        found = plan(table, target=target, features=features, categorical=categorical, where=where,
                     whole=not errors, missing=missing)
    except ConfigError as exc:
        return table, None, errors + list(exc.messages)
    return table, (None if errors else found), errors


def problems(path: Path, *, target: tuple[str, ...] = (), features: tuple[str, ...] | None = None,
             categorical: tuple[str, ...] = (), where: Where, missing: str = "error") -> list[str]:
    """Every problem of a CSV file and the data settings that refer to it (for the config's report)."""
    return check(path, target=target, features=features, categorical=categorical, where=where, missing=missing)[2]


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


def _minmax(x: np.ndarray, fit: np.ndarray | None = None) -> np.ndarray:
    """``(x - min) / (max - min)``, free of overflow even near the float limits.

    ``fit``: the rows (a mask) whose min and max are used, the training rows when some are held out.
    """
    ref = x if fit is None else x[fit]
    if ref.min() == ref.max():
        return np.zeros(len(x))
    x = _tame(x)
    ref = x if fit is None else x[fit]
    return (x - ref.min()) / (ref.max() - ref.min())


def _standard(x: np.ndarray, fit: np.ndarray | None = None) -> np.ndarray:
    """``(x - mean) / standard deviation`` (population), free of overflow like :func:`_minmax`."""
    ref = x if fit is None else x[fit]
    if ref.min() == ref.max():
        return np.zeros(len(x))
    x = _tame(x)
    ref = x if fit is None else x[fit]
    std = ref.std()
    return (x - ref.mean()) / std if std > 0 else np.zeros(len(x))


def encode(table: Table, p: Plan, scale: str, fit: np.ndarray | None = None, output: str = "sigmoid") -> dict:
    """Numbers for the network: scaled numeric inputs, one-hot categories and targets; names; a description.

    ``fit``: the rows (a mask) whose ranges scale the numbers, the training rows when some are
    held out (None: every row). ``target_range`` says, per target column, the ``(min, max)``
    a numeric target was scaled from (None: not scaled), so results can be shown in its units.
    ``output``: the network's output function. A sigmoid or softmax output needs targets in 0–1;
    a linear output could predict any number, and its target is scaled only to keep the steps of
    training small, every prediction being turned back into the target's units.
    """
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
            x = _minmax(x, fit)
        elif scale == "standard":
            x = _standard(x, fit)
        columns.append(x)
        feature_names.append(name)
    X = np.column_stack(columns) if columns else np.zeros((n, 0))

    outputs: list[np.ndarray] = []
    target_names: list[str] = []
    class_names: tuple[str, ...] | None = None
    target_notes = []
    target_range: list[tuple[float, float] | None] = []
    for col in p.targets:
        name = header[col]
        if col in p.categorical:
            cats, ones = _one_hot(table, col)
            outputs += ones
            target_range += [None] * len(ones)
            if len(p.targets) == 1:
                class_names = tuple(cats)
                target_names += cats
            else:
                target_names += [f"{name}={c}" for c in cats]
            target_notes.append(f"the target {name} one-hot encoded, one output per class")
            continue
        y = p.values[col]
        ref = y if fit is None else y[fit]
        lo, hi = float(ref.min()), float(ref.max())
        if lo < 0 or hi > 1:
            y = _minmax(y, fit)
            target_notes.append(f"the target {name} scaled to 0–1 (from {lo:g} to {hi:g}) for training, so that its "
                                "steps stay small; every prediction of it is shown turned back into its own units"
                                if output == "linear" else
                                f"the target {name} scaled to 0–1 (from {lo:g} to {hi:g}), the range of the sigmoid output")
        target_range.append((lo, hi) if (lo < 0 or hi > 1) and lo < hi else None)
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
            "class_names": class_names, "scaling": scaling, "notes": notes, "description": description,
            "target_range": tuple(target_range)}


def _one_hot(table, col: int) -> tuple[list[str], list[np.ndarray]]:
    """A text column as its categories (in order) and one 0/1 column per category."""
    cats = _order(row[col] for row in table.rows)
    cells = np.array([row[col] for row in table.rows], dtype=object)
    return cats, [(cells == c).astype(float) for c in cats]
