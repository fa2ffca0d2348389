"""Deck config: read TOML, apply ``--set`` overrides, validate everything at once.

One table, :data:`FIELDS`, says which keys exist, what type each one takes and
what it means. Defaults live only in the frozen dataclasses below. Every problem
found is collected and raised together as one :class:`~deckgen.errors.ConfigError`
whose lines name the file, the line and the key.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .errors import ConfigError

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
    layers: tuple[int | str, ...] = (3, 4, 1)
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

    @property
    def base_dir(self) -> Path:
        """The folder that relative paths in the config are relative to."""
        return self.source.parent if self.source else Path.cwd()

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

def _type_name(value: Any) -> str:
    return {bool: "true/false", int: "a whole number", float: "a number", str: "a string",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)


def _string(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"expected a string, got {_type_name(v)} — put the text in quotes")
    return v


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"expected true or false, got {_type_name(v)} — write true or false")
    return v


def _int(lo: int | None = None, hi: int | None = None) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"expected a whole number, got {_type_name(v)} — write a number like 3")
        if lo is not None and v < lo or hi is not None and v > hi:
            rng = f"from {lo} to {hi}" if hi is not None else f"at least {lo}"
            raise ValueError(f"{v} is out of range — use a whole number {rng}")
        return v
    return check


def _positive_float(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"expected a number, got {_type_name(v)} — write a number like 0.5")
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
        raise ValueError("expected a matrix: a list of rows like [[0, 1], [1, 0]]")
    width = len(v[0])
    rows = []
    for i, row in enumerate(v):
        if len(row) != width:
            raise ValueError(f"row {i + 1} has {len(row)} values, row 1 has {width} — give every row the same length")
        for x in row:
            if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
                raise ValueError(f"row {i + 1} holds {x!r}, which is not a finite number — use numbers only")
        rows.append(tuple(float(x) for x in row))
    return tuple(rows)


def _layers(v: Any) -> tuple[int | str, ...]:
    if not isinstance(v, list) or len(v) < 2:
        raise ValueError("expected a list of at least two layer sizes, like [3, 4, 1]")
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
        raise ValueError("expected one matrix per layer, like [[[0.1, 0.2]], [[0.3], [0.4]]]")
    return tuple(_matrix(m) for m in v)


def _vectors(v: Any) -> tuple:
    if not isinstance(v, list) or not v or not all(isinstance(r, list) for r in v):
        raise ValueError("expected one flat list per layer, like [[0.35, 0.35], [0.6]]")
    return tuple(_matrix([r])[0] for r in v)


def _iterations(v: Any) -> tuple[int, ...]:
    if isinstance(v, int) and not isinstance(v, bool):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in v):
        raise ValueError("expected a list of iteration numbers (0 or more), like [0, 1]")
    return tuple(sorted(set(v)))


def _checkpoints(v: Any) -> int | tuple[int, ...]:
    if isinstance(v, list):
        return _iterations(v)
    return _int(1)(v)


def _path(v: Any) -> Path:
    return Path(_string(v))


def _compare(v: Any) -> tuple[dict, ...]:
    if not isinstance(v, list) or not all(isinstance(d, dict) and d for d in v):
        raise ValueError('expected a list of tables, like [{ "training.learning_rate" = 0.1 }]')
    return tuple(v)


@dataclass(frozen=True)
class Field:
    check: Callable[[Any], Any]
    help: str


FIELDS: dict[str, Field] = {
    "title": Field(_string, "Title on the first slide."),
    "data.dataset": Field(_one_of(DATASETS), "Built-in dataset: " + ", ".join(DATASETS) + "."),
    "data.csv": Field(_path, "CSV file (header row required), relative to the deck file."),
    "data.target": Field(_strings, "Target column name(s) in the CSV; the rest are features."),
    "data.features": Field(_strings, "Feature columns to use (default: every non-target column)."),
    "data.categorical": Field(_strings, "Columns to one-hot encode even though they hold numbers."),
    "data.inputs": Field(_matrix, "Literal input matrix, one row per example."),
    "data.targets": Field(_matrix, "Literal target matrix, one row per example."),
    "data.scale": Field(_one_of(SCALES), "Scaling of numeric CSV features: minmax, standard or none."),
    "data.bias_column": Field(_bool, "Append Trask's constant-1 input column."),
    "data.rows": Field(_iterations, "Rows shown on the detailed slides (training always uses every row)."),
    "data.shuffle": Field(_int(0), "Shuffle the CSV rows with this seed."),
    "network.layers": Field(_layers, "Layer sizes from inputs to outputs, like [3, 4, 1]."),
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
}

_SECTIONS = {"data": DataConfig, "network": NetworkConfig, "training": TrainingConfig, "deck": DeckSettings}


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _flatten(table: dict, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and dotted in _SECTIONS:
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def _line_of(text: str, dotted: str) -> int | None:
    """Best-effort line number of a key in the TOML text (for error messages)."""
    section, _, key = dotted.rpartition(".")
    current = ""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        header = re.match(r"\[\s*([A-Za-z0-9_.\-]+)\s*\]", stripped)
        if header:
            current = header.group(1)
            continue
        m = re.match(r"([A-Za-z0-9_.\-\"]+)\s*=", stripped)
        if not m:
            continue
        name = m.group(1).strip('"')
        full = f"{current}.{name}" if current else name
        if full == dotted or (not current and name == dotted) or (current == section and name == key):
            return number
    return None


def parse_override(text: str) -> tuple[str, Any]:
    """``"training.learning_rate=0.5"`` -> ``("training.learning_rate", 0.5)``; bare words become strings."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {text}: expected KEY=VALUE — write it like --set training.learning_rate=0.5")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        if re.fullmatch(r"[\w.\-/ ]*", raw) and not re.fullmatch(r"[\d.eE+\-]+", raw):
            value = raw  # a bare word such as black or data/iris.csv
        else:
            raise ConfigError(f"--set {text}: {raw!r} is not a TOML value — quote strings, write lists as [1, 2]") from None
    return key, value


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = (),
                name: str | None = None) -> Config:
    """Read, merge and validate a deck config. ``path=None`` gives the built-in default talk."""
    if path is None:
        from .resources import default_deck
        path = default_deck()
    path = Path(path)
    label = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{label}: file not found — check the path, or run `deckgen new NAME` to write one") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{label}: cannot read the file ({exc.__class__.__name__}) — give a readable UTF-8 TOML file") from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        where = f"{label}:{m.group(1)}:{m.group(2)}" if m else label
        what = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError(f"{where}: TOML syntax error: {what} — fix the syntax there") from None
    values = _flatten(table)
    origins = {key: label for key in values}
    for item in overrides:
        key, value = parse_override(item)
        values[key] = value
        origins[key] = f"--set {key}"
    return validate(values, source=path.resolve(), text=text, origins=origins,
                    name=name or path.stem)


def validate(values: dict[str, Any], *, source: Path | None = None, text: str = "",
             origins: dict[str, str] | None = None, name: str = "deck") -> Config:
    """Turn flat ``{"section.key": value}`` pairs into a :class:`Config`, or raise every problem at once."""
    origins = origins or {}
    errors: list[str] = []

    def where(key: str) -> str:
        origin = origins.get(key, str(source) if source else "config")
        if origin.startswith("--set"):
            return origin
        line = _line_of(text, key) if text else None
        return f"{origin}:{line}" if line else origin

    parsed: dict[str, Any] = {}
    for key, value in values.items():
        spec = FIELDS.get(key)
        if spec is None:
            errors.append(f"{where(key)}: unknown key {key!r}{_did_you_mean(key, FIELDS)} — "
                          "remove it or see `deckgen keys` for the list")
            continue
        try:
            parsed[key] = spec.check(value)
        except ValueError as exc:
            errors.append(f"{where(key)}: {key}: {exc}")

    # Cross-key checks that need several values.
    net_layers = parsed.get("network.layers", NetworkConfig.layers)
    iterations = parsed.get("training.iterations", TrainingConfig.iterations)
    for t in parsed.get("deck.explain", ()):
        if t >= iterations:
            errors.append(f"{where('deck.explain')}: deck.explain: iteration {t} is past the end "
                          f"(training runs iterations 0 to {iterations - 1}) — pick a smaller one or raise training.iterations")
            break
    has_literal = "data.inputs" in parsed or "data.targets" in parsed
    if ("data.inputs" in parsed) != ("data.targets" in parsed):
        key = "data.inputs" if "data.inputs" in parsed else "data.targets"
        errors.append(f"{where(key)}: data.inputs and data.targets go together — give both")
    if "data.csv" in parsed and has_literal:
        errors.append(f"{where('data.csv')}: data.csv and data.inputs/targets both given — keep one of them")
    if "data.csv" in parsed and not parsed.get("data.target"):
        errors.append(f"{where('data.csv')}: data.csv needs data.target — name the column(s) to predict")
    if "network.biases" in parsed and not parsed.get("network.bias", False):
        errors.append(f"{where('network.biases')}: network.biases given but network.bias is false — set network.bias = true")
    weights = parsed.get("network.weights")
    if weights is not None and all(isinstance(n, int) for n in net_layers):
        shapes = [(net_layers[k], net_layers[k + 1]) for k in range(len(net_layers) - 1)]
        got = [(len(m), len(m[0])) for m in weights]
        if got != shapes:
            errors.append(f"{where('network.weights')}: network.weights has shapes {_shapes(got)} but layers "
                          f"{list(net_layers)} need {_shapes(shapes)} — fix the matrices or the layer sizes")
    biases = parsed.get("network.biases")
    if biases is not None and all(isinstance(n, int) for n in net_layers):
        want = [net_layers[k] for k in range(1, len(net_layers))]
        if [len(b) for b in biases] != want:
            errors.append(f"{where('network.biases')}: network.biases has lengths {[len(b) for b in biases]} "
                          f"but layers {list(net_layers)} need {want} — give one value per unit")
    if errors:
        raise ConfigError(*errors)

    sections: dict[str, dict[str, Any]] = {s: {} for s in _SECTIONS}
    top: dict[str, Any] = {}
    for key, value in parsed.items():
        section, _, leaf = key.rpartition(".")
        (sections[section] if section else top)[leaf] = value
    if "csv" in sections["data"] or "inputs" in sections["data"]:
        sections["data"].setdefault("dataset", None)
    base = source.parent if source else Path.cwd()
    for section_key in ("data.csv", "deck.templates"):
        section, _, leaf = section_key.partition(".")
        if leaf in sections[section] and not sections[section][leaf].is_absolute():
            sections[section][leaf] = (base / sections[section][leaf]).resolve()
    return Config(
        name=name, source=source, **top,
        **{s: cls(**sections[s]) for s, cls in _SECTIONS.items()},
    )


def _shapes(shapes) -> str:
    return ", ".join(f"{r}x{c}" for r, c in shapes)
