"""Loss functions (``training.loss``), which output functions each pairs with, and the output delta.

The trace records ``d{L} = -dL/dz{L}``. With cross-entropy the output
function's slope cancels against the loss's, for softmax and for sigmoid
alike, and the delta is the error itself, ``e = y - a``; a linear output
trained on squared loss has slope 1 and the same delta. Only sigmoid with
squared loss keeps the slope: ``e * a(1 - a)``.

Cross-entropy takes logarithms of the outputs. An output that rounds to
exactly 0 (or, for ``ln(1 - a)``, to exactly 1) would give ``ln 0 = -inf``;
inside the logarithm only, each argument is raised to at least :data:`TINY`
(the smallest normal double, about 2.2e-308), so a confidently wrong cell costs
at most about 708 rather than infinity. ``a`` itself is never changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from deckgen.core.activations import OUTPUTS

#: The smallest argument a logarithm of the cross-entropy sees (see the module's docstring).
TINY = np.finfo(np.float64).tiny


def _ln(x):
    return np.log(np.maximum(x, TINY))


def squared(y, a, e) -> float:
    """``1/2 * sum(e^2)``."""
    flat = np.ravel(e)
    return float(0.5 * np.dot(flat, flat))


def cross_entropy(y, a, e) -> float:
    """``-sum(y * ln a)``: the cross-entropy of a softmax output (each target row sums to 1)."""
    with np.errstate(all="ignore"):
        return float(-np.sum(y * _ln(a)))


def binary_cross_entropy(y, a, e) -> float:
    """``-sum(y * ln a + (1 - y) * ln(1 - a))``: the cross-entropy of sigmoid outputs, one per column."""
    with np.errstate(all="ignore"):
        return float(-np.sum(y * _ln(a) + (1.0 - y) * _ln(1.0 - a)))


@dataclass(frozen=True)
class Loss:
    """One loss as it applies to one output function."""

    op: str                                      # the trace's op name for ``loss``
    operands: tuple[str, ...]                    # its operands' names with L for the layer: ("e",) or ("y", "a")
    value: Callable[[np.ndarray, np.ndarray, np.ndarray], float]   # value(y, a, e) of one iteration
    formula: str                                 # LaTeX, with {L} for the output layer
    delta_is_error: bool                         # d{L} = e{L} (else e{L} * f'(a{L}))


_SQUARED = Loss("half_sum_sq", ("e",), squared, r"\mathcal{{L}} = \frac{{1}}{{2}} \sum e_{{{L}}}^{{2}}", False)
_LINEAR_SQUARED = Loss("half_sum_sq", ("e",), squared, _SQUARED.formula, True)
_SOFTMAX_CE = Loss("cross_entropy", ("y", "a"), cross_entropy, r"\mathcal{{L}} = -\sum y \ln a_{{{L}}}", True)
_SIGMOID_CE = Loss("binary_cross_entropy", ("y", "a"), binary_cross_entropy,
                   r"\mathcal{{L}} = -\sum \left[ y \ln a_{{{L}}} + (1 - y) \ln (1 - a_{{{L}}}) \right]", True)

#: ``training.loss`` -> output function -> :class:`Loss`; a missing pair is not allowed.
LOSSES: dict[str, dict[str, Loss]] = {
    "squared": {"sigmoid": _SQUARED, "linear": _LINEAR_SQUARED},
    "cross_entropy": {"softmax": _SOFTMAX_CE, "sigmoid": _SIGMOID_CE},
}

#: The default loss (``training.loss``).
LOSS = "squared"


def pair_problem(output: str, loss: str) -> str | None:
    """Why an output function and a loss do not go together (and what to use), or None when they do."""
    if output not in OUTPUTS:
        return f"unknown output {output!r}; choose one of {', '.join(OUTPUTS)}"
    if loss not in LOSSES:
        return f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}"
    if output in LOSSES[loss]:
        return None
    if output == "softmax":
        return 'a softmax output needs cross-entropy: use training.loss = "cross_entropy"'
    return 'cross-entropy needs a softmax or sigmoid output: use network.output = "softmax" or "sigmoid", ' \
           'or training.loss = "squared" for a linear output'


def loss_of(output: str, loss: str) -> Loss:
    """The :class:`Loss` of this pair; ValueError when they do not go together."""
    problem = pair_problem(output, loss)
    if problem:
        raise ValueError(problem)
    return LOSSES[loss][output]


def output_delta(output: str, loss: str) -> Callable[[np.ndarray, np.ndarray, np.ndarray], None]:
    """``delta(e, a, d)`` of the output layer, writing ``d{L} = -dL/dz{L}`` into ``d``."""
    if loss_of(output, loss).delta_is_error:
        return OUTPUTS["linear"].delta          # d = e
    return OUTPUTS[output].delta


def target_problem(output: str, loss: str, y) -> str | None:
    """Why targets ``y`` do not suit this output and loss, or None.

    Softmax with cross-entropy needs every target row to be a probability
    distribution (non-negative, summing to 1, like one-hot classes): only then
    is ``y - a`` the gradient. Sigmoid with cross-entropy needs targets in [0, 1].
    """
    y = np.asarray(y, dtype=float)
    if output == "softmax" and y.shape[1] < 2:
        return "a softmax output needs at least 2 output units (one per class)"
    if loss != "cross_entropy":
        return None
    if np.any(y < 0) or np.any(y > 1):
        return "cross-entropy needs targets between 0 and 1"
    if output == "softmax" and not np.allclose(y.sum(axis=1), 1.0, rtol=0, atol=1e-9):
        return "softmax with cross-entropy needs each target row to add up to 1 (one class per row, one-hot)"
    return None
