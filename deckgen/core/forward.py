"""The network's forward pass from a trace's weights, on any rows: with the functions training used.

Used for the held-out test rows, for a mini-batch run again through updated
weights, and for the chain rule's check by nudging one weight.
"""

from __future__ import annotations

import numpy as np

from deckgen.core.activations import FUNCTIONS


def forward(trace, X: np.ndarray, t: int, change: tuple[int, int, int, float] | None = None) -> np.ndarray:
    """The output on rows ``X`` with the weights (and biases) of iteration ``t``; ``change = (k, i, j, by)``
    adds ``by`` to ``W{k}[i, j]`` first. Each layer's function is the one the trace's own ops name."""
    L = len(trace.layers) - 1
    a = np.asarray(X, dtype=float)
    for k in range(1, L + 1):
        W = trace.get(f"W{k}", t)
        if change is not None and change[0] == k:
            W = np.array(W, dtype=float)
            W[change[1], change[2]] += change[3]
        z = a @ W
        if trace.bias:
            z = z + trace.get(f"b{k}", t)
        a = np.empty_like(z)
        FUNCTIONS[trace.op(f"a{k}")[0]].forward(z, a)
    return a
