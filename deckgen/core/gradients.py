"""The chain rule for one weight, read from a trace, and the loss after nudging that weight.

The trace records ``d{k} = -dL/dz{k}`` and ``dW{k} = -eta * dL/dW{k}``. These
functions take one weight apart into the factors of the chain rule, per
example, so a slide can show why ``dW`` is what it is; and they run the
forward pass again with the weight nudged, so the gradient can be checked
the way a sceptic would: by trying.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from deckgen.core.activations import ACTIVATIONS, layer_activations

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
    """``dL/dw`` for one example: ``dL/da * da/dz * dz/dw``."""

    example: int
    dl_da: float                   # dL/da{k}[n, j]
    da_dz: float                   # f'(z{k}[n, j])
    dz_dw: float                   # a{k-1}[n, i] (the input the weight multiplies)
    paths: tuple[Path, ...] = ()   # for a hidden weight: dL/da as a sum over the next layer's units

    @property
    def product(self) -> float:
        return self.dl_da * self.da_dz * self.dz_dw


def parse_weight(text: str) -> tuple[int, int, int] | None:
    """``"W2:0,1"`` -> ``(2, 0, 1)``; None when it is not written that way."""
    m = WEIGHT.fullmatch(text.strip())
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def slope(activation: str, a):
    """``f'(z)`` written with ``a = f(z)``: ``a(1-a)``, ``1-a^2`` or ``[a > 0]``, for a number or an array."""
    if activation == "sigmoid":
        return a * (1.0 - a)
    if activation == "tanh":
        return 1.0 - a * a
    return np.where(np.asarray(a) > 0, 1.0, 0.0)


def factors(trace, t: int, k: int, i: int, j: int) -> list[Factors]:
    """The chain-rule factors of ``W{k}[i, j]`` at iteration ``t``, one per example."""
    L = len(trace.layers) - 1
    act = layer_activations(L, trace.activation)[k - 1]
    a = trace.get(f"a{k}", t)
    src = trace.get("X" if k == 1 else f"a{k - 1}", t)
    out = []
    for n in range(a.shape[0]):
        an = float(a[n, j])
        if k == L:
            dl_da = -float(trace.value(f"e{L}", t, n, j))        # L = 1/2 sum (y - a)^2
            paths: tuple[Path, ...] = ()
        else:
            d_next, W_next = trace.get(f"d{k + 1}", t), trace.get(f"W{k + 1}", t)
            paths = tuple(Path(o, -float(d_next[n, o]), float(W_next[j, o])) for o in range(W_next.shape[1]))
            dl_da = float(sum(p.upstream * p.weight for p in paths))
        out.append(Factors(n, dl_da, float(slope(act, an)), float(src[n, i]), paths))
    return out


def loss_with(trace, t: int, k: int, i: int, j: int, nudge: float = 0.0) -> float:
    """``L = 1/2 sum e^2`` of iteration ``t``'s forward pass with ``W{k}[i, j]`` changed by ``nudge``."""
    L = len(trace.layers) - 1
    acts = layer_activations(L, trace.activation)
    a = np.array(trace.get("X", t), dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        for layer in range(1, L + 1):
            W = np.array(trace.get(f"W{layer}", t), dtype=np.float64)
            if layer == k:
                W[i, j] += nudge
            z = a @ W
            if trace.bias:
                z = z + trace.get(f"b{layer}", t)
            a = ACTIVATIONS[acts[layer - 1]].curve(z)
        e = trace.get("y", t) - a
        return float(0.5 * np.sum(e * e))
