"""Where a key stands in the deck file's text, for messages that name its line."""

from __future__ import annotations

import re

_KEY_CHARS = re.compile(r"""[A-Za-z0-9_.\-"' ]+""")  # matched on a slice cut at a bracket or "=": linear


def _header_key(line: str) -> str | None:
    """The dotted name of a ``[table]`` or ``[[array]]`` header line (stripped), else None."""
    if not line.startswith("["):
        return None
    inner = line[2:] if line.startswith("[[") else line[1:]
    name, bracket, rest = inner.partition("]")
    rest = rest[1:] if rest.startswith("]") else rest
    rest = rest.lstrip()
    if not bracket or rest and not rest.startswith("#") or not _KEY_CHARS.fullmatch(name.strip()):
        return None
    return name.strip()


def _assigned_key(line: str) -> str | None:
    """The dotted name of a ``key = value`` line (stripped), else None."""
    name, equals, _ = line.partition("=")
    name = name.rstrip()
    return name if equals and _KEY_CHARS.fullmatch(name) else None


def _unquote(dotted: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in dotted.split("."))


def line_of(text: str, dotted: str) -> int | None:
    """Best-effort line number of a key (or a ``[table]`` header) in the TOML text, for error messages."""
    current, fallback = "", None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        header = _header_key(stripped)
        if header is not None:
            current = _unquote(header)
            full = current
        else:
            key = _assigned_key(stripped)
            if key is None:
                continue
            name = _unquote(key)
            full = f"{current}.{name}" if current else name
        if full == dotted:
            return number
        if fallback is None and dotted.startswith(full + ".") and not header:
            fallback = number  # inside an inline table such as network = { layers = [...] }
    return fallback
