"""The :class:`Dataset` every data source ends up as, and the helpers all sources share."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from deckgen.config import Config
from deckgen.errors import ConfigError, count, located


@dataclass(frozen=True)
class Dataset:
    """What the network trains on, plus what the slides say about it."""

    X: np.ndarray                       # N x n0, after scaling (and the bias column)
    y: np.ndarray                       # N x nL
    feature_names: tuple[str, ...]      # one per column of X
    target_names: tuple[str, ...]       # one per column of y
    description: str = ""
    raw: tuple[tuple[str, ...], ...] | None = None   # the used columns as read (row order of X), for display
    raw_header: tuple[str, ...] | None = None
    class_names: tuple[str, ...] | None = None       # when the target is one categorical column
    scaling: str = ""                                # how the features were scaled, in words
    rows: tuple[int, ...] = ()                       # rows of X shown on the detailed slides
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_examples(self) -> int:
        return int(self.X.shape[0])


def with_bias_column(X: np.ndarray, names: tuple[str, ...]) -> tuple[np.ndarray, tuple[str, ...]]:
    """``X`` with Trask's constant-1 column appended."""
    return np.hstack([X, np.ones((X.shape[0], 1))]), names + ("1",)


def shown_rows(rows: tuple[int, ...] | None, order: np.ndarray, config: Config) -> tuple[int, ...]:
    """Rows of X to show, given ``data.rows`` in file order and ``order`` (file row of each X row)."""
    n = len(order)
    if rows is None:
        return tuple(range(n))
    bad = [r for r in rows if r >= n]
    if bad:
        raise ConfigError(f"{located(config.where('data.rows'), 'data.rows')}: row {bad[0]} does not exist (the data has {count(n, 'row')}, "
                          f"numbered 0 to {n - 1}) — pick rows below {n}")
    position = np.empty(n, dtype=int)
    position[order] = np.arange(n)
    return tuple(sorted(int(position[r]) for r in rows))
