"""A CSV file as the network's :class:`~deckgen.data.Dataset`: gaps dropped or filled, rows held out, numbers scaled.

The order is the one results depend on: rows with a gap that ``data.missing``
drops go first; then the rows are shuffled (``data.shuffle``) and
``data.test_fraction`` of them held out; means that fill gaps and the ranges that
scale the numbers come from the training rows only, so nothing of the test rows
leaks into training.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from deckgen.data.csvfile import Plan, check, encode
from deckgen.data.csvread import Table, Where, clip
from deckgen.data.dataset import Dataset, shown_rows, split_rows, with_bias_column
from deckgen.errors import ConfigError, count, located


def _mend(table: Table, p: Plan, missing: str, where: Where) -> tuple[Table, Plan, np.ndarray]:
    """Leave out the rows with a gap that ``data.missing`` drops; returns the table, the plan and the kept file rows.

    "drop": every row with a gap in a used column. "mean": rows with a gap in a text
    column or a target (a mean exists only for number inputs, filled in later).
    """
    n = len(table.rows)
    keep = np.ones(n, dtype=bool)
    for col, holes in p.gaps.items():
        if missing == "drop" or col in p.categorical or col in p.targets:
            keep &= ~holes
    kept = np.nonzero(keep)[0]
    if len(kept) < 2:
        raise ConfigError(f"{located(where('data.missing'), 'data.missing')}: {count(n - len(kept), 'row')} of "
                          f"{n} in {table.label} have a gap, which leaves {count(len(kept), 'row')} to train on — "
                          'fill in the gaps, or use "mean" to fill number columns')
    if len(kept) == n:
        return table, p, kept
    table = replace(table, rows=[table.rows[i] for i in kept], lines=[table.lines[i] for i in kept])
    p = replace(p, values={c: v[kept] for c, v in p.values.items()},
                gaps={c: g[kept] for c, g in p.gaps.items() if g[kept].any()})
    return table, p, kept


def _fill(table: Table, p: Plan, fit: np.ndarray, where: Where) -> tuple[Plan, int]:
    """Number columns' gaps filled with the mean of the column over the rows ``fit`` (the training rows)."""
    values, filled = dict(p.values), 0
    for col, holes in p.gaps.items():
        if col not in values:
            continue
        known = fit & ~holes
        if not known.any():
            raise ConfigError(f"{located(where('data.missing'), 'data.missing')}: column {clip(table.header[col])} "
                              f"of {table.label} has no value in any training row, so it has no mean — "
                              "fill it in, or leave the column out with data.features")
        column = values[col].copy()
        column[holes] = column[known].mean()
        values[col], filled = column, filled + int(holes.sum())
    return replace(p, values=values, gaps={}), filled


def load_csv(config) -> Dataset:
    """The :class:`~deckgen.data.Dataset` of the CSV file a config names (every problem raised at once).

    Rows with gaps are dropped or filled as ``data.missing`` says; then the rows are
    shuffled (``data.shuffle``) and ``data.test_fraction`` of them held out. Scaling
    and means come from the training rows only.
    """
    data = config.data
    table, p, errors = check(Path(data.csv), target=data.target, features=data.features,
                             categorical=data.categorical, where=config.where, missing=data.missing)
    if errors or p is None:
        raise ConfigError(*errors)
    total = len(table.rows)
    table, p, kept = _mend(table, p, data.missing, config.where)
    n = len(table.rows)
    order = np.arange(n)
    if data.shuffle is not None:
        order = np.random.default_rng(data.shuffle).permutation(n)
    train, test = split_rows(n, config)
    fit = None
    if len(test):
        fit = np.zeros(n, dtype=bool)
        fit[order[train]] = True
    p, filled = _fill(table, p, fit if fit is not None else np.ones(n, dtype=bool), config.where)
    enc = encode(table, p, data.scale, fit, config.network.output)
    used = p.features + p.targets
    raw = [tuple(row[c] for c in used) for row in table.rows]
    X, y, names = enc["X"], enc["y"], enc["feature_names"]
    if data.shuffle is not None:
        X, y, raw = X[order], y[order], [raw[i] for i in order]
    if data.bias_column:
        X, names = with_bias_column(X, names)
    file_rows = kept[order]
    rows = shown_rows(data.rows, file_rows[train], config, total=total, held=file_rows[test])
    held = {}
    if len(test):
        held = {"X_test": X[test], "y_test": y[test], "raw_test": tuple(raw[i] for i in test),
                "file_rows_test": tuple(int(r) for r in file_rows[test])}
        X, y, raw = X[train], y[train], [raw[i] for i in train]
    return Dataset(X=X, y=y, feature_names=names, target_names=enc["target_names"],
                   description=enc["description"], raw=tuple(raw), raw_header=tuple(table.header[c] for c in used),
                   class_names=enc["class_names"], scaling=enc["scaling"], rows=rows, notes=enc["notes"],
                   file_rows=tuple(int(r) for r in file_rows[train]), target_range=enc["target_range"],
                   dropped=total - n, filled=filled, file_columns=len(table.header), **held)
