"""The exceptions deckgen raises for problems a user can fix.

The CLI turns every :class:`DeckgenError` into a clean ``deckgen: error: ...``
line and a non-zero exit; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


_BREAKS = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text: str) -> str:
    """``text`` with control characters (line breaks, escape sequences, DEL) written as escapes, so that a
    message quoting what the user typed stays on one line and cannot drive the terminal."""
    return "".join(_BREAKS.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x20 or 0x7f <= ord(ch) < 0xa0 else
                                        f"\\u{ord(ch):04x}" if ch in "\u2028\u2029" else ch) for ch in text)


class DeckgenError(Exception):
    """A problem with the user's input or environment, reported without a traceback."""

    exit_code = 1

    def __init__(self, *messages: str) -> None:
        self.messages = [m for m in messages if m]
        super().__init__("\n".join(self.messages))


class ConfigError(DeckgenError):
    """The deck config, an override or the data it names is invalid (every problem at once)."""

    exit_code = 2


class OutputError(DeckgenError):
    """The output folder cannot be written safely."""

    exit_code = 1
