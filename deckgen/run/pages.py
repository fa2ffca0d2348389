"""What ``deckgen serve`` sends besides the deck: its own pages, the reload script, and safe file lookup."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from deckgen.resources import templates_dir


def page_templates():
    """The templates of the pages only ``serve`` sends: the reload script and the no-deck-yet page."""
    return Environment(loader=FileSystemLoader(str(templates_dir() / "serve")), autoescape=True,
                       undefined=StrictUndefined, keep_trailing_newline=True)


def inject(html: bytes, script: str) -> bytes:
    """``html`` with ``script`` just before its last ``</body>`` (or at the end)."""
    data = script.encode("utf-8")
    lower = html.lower()
    at = lower.rfind(b"</body>")
    if at < 0:
        return html + data
    return html[:at] + data + html[at:]


def resolve(root: Path, raw: str) -> Path | None:
    """The file a request path names inside ``root``, or None (missing, hidden, or outside it).

    Each segment is percent-decoded once; ``..``, ``.``, dot-files and segments
    that decode to a slash, backslash or NUL are refused, and the result must
    still lie inside ``root`` after symlinks are resolved.
    """
    path = urlsplit(raw).path
    if not path.startswith("/"):
        return None
    parts = []
    for segment in path.split("/")[1:]:
        if segment == "":
            continue
        name = unquote(segment, errors="strict") if "%" in segment else segment
        if name.startswith(".") or any(c in name for c in "/\\\0"):
            return None
        parts.append(name)
    candidate = root.joinpath(*parts)
    if candidate.is_dir():
        candidate = candidate / "index.html"
    real_root = os.path.realpath(root)
    real = os.path.realpath(candidate)
    if os.path.commonpath([real_root, real]) != real_root or not os.path.isfile(real):
        return None
    return Path(real)
