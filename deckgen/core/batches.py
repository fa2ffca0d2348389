"""Mini-batches (``training.batch_size``): which rows each iteration trains on.

Batches are consecutive chunks of ``size`` rows in the row order of ``X``; the
last chunk of an epoch holds what is left and may be smaller. Iteration ``t``
uses chunk ``t mod n_chunks``, so epochs follow each other in the same order.
A size of at least the number of rows is one chunk of every row: the same run
as no batches at all, and recorded as such (:func:`normalize` gives None).
After the last update (iteration ``T``) the forward pass uses every row.
"""

from __future__ import annotations

import numpy as np


def normalize(size, n_rows: int) -> int | None:
    """The batch size a run uses: None (every row) when ``size`` is None or covers every row."""
    if size is None:
        return None
    if isinstance(size, bool) or int(size) != size or size < 1:
        raise ValueError(f"batch_size must be a whole number of at least 1, got {size!r}")
    return None if size >= n_rows else int(size)


def chunks(size: int | None, n_rows: int) -> int:
    """How many batches make an epoch (1 without batches)."""
    return 1 if size is None else -(-n_rows // size)


def batch_rows(t: int, size: int | None, n_rows: int, iterations: int) -> range:
    """The rows of ``X`` iteration ``t`` trains on (every row without batches, and at ``t = iterations``)."""
    if size is None or t >= iterations:
        return range(n_rows)
    start = (t % chunks(size, n_rows)) * size
    return range(start, min(start + size, n_rows))


def epoch_means(series, size: int | None, n_rows: int) -> np.ndarray:
    """The mean of a per-iteration series over each epoch (whole epochs only; the series itself without batches).

    With mini-batches each iteration's loss is measured on its own batch, so the
    series jumps from batch to batch; its mean over an epoch covers every row once.
    """
    series = np.asarray(series, dtype=float)
    n = chunks(size, n_rows)
    if n == 1:
        return series
    whole = len(series) // n * n
    return series[:whole].reshape(-1, n).mean(axis=1)
