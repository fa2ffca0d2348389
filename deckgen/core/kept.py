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
