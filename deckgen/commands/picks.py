"""What ``deckgen new`` chooses for a CSV deck so that its talk is presentable, each from the data as build reads it.

- the columns with gaps (so the deck can say how it treats them);
- a handful of inputs for the detailed slides: the ones most correlated with the target
  (a weighted sum of thirty products cannot be shown at a readable size);
- a few example rows of different classes, all of them training rows;
- a learning rate (and iterations) at which the deck's own network converges steadily, found by
  training exactly what ``build`` of the written file trains.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from deckgen.core.diagnose import diagnose
from deckgen.core.kept import final_iteration
from deckgen.data import load_dataset, resolve_layers
from deckgen.data.csvfile import check
from deckgen.run.traces import train_for
from deckgen.story.facts import facts_of

#: Inputs a CSV deck shows (and trains on) unless the user lists more.
FEATURES = 4
#: Example rows on the detailed slides.
ROWS = 4
#: Iterations a CSV deck trains with, tried in turn until a run converges: the fewest first.
BUDGETS = (4000, 10000, 20000)
#: Runs trained at most while choosing a learning rate.
TRIES = 10
#: A run is presentable when its loss rises on at most this fraction of the steps ...
RISES = 0.01
#: ... and on none of the last ``LATE`` of them (at least ``LATE_MIN``), so it ends steadily ...
LATE, LATE_MIN = 0.05, 20
#: ... and neither its loss nor its mean absolute error ever climbs above this times where it started ...
PEAK = 1.05
#: ... and its mean absolute error ends below this fraction of where it started.
FELL = 0.5


def checkpoints_for(iterations: int) -> int:
    """The checkpoint step of a CSV deck: five checkpoints (0, a quarter, a half, three quarters and the last)."""
    return iterations // 4


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
    """One learning rate ``new`` trained the deck's network with, and how that run went."""

    learning_rate: float
    iterations: int
    kind: str = "converged"       # the deck's own diagnosis: converged | stuck | overshot | diverged
    first_mae: str = ""           # the mean absolute error at the start and at the end, as the deck shows them
    last_mae: str = ""
    fell: float = 1.0             # the last error over the first (0.1: it fell to a tenth)
    steps: int = 0                # training steps the loss was recorded over
    rises: int = 0                # steps on which the loss went up
    late_rises: int = 0           # of them, in the last steps
    peak: float = 1.0             # the highest loss over the first
    peak_mae: float = 1.0         # the highest mean absolute error over the first
    accepted: bool = False
    steadier: "Rate | None" = None  # the smallest larger rate tried, which was not steady (so this one)

    @property
    def unsteady(self) -> bool:
        """Steps too large: training blew up or overshot, the loss or the error climbed above where they
        started, the loss went up too often, or it was still going up and down at the end."""
        return (self.kind in ("diverged", "overshot") or self.peak > PEAK or self.peak_mae > PEAK
                or self.rises > RISES * self.steps or self.late_rises > 0)

    def trouble(self) -> str:
        """What went wrong with the steps, in words ("" when nothing did)."""
        if self.kind == "diverged":
            return "training blew up (a value became infinite)"
        if self.late_rises:
            return f"the loss rose on {self.rises:,} of {self.steps:,} steps, and still went up and down at the end"
        if self.rises > RISES * self.steps:
            return f"the loss rose on {self.rises:,} of {self.steps:,} steps"
        if self.peak > PEAK:
            return f"the loss first climbed to {self.peak:.1f} times where it started"
        if self.peak_mae > PEAK:
            return f"the error first climbed to {self.peak_mae:.1f} times where it started"
        if self.kind == "overshot":
            return "training overshot"
        return ""


def judge(rate: float, iterations: int, kind: str, first_mae: str, last_mae: str, mae, loss) -> Rate:
    """How the run went, by the rules a presentable run keeps: the deck's diagnosis is converged; neither
    the loss nor the error ever climbs more than :data:`PEAK` above where it started; the loss rises on
    at most :data:`RISES` of the steps and not at all in the last :data:`LATE` of them; and the error
    ends below :data:`FELL` of where it started."""
    loss = np.asarray(loss, dtype=float)
    mae = np.asarray(mae, dtype=float)
    finite = bool(np.all(np.isfinite(loss)) and np.all(np.isfinite(mae))) and len(mae) > 1
    with np.errstate(all="ignore"):
        up = np.diff(loss) > 0
        fell = float(mae[-1] / mae[0]) if finite and mae[0] > 0 else np.inf
        peak = float(loss.max() / loss[0]) if finite and loss[0] > 0 else np.inf
        peak_mae = float(mae.max() / mae[0]) if finite and mae[0] > 0 else np.inf
    late = max(LATE_MIN, int(LATE * len(up)))
    result = Rate(rate, iterations, kind, first_mae, last_mae, fell, len(up), int(up.sum()), int(up[-late:].sum()),
                  peak, peak_mae)
    return replace(result, accepted=finite and kind == "converged" and fell <= FELL and not result.unsteady)


def rate_ladder(top: float, lowest: float) -> list[float]:
    """The rates tried, largest first: 1, 0.5, 0.3, 0.2 times a power of ten, from ``top`` down to ``lowest``."""
    rates: list[float] = []
    for power in range(1, -12, -1):
        for mantissa in (1, 0.5, 0.3, 0.2):
            rate = float(f"{mantissa * 10.0 ** (power - 1):.1g}")
            if lowest <= rate <= top:
                rates.append(rate)
    return rates


def smooth_rate(trial: Callable[[float, int], Rate], top: float, lowest: float,
                budgets: tuple[int, ...] = BUDGETS, tries: int = TRIES) -> Rate:
    """The largest rate of :func:`rate_ladder` whose run :func:`judge` accepts, with the fewest iterations.

    ``trial(rate, iterations)`` trains the deck's network exactly as ``build`` of the written file would
    and judges the run. A rate whose loss goes up and down is too large: the next smaller one is tried.
    A steady run that has not converged will not converge faster with a smaller step: the same rate is
    tried with the next, larger budget of iterations. When no run is accepted, the best is returned:
    the steady one with the lowest final error, else the one with the lowest.
    """
    rates = rate_ladder(top, lowest)
    tried: list[Rate] = []
    at = 0
    for iterations in budgets:
        while at < len(rates) and len(tried) < tries:
            run = trial(rates[at], iterations)
            tried.append(run)
            if run.accepted:
                return _with_steadier(run, tried)
            if not run.unsteady:
                break                   # steady but slow: more iterations, same rate
            at += 1
    steady = [r for r in tried if not r.unsteady and np.isfinite(r.fell)]
    pool = steady or [r for r in tried if np.isfinite(r.fell)] or tried
    return _with_steadier(min(pool, key=lambda r: (r.fell, -r.learning_rate)), tried)


def _with_steadier(run: Rate, tried: list[Rate]) -> Rate:
    """``run``, naming the smallest larger rate tried, which was not steady."""
    larger = [r for r in tried if r.unsteady and r.learning_rate > run.learning_rate]
    if not larger:
        return run
    return replace(run, steadier=min(larger, key=lambda r: (r.learning_rate, -r.iterations)))


def trained_rate(config) -> Rate:
    """Train a deck's run as ``build`` does and judge it (:func:`~deckgen.commands.picks.judge`), quoting the
    mean absolute error at the start and the end as the deck's own sentences do."""
    dataset = load_dataset(config)
    with np.errstate(all="ignore"):
        trace = train_for(config, dataset, resolve_layers(config, dataset))
        diagnosis = diagnose(trace)
        final_t = final_iteration(trace)
        facts = facts_of(config, dataset, trace, diagnosis, final_t)
    mae = trace.series("mae")
    return judge(float(trace.learning_rate), config.training.iterations, diagnosis["kind"], facts.first_mae,
                 facts.last_mae, mae[: min(final_t, len(mae) - 1) + 1], trace.series("loss"))


def describe_rate(r: Rate) -> str:
    """What ``new`` found at the rate it wrote, in the numbers the built deck shows."""
    went = f"from {r.first_mae} to {r.last_mae} in {r.iterations:,} iterations"
    if r.accepted:
        steps = ("the loss falling at every step" if not r.rises else
                 f"the loss rising on only {r.rises:,} of {r.steps:,} steps")
        larger = f"; at {r.steadier.learning_rate} {r.steadier.trouble()}" if r.steadier is not None else ""
        return f"tried by `deckgen new`: the error fell {went}, {steps}{larger}"
    if r.kind == "diverged":
        return "the smallest rate `deckgen new` tried still blew up (a value became infinite): try a smaller one"
    best = f"the best `deckgen new` found: the error went {went}"
    if r.unsteady:
        return f"{best}, but {r.trouble()}: try a smaller rate or other inputs"
    if r.kind == "stuck":
        return f"{best}, where it got stuck: try more hidden units or other inputs"
    return f"{best}, not even half of where it started: try more iterations or other inputs"
