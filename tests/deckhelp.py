"""Shared helpers for tests that build decks: small configs and HTML parsing."""

from __future__ import annotations

import hashlib
import math
import os
import re
from html.parser import HTMLParser
from pathlib import Path

from deckgen.pipeline import build
from deckgen.config import load_config
from deckgen.story.views import parse_number


def build_deck(out: Path, config: str | Path | None = None, *overrides: str):
    """Build a deck (the built-in talk by default) into ``out`` and return (config, result)."""
    cfg = load_config(config, list(overrides))
    return cfg, build(cfg, out)


class TraceCells(HTMLParser):
    """Collects ``(data-trace, text)`` for every element carrying ``data-trace``, and its
    ``data-precision`` (``None`` when it has none) in ``precisions``."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[str, str]] = []
        self.precisions: list[int | None] = []
        self._open: list[list] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for entry in self._open:
            entry[2] += 1
        if "data-trace" in attrs:
            precision = attrs.get("data-precision")
            self._open.append([attrs["data-trace"], "", 1, None if precision is None else int(precision)])

    def handle_endtag(self, tag):
        finished = []
        for entry in self._open:
            entry[2] -= 1
            if entry[2] == 0:
                finished.append(entry)
        for entry in finished:
            self._open.remove(entry)
            self.cells.append((entry[0], entry[1]))
            self.precisions.append(entry[3])

    def handle_data(self, data):
        for entry in self._open:
            entry[1] += data


def trace_cells(html: str) -> list[tuple[str, str]]:
    parser = TraceCells()
    parser.feed(html)
    return parser.cells


def trace_numbers(html: str, precision: int) -> list[tuple[str, str, int]]:
    """``(data-trace, text, decimals)`` of every trace number: its ``data-precision``, else the deck's."""
    parser = TraceCells()
    parser.feed(html)
    return [(a, text, precision if p is None else p) for (a, text), p in zip(parser.cells, parser.precisions, strict=True)]


def parse_address(address: str) -> tuple[str, int, int, int]:
    """``"W1@0:2,3"`` -> ``("W1", 0, 2, 3)``."""
    name, rest = address.split("@")
    t, cell = rest.split(":")
    row, col = cell.split(",")
    return name, int(t), int(row), int(col)


def snapshot(folder: Path) -> dict[str, str]:
    """Every file, link and folder under ``folder``, with a hash of each file's bytes and its mode."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            out[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() + f":{path.stat().st_mode:o}"
        else:
            out[rel] = "folder"
    return out


class AudienceText(HTMLParser):
    """The text of every slide as the audience sees it: everything inside ``.slides`` but the speaker notes."""

    def __init__(self) -> None:
        super().__init__()
        self.slides: dict[str, list[str]] = {}
        self._stack: list[str] = []       # open tags, each marked "notes" when it starts speaker notes
        self._slide = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and attrs.get("id"):
            self._slide = attrs["id"]
            self.slides.setdefault(self._slide, [])
        notes = tag == "aside" and "notes" in (attrs.get("class") or "").split()
        if tag not in ("br", "img", "meta", "link", "input", "hr", "circle", "line", "rect", "path", "use"):
            self._stack.append("notes" if notes else tag)

    def handle_endtag(self, tag):
        if tag in self._stack:
            while self._stack and self._stack.pop() != tag:
                pass

    def handle_data(self, data):
        if self._slide and "notes" not in self._stack and "script" not in self._stack and "style" not in self._stack:
            self.slides[self._slide].append(data)


def audience_text(html: str) -> dict[str, str]:
    """Slide id -> the slide's visible text (speaker notes left out)."""
    parser = AudienceText()
    parser.feed(html)
    return {slide: " ".join(" ".join(parts).split()) for slide, parts in parser.slides.items()}


#: Tags that run inside a line of text; every other tag ends one (a table cell, a list item, a paragraph).
_INLINE = {"span", "tspan", "strong", "em", "b", "i", "sub", "sup", "math", "mrow", "mi", "mo", "mn", "msub", "msup",
           "mfrac", "mtext", "mspace", "msqrt", "mover", "munder", "mstyle"}


class AudienceLines(HTMLParser):
    """Each slide's visible text as lines, one per block (cell, item, paragraph); exponents as ``^(…)``."""

    def __init__(self) -> None:
        super().__init__()
        self.slides: dict[str, list[str]] = {}
        self._slide, self._hidden = "", 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and attrs.get("id"):
            self._slide = attrs["id"]
            self.slides.setdefault(self._slide, [""])
        if tag in ("aside", "script", "style"):
            self._hidden += 1
        self._mark(tag, "^(" if tag == "sup" else "")

    def handle_endtag(self, tag):
        if tag in ("aside", "script", "style"):
            self._hidden -= 1
        self._mark(tag, ")" if tag == "sup" else "")

    def _mark(self, tag, text):
        if self._slide and not self._hidden:
            if tag in _INLINE:
                self.slides[self._slide][-1] += text
            else:
                self.slides[self._slide].append("")

    def handle_data(self, data):
        if self._slide and not self._hidden:
            self.slides[self._slide][-1] += data.replace("\n", " ")


_NUMBER = r"\d+(?:\.\d+)?(?:\u00d710[\u207b\u2070\u00b9\u00b2\u00b3\u2074-\u2079]+)?"
#: What a worked-out expression is made of: shown numbers, operators, brackets and the functions the slides use.
_EXPRESSION = re.compile(rf"(?:{_NUMBER}|exp|ln|tanh|max|\u03c3|e\^|[\s+\u2212\-\u00b7\u00d7/()\[\]>,\u00b2\u00bd])+")
_RESULT = re.compile(rf"\s*=\s*([+\u2212]?{_NUMBER})(?!\.?\d|\s*[+\u2212\-\u00b7\u00d7/(\u00b2^])")


def _evaluate(expression: str) -> float | None:
    """The value of a shown expression worked out from its shown numbers, None when it is not one."""
    numbers: list[float] = []

    def number(m):
        numbers.append(parse_number(m.group(0)))
        return f"N{len(numbers) - 1}_"
    code = re.sub(_NUMBER, number, expression)
    functions = re.findall(r"exp|ln|tanh|max|\u03c3|e\^|> 0\]|\u00bd", code)      # ½ counts as a number too
    code = re.sub(r"\[([^\[\]]*?) > (N\d+_)\]", r"float((\1) > \2)", code)       # [a > 0]: the relu slope
    code = (code.replace("e^", "exp").replace("ln", "log").replace("\u03c3", "sigmoid").replace("[", "(")
            .replace("]", ")").replace("\u2212", "-").replace("\u00b7", "*").replace("\u00d7", "*")
            .replace("\u00b2", "**2").replace("\u00bd", "0.5"))
    code = re.sub(r"log\s+(N\d+_)", r"log(\1)", code)
    if len(numbers) + len(functions) < 2 or not re.search(r"[-+*/]|exp|log|tanh|max|sigmoid|float", code):
        return None
    env = {**{f"N{i}_": v for i, v in enumerate(numbers)}, "exp": math.exp, "log": math.log, "tanh": math.tanh, "max": max, "float": float,
           "sigmoid": lambda z: 1 / (1 + math.exp(-z))}
    try:
        return float(eval(code, {"__builtins__": {}}, env))      # noqa: S307 - text of a deck built by the test
    except (SyntaxError, TypeError, ValueError, ZeroDivisionError, OverflowError, NameError):
        return None


def worked_equations(html: str) -> list[tuple[str, str, float, str]]:
    """Every ``A op B = C`` on a slide whose left side is made of shown numbers:
    ``(slide id, the line, the left side worked out from its shown numbers, C)``."""
    parser = AudienceLines()
    parser.feed(html)
    out = []
    for slide, lines in parser.slides.items():
        for line in lines:
            for m in _RESULT.finditer(line):
                before = line[: m.start()]
                found = next((i for i in range(len(before)) if _EXPRESSION.fullmatch(before[i:]) and
                              _evaluate(before[i:]) is not None), None)
                if found is None:
                    continue
                rest = before[:found].rstrip()
                if rest and (rest[-1] in "\u22ef\u2026+\u2212-\u00b7\u00d7/(,." or rest[-1].isdigit()):
                    continue            # terms left out (⋯) or a longer expression it cannot read: not checkable
                out.append((slide, line.strip(), _evaluate(before[found:]), m.group(1)))
    return out
