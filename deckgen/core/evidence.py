"""Why a run failed, read from its numbers: saturated units, shared hidden codes, deltas that are exactly zero.

Each finding names the iteration, units and examples it rests on, so a slide can
show the numbers as evidence; a cause without such a finding is never named.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deckgen.core.activations import layer_activations
from deckgen.core.batches import chunks, epoch_means
from deckgen.core.gradients import slope

#: A unit whose slope stays below this for every example barely learns.
FLAT = 0.01
#: Two examples whose hidden activations differ by less than this look the same to the next layer.
SAME = 0.02


@dataclass(frozen=True)
class Evidence:
    t: int                                    # the iteration the findings are read at
    shared: tuple[int, int] | None            # two examples with the same hidden code, different targets, opposite deltas
    shared_flat: bool                         # ... and that code sits where every hidden unit is flat
    saturated: tuple[tuple[int, int], ...]    # (layer, unit) of hidden units flat for every example
    dead_output: tuple[int, ...]              # examples whose output delta is exactly 0 (a saturated output)
    zero_inputs: tuple[int, ...]              # examples whose inputs are all 0, in a network with no bias
    rises: int                                # iterations (with mini-batches: epochs) after which the loss rose
    first_rise: int | None                    # the first such iteration (with mini-batches: an epoch's last)
    mae_rises: int = 0                        # iterations (epochs) after which the mean absolute error rose


def evidence(trace, t: int) -> Evidence:
    """What the numbers of iteration ``t`` (and the loss over the whole run) say about a failed run."""
    L = len(trace.layers) - 1
    acts = layer_activations(L, trace.activation, trace.output)
    y = np.asarray(trace.get("y", t))
    shared = None
    d = np.asarray(trace.get(f"d{L}", t)) if trace.has(f"d{L}", t) else np.zeros_like(y)
    if L > 1:
        code = np.asarray(trace.get(f"a{L - 1}", t))
        for r1 in range(code.shape[0]):
            for r2 in range(r1 + 1, code.shape[0]):
                if (np.max(np.abs(code[r1] - code[r2])) < SAME and not np.array_equal(y[r1], y[r2])
                        and np.any(d[r1] * d[r2] < 0)):     # the output is pulled both ways at once
                    shared = (r1, r2)
                    break
            if shared:
                break
    shared_flat = bool(shared) and bool(np.all(slope(acts[L - 2], np.asarray(trace.get(f"a{L - 1}", t))[list(shared)]) < FLAT))
    saturated = tuple((k, j) for k in range(1, L) for j in range(trace.layers[k])
                      if np.all(slope(acts[k - 1], np.asarray(trace.get(f"a{k}", t))[:, j]) < FLAT))
    dead_output = tuple(int(r) for r in range(d.shape[0]) if np.all(d[r] == 0.0)) if trace.has(f"d{L}", t) else ()
    X = np.asarray(trace.get("X", t))
    zero_inputs = () if trace.bias else tuple(int(r) for r in range(X.shape[0]) if np.all(X[r] == 0.0))
    up = _rises(trace, "loss")
    return Evidence(t=t, shared=shared, shared_flat=shared_flat, saturated=saturated, dead_output=dead_output, zero_inputs=zero_inputs,
                    rises=int(len(up)), first_rise=int(up[0]) if len(up) else None, mae_rises=int(len(_rises(trace, "mae"))))


def _rises(trace, name: str) -> np.ndarray:
    """The iterations after which the series ``name`` rose (with mini-batches: the last iteration of each epoch
    whose mean rose over the one before); rises of rounding noise do not count."""
    series = np.asarray(trace.series(name), dtype=float)
    n = chunks(trace.batch_size, len(trace.inputs["X"]))
    if n > 1:       # each iteration's value is on its own batch: compare epochs
        series = epoch_means(series[: trace.iterations], trace.batch_size, len(trace.inputs["X"]))
    up = np.nonzero(np.diff(series) > 1e-9 * np.abs(series[:-1]))[0]
    return (up + 1) * n - 1 if n > 1 else up
