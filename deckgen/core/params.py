"""The starting parameters of a run, and the checks every matrix handed to training passes."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from deckgen.core.activations import ACTIVATIONS
from deckgen.core.losses import loss_of, target_problem


#: Random initial weights are uniform in [low, high).
INIT_RANGE = (-1, 1)


def initial_weights(layers: Sequence[int], seed: int) -> list[np.ndarray]:
    """Uniform weights in :data:`INIT_RANGE`, [-1, 1), drawn layer by layer from ``np.random.RandomState(seed)``.

    The same draws as Trask's ``2*np.random.random((n, m)) - 1`` after
    ``np.random.seed(seed)``: with seed 1, ``W1`` of a 3-4-1 network starts
    ``[-0.16595599, 0.44064899, -0.99977125, -0.39533485]``.
    """
    rs = np.random.RandomState(seed)
    low, high = INIT_RANGE
    return [(high - low) * rs.random_sample((n, m)) + low for n, m in zip(layers[:-1], layers[1:])]


def initial_params(layers, weights, biases, bias, seed) -> dict[str, np.ndarray]:
    """``W{k}`` (and ``b{k}``, 1 x n_k) as float copies, checked against ``layers``."""
    pairs = list(zip(layers[:-1], layers[1:]))
    if weights is None:
        weights = initial_weights(layers, seed)
    if len(weights) != len(pairs):
        raise ValueError(f"weights: expected {len(pairs)} matrices for layers {list(layers)}, got {len(weights)}")
    params = {f"W{k}": matrix(f"W{k}", w, shape) for k, (w, shape) in enumerate(zip(weights, pairs), 1)}
    if biases is not None and not bias:
        raise ValueError("biases were given but bias is off")
    if bias:
        biases = [np.zeros(m) for m in layers[1:]] if biases is None else biases
        if len(biases) != len(pairs):
            raise ValueError(f"biases: expected {len(pairs)} lists for layers {list(layers)}, got {len(biases)}")
        for k, (b, m) in enumerate(zip(biases, layers[1:]), 1):
            params[f"b{k}"] = matrix(f"b{k}", np.reshape(b, (1, -1)), (1, m))
    return params


def matrix(name: str, value, shape: tuple[int | None, int]) -> np.ndarray:
    array = np.array(value, dtype=np.float64, ndmin=2)
    if array.ndim != 2 or any(want is not None and got != want for got, want in zip(array.shape, shape)):
        want = " x ".join("N" if n is None else str(n) for n in shape)
        raise ValueError(f"{name}: expected a {want} matrix, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name}: contains nan or infinity")
    return array


def checked(X, y, layers, activation, output, loss, iterations, learning_rate):
    """The arguments of a training run checked (ValueError when one is wrong): layers, T, eta, X, y."""
    layers = tuple(int(n) for n in layers)
    if len(layers) < 2 or min(layers) < 1:
        raise ValueError(f"layers must be at least two positive sizes, got {list(layers)}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    loss_of(output, loss)     # raises for a pair that does not go together
    T = int(iterations)
    if T < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    lr = float(learning_rate)
    if not np.isfinite(lr):
        raise ValueError(f"learning_rate must be finite, got {learning_rate}")
    X = matrix("X", X, (None, layers[0]))
    if len(X) == 0:
        raise ValueError("X: needs at least one row")
    y = matrix("y", np.reshape(y, (-1, 1)) if np.ndim(y) == 1 else y, (len(X), layers[-1]))
    problem = target_problem(output, loss, y)
    if problem:
        raise ValueError(f"y: {problem}")
    return layers, T, lr, X, y


def finite_prefix(values):
    """Names of the leading values that are all finite."""
    names = []
    for name, value in values:
        if not np.isfinite(value).all():
            break
        names.append(name)
    return names
