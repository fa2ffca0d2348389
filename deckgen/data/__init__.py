"""Datasets: the built-in examples, literal matrices from the config, and CSV files.

Everything ends up as a :class:`Dataset`: the (scaled) input matrix ``X`` that
the network sees, the target matrix ``y``, and the names the slides need.
:func:`resolve_layers` then checks the network against the data (layer widths,
explicit weights, and whether recording the run fits the memory budget), so that
every problem is found before training starts.
"""

from deckgen.data.dataset import Dataset, shown_rows, with_bias_column
from deckgen.data.layers import minimum_kept, recording_bytes, resolve_layers
from deckgen.data.load import BUILTIN, load_dataset

__all__ = ["BUILTIN", "Dataset", "load_dataset", "minimum_kept", "recording_bytes", "resolve_layers", "shown_rows",
           "with_bias_column"]
