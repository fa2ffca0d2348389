"""Deck config: the schema (keys, defaults, checks), reading TOML with ``--set`` overrides, validation.

The first stage of the pipeline. It knows nothing of the data, training or
slides: it turns a deck file into a frozen :class:`Config` or one
:class:`~deckgen.errors.ConfigError` listing every problem at once.
"""

from deckgen.config.load import load_config, parse_override
from deckgen.config.model import (Config, biases_problem, config_values, replace_source, validate, weights_problem)
from deckgen.config.schema import (ACTIVATIONS, DATASETS, FIELDS, SCALES, SECTIONS, THEMES, DataConfig, DeckSettings,
                                   Field, NetworkConfig, TrainingConfig, flatten)

__all__ = ["ACTIVATIONS", "DATASETS", "FIELDS", "SCALES", "SECTIONS", "THEMES", "Config", "DataConfig", "DeckSettings",
           "Field", "NetworkConfig", "TrainingConfig", "biases_problem", "config_values", "flatten", "load_config",
           "parse_override", "replace_source", "validate", "weights_problem"]
