"""Datasets: the built-in examples, literal matrices from the config, and CSV files.

Everything ends up as a :class:`Dataset`: the (scaled) input matrix ``X`` that
the network sees, the target matrix ``y``, and the names the slides need.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .config import Config, ConfigError

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


@dataclass(frozen=True)
class Dataset:
    """What the network trains on, plus what the slides say about it."""

    X: np.ndarray                       # N x n0, after scaling (and the bias column)
    y: np.ndarray                       # N x nL
    feature_names: tuple[str, ...]      # one per column of X
    target_names: tuple[str, ...]       # one per column of y
    description: str = ""
    raw: tuple[tuple[str, ...], ...] | None = None   # the table as read, for display
    raw_header: tuple[str, ...] | None = None
    class_names: tuple[str, ...] | None = None       # when the target is one categorical column
    scaling: str = ""                                # how the features were scaled, in words
    rows: tuple[int, ...] = ()                       # rows shown on the detailed slides
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_examples(self) -> int:
        return int(self.X.shape[0])


def _with_bias_column(X: np.ndarray, names: tuple[str, ...]) -> tuple[np.ndarray, tuple[str, ...]]:
    return np.hstack([X, np.ones((X.shape[0], 1))]), names + ("1",)


def load_dataset(config: Config) -> Dataset:
    """Build the :class:`Dataset` a config describes."""
    data = config.data
    if data.csv is not None:
        from .csvdata import load_csv  # CSV handling lives in its own module
        return load_csv(config)
    if data.inputs is not None:
        X = np.array(data.inputs, dtype=float)
        y = np.array(data.targets, dtype=float)
        if X.shape[0] != y.shape[0]:
            raise ConfigError(f"{config.source}: data.inputs has {X.shape[0]} rows but data.targets has "
                              f"{y.shape[0]} — give one target row per input row")
        description = "Data given in the deck file."
    else:
        inputs, targets, description = BUILTIN[data.dataset or "trask"]
        X = np.array(inputs, dtype=float)
        y = np.array(targets, dtype=float)
    names = tuple(f"x{i + 1}" for i in range(X.shape[1]))
    if data.bias_column:
        X, names = _with_bias_column(X, names)
    target_names = ("y",) if y.shape[1] == 1 else tuple(f"y{j + 1}" for j in range(y.shape[1]))
    rows = _shown_rows(data.rows, X.shape[0], config)
    return Dataset(X=X, y=y, feature_names=names, target_names=target_names,
                   description=description, rows=rows)


def _shown_rows(rows: tuple[int, ...] | None, n: int, config: Config) -> tuple[int, ...]:
    if rows is None:
        return tuple(range(n))
    bad = [r for r in rows if r >= n]
    if bad:
        raise ConfigError(f"{config.source}: data.rows: row {bad[0]} does not exist (the data has {n} rows, "
                          f"numbered 0 to {n - 1}) — pick rows below {n}")
    return rows


def resolve_layers(config: Config, dataset: Dataset) -> tuple[int, ...]:
    """Layer sizes with ``"auto"`` filled in from the data; a clash with the data is an error."""
    layers = list(config.network.layers)
    n_in, n_out = dataset.X.shape[1], dataset.y.shape[1]
    if layers[0] == "auto":
        layers[0] = n_in
    if layers[-1] == "auto":
        layers[-1] = n_out
    errors = []
    if layers[0] != n_in:
        errors.append(f"{config.source}: network.layers starts with {layers[0]} inputs but the data has "
                      f"{n_in} input columns ({', '.join(dataset.feature_names)}) — use {n_in} or \"auto\"")
    if layers[-1] != n_out:
        errors.append(f"{config.source}: network.layers ends with {layers[-1]} outputs but the data has "
                      f"{n_out} target columns — use {n_out} or \"auto\"")
    if errors:
        raise ConfigError(*errors)
    return tuple(int(n) for n in layers)
