"""The validated :class:`Config`, and :func:`validate`, which makes one from flat key-value pairs.

Every problem found is collected and raised together as one
:class:`~deckgen.errors.ConfigError` whose lines name the file, the line and
the key.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from deckgen.config.locate import line_of
from deckgen.config.schema import (FIELDS, SECTIONS, TITLE, DataConfig, DeckSettings, NetworkConfig, TrainingConfig, flatten,
                                   plain)
from deckgen.errors import ConfigError, count, did_you_mean, literal, located


@dataclass(frozen=True)
class Config:
    """A validated deck config. ``source`` is the TOML file it came from (None for pure defaults)."""

    title: str = TITLE
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
        changes = flatten(plain(mapping))
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
            "data": plain(dataclasses.asdict(self.data)),
            "network": plain(dataclasses.asdict(self.network)),
            "training": plain(dataclasses.asdict(self.training)),
        }


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
            values[key] = plain(value)
    if not compare:
        values.pop("deck.compare", None)
    return values

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
        line = line_of(text, key) if text and key in values else None
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
        error = ConfigError(*errors)
        if "data.csv" in parsed:  # the data stage can add the file's own problems (see deckgen.pipeline.load)
            error.csv = {"path": parsed["data.csv"], "target": parsed.get("data.target", ()),
                         "features": parsed.get("data.features"),
                         "categorical": parsed.get("data.categorical", ()), "where": where,
                         "missing": parsed.get("data.missing", "error")}
        raise error

    sections: dict[str, dict[str, Any]] = {s: {} for s in SECTIONS}
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
        **{s: cls(**sections[s]) for s, cls in SECTIONS.items()},
    )


def _unknown(key: str, value: Any, where: str) -> str:
    """The message for a key that is not in :data:`FIELDS`."""
    section = key.split(".")[0]
    if key in SECTIONS:
        return (f"{located(where, key)}: expected a table, got {literal(value)} — write it as a [{key}] section")
    if "." not in key and isinstance(value, dict):
        shown = f"[{key}]" if re.fullmatch(r"[\w\-]+", key) else repr(key)
        return (f"{where}: unknown section {shown}{did_you_mean(key, SECTIONS)} — "
                f"sections are {', '.join(f'[{s}]' for s in SECTIONS)}")
    if section in SECTIONS or "." not in key:
        return (f"{where}: unknown key {key!r}{did_you_mean(key, FIELDS)} — "
                "remove it or see `deckgen keys` for the list")
    return (f"{where}: unknown key {key!r}{did_you_mean(key, FIELDS)} — "
            f"sections are {', '.join(f'[{s}]' for s in SECTIONS)}; see `deckgen keys`")


#: Slides of a deck besides its checkpoints and explained iterations, and per explained iteration
#: (``SLIDES_PER_LAYER`` for each layer of weights, plus one): an estimate made before training.
BASE_SLIDES, SLIDES_PER_LAYER = 14, 7


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
    errors += _output_checks(parsed, where, layers)
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


def _output_checks(parsed: dict[str, Any], where: Callable[[str], str], layers) -> list[str]:
    """The output function and the loss must go together; softmax needs two or more outputs."""
    output = parsed.get("network.output", NetworkConfig.output)
    loss = parsed.get("training.loss", TrainingConfig.loss)
    key = "network.output" if "network.output" in parsed else "training.loss"
    errors = []
    if output == "softmax" and loss != "cross_entropy":
        errors.append(f"{located(where(key), key)}: network.output = \"softmax\" does not go with training.loss = "
                      f"\"{loss}\" — use training.loss = \"cross_entropy\" with softmax, or network.output = "
                      "\"sigmoid\" for squared loss")
    elif loss == "cross_entropy" and output not in ("softmax", "sigmoid"):
        errors.append(f"{located(where(key), key)}: training.loss = \"cross_entropy\" does not go with network.output = "
                      f"\"{output}\" — use training.loss = \"squared\" with a {output} output, or network.output = "
                      "\"softmax\" (or \"sigmoid\") with cross-entropy")
    if output == "softmax" and layers[-1] != "auto" and layers[-1] < 2:
        errors.append(f"{located(where('network.layers'), 'network.layers')}: a softmax output needs 2 or more output "
                      f"units, but network.layers ends with {layers[-1]} — use \"auto\" or one unit per class, "
                      "or network.output = \"sigmoid\" for one output")
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
