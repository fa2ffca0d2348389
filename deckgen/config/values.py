"""The value checks of the config keys.

Each check takes a raw TOML value and returns the parsed value, or raises
ValueError with the "what is wrong — what to do" text of the message.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

from deckgen.core.gradients import WEIGHT
from deckgen.errors import count, did_you_mean, literal


def string(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"expected a string, got {literal(v)} — put the text in quotes")
    return v


def boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"expected true or false, got {literal(v)} — write true or false")
    return v


def whole(lo: int | None = None, hi: int | None = None) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"expected a whole number, got {literal(v)} — write a number like 3")
        if lo is not None and v < lo or hi is not None and v > hi:
            rng = f"from {lo} to {hi}" if hi is not None else f"at least {lo}"
            raise ValueError(f"{v} is out of range — use a whole number {rng}")
        return v
    return check


def positive(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"expected a number, got {literal(v)} — write a number like 0.5")
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{v} must be a positive number — use a value above 0, like 0.5")
    return float(v)


def fraction(hi: float) -> Callable[[Any], float]:
    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"expected a number, got {literal(v)} — write a fraction like 0.2")
        if not math.isfinite(v) or not 0 <= v <= hi:
            raise ValueError(f"{v} is out of range — use a fraction from 0 to {hi:g}, like 0.2")
        return float(v)
    return check


def one_of(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        v = string(v)
        if v not in choices:
            raise ValueError(f"unknown value {v!r}{did_you_mean(v, choices)} — choose one of: {', '.join(choices)}")
        return v
    return check


def strings(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        return (v,)
    if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
        raise ValueError("expected a list of column names — write [\"name\", ...]")
    return tuple(v)


def matrix(v: Any) -> tuple[tuple[float, ...], ...]:
    if not isinstance(v, list) or not v or not all(isinstance(r, list) and r for r in v):
        raise ValueError("expected a matrix — write a list of rows like [[0, 1], [1, 0]]")
    width = len(v[0])
    rows = []
    for i, row in enumerate(v):
        if len(row) != width:
            raise ValueError(f"row {i + 1} has {count(len(row), 'value')}, row 1 has {width} — give every row the same length")
        for x in row:
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                raise ValueError(f"row {i + 1} holds {x!r}, which is not a finite number — use numbers only")
        rows.append(tuple(float(x) for x in row))
    return tuple(rows)


def layers(v: Any) -> tuple[int | str, ...]:
    if not isinstance(v, list) or len(v) < 2:
        raise ValueError("expected a list of at least two layer sizes — write it like [3, 4, 1]")
    out: list[int | str] = []
    for i, n in enumerate(v):
        if n == "auto" and i in (0, len(v) - 1):
            out.append("auto")
        elif isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"layer {i} size {n!r} is not allowed — use whole numbers of at least 1"
                             + (' (or "auto" for the input and output layers)' if i in (0, len(v) - 1) else ""))
        else:
            out.append(n)
    return tuple(out)


def matrices(v: Any) -> tuple:
    if not isinstance(v, list) or not v:
        raise ValueError("expected one matrix per layer — write it like [[[0.1, 0.2]], [[0.3], [0.4]]]")
    return tuple(matrix(m) for m in v)


def vectors(v: Any) -> tuple:
    if not isinstance(v, list) or not v or not all(isinstance(r, list) for r in v):
        raise ValueError("expected one flat list per layer — write it like [[0.35, 0.35], [0.6]]")
    return tuple(matrix([r])[0] for r in v)


def iterations(v: Any) -> tuple[int, ...]:
    if isinstance(v, int) and not isinstance(v, bool):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in v):
        raise ValueError("expected a list of iteration numbers (0 or more) — write it like [0, 1]")
    return tuple(sorted(set(v)))


def rows(v: Any) -> tuple[int, ...]:
    if isinstance(v, int) and not isinstance(v, bool):
        v = [v]
    if not isinstance(v, list) or not v or not all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in v):
        raise ValueError("expected a list of row numbers (counted from 0) — write it like [0, 50, 100]")
    return tuple(sorted(set(v)))


def checkpoints(v: Any) -> int | tuple[int, ...]:
    if isinstance(v, list):
        return iterations(v)
    return whole(1)(v)


def path(v: Any) -> Path:
    text = string(v)
    if not text.strip() or "\0" in text:
        raise ValueError(f"{text!r} is not a usable path — give a file name like \"data/iris.csv\"")
    return Path(text)


def weights(v: Any) -> tuple[str, ...]:
    """Weights named like ``"W2:0,0"`` (layer 2, row 0, column 0); ``[]`` for none."""
    if not isinstance(v, list) or not all(isinstance(w, str) for w in v):
        raise ValueError('expected a list of weights — write it like ["W2:0,0", "W1:0,0"], or [] for none')
    for w in v:
        if not WEIGHT.fullmatch(w.strip()):
            raise ValueError(f"{literal(w)} does not name a weight — write W, the layer, a colon, then row,column "
                             'like "W2:0,0"')
    return tuple(w.strip() for w in v)
