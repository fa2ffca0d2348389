"""Deck config: read TOML, apply ``--set`` overrides, validate everything at once.

One table, :data:`FIELDS`, says which keys exist, what type each one takes and
what it means. Defaults live only in the frozen dataclasses below. Every problem
found is collected and raised together as one :class:`~deckgen.errors.ConfigError`
whose lines name the file, the line and the key.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import ConfigError, one_line
from .readfile import DECK_FILE_LIMIT, NotReadable, read_capped

ACTIVATIONS = ("sigmoid", "tanh", "relu")
DATASETS = ("trask", "trask-2layer", "xor", "and", "or")
SCALES = ("minmax", "standard", "none")
THEMES = (
    "white", "black", "white-contrast", "black-contrast", "beige", "blood",
    "dracula", "league", "moon", "night", "serif", "simple", "sky", "solarized",
)


@dataclass(frozen=True)
class DataConfig:
    dataset: str | None = "trask"
    csv: Path | None = None
    target: tuple[str, ...] = ()
    features: tuple[str, ...] | None = None
    categorical: tuple[str, ...] = ()
    inputs: tuple[tuple[float, ...], ...] | None = None
    targets: tuple[tuple[float, ...], ...] | None = None
    scale: str = "minmax"
    bias_column: bool = False
    rows: tuple[int, ...] | None = None
    shuffle: int | None = None


@dataclass(frozen=True)
class NetworkConfig:
    layers: tuple[int | str, ...] = ("auto", 4, "auto")   # inputs and outputs from the data: [3, 4, 1] for trask
    activation: str = "sigmoid"
    bias: bool = False
    weights: tuple | None = None
    biases: tuple | None = None


@dataclass(frozen=True)
class TrainingConfig:
    seed: int = 1
    learning_rate: float = 1.0
    iterations: int = 60000
    memory_budget_mb: float = 256.0


@dataclass(frozen=True)
class DeckSettings:
    explain: tuple[int, ...] = (0,)
    checkpoints: int | tuple[int, ...] = 10000
    precision: int = 3
    theme: str = "white"
    trask_names: bool = False
    templates: Path | None = None
    max_rows: int = 8
    max_cols: int = 8
    worked_cells: int = 16
    compare: tuple[dict, ...] = ()
    max_slides: int = 1000


@dataclass(frozen=True)
class Config:
    """A validated deck config. ``source`` is the TOML file it came from (None for pure defaults)."""

    title: str = "A neural network, number by number"
    name: str = "trask"
    source: Path | None = None
    data: DataConfig = field(default_factory=DataConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    deck: DeckSettings = field(default_factory=DeckSettings)
    #: ``"section.key"`` -> where it was set (``file:line`` or ``--set key``); ``""`` -> the deck file
    locations: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def where(self, key: str = "") -> str:
        """Where ``key`` was set, for error messages: ``deck.toml:12``, ``--set key`` or the deck file."""
        return self.locations.get(key) or self.locations.get("") or (str(self.source) if self.source else "config")

    @property
    def base_dir(self) -> Path:
        """The folder that relative paths in the config are relative to."""
        return self.source.parent if self.source else Path.cwd()

    def with_overrides(self, mapping: dict[str, Any], *, origin: str | None = None) -> "Config":
        """This config with some keys changed, validated like ``--set``; every problem is raised at once.

        ``mapping`` holds dotted keys (``{"training.learning_rate": 0.1}``) or
        section tables (``{"training": {"learning_rate": 0.1}}``) with TOML-like
        values. A new data source replaces the old one (see :func:`replace_source`).
        Messages name ``origin`` for the changed keys (default ``override KEY``);
        a relative path is relative to the deck file's folder, or to the current
        folder when ``origin`` starts with ``--set``. The other keys keep where
        they were set.
        """
        if not isinstance(mapping, dict):
            raise TypeError(f"with_overrides takes a mapping of keys to values, not {type(mapping).__name__}")
        changes = _flatten(_plain(mapping))
        values = config_values(self, compare=True)
        label = self.where()
        origins = {key: self.locations.get(key, label) for key in values}
        replace_source(values, changes)
        for key in set(origins) - set(values):
            origins.pop(key)
        values.update(changes)
        origins.update({key: origin or f"override {key}" for key in changes})
        return validate(values, source=self.source, name=self.name, origins=origins, label=label)

    def training_key(self) -> dict:
        """Everything that affects training (and nothing that only affects the slides)."""
        return {
            "data": _plain(dataclasses.asdict(self.data)),
            "network": _plain(dataclasses.asdict(self.network)),
            "training": _plain(dataclasses.asdict(self.training)),
        }


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


# --------------------------------------------------------------------------- checks
# Each check takes a raw TOML value and returns the parsed value or raises
# ValueError with the "what is wrong — what to do" text.

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


def _string(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"expected a string, got {literal(v)} — put the text in quotes")
    return v


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"expected true or false, got {literal(v)} — write true or false")
    return v


def _int(lo: int | None = None, hi: int | None = None) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"expected a whole number, got {literal(v)} — write a number like 3")
        if lo is not None and v < lo or hi is not None and v > hi:
            rng = f"from {lo} to {hi}" if hi is not None else f"at least {lo}"
            raise ValueError(f"{v} is out of range — use a whole number {rng}")
        return v
    return check


def _positive_float(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"expected a number, got {literal(v)} — write a number like 0.5")
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{v} must be a positive number — use a value above 0, like 0.5")
    return float(v)


def _one_of(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        v = _string(v)
        if v not in choices:
            raise ValueError(f"unknown value {v!r}{_did_you_mean(v, choices)} — choose one of: {', '.join(choices)}")
        return v
    return check


def _strings(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        return (v,)
    if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
        raise ValueError("expected a list of column names — write [\"name\", ...]")
    return tuple(v)


def _matrix(v: Any) -> tuple[tuple[float, ...], ...]:
    if not isinstance(v, list) or not v or not all(isinstance(r, list) and r for r in v):
        raise ValueError("expected a matrix — write a list of rows like [[0, 1], [1, 0]]")
    width = len(v[0])
    rows = []
    for i, row in enumerate(v):
        if len(row) != width:
            raise ValueError(f"row {i + 1} has {count(len(row), 'value')}, row 1 has {width} — give every row the same length")
        for x in row:
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                raise ValueError(f"row {i + 1} holds {x!r}, which is not a finite number — use numbers only")
        rows.append(tuple(float(x) for x in row))
    return tuple(rows)


def _layers(v: Any) -> tuple[int | str, ...]:
    if not isinstance(v, list) or len(v) < 2:
        raise ValueError("expected a list of at least two layer sizes — write it like [3, 4, 1]")
    out: list[int | str] = []
    for i, n in enumerate(v):
        if n == "auto" and i in (0, len(v) - 1):
            out.append("auto")
        elif isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"layer {i} size {n!r} is not allowed — use whole numbers of at least 1"
                             + (' (or "auto" for the input and output layers)' if i in (0, len(v) - 1) else ""))
        else:
            out.append(n)
    return tuple(out)


def _matrices(v: Any) -> tuple:
    if not isinstance(v, list) or not v:
        raise ValueError("expected one matrix per layer — write it like [[[0.1, 0.2]], [[0.3], [0.4]]]")
    return tuple(_matrix(m) for m in v)


def _vectors(v: Any) -> tuple:
    if not isinstance(v, list) or not v or not all(isinstance(r, list) for r in v):
        raise ValueError("expected one flat list per layer — write it like [[0.35, 0.35], [0.6]]")
    return tuple(_matrix([r])[0] for r in v)


def _iterations(v: Any) -> tuple[int, ...]:
    if isinstance(v, int) and not isinstance(v, bool):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in v):
        raise ValueError("expected a list of iteration numbers (0 or more) — write it like [0, 1]")
    return tuple(sorted(set(v)))


def _rows(v: Any) -> tuple[int, ...]:
    if isinstance(v, int) and not isinstance(v, bool):
        v = [v]
    if not isinstance(v, list) or not v or not all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in v):
        raise ValueError("expected a list of row numbers (counted from 0) — write it like [0, 50, 100]")
    return tuple(sorted(set(v)))


def _checkpoints(v: Any) -> int | tuple[int, ...]:
    if isinstance(v, list):
        return _iterations(v)
    return _int(1)(v)


def _path(v: Any) -> Path:
    text = _string(v)
    if not text.strip() or "\0" in text:
        raise ValueError(f"{text!r} is not a usable path — give a file name like \"data/iris.csv\"")
    return Path(text)


def _compare(v: Any) -> tuple[dict, ...]:
    if not isinstance(v, list) or not all(isinstance(d, dict) and d for d in v):
        raise ValueError('expected a list of tables — write it like [{ "training.learning_rate" = 0.1 }]')
    for i, variant in enumerate(v, 1):
        for key, value in _flatten(variant).items():
            spec = FIELDS.get(key)
            if spec is None or key == "deck.compare":
                raise ValueError(f"variant {i}: unknown key {key!r}{_did_you_mean(key, FIELDS)} — "
                                 "use config keys such as \"training.learning_rate\"")
            try:
                spec.check(value)
            except ValueError as exc:
                raise ValueError(f"variant {i}: {key}: {exc}") from None
    return tuple(v)


@dataclass(frozen=True)
class Field:
    check: Callable[[Any], Any]
    help: str


FIELDS: dict[str, Field] = {
    "title": Field(_string, "Title on the first slide."),
    "data.dataset": Field(_one_of(DATASETS), "Built-in dataset: " + ", ".join(DATASETS) + "."),
    "data.csv": Field(_path, "CSV file (header row required), relative to the deck file (to the current folder with --set)."),
    "data.target": Field(_strings, "Target column name(s) in the CSV; the rest are features."),
    "data.features": Field(_strings, "Feature columns to use (default: every non-target column)."),
    "data.categorical": Field(_strings, "Columns to one-hot encode even though they hold numbers."),
    "data.inputs": Field(_matrix, "Literal input matrix, one row per example."),
    "data.targets": Field(_matrix, "Literal target matrix, one row per example."),
    "data.scale": Field(_one_of(SCALES), "Scaling of numeric CSV features: minmax, standard or none."),
    "data.bias_column": Field(_bool, "Append Trask's constant-1 input column."),
    "data.rows": Field(_rows, "Data rows shown on the detailed slides, counted from 0 in file order (training uses every row)."),
    "data.shuffle": Field(_int(0), "Shuffle the CSV rows with this seed."),
    "network.layers": Field(_layers, "Layer sizes from inputs to outputs, like [3, 4, 1]; \"auto\" first or last: from the data (default [\"auto\", 4, \"auto\"])."),
    "network.activation": Field(_one_of(ACTIVATIONS), "Hidden-layer activation: sigmoid, tanh or relu (output is sigmoid)."),
    "network.bias": Field(_bool, "Give every layer a trained bias (Trask uses a constant-1 input instead)."),
    "network.weights": Field(_matrices, "Explicit initial weights: one matrix per layer."),
    "network.biases": Field(_vectors, "Explicit initial biases: one flat list per layer (needs bias = true)."),
    "training.seed": Field(_int(0, 2**32 - 1), "Seed of the random initial weights."),
    "training.learning_rate": Field(_positive_float, "Step size of gradient descent."),
    "training.iterations": Field(_int(1, 10_000_000), "Number of training iterations."),
    "training.memory_budget_mb": Field(_positive_float, "Memory for recording every matrix; above it only shown iterations are kept."),
    "deck.explain": Field(_iterations, "Iterations explained step by step."),
    "deck.checkpoints": Field(_checkpoints, "Checkpoint slides: every N iterations, or a list."),
    "deck.precision": Field(_int(0, 12), "Decimal places of every number on the slides."),
    "deck.theme": Field(_one_of(THEMES), "reveal.js theme."),
    "deck.trask_names": Field(_bool, "Show Trask's variable names (l0, syn0, l1, ...) beside the math names."),
    "deck.templates": Field(_path, "Folder of your own templates, searched before the built-in ones."),
    "deck.max_rows": Field(_int(2, 40), "Rows of a matrix shown before it is cut with an ellipsis."),
    "deck.max_cols": Field(_int(2, 20), "Columns of a matrix shown before it is cut with an ellipsis."),
    "deck.worked_cells": Field(_int(1, 64), "Result cells worked out step by step on each calculation slide."),
    "deck.compare": Field(_compare, "What-if variants, each a table of overrides."),
    "deck.max_slides": Field(_int(1), "Most slides a deck may have; checked before training."),
}

_SECTIONS = {"data": DataConfig, "network": NetworkConfig, "training": TrainingConfig, "deck": DeckSettings}


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _flatten(table: dict, prefix: str = "") -> dict[str, Any]:
    """``{"network": {"layers": [...]}}`` -> ``{"network.layers": [...]}``; unknown tables stay whole."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and dotted in _SECTIONS:
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


#: Keys that say where the data comes from; one source at a time.
_SOURCES = (("data.dataset",), ("data.csv",), ("data.inputs", "data.targets"))
#: Settings that only mean something for a CSV file.
_CSV_ONLY = ("data.target", "data.features", "data.categorical", "data.scale")


def replace_source(values: dict[str, Any], changes: dict[str, Any], removable: set[str] | None = None) -> None:
    """Make room in ``values`` for the data source ``changes`` names, if any (in place).

    The keys of any other source go, and when the new source is not a CSV file,
    so do the CSV-only settings (target, features, categorical, scale) that
    ``changes`` does not give. Only keys in ``removable`` are touched (default: all).
    """
    new = [group for group in _SOURCES if any(key in changes for key in group)]
    if not new:
        return
    drop = {key for group in _SOURCES if group not in new for key in group}
    if "data.csv" not in changes:
        drop |= set(_CSV_ONLY)
    for key in drop - set(changes):
        if removable is None or key in removable:
            values.pop(key, None)


def config_values(config: Config, *, compare: bool = False) -> dict[str, Any]:
    """The flat ``{"section.key": value}`` pairs (those that differ from the defaults) that validate back
    into ``config``; ``deck.compare`` only with ``compare=True``."""
    values, default = {}, Config()
    for key in FIELDS:
        section, _, leaf = key.rpartition(".")
        value = getattr(getattr(config, section) if section else config, leaf)
        if value is not None and value != getattr(getattr(default, section) if section else default, leaf):
            values[key] = _plain(value)
    if not compare:
        values.pop("deck.compare", None)
    return values

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


def _line_of(text: str, dotted: str) -> int | None:
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
                name: str | None = None) -> Config:
    """Read, merge and validate a deck config. ``path=None`` gives the built-in default talk.

    Every problem is reported at once: bad ``--set`` overrides, then the file's
    keys, and (when the config itself has problems) the CSV file it names too.
    """
    if path is None:
        from .resources import default_deck
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
    values = _flatten(table)
    origins = {key: label for key in values}
    # --set training={learning_rate=0.5} means the same as --set training.learning_rate=0.5
    pairs = [flat for key, value in pairs for flat in _flatten({key: value}).items()]
    for key, value in pairs:
        # a data source given with --set replaces the file's
        replace_source(values, {key: value}, removable={k for k, o in origins.items() if o == label})
        values[key] = value
        origins[key] = f"--set {key}"
    origins = {key: origins[key] for key in values}
    return validate(values, source=path.resolve(), text=text, origins=origins,
                    name=name or path.stem, label=label, extra_errors=override_errors)


def validate(values: dict[str, Any], *, source: Path | None = None, text: str = "",
             origins: dict[str, str] | None = None, name: str = "deck", label: str | None = None,
             extra_errors: list[str] | tuple[str, ...] = ()) -> Config:
    """Turn flat ``{"section.key": value}`` pairs into a :class:`Config`, or raise every problem at once."""
    origins = origins or {}
    label = label or (str(source) if source else "config")
    errors: list[str] = list(extra_errors)

    def where(key: str) -> str:
        origin = origins.get(key, label)
        if origin.startswith("--set"):
            return origin
        line = _line_of(text, key) if text and key in values else None
        return f"{origin}:{line}" if line else origin

    parsed: dict[str, Any] = {}
    for key, value in values.items():
        spec = FIELDS.get(key)
        if spec is None:
            errors.append(_unknown(key, value, where(key)))
            continue
        try:
            parsed[key] = spec.check(value)
        except ValueError as exc:
            errors.append(f"{located(where(key), key)}: {exc}")
        except RecursionError:
            errors.append(f"{located(where(key), key)}: the value is nested too deeply — simplify it")
    errors += _cross_checks(parsed, where)

    base = source.parent if source else Path.cwd()
    for key in ("data.csv", "deck.templates"):
        if key in parsed and not parsed[key].is_absolute():
            # a path in the deck file is relative to it; one given with --set, to the current folder
            start = Path.cwd() if origins.get(key, "").startswith("--set") else base
            parsed[key] = Path(os.path.abspath(start / parsed[key]))
    if "deck.templates" in parsed and not parsed["deck.templates"].is_dir():
        errors.append(f"{located(where('deck.templates'), 'deck.templates')}: {parsed['deck.templates']}: "
                      "no such folder — create it, or give the folder that holds your templates")
    if errors:
        if "data.csv" in parsed:  # report the data file's problems in the same go
            from .csvdata import problems
            errors += problems(parsed["data.csv"], target=parsed.get("data.target", ()),
                               features=parsed.get("data.features"),
                               categorical=parsed.get("data.categorical", ()), where=where)
        raise ConfigError(*errors)

    sections: dict[str, dict[str, Any]] = {s: {} for s in _SECTIONS}
    top: dict[str, Any] = {}
    for key, value in parsed.items():
        section, _, leaf = key.rpartition(".")
        (sections[section] if section else top)[leaf] = value
    if "csv" in sections["data"] or "inputs" in sections["data"]:
        sections["data"].setdefault("dataset", None)
    locations = {key: where(key) for key in parsed}
    locations[""] = label
    return Config(
        name=name, source=source, locations=locations, **top,
        **{s: cls(**sections[s]) for s, cls in _SECTIONS.items()},
    )


def _unknown(key: str, value: Any, where: str) -> str:
    """The message for a key that is not in :data:`FIELDS`."""
    section = key.split(".")[0]
    if key in _SECTIONS:
        return (f"{located(where, key)}: expected a table, got {literal(value)} — write it as a [{key}] section")
    if "." not in key and isinstance(value, dict):
        shown = f"[{key}]" if re.fullmatch(r"[\w\-]+", key) else repr(key)
        return (f"{where}: unknown section {shown}{_did_you_mean(key, _SECTIONS)} — "
                f"sections are {', '.join(f'[{s}]' for s in _SECTIONS)}")
    if section in _SECTIONS or "." not in key:
        return (f"{where}: unknown key {key!r}{_did_you_mean(key, FIELDS)} — "
                "remove it or see `deckgen keys` for the list")
    return (f"{where}: unknown key {key!r}{_did_you_mean(key, FIELDS)} — "
            f"sections are {', '.join(f'[{s}]' for s in _SECTIONS)}; see `deckgen keys`")


#: Slides of a deck besides its checkpoints and explained iterations, and per explained iteration
#: (``SLIDES_PER_LAYER`` for each layer of weights, plus one): an estimate made before training.
BASE_SLIDES, SLIDES_PER_LAYER = 8, 7


def _slide_count_check(parsed: dict[str, Any], where: Callable[[str], str], n_layers: int,
                       iterations: int) -> list[str]:
    """Refuse a deck that would have more than ``deck.max_slides`` slides, before any training."""
    limit = parsed.get("deck.max_slides", DeckSettings.max_slides)
    spec = parsed.get("deck.checkpoints", DeckSettings.checkpoints)
    checkpoints = -(-iterations // spec) + 1 if isinstance(spec, int) else len(set(spec))
    explained = len(set(parsed.get("deck.explain", DeckSettings.explain))) * (SLIDES_PER_LAYER * n_layers + 1)
    total = BASE_SLIDES + checkpoints + explained
    if total <= limit:
        return []
    room = limit - BASE_SLIDES - explained
    if checkpoints >= explained and room >= 2:
        key = "deck.checkpoints"
        fix = (f"use a checkpoint every {-(-iterations // (room - 1)):,} iterations or more" if isinstance(spec, int)
               else f"list at most {room} checkpoints")
    else:
        key, fix = "deck.explain", "explain fewer iterations step by step"
    return [f"{located(where(key), key)}: the deck would have about {total:,} slides ({checkpoints:,} checkpoints, "
            f"{explained:,} for explained iterations), more than deck.max_slides ({limit:,}) — {fix}, "
            "or raise deck.max_slides"]


def _cross_checks(parsed: dict[str, Any], where: Callable[[str], str]) -> list[str]:
    """Checks that need several keys at once."""
    errors: list[str] = []
    layers = parsed.get("network.layers", NetworkConfig.layers)
    iterations = parsed.get("training.iterations", TrainingConfig.iterations)
    for key, end in (("deck.explain", iterations - 1), ("deck.checkpoints", iterations)):
        late = [t for t in parsed.get(key, ()) if t > end] if not isinstance(parsed.get(key), int) else []
        if late:
            errors.append(f"{located(where(key), key)}: iteration {late[0]} is past the end (training runs iterations "
                          f"0 to {iterations - 1}) — pick one up to {end} or raise training.iterations")
    if not errors:
        errors += _slide_count_check(parsed, where, len(layers) - 1, iterations)
    has_csv = "data.csv" in parsed
    if ("data.inputs" in parsed) != ("data.targets" in parsed):
        key = "data.inputs" if "data.inputs" in parsed else "data.targets"
        errors.append(f"{where(key)}: data.inputs and data.targets go together — give both")
    elif "data.inputs" in parsed and len(parsed["data.inputs"]) != len(parsed["data.targets"]):
        errors.append(f"{where('data.targets')}: data.targets has {count(len(parsed['data.targets']), 'row')} but "
                      f"data.inputs has {len(parsed['data.inputs'])} — give one target row per input row")
    if has_csv and "data.inputs" in parsed:
        errors.append(f"{where('data.csv')}: data.csv and data.inputs/targets both given — keep one of them")
    for other in ("data.csv", "data.inputs"):
        if "data.dataset" in parsed and other in parsed:
            errors.append(f"{where('data.dataset')}: data.dataset and {other} both given — keep one of them")
    if has_csv and not parsed.get("data.target"):
        errors.append(f"{where('data.csv')}: data.csv needs data.target — name the column(s) to predict, "
                      "like target = [\"species\"]")
    if not has_csv:
        for key in ("data.target", "data.features", "data.categorical", "data.scale"):
            if key in parsed:
                errors.append(f"{where(key)}: {key} only applies to CSV data — remove it, or name a file with data.csv")
    if "network.biases" in parsed and not parsed.get("network.bias", False):
        errors.append(f"{where('network.biases')}: network.biases given but network.bias is false — set network.bias = true")
    weights = parsed.get("network.weights")
    if weights is not None:
        error = weights_problem(layers, weights)
        if error:
            errors.append(f"{where('network.weights')}: network.weights {error}")
    biases = parsed.get("network.biases")
    if biases is not None:
        error = biases_problem(layers, biases)
        if error:
            errors.append(f"{where('network.biases')}: network.biases {error}")
    return errors


def weights_problem(layers, weights) -> str | None:
    """What is wrong with explicit initial weights for these layer sizes (``"auto"`` sizes match anything)."""
    if len(weights) != len(layers) - 1:
        return (f"has {count(len(weights), 'matrix', 'matrices')} but layers {list(layers)} need {len(layers) - 1} "
                "(one per layer after the inputs) — fix the matrices or the layer sizes")
    want = [(layers[k], layers[k + 1]) for k in range(len(layers) - 1)]
    got = [(len(m), len(m[0])) for m in weights]
    if any(w != "auto" and w != g for pair_w, pair_g in zip(want, got) for w, g in zip(pair_w, pair_g)):
        auto = " (? is a width taken from the data)" if "auto" in layers else ""
        return (f"has shapes {_shapes(got)} but layers {list(layers)} need {_shapes(want)}{auto} — "
                "fix the matrices or the layer sizes")
    return None


def biases_problem(layers, biases) -> str | None:
    want = list(layers[1:])
    got = [len(b) for b in biases]
    if len(got) != len(want) or any(w != "auto" and w != g for w, g in zip(want, got)):
        return (f"has lengths {got} but layers {list(layers)} need {want} — give one value per unit "
                "of every layer after the inputs")
    return None


def _shapes(shapes) -> str:
    return ", ".join(f"{r}x{c}".replace("auto", "?") for r, c in shapes)
