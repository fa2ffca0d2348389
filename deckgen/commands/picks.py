"""What ``deckgen new`` chooses for a CSV deck so that its talk is presentable, each from the data as build reads it.

- the columns with gaps (so the deck can say how it treats them);
- a handful of inputs for the detailed slides: the ones most correlated with the target
  (a weighted sum of thirty products cannot be shown at a readable size);
- a few example rows of different classes, all of them training rows;
- a learning rate that converges, found by training the deck's own network briefly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deckgen.core.diagnose import diagnose
from deckgen.data.csvfile import check
from deckgen.run.traces import train_for

#: Inputs a CSV deck shows (and trains on) unless the user lists more.
FEATURES = 4
#: Example rows on the detailed slides.
ROWS = 4
#: Iterations and checkpoint step a CSV deck trains with: five checkpoints (0, 1000, 2000, 3000 and the last).
ITERATIONS, CHECKPOINTS = 4000, 1000


def gap_columns(path: Path, target: tuple[str, ...], features: tuple[str, ...] | None = None) -> tuple[tuple[str, ...], int]:
    """The used columns with gaps (empty or NA cells) and how many rows have one, as the loader finds them."""
    table, plan, _ = check(path, target=target, features=features, where=lambda key: "", missing="drop")
    if table is None or plan is None or not plan.gaps:
        return (), 0
    rows = np.zeros(len(table.rows), dtype=bool)
    for holes in plan.gaps.values():
        rows |= holes
    return tuple(table.header[c] for c in sorted(plan.gaps)), int(rows.sum())


def informative(dataset, features: tuple[str, ...], how_many: int = FEATURES) -> tuple[str, ...]:
    """The ``how_many`` feature columns most correlated with the target on the training rows (ties: file order).

    A text column counts with its most correlated one-hot input; a column's score is
    its largest |correlation| with any target column.
    """
    X, y = np.asarray(dataset.X, dtype=float), np.asarray(dataset.y, dtype=float)
    score = dict.fromkeys(features, 0.0)
    for c, name in enumerate(dataset.feature_names):
        source = name if name in score else name.split("=", 1)[0]
        if source not in score:
            continue
        x = X[:, c]
        for j in range(y.shape[1]):
            if x.std() > 0 and y[:, j].std() > 0:
                r = abs(float(np.corrcoef(x, y[:, j])[0, 1]))
                score[source] = max(score[source], r if np.isfinite(r) else 0.0)
    ranked = sorted(features, key=lambda f: (-score[f], features.index(f)))
    return tuple(f for f in features if f in ranked[:how_many])


def example_rows(dataset, how_many: int = ROWS) -> tuple[int, ...]:
    """File rows for the detailed slides: training rows of as many different classes (or target values) as fit."""
    y = np.asarray(dataset.y, dtype=float)
    rows = list(dataset.file_rows) or list(range(len(y)))
    if y.shape[1] > 1:
        label = np.argmax(y, axis=1)
    else:
        label = y[:, 0] if len(np.unique(y[:, 0])) <= 10 else None
    if label is None:                 # a number target: rows spread over its range, lowest to highest
        order = np.argsort(y[:, 0], kind="stable")
        picks = {int(order[round(i * (len(order) - 1) / (how_many - 1))]) for i in range(how_many)}
        return tuple(sorted(rows[i] for i in picks))
    groups: dict[float, list[int]] = {}
    for i, value in enumerate(label):
        groups.setdefault(float(value), []).append(i)
    picked: list[int] = []
    depth = 0
    while len(picked) < min(how_many, len(y)):
        for members in groups.values():
            if depth < len(members) and len(picked) < how_many:
                picked.append(members[depth])
        depth += 1
    return tuple(sorted(rows[i] for i in picked))


@dataclass(frozen=True)
class Rate:
    learning_rate: float
    converged: bool
    first_mae: float
    last_mae: float


def converging_rate(config, dataset, layers, start: float) -> Rate:
    """The first of ``start``, ``start/2``, ``start/4``, ``start/10`` whose run converges (else the one with the lowest error).

    Each try trains the deck's network for its iterations, keeping only the
    iterations the deck shows, exactly as ``build`` would.
    """
    tried: list[Rate] = []
    for rate in (start, start / 2, start / 4, start / 10):
        rate = float(f"{rate:.1g}")
        cfg = config.with_overrides({"training.learning_rate": rate, "training.memory_budget_mb": 1.0})
        with np.errstate(all="ignore"):
            trace = train_for(cfg, dataset, layers)
        mae = trace.series("mae")
        result = Rate(rate, diagnose(trace)["kind"] == "converged", float(mae[0]), float(mae[-1]))
        if result.converged:
            return result
        tried.append(result)
    return min(tried, key=lambda r: r.last_mae if np.isfinite(r.last_mae) else np.inf)
