"""Where a key stands in the deck file's text, for messages that name its line."""

from __future__ import annotations

import re

_HEADER = re.compile(r"\[\[?\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""([A-Za-z0-9_.\-"' ]+?)\s*=""")


def _unquote(dotted: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in dotted.split("."))


def line_of(text: str, dotted: str) -> int | None:
    """Best-effort line number of a key (or a ``[table]`` header) in the TOML text, for error messages."""
    current, fallback = "", None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        header = _HEADER.match(stripped)
        if header:
            current = _unquote(header.group(1))
            full = current
        else:
            m = _KEY.match(stripped)
            if not m:
                continue
            name = _unquote(m.group(1))
            full = f"{current}.{name}" if current else name
        if full == dotted:
            return number
        if fallback is None and dotted.startswith(full + ".") and not header:
            fallback = number  # inside an inline table such as network = { layers = [...] }
    return fallback
