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
    # rows held out for testing (data.test_fraction): never trained on, evaluated at the end
    X_test: np.ndarray | None = None                 # M x n0, scaled like X
    y_test: np.ndarray | None = None                 # M x nL
    raw_test: tuple[tuple[str, ...], ...] | None = None
    file_rows: tuple[int, ...] = ()                  # the file's data row (from 0) of each row of X
    file_rows_test: tuple[int, ...] = ()             # ... and of each held-out row
    target_range: tuple[tuple[float, float] | None, ...] = ()   # per column of y: (min, max) it was scaled from
    dropped: int = 0                                 # rows left out for a gap (data.missing = "drop" or "mean")
    filled: int = 0                                  # gaps filled with their column's mean (data.missing = "mean")
    file_columns: int = 0                            # columns the file has (0: not read from a file)

    @property
    def n_examples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_test(self) -> int:
        """Rows held out for testing (0 when none are)."""
        return 0 if self.X_test is None else int(self.X_test.shape[0])

    def unscaled(self, y: np.ndarray) -> np.ndarray:
        """Targets or predictions (columns like ``y``) in the target's own units, undoing the scaling to 0–1."""
        out = np.array(y, dtype=float)
        for j, span in enumerate(self.target_range[: out.shape[1]]):
            if span is not None:
                lo, hi = span
                out[:, j] = lo + out[:, j] * (hi - lo)
        return out


def with_bias_column(X: np.ndarray, names: tuple[str, ...]) -> tuple[np.ndarray, tuple[str, ...]]:
    """``X`` with Trask's constant-1 column appended."""
    return np.hstack([X, np.ones((X.shape[0], 1))]), names + ("1",)


def split_rows(n: int, config: Config) -> tuple[np.ndarray, np.ndarray]:
    """``(training, test)`` positions of ``n`` rows: ``data.test_fraction`` of them (rounded) held out for testing.

    The held-out rows are drawn with ``training.seed`` (their own generator, so the
    initial weights do not change); both lists keep the rows' order.
    """
    fraction = config.data.test_fraction
    if not fraction:
        return np.arange(n), np.arange(0)
    held = int(round(fraction * n))
    where = located(config.where("data.test_fraction"), "data.test_fraction")
    if held < 1 or n - held < 2:
        raise ConfigError(f"{where}: {fraction:g} of {count(n, 'row')} leaves {count(held, 'row')} for testing and "
                          f"{count(n - held, 'row')} for training — it needs at least 1 test row and 2 training "
                          "rows: use more data or another fraction (0 holds out none)")
    test = np.sort(np.random.default_rng(config.training.seed).permutation(n)[:held])
    return np.setdiff1d(np.arange(n), test), test


def shown_rows(rows: tuple[int, ...] | None, order: np.ndarray, config: Config, *, total: int | None = None,
               held: np.ndarray | None = None) -> tuple[int, ...]:
    """Rows of X to show, given ``data.rows`` in file order and ``order`` (file row of each X row).

    ``total``: rows in the file (default ``len(order)``); ``held``: file rows held out for testing.
    A file row that is not in ``order`` is reported: held out, or left out for a gap.
    """
    n = len(order)
    total = n if total is None else total
    if rows is None:
        return tuple(range(n))
    key = located(config.where('data.rows'), 'data.rows')
    bad = [r for r in rows if r >= total]
    if bad:
        raise ConfigError(f"{key}: row {bad[0]} does not exist (the data has {count(total, 'row')}, "
                          f"numbered 0 to {total - 1}) — pick rows below {total}")
    position = {int(f): i for i, f in enumerate(order)}
    absent = [r for r in rows if r not in position]
    if absent:
        some = ", ".join(str(int(f)) for f in sorted(order)[:4])
        why = ("is held out for testing (data.test_fraction), so training never sees it"
               if held is not None and absent[0] in set(int(h) for h in held)
               else "has a gap and is left out (data.missing)")
        raise ConfigError(f"{key}: row {absent[0]} {why} — pick rows the network trains on, like {some}")
    return tuple(sorted(position[r] for r in rows))
