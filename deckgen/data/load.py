"""Load the data a config names: a built-in example, literal matrices, or a CSV file."""

from __future__ import annotations

import numpy as np

from deckgen.config import Config
from deckgen.data.csvload import load_csv
from deckgen.data.dataset import Dataset, shown_rows, split_rows, with_bias_column
from deckgen.errors import ConfigError, count

_BINARY_INPUTS = [[0, 0], [0, 1], [1, 0], [1, 1]]

#: Built-in datasets: inputs, targets and a one-line description for the slides.
BUILTIN: dict[str, tuple[list, list, str]] = {
    "trask": ([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], [[0], [1], [1], [0]],
              "Trask's example: the output is the XOR of the first two inputs; the third input is always 1."),
    "trask-2layer": ([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], [[0], [0], [1], [1]],
                     "Trask's first example: the output copies the first input."),
    "xor": (_BINARY_INPUTS, [[0], [1], [1], [0]], "XOR: the output is 1 when exactly one input is 1."),
    "and": (_BINARY_INPUTS, [[0], [0], [0], [1]], "AND: the output is 1 when both inputs are 1."),
    "or": (_BINARY_INPUTS, [[0], [1], [1], [1]], "OR: the output is 1 when at least one input is 1."),
}


def load_dataset(config: Config) -> Dataset:
    """Build the :class:`Dataset` a config describes (a bad CSV file raises every problem at once)."""
    data = config.data
    if data.csv is not None:
        return load_csv(config)
    if data.inputs is not None:
        X = np.array(data.inputs, dtype=float)
        y = np.array(data.targets, dtype=float)
        if X.shape[0] != y.shape[0]:
            raise ConfigError(f"{config.where('data.targets')}: data.targets has {count(y.shape[0], 'row')} but data.inputs "
                              f"has {X.shape[0]} — give one target row per input row")
        description = "Inputs and targets written out as numbers, not read from a file."
    else:
        inputs, targets, description = BUILTIN[data.dataset or "trask"]
        X = np.array(inputs, dtype=float)
        y = np.array(targets, dtype=float)
    order = np.arange(X.shape[0])
    if data.shuffle is not None:
        order = np.random.default_rng(data.shuffle).permutation(X.shape[0])
        X, y = X[order], y[order]
    names = tuple(f"x{i + 1}" for i in range(X.shape[1]))
    if data.bias_column:
        X, names = with_bias_column(X, names)
    target_names = ("y",) if y.shape[1] == 1 else tuple(f"y{j + 1}" for j in range(y.shape[1]))
    train, test = split_rows(X.shape[0], config)
    rows = shown_rows(data.rows, order[train], config, total=len(order), held=order[test])
    held = {}
    if len(test):
        held = {"X_test": X[test], "y_test": y[test], "file_rows_test": tuple(int(r) for r in order[test])}
        X, y = X[train], y[train]
    return Dataset(X=X, y=y, feature_names=names, target_names=target_names,
                   description=description, rows=rows, file_rows=tuple(int(r) for r in order[train]), **held)
