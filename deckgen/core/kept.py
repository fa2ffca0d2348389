"""Which iterations a run keeps, and which are checkpoints: decided here, and only here.

Training records every matrix of every iteration when that fits the memory
budget; otherwise it keeps :func:`kept_iterations`. The trace cache, the deck
folder's ``trace.npz`` and the figures all ask this module.
"""

from __future__ import annotations

import numpy as np


def kept_iterations(T: int, explain, checkpoints) -> list[int]:
    """The iterations kept when not all fit: explained ones (and the next), checkpoints, T-1 and T."""
    explain = sorted({int(t) for t in explain})
    if isinstance(checkpoints, (int, np.integer)):
        if checkpoints < 1:
            raise ValueError(f"checkpoints: the step must be >= 1, got {checkpoints}")
        marks = list(range(0, T + 1, int(checkpoints)))
    else:
        marks = sorted({int(t) for t in checkpoints})
    for what, ts in (("explain", explain), ("checkpoints", marks)):
        if ts and (ts[0] < 0 or ts[-1] > T):
            raise ValueError(f"{what}: iterations must lie in 0..{T}, got {ts}")
    # an explained iteration's update slides show the weights it produces, so t+1 is kept with t
    return sorted({*explain, *(min(t + 1, T) for t in explain), *marks, max(T - 1, 0), T})


def kept_count(T: int, explain, checkpoints) -> int:
    """``len(kept_iterations(T, explain, checkpoints))``, counted without listing them (T may be huge)."""
    kept = {s for t in explain for s in (t, min(t + 1, T))} | {max(T - 1, 0), T}
    if isinstance(checkpoints, (int, np.integer)):
        return T // checkpoints + 1 + len({t for t in kept if t % checkpoints})
    return len(kept | {t for t in checkpoints if t <= T})


def checkpoints_of(spec, iterations: int, stopped_at: int | None = None) -> list[int]:
    """The checkpoint iterations: every N (or a list), plus the last iteration."""
    last = (stopped_at - 1 if stopped_at else iterations - 1)
    points = list(range(0, iterations, spec)) if isinstance(spec, int) else [t for t in spec if t < iterations]
    points = sorted({t for t in points if t <= last} | {last})
    return [t for t in points if t >= 0]


def final_iteration(trace) -> int:
    """The iteration whose forward pass the predictions slide shows (Trask's last printout).

    With mini-batches: the last forward pass, the only one over every row (``T``, unless the run stopped).
    """
    L = len(trace.layers) - 1
    last = trace.last
    if trace.batch_size is not None:
        return last
    return last - 1 if last >= 1 and trace.has(f"a{L}", last - 1) else last


# The rules below read a deck config's settings (``config.training``, ``config.deck``) without importing it.

def wanted(config) -> list[int]:
    """The iterations a run of ``config`` keeps when not every iteration fits the memory budget.

    The rule is the training code's own: the explained iterations, the
    checkpoints, ``T-1`` and ``T``.
    """
    return kept_iterations(config.training.iterations, config.deck.explain, config.deck.checkpoints)


def deck_kept(trace, config) -> tuple[int, ...]:
    """The iterations whose matrices a deck folder's ``trace.npz`` holds (see :func:`for_deck`)."""
    if config.deck.full_trace or not trace.complete:
        return trace.kept
    want = set(wanted(config))
    stop = trace.last - 1 if trace.stopped_at is not None else trace.iterations + 1
    return tuple(t for t in trace.kept if t in want or t >= stop)


def for_deck(trace, config):
    """The trace a deck folder holds: ``trace`` itself with ``deck.full_trace = true``, else a light copy.

    The light copy keeps what a run over its memory budget keeps (see
    :func:`wanted`: the explained iterations and the one after each, the
    checkpoints, ``T-1`` and ``T``) and, for a run that stopped, the
    iterations from the one before its last to the stop, which the deck shows
    as its final predictions; ``loss`` and ``mae`` stay for every iteration.
    A trace that already holds no more than that is returned as it is.
    """
    keep = deck_kept(trace, config)
    if len(keep) == len(trace.kept):
        return trace
    return trace.subset(list(keep), light=True)
