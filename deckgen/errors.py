"""The exceptions deckgen raises for problems a user can fix.

The CLI turns every :class:`DeckgenError` into a clean ``deckgen: error: ...``
line and a non-zero exit; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
import json
from typing import Any


def one_line(text: str) -> str:
    """``text`` with every unprintable character escaped (``\\x0b``, ``\\u2028``), so a message stays on one line.

    Names, paths and values quoted in messages come from the user's files and
    may hold line breaks or other control characters; printed raw, one
    message would read as two.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


class DeckgenError(Exception):
    """A problem with the user's input or environment, reported without a traceback."""

    exit_code = 1

    def __init__(self, *messages: str) -> None:
        self.messages = [one_line(m) for m in messages if m]
        super().__init__("\n".join(self.messages))


class ConfigError(DeckgenError):
    """The deck config, an override or the data it names is invalid (every problem at once).

    ``csv``: when the config names a CSV file, what the data stage needs to
    report that file's problems in the same go (see ``deckgen.pipeline.load``).
    """

    exit_code = 2
    csv: dict | None = None


class OutputError(DeckgenError):
    """The output folder cannot be written safely."""

    exit_code = 1


# --------------------------------------------------------------------------- message helpers
# Every message deckgen prints reads "where: what is wrong — what to do"; these build its parts.

def literal(value: Any, limit: int = 40) -> str:
    """A value as it would be written in TOML, cut short, for "got ..." in messages: ``1.5``, ``"abc"``."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, float)):
        text = repr(value)
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, list):
        text = "[" + ", ".join(literal(v, limit) for v in value[:limit]) + "]"
    elif isinstance(value, dict):
        return "a table"
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``1 output``, ``2 outputs``, ``1,500 rows``."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def located(where: str, key: str) -> str:
    """``where: key`` for the start of a message, or just ``where`` when it already names the key
    (``--set training.seed``), so the key is said once."""
    return where if where == key or where.endswith(" " + key) else f"{where}: {key}"


def did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def too_large(config, what: str) -> str:
    """The message for numbers too large to train on or draw: ``what`` happened — how to make them smaller."""
    if config.network.weights is not None:
        key, fix = "network.weights", "use smaller initial weights"
    elif config.data.csv is not None:
        key, fix = "data.scale", 'scale the inputs (data.scale = "minmax") or use smaller values in the CSV file'
    else:
        key, fix = "data.inputs", "use smaller input values"
    return f"{located(config.where(key), key)}: {what} — {fix}"
