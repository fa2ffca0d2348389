"""What a trained network computes, in words a logic class would use.

For binary inputs, each unit's output over the examples is a truth table; when
that table is one of the sixteen functions of two inputs (or a copy of one
input, or a constant) it gets its name. These are facts of the run, read from
its activations; the slides quote them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The functions of two inputs a and b, by their outputs on (0,0), (0,1), (1,0), (1,1).
_TWO = {
    (0, 0, 0, 0): "always 0", (1, 1, 1, 1): "always 1",
    (0, 0, 0, 1): "{a} AND {b}", (0, 1, 1, 1): "{a} OR {b}", (1, 1, 1, 0): "{a} NAND {b}", (1, 0, 0, 0): "{a} NOR {b}",
    (0, 1, 1, 0): "{a} XOR {b}", (1, 0, 0, 1): "{a} XNOR {b}",
    (0, 0, 1, 1): "a copy of {a}", (0, 1, 0, 1): "a copy of {b}",
    (1, 1, 0, 0): "NOT {a}", (1, 0, 1, 0): "NOT {b}",
    (0, 0, 1, 0): "{a} AND NOT {b}", (0, 1, 0, 0): "{b} AND NOT {a}",
    (1, 0, 1, 1): "{a} OR NOT {b}", (1, 1, 0, 1): "{b} OR NOT {a}",
}


@dataclass(frozen=True)
class Inputs:
    """Which input columns vary (binary) and which are constant, when the data is binary."""

    varying: tuple[int, ...]
    constant: tuple[int, ...]


def binary_inputs(X: np.ndarray) -> Inputs | None:
    """The binary columns of ``X`` split into varying and constant ones; None unless every value is 0 or 1."""
    if X.size == 0 or not np.all((X == 0) | (X == 1)):
        return None
    varying = tuple(c for c in range(X.shape[1]) if X[:, c].min() != X[:, c].max())
    constant = tuple(c for c in range(X.shape[1]) if c not in varying)
    return Inputs(varying, constant)


#: A unit whose output is this close to the middle of its range for some input has not decided.
UNDECIDED = 0.02


def threshold(activation: str) -> float:
    """Where a unit counts as "on": the middle of its range (relu, unbounded above: anything above 0).

    A linear output has no range: 0.5, halfway between targets 0 and 1. A softmax
    output above 0.5 is larger than all the others together.
    """
    return 0.0 if activation in ("tanh", "relu") else 0.5


def decisions(output: str, a) -> np.ndarray | None:
    """The class each row of outputs ``a`` chooses, or None for a linear output (it predicts numbers).

    Softmax, or several sigmoid outputs: the largest output. One sigmoid
    output: class 1 when it is above 0.5, else class 0.
    """
    a = np.asarray(a, dtype=float)
    if output == "linear" or a.ndim != 2:
        return None
    if a.shape[1] == 1:
        return (a[:, 0] > threshold(output)).astype(int)
    return np.argmax(a, axis=1)


def name_of(bits: dict[tuple[int, ...], int], names: tuple[str, str]) -> str | None:
    """The name of a function of two binary inputs given its output per input pair, or None when partial."""
    table = tuple(bits.get(pair) for pair in ((0, 0), (0, 1), (1, 0), (1, 1)))
    if None in table:
        return None
    return _TWO[table].format(a=names[0], b=names[1])


def unit_function(X: np.ndarray, outputs: np.ndarray, inputs: Inputs, names: tuple[str, ...],
                  activation: str) -> str | None:
    """The logic function a unit computes over the two varying inputs, or None.

    ``outputs``: the unit's activation for each row of ``X``. None when the
    inputs do not vary in exactly two columns, when the rows do not cover the
    four combinations, or when two rows with the same inputs disagree.
    """
    if len(inputs.varying) != 2:
        return None
    if activation != "relu" and np.any(np.abs(outputs - threshold(activation)) < UNDECIDED):
        middle = np.abs(outputs - threshold(activation)) < UNDECIDED
        return "undecided: " + ("every output sits" if np.all(middle) else "some outputs sit") + " at the middle"
    on = outputs > threshold(activation)
    bits: dict[tuple[int, ...], int] = {}
    for row, value in zip(X[:, list(inputs.varying)].astype(int), on):
        key = tuple(int(v) for v in row)
        if bits.setdefault(key, int(value)) != int(value):
            return None
    return name_of(bits, (names[inputs.varying[0]], names[inputs.varying[1]]))


def xor_like(X: np.ndarray, y: np.ndarray) -> tuple[int, int] | None:
    """The two input columns whose XOR the (single) target is, when there are such columns."""
    inputs = binary_inputs(X)
    if inputs is None or y.shape[1] != 1 or not np.all((y == 0) | (y == 1)):
        return None
    for a in inputs.varying:
        for b in inputs.varying:
            if a < b and np.array_equal((X[:, a] != X[:, b]).astype(float), y[:, 0]):
                return a, b
    return None
