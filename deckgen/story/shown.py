"""``=`` or ``≈`` before a number worked out on a slide: the one rule every slide follows.

A slide that writes ``0.042 × 0.753 = 0.0314`` invites the reader to check it with
the numbers as shown. ``=`` is written only when they give the shown result exactly,
at the result's decimals; otherwise ``≈`` says the result was computed from the exact
values and the shown numbers are rounded. Operands are read back from their shown
text with :func:`read`.
"""

from __future__ import annotations

from dataclasses import dataclass

from deckgen.story.views import Num, fmt, parse_number, show, sig

EQUALS, APPROX = "=", "\u2248"


@dataclass(frozen=True)
class Derived:
    """A number worked out for a slide, and the relation written before it (``=`` or ``≈``)."""

    text: str
    rel: str


def read(text: str) -> float:
    """A number as the slide shows it, read back from its text (``−0.0045``, ``+0.00012``, ``1.5×10⁻⁷``)."""
    return parse_number(text.lstrip("+"))


def relation(text: str, from_shown: float, decimals: int | None = None) -> str:
    """``=`` when ``from_shown`` (worked out from the shown operands) reads ``text`` at its decimals, else ``≈``.

    ``decimals``: those of a trace number (which may be in scientific form); a derived text's are its own.
    """
    if decimals is None:
        same = fmt(from_shown, len(text.partition(".")[2])) == text.lstrip("+")
    else:
        same = show(from_shown, decimals) == text
    return EQUALS if same else APPROX


def of_num(n: Num, from_shown: float, precision: int) -> str:
    """The relation before a trace number ``n`` worked out from shown operands (its matrix's decimals or ``precision``)."""
    return relation(n.text, from_shown, int(n.precision or precision))


def derived(exact: float, from_shown: float, precision: int, digits: int = 3, *, sign: bool = False) -> Derived:
    """A derived number from its exact value (see :func:`~deckgen.story.views.sig`), with ``=`` only when the
    shown operands, worked out as the slide writes them (``from_shown``), give the same text."""
    text = sig(exact, precision, digits, sign=sign)
    return Derived(text, relation(text, from_shown))
