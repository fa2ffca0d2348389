"""The trained network on rows it never saw: the forward pass of held-out test rows (``data.test_fraction``).

Training records its forward pass on the training rows only. Here the weights
at the end of the run are applied to the held-out rows, layer by layer, with
the same functions training used (the activation registry, one function per
layer as the trace's own ops name them), and the result is added to the trace
as ``Xtest``, ``ytest`` and ``atest`` (see :data:`deckgen.core.trace.HELDOUT`),
so every number the results slides show about test rows comes from the trace.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from deckgen.core.forward import forward


def evaluated_at(trace) -> int | None:
    """The iteration whose weights are evaluated: the last one with every weight matrix (``T`` after a full run)."""
    L = len(trace.layers) - 1
    for t in sorted(trace.kept, reverse=True):
        if all(trace.has(f"W{k}", t) for k in range(1, L + 1)) and trace.has(f"a{L}", t):
            return int(t)
    return None


def with_heldout(trace, X_test: np.ndarray | None, y_test: np.ndarray | None):
    """``trace`` with the held-out rows and the trained network's output on them (unchanged when there are none)."""
    if X_test is None or len(X_test) == 0:
        return trace
    t = evaluated_at(trace)
    if t is None:
        return trace
    X_test = np.ascontiguousarray(X_test, dtype=float)
    y_test = np.ascontiguousarray(y_test, dtype=float)
    with np.errstate(all="ignore"):
        a = forward(trace, X_test, t)
    return replace(trace, heldout={"Xtest": X_test, "ytest": y_test, "atest": a}, heldout_at=t)
