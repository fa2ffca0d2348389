"""Read a deck file, apply ``--set`` overrides and validate the result."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from deckgen.config.model import Config, replace_source, validate
from deckgen.config.schema import flatten
from deckgen.errors import ConfigError, one_line
from deckgen.readfile import DECK_FILE_LIMIT, NotReadable, read_capped
from deckgen.resources import default_deck

def parse_override(text: str) -> tuple[str, Any]:
    """``"training.learning_rate=0.5"`` -> ``("training.learning_rate", 0.5)``; bare words become strings."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {text}: expected KEY=VALUE — write it like --set training.learning_rate=0.5")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except RecursionError:
        raise ConfigError(f"--set {one_line(key)}: the value is nested too deeply to read — give a flat value "
                          "such as [3, 8, 1]") from None
    except ValueError as exc:
        if not isinstance(exc, tomllib.TOMLDecodeError) and "digits" in str(exc):
            raise ConfigError(f"--set {one_line(key)}: a number with thousands of digits — give a number of "
                              "reasonable size") from None
        if not isinstance(exc, tomllib.TOMLDecodeError):
            raise
        if re.fullmatch(r"[\w.\-/ ]*", raw) and not re.fullmatch(r"[\d.eE+\-]+", raw):
            value = raw  # a bare word such as black or data/iris.csv
        else:
            raise ConfigError(f"--set {text}: {raw!r} is not a TOML value — quote strings, write lists as [1, 2]") from None
    return key, value


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = (),
                name: str | None = None, *, values: dict[str, Any] | None = None) -> Config:
    """Read, merge and validate a deck config. ``path=None`` gives the built-in default talk.

    Every problem is reported at once: bad ``--set`` overrides, then the file's
    keys, and (when the config itself has problems) the CSV file it names too.
    """
    if path is None:
        path = default_deck()
    path = Path(path)
    label = str(path)
    override_errors: list[str] = []
    pairs: list[tuple[str, Any]] = []
    for item in overrides:
        try:
            pairs.append(parse_override(item))
        except ConfigError as exc:
            override_errors += exc.messages
    try:
        if path.is_dir():
            raise IsADirectoryError(path)
        text = read_capped(path, DECK_FILE_LIMIT).decode("utf-8-sig")
    except NotReadable as exc:
        raise ConfigError(*override_errors, f"{label}: {exc.what} — give a deck file (.toml) that is a "
                          "regular file of at most 1 MB") from None
    except FileNotFoundError:
        raise ConfigError(*override_errors, f"{label}: file not found — check the path, or run `deckgen new NAME` "
                          "to write one") from None
    except UnicodeDecodeError as exc:
        raw = exc.object
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(*override_errors, f"{label}:{line}:{column}: not UTF-8 text (byte {raw[exc.start]:#04x}) "
                          "— save the deck file as UTF-8") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(*override_errors, f"{label}: cannot read the file ({exc.__class__.__name__}) — "
                          "give a readable UTF-8 TOML file") from None
    try:
        table = tomllib.loads(text)
    except RecursionError:
        raise ConfigError(*override_errors, f"{label}: values are nested too deeply to read — flatten the "
                          "nested lists or tables") from None
    except ValueError as exc:
        if not isinstance(exc, tomllib.TOMLDecodeError):
            if "digits" not in str(exc):
                raise
            raise ConfigError(*override_errors, f"{label}: a number with thousands of digits — give a number "
                              "of reasonable size") from None
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        lines = text.split("\n")
        where = (f"{label}:{m.group(1)}:{m.group(2)}" if m
                 else f"{label}:{len(lines)}:{len(lines[-1]) + 1}" if "end of document" in str(exc) else label)
        what = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(exc)) or "invalid TOML"
        raise ConfigError(*override_errors, f"{where}: TOML syntax error: {what} — fix the syntax there") from None
    given, values = values, flatten(table)
    origins = {key: label for key in values}
    # --set training={learning_rate=0.5} means the same as --set training.learning_rate=0.5
    pairs = [flat for key, value in pairs for flat in flatten({key: value}).items()]
    for key, value in [*pairs, *(given or {}).items()]:   # ``values``: keys set by options, already parsed
        # a data source given with --set replaces the file's
        replace_source(values, {key: value}, removable={k for k, o in origins.items() if o == label})
        values[key] = value
        origins[key] = f"--set {key}"
    origins = {key: origins[key] for key in values}
    return validate(values, source=path.resolve(), text=text, origins=origins,
                    name=name or path.stem, label=label, extra_errors=override_errors)
