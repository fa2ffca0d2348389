"""The config schema: every key, its type, its default and what it means.

Defaults live only in the frozen dataclasses below; :data:`FIELDS` says which
keys exist, how each value is checked and what it means (``deckgen keys``
prints both).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from deckgen.config import values as V
from deckgen.core.activations import ACTIVATIONS as REGISTRY, OUTPUTS as OUTPUT_REGISTRY
from deckgen.core.losses import LOSSES
from deckgen.errors import did_you_mean

ACTIVATIONS = tuple(REGISTRY)
OUTPUTS = tuple(OUTPUT_REGISTRY)
LOSS_NAMES = tuple(LOSSES)
DATASETS = ("trask", "trask-2layer", "xor", "and", "or")
SCALES = ("minmax", "standard", "none")
MISSING = ("error", "drop", "mean")
TITLE = "A neural network, number by number"
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
    missing: str = "error"
    test_fraction: float = 0.0


@dataclass(frozen=True)
class NetworkConfig:
    layers: tuple[int | str, ...] = ("auto", 4, "auto")   # inputs and outputs from the data: [3, 4, 1] for trask
    activation: str = "sigmoid"
    bias: bool = False
    weights: tuple | None = None
    biases: tuple | None = None
    output: str = "sigmoid"


@dataclass(frozen=True)
class TrainingConfig:
    seed: int = 1
    learning_rate: float = 1.0
    iterations: int = 60000
    memory_budget_mb: float = 256.0
    loss: str = "squared"
    batch_size: int | None = None      # None: every row, every iteration


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
    worked_cells: int = 3
    worked_at_once: bool = False
    compare: tuple[dict, ...] = ()
    full_trace: bool = False
    max_slides: int = 1000
    try_cures: bool = True
    chain_rule: tuple[str, ...] | None = None      # None: the first weight of the last and the first layer


def _compare(v: Any) -> tuple[dict, ...]:
    if not isinstance(v, list) or not all(isinstance(d, dict) and d for d in v):
        raise ValueError('expected a list of tables — write it like [{ "training.learning_rate" = 0.1 }]')
    for i, variant in enumerate(v, 1):
        for key, value in flatten(variant).items():
            spec = FIELDS.get(key)
            if spec is None or key == "deck.compare":
                raise ValueError(f"variant {i}: unknown key {key!r}{did_you_mean(key, FIELDS)} — "
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
    "title": Field(V.string, "Title on the first slide."),
    "data.dataset": Field(V.one_of(DATASETS), "Built-in dataset: " + ", ".join(DATASETS) + "."),
    "data.csv": Field(V.path, "CSV file (header row required), relative to the deck file (to the current folder with --set)."),
    "data.target": Field(V.strings, "Target column name(s) in the CSV; the rest are features."),
    "data.features": Field(V.strings, "Feature columns to use (unset: every non-target column)."),
    "data.categorical": Field(V.strings, "Columns to one-hot encode even though they hold numbers."),
    "data.inputs": Field(V.matrix, "Literal input matrix, one row per example."),
    "data.targets": Field(V.matrix, "Literal target matrix, one row per example."),
    "data.scale": Field(V.one_of(SCALES), "Scaling of numeric CSV features: minmax, standard or none."),
    "data.bias_column": Field(V.boolean, "Append Trask's constant-1 input column."),
    "data.rows": Field(V.rows, "Data rows shown on the detailed slides, counted from 0 in file order (training uses every row)."),
    "data.shuffle": Field(V.whole(0), "Shuffle the CSV rows with this seed."),
    "data.missing": Field(V.one_of(MISSING), "Gaps in the CSV (empty or NA cells): error, drop the row, or mean "
                                             "(a number column's gaps take the mean of its training rows; a row with "
                                             "a gap in a text or target column is dropped)."),
    "data.test_fraction": Field(V.fraction(0.9), "Fraction of the rows held out, drawn with training.seed, that training "
                                                 "never sees; the results slides evaluate the network on them."),
    "network.layers": Field(V.layers, "Layer sizes from inputs to outputs, like [3, 4, 1]; \"auto\" first or last: from the data."),
    "network.activation": Field(V.one_of(ACTIVATIONS), "Hidden-layer activation: sigmoid, tanh or relu (the output layer's is network.output)."),
    "network.bias": Field(V.boolean, "Give every layer a trained bias (Trask uses a constant-1 input instead)."),
    "network.weights": Field(V.matrices, "Explicit initial weights: one matrix per layer."),
    "network.biases": Field(V.vectors, "Explicit initial biases: one flat list per layer (needs bias = true)."),
    "network.output": Field(V.one_of(OUTPUTS), "Output layer: sigmoid, softmax (outputs that add up to 1; needs "
                                               "cross_entropy and 2 or more outputs) or linear (a number in the "
                                               "target's units; needs squared)."),
    "training.seed": Field(V.whole(0, 2**32 - 1), "Seed of the random initial weights."),
    "training.learning_rate": Field(V.positive, "Step size of gradient descent."),
    "training.iterations": Field(V.whole(1, 10_000_000), "Number of training iterations."),
    "training.memory_budget_mb": Field(V.positive, "Memory for recording every matrix; above it only shown iterations are kept."),
    "training.loss": Field(V.one_of(LOSS_NAMES), "What training minimises: squared (1/2 sum of squared errors; sigmoid or "
                                                 "linear output) or cross_entropy (softmax or sigmoid output)."),
    "training.batch_size": Field(V.whole(1), "Rows per mini-batch, consecutive in row order (unset: every row each "
                                             "iteration; a size of at least the number of rows means every row)."),
    "deck.explain": Field(V.iterations, "Iterations explained step by step."),
    "deck.checkpoints": Field(V.checkpoints, "Checkpoint slides: every N iterations, or a list."),
    "deck.precision": Field(V.whole(0, 12), "Decimal places of every number on the slides."),
    "deck.theme": Field(V.one_of(THEMES), "reveal.js theme."),
    "deck.trask_names": Field(V.boolean, "Show Trask's variable names (l0, syn0, l1, ...) beside the math names."),
    "deck.templates": Field(V.path, "Folder of your own templates, searched before the built-in ones."),
    "deck.max_rows": Field(V.whole(2, 40), "Most rows of a matrix shown before it is cut with an ellipsis; fewer where a slide has no room for them at 18 px."),
    "deck.max_cols": Field(V.whole(2, 20), "Most columns of a matrix shown before it is cut with an ellipsis; fewer where a slide has no room for them at 18 px."),
    "deck.worked_cells": Field(V.whole(1, 64), "Result cells worked out on each calculation slide, one per key press."),
    "deck.worked_at_once": Field(V.boolean, "Show a calculation slide's worked cells all at once, for presenters who talk over them."),
    "deck.compare": Field(_compare, "What-if variants, each a table of overrides."),
    "deck.try_cures": Field(V.boolean, "When training gets stuck, overshoots or blows up, train a few cures and show which helped."),
    "deck.max_slides": Field(V.whole(1), "Most slides a deck may have; checked before training."),
    "deck.full_trace": Field(V.boolean, "Save every iteration's matrices in the deck's trace.npz, not only the iterations shown."),
    "deck.chain_rule": Field(V.weights, "Weights followed through the chain rule, like [\"W2:0,0\", \"W1:0,0\"] "
                                        "(unset: row 0, column 0 of the last and of the first layer; [] for none)."),
}

SECTIONS = {"data": DataConfig, "network": NetworkConfig, "training": TrainingConfig, "deck": DeckSettings}



def flatten(table: dict, prefix: str = "") -> dict[str, Any]:
    """``{"network": {"layers": [...]}}`` -> ``{"network.layers": [...]}``; unknown tables stay whole."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and dotted in SECTIONS:
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat



def plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def default(key: str) -> Any:
    """The default value of a key (None: unset), read from the dataclasses above."""
    section, _, leaf = key.rpartition(".")
    if not section:
        return {"title": TITLE}[leaf]
    return getattr(SECTIONS[section](), leaf)


def default_text(key: str) -> str:
    """A key's default as TOML (``[0]``, ``"sigmoid"``, ``60000``), or ``—`` when it has none."""
    value = default(key)
    return "—" if value is None else toml(plain(value))


def toml(value: Any) -> str:
    """A plain value (numbers, strings, booleans, lists, tables) written as a TOML literal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and value.is_integer():
        return f"{value:.1f}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml(v)}" for k, v in value.items()) + " }"
    return repr(value)
