"""Figures drawn again only when what they read from the trace changed (for ``deckgen serve``)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable


class _Reads:
    """A trace that notes what a figure reads from it, so a rebuild can tell whether the figure changed."""

    def __init__(self, trace) -> None:
        self._trace = trace
        self.reads: list[tuple] = []

    def __getattr__(self, name):
        value = getattr(self._trace, name)
        if callable(value):
            def call(*args):
                self.reads.append((name, args))
                return value(*args)
            return call
        self.reads.append((name, None))
        return value


def _digest(trace, reads) -> str | None:
    """A digest of what ``reads`` give on ``trace`` (None when one of them fails)."""
    h = hashlib.sha256()
    for name, args in reads:
        try:
            value = getattr(trace, name)(*args) if args is not None else getattr(trace, name)
        except Exception:
            return None
        h.update(repr((name, args)).encode())
        if hasattr(value, "tobytes"):
            h.update(repr((value.dtype.str, value.shape)).encode() + value.tobytes())
        else:
            h.update(repr(value).encode())
    return h.hexdigest()


def draw_remembered(session, token: str, trace, draw: Callable, target: Path) -> None:
    """Draw a figure, or with a session write the same figure again when what it reads is unchanged."""
    if session is None:
        draw(trace)
        return
    held = session.figures.get(token)
    if held is not None and _digest(trace, held[0]) == held[1]:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(held[2])
    else:
        reads = _Reads(trace)
        draw(reads)
        session.figures[token] = (reads.reads, _digest(trace, reads.reads), target.read_bytes())
    session.used.add(token)
