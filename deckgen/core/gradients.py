"""The chain rule for one weight, read from a trace, and the loss after nudging that weight.

The trace records ``d{k} = -dL/dz{k}`` and ``dW{k} = -eta * dL/dW{k}``. These
functions take one weight apart into the factors of the chain rule, per
example, so a slide can show why ``dW`` is what it is; and they run the
forward pass again with the weight nudged, so the gradient can be checked
the way a sceptic would: by trying. With mini-batches, the examples and the
loss are those of iteration ``t``'s batch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from deckgen.core.activations import layer_activations
from deckgen.core.forward import forward
from deckgen.core.losses import loss_of

#: A weight as the config names it: ``W2:0,0`` is row 0, column 0 of W2.
WEIGHT = re.compile(r"W(\d+):(\d+),(\d+)")
#: How far the check nudges a weight.
NUDGE = 0.001


@dataclass(frozen=True)
class Path:
    """One route from the weight's unit to the loss through a unit ``o`` of the next layer."""

    unit: int            # o
    upstream: float      # dL/dz{k+1}[n, o] = -d{k+1}[n, o]
    weight: float        # W{k+1}[j, o]


@dataclass(frozen=True)
class Factors:
    """``dL/dw`` for one example: ``dL/da * da/dz * dz/dw``.

    ``fused``: an output weight under cross-entropy, where the output's slope
    cancels against the loss's (for softmax the outputs are coupled, so no
    per-unit ``da/dz`` exists): ``dl_da`` then holds ``dL/dz = -e`` itself and
    ``da_dz`` is 1.
    """

    example: int
    dl_da: float                   # dL/da{k}[n, j] (dL/dz{k}[n, j] when fused)
    da_dz: float                   # f'(z{k}[n, j]) (1 when fused)
    dz_dw: float                   # a{k-1}[n, i] (the input the weight multiplies)
    paths: tuple[Path, ...] = ()   # for a hidden weight: dL/da as a sum over the next layer's units
    fused: bool = False

    @property
    def product(self) -> float:
        return self.dl_da * self.da_dz * self.dz_dw


def parse_weight(text: str) -> tuple[int, int, int] | None:
    """``"W2:0,1"`` -> ``(2, 0, 1)``; None when it is not written that way."""
    m = WEIGHT.fullmatch(text.strip())
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def slope(activation: str, a):
    """``f'(z)`` written with ``a = f(z)``: ``a(1-a)``, ``1-a^2``, ``[a > 0]`` or 1 (linear), for a number or an array.

    For softmax: ``a(1-a)``, the slope of each output with respect to its own ``z``.
    """
    if activation in ("sigmoid", "softmax"):
        return a * (1.0 - a)
    if activation == "tanh":
        return 1.0 - a * a
    if activation == "linear":
        return np.ones_like(a) if isinstance(a, np.ndarray) else 1.0
    return np.where(np.asarray(a) > 0, 1.0, 0.0)


def factors(trace, t: int, k: int, i: int, j: int) -> list[Factors]:
    """The chain-rule factors of ``W{k}[i, j]`` at iteration ``t``, one per example."""
    L = len(trace.layers) - 1
    act = layer_activations(L, trace.activation, trace.output)[k - 1]
    fused = k == L and trace.loss == "cross_entropy"
    a = trace.get(f"a{k}", t)
    src = trace.get("X" if k == 1 else f"a{k - 1}", t)
    out = []
    for n in range(a.shape[0]):
        an = float(a[n, j])
        if k == L:
            dl_da = -float(trace.value(f"e{L}", t, n, j))        # L = 1/2 sum (y - a)^2; for cross-entropy dL/dz
            paths: tuple[Path, ...] = ()
        else:
            d_next, W_next = trace.get(f"d{k + 1}", t), trace.get(f"W{k + 1}", t)
            paths = tuple(Path(o, -float(d_next[n, o]), float(W_next[j, o])) for o in range(W_next.shape[1]))
            dl_da = float(sum(p.upstream * p.weight for p in paths))
        out.append(Factors(n, dl_da, 1.0 if fused else float(slope(act, an)), float(src[n, i]), paths, fused))
    return out


def loss_with(trace, t: int, k: int, i: int, j: int, nudge: float = 0.0) -> float:
    """The run's loss (``1/2 sum e^2``, or cross-entropy) of iteration ``t``'s forward pass, on its
    rows, with ``W{k}[i, j]`` changed by ``nudge``."""
    with np.errstate(all="ignore"):
        a = forward(trace, trace.get("X", t), t, (k, i, j, nudge))
        y = trace.get("y", t)
        return float(loss_of(trace.output, trace.loss).value(y, a, y - a))
