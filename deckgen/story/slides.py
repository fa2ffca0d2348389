"""The view-models the templates read: one :class:`Slide` per slide, and the whole :class:`Story`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deckgen.story.views import MatrixView, Worked


@dataclass(frozen=True)
class Part:
    """One matrix of a slide with the operator written before it (``""`` for the first)."""

    op: str
    matrix: MatrixView


@dataclass(frozen=True)
class Slide:
    template: str                      # e.g. "slides/matmul.html"
    id: str                            # stable anchor, e.g. "t0-z1"
    title: str = ""
    formula: str = ""                  # LaTeX
    matrices: tuple[MatrixView, ...] = ()
    worked: tuple[Worked, ...] = ()
    worked_total: int = 0              # how many result cells exist (to say "4 of 600 worked")
    ops: tuple[str, ...] = ()          # the operator shown before each matrix after the first
    ctx: dict[str, Any] = field(default_factory=dict)   # further template values, already formatted
    animate: bool = False
    worked_at_once: bool = False       # every worked cell shown at once, not one per key press
    px: int = 0                        # type size of a table that is not a matrix view (story.fit), 0: from the matrices

    @property
    def parts(self) -> tuple[Part, ...]:
        """The matrices, each paired with the operator before it, so a template only lays them out."""
        ops = ("",) + self.ops if self.ops else ("",) * len(self.matrices)
        return tuple(Part(op, m) for op, m in zip(ops, self.matrices, strict=True))

    @property
    def first_worked(self) -> Worked | None:
        """The first worked cell, which the speaker notes quote."""
        return self.worked[0] if self.worked else None

    @property
    def worked_shown(self) -> int:
        """How many result cells are worked out on the slide."""
        return len(self.worked)

    @property
    def worked_cut(self) -> bool:
        """Whether only some of the result cells are worked out (the slide says how many)."""
        return self.worked_total > len(self.worked)

    @property
    def approx(self) -> bool:
        """Whether a worked step uses ``≈``: its shown (rounded) inputs miss the shown result."""
        return any(w.approx for w in self.worked)

    @property
    def density(self) -> str:
        """How tightly the slide's matrices must be set: the type size chosen for them (``px24``), else roomy,
        normal or dense."""
        sizes = [m.px for m in self.matrices if m.px] + ([self.px] if self.px else [])
        if sizes:
            return f"px{min(sizes)}"
        cols = sum(len(m.rows[0]) + bool(m.row_labels) for m in self.matrices if m.rows)
        rows = max((len(m.rows) for m in self.matrices), default=0)
        if cols > 24 or rows > 10:
            return "dense"
        if cols > 12 or rows > 5:
            return "normal"
        return "roomy"


@dataclass(frozen=True)
class Story:
    title: str
    slides: tuple[Slide, ...]
    theme: str
    summary: dict[str, Any] = field(default_factory=dict)
    figures: tuple[dict[str, Any], ...] = ()        # figures the slides refer to, for the render stage
    facts: Any = None                               # facts of the run that choose the words (story.facts.Facts)
