"""Shared helpers for tests that build decks: small configs and HTML parsing."""

from __future__ import annotations

import hashlib
import os
from html.parser import HTMLParser
from pathlib import Path

from deckgen.pipeline import build
from deckgen.config import load_config


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
