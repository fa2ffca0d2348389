"""Datasets: the built-in examples, literal matrices from the config, and CSV files.

Everything ends up as a :class:`Dataset`: the (scaled) input matrix ``X`` that
the network sees, the target matrix ``y``, and the names the slides need.
:func:`resolve_layers` then checks the network against the data (layer widths,
explicit weights, and whether recording the run fits the memory budget), so that
every problem is found before training starts.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from .config import Config, ConfigError, biases_problem, count, located, weights_problem

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
    raw: tuple[tuple[str, ...], ...] | None = None   # the used columns as read (row order of X), for display
    raw_header: tuple[str, ...] | None = None
    class_names: tuple[str, ...] | None = None       # when the target is one categorical column
    scaling: str = ""                                # how the features were scaled, in words
    rows: tuple[int, ...] = ()                       # rows of X shown on the detailed slides
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_examples(self) -> int:
        return int(self.X.shape[0])


def with_bias_column(X: np.ndarray, names: tuple[str, ...]) -> tuple[np.ndarray, tuple[str, ...]]:
    """``X`` with Trask's constant-1 column appended."""
    return np.hstack([X, np.ones((X.shape[0], 1))]), names + ("1",)


def load_dataset(config: Config) -> Dataset:
    """Build the :class:`Dataset` a config describes (a bad CSV file raises every problem at once)."""
    data = config.data
    if data.csv is not None:
        from .csvdata import load_csv  # CSV handling lives in its own module
        return load_csv(config)
    if data.inputs is not None:
        X = np.array(data.inputs, dtype=float)
        y = np.array(data.targets, dtype=float)
        if X.shape[0] != y.shape[0]:
            raise ConfigError(f"{config.where('data.targets')}: data.targets has {count(y.shape[0], 'row')} but data.inputs "
                              f"has {X.shape[0]} — give one target row per input row")
        description = "Data given in the deck file."
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
    rows = shown_rows(data.rows, order, config)
    return Dataset(X=X, y=y, feature_names=names, target_names=target_names,
                   description=description, rows=rows)


def shown_rows(rows: tuple[int, ...] | None, order: np.ndarray, config: Config) -> tuple[int, ...]:
    """Rows of X to show, given ``data.rows`` in file order and ``order`` (file row of each X row)."""
    n = len(order)
    if rows is None:
        return tuple(range(n))
    bad = [r for r in rows if r >= n]
    if bad:
        raise ConfigError(f"{located(config.where('data.rows'), 'data.rows')}: row {bad[0]} does not exist (the data has {count(n, 'row')}, "
                          f"numbered 0 to {n - 1}) — pick rows below {n}")
    position = np.empty(n, dtype=int)
    position[order] = np.arange(n)
    return tuple(sorted(int(position[r]) for r in rows))


def recording_bytes(layers: tuple[int, ...], n_examples: int, bias: bool) -> int:
    """Bytes of one iteration's recorded matrices: W z a e d dW (and b db) of every layer."""
    total = 0
    for k in range(1, len(layers)):
        total += 2 * layers[k - 1] * layers[k] + 4 * n_examples * layers[k] + (2 * layers[k] if bias else 0)
    return 8 * total


def minimum_kept(config: Config) -> int:
    """How many iterations training keeps at the least: the explained ones (and the next, for the
    update slides), the checkpoints and the last two."""
    T = config.training.iterations
    marks = config.deck.checkpoints
    kept = {s for t in config.deck.explain for s in (t, t + 1)} | {max(T - 1, 0), T}
    if isinstance(marks, int):
        return T // marks + 1 + len({t for t in kept if t % marks})
    return len(kept | {t for t in marks if t <= T})


def machine_memory() -> int | None:
    """This machine's physical memory in bytes, when the system says."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB" if n >= 2**20 else f"{n / 2**20:.2f} MB"


def resolve_layers(config: Config, dataset: Dataset) -> tuple[int, ...]:
    """Layer sizes with ``"auto"`` filled in from the data.

    Raises every clash with the data at once: widths, explicit weights and biases
    of the wrong shapes, and a run too large to record under ``training.memory_budget_mb``.
    """
    layers = list(config.network.layers)
    n_in, n_out = dataset.X.shape[1], dataset.y.shape[1]
    if layers[0] == "auto":
        layers[0] = n_in
    if layers[-1] == "auto":
        layers[-1] = n_out
    where = config.where("network.layers")
    errors = []
    if layers[0] != n_in:
        errors.append(f"{where}: network.layers starts with {count(layers[0], 'input')} but the data has "
                      f"{count(n_in, 'input column')} ({_names(dataset.feature_names)}) — use {n_in} or \"auto\"")
    if layers[-1] != n_out:
        errors.append(f"{where}: network.layers ends with {count(layers[-1], 'output')} but the data has "
                      f"{count(n_out, 'target column')} ({_names(dataset.target_names)}) — use {n_out} or \"auto\"")
    net = config.network
    if not errors and net.weights is not None:
        problem = weights_problem(layers, net.weights)
        if problem:
            errors.append(f"{config.where('network.weights')}: network.weights {problem}")
    if not errors and net.biases is not None:
        problem = biases_problem(layers, net.biases)
        if problem:
            errors.append(f"{config.where('network.biases')}: network.biases {problem}")
    if not errors:
        per_iteration = recording_bytes(tuple(layers), dataset.n_examples, net.bias)
        T = config.training.iterations
        kept = minimum_kept(config)
        need = per_iteration * kept + 16 * (T + 1) + dataset.X.nbytes + dataset.y.nbytes
        budget = config.training.memory_budget_mb * 2**20
        memory = machine_memory()
        if memory is not None and need > memory / 2:
            errors.append(
                f"{located(config.where('network.layers'), 'network.layers')}: recording this run needs about "
                f"{_mb(need)} ({count(dataset.n_examples, 'row')}, {_mb(per_iteration)} per recorded iteration, "
                f"{count(kept, 'iteration')} that must be kept), more than half of this machine's memory "
                f"({_mb(memory)}) — use fewer rows, hidden units, checkpoints or iterations")
        elif need > budget:
            errors.append(
                f"{located(config.where('training.memory_budget_mb'), 'training.memory_budget_mb')}: recording this run needs "
                f"about {_mb(need)} ({count(dataset.n_examples, 'row')}, {_mb(per_iteration)} per recorded iteration, "
                f"{count(kept, 'iteration')} that must be kept, plus the error of all {T:,}), more than the budget of "
                f"{_mb(budget)} — raise training.memory_budget_mb to {math.ceil(need / 2**20 * 1.1)}, "
                "or use fewer rows, hidden units, checkpoints or iterations")
    if errors:
        raise ConfigError(*errors)
    return tuple(int(n) for n in layers)


def _names(names) -> str:
    names = [" ".join(str(n).split()) for n in names]
    return ", ".join(names[:6] + (["…"] if len(names) > 6 else []))
